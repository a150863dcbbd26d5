import { InputError } from '../scenario/errors.ts';
import { parseJson } from '../scenario/load.ts';

/**
 * The small grammars of a sweep's command line: value lists with ranges (`90..110:2,150`),
 * seed lists, `--shard I/N`, `--jobs N`, and JSON text with the line and column of a syntax
 * error. Every problem is one InputError naming the token and the expected form.
 */

/** A value of an axis: what `--set` would write (a number, a string, true/false, or any JSON). */
export type AxisValue = unknown;

/** At most this many values in one range, seeds in one list, runs in one sweep. */
export const MAX_RANGE_VALUES = 100_000;

const NUMBER = String.raw`-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const RANGE = new RegExp(`^(${NUMBER})\\.\\.(${NUMBER})(?::(${NUMBER}))?$`);

/** `text` as `--set` reads a value: JSON if it parses, else the string itself. */
export function valueOf(text: string): AxisValue {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A value as a column cell and in messages: strings as they are, anything else as JSON. */
export function valueLabel(v: AxisValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Round away the binary noise of a + i·step (0.1 + 0.2 → 0.3). */
const clean = (x: number): number => Number(x.toPrecision(12));

/** `a..b:step` (step 1 by default, b included when the steps land on it; downwards when b < a). */
export function expandRange(text: string, where: string): number[] | undefined {
  const m = RANGE.exec(text.trim());
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  const step = m[3] === undefined ? 1 : Number(m[3]);
  if (!(step > 0)) throw new InputError(where, `range "${text}": the step must be positive (a..b:step, e.g. 90..110:2)`);
  const count = Math.floor(Math.abs(b - a) / step + 1e-9) + 1;
  if (count > MAX_RANGE_VALUES) throw new InputError(where, `range "${text}" has ${count} values (at most ${MAX_RANGE_VALUES})`);
  const dir = b >= a ? 1 : -1;
  return Array.from({ length: count }, (_, i) => clean(a + dir * i * step));
}

/**
 * The values of an axis: a JSON list (`["0,2","1"]`, for values with commas), or comma-separated
 * items, each a value (JSON if it parses, else a string) or a range `a..b[:step]`.
 */
export function parseValueList(text: string, where: string): AxisValue[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new InputError(where, 'no values (expected v1,v2,… or a range a..b:step, e.g. 90..110:2)');
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch {
      throw new InputError(where, `"${trimmed}" is not a JSON list (expected ["a","b"] or v1,v2,…)`);
    }
    if (!Array.isArray(list) || list.length === 0) throw new InputError(where, 'expected a non-empty JSON list of values');
    return list as AxisValue[];
  }
  const out: AxisValue[] = [];
  for (const item of trimmed.split(',')) {
    const t = item.trim();
    if (t === '') throw new InputError(where, `empty value in "${trimmed}" (expected v1,v2,… or a range a..b:step)`);
    out.push(...(expandRange(t, where) ?? [valueOf(t)]));
  }
  return out;
}

/** Every value once: a repeated value would make two points of one. */
export function checkDistinct(values: readonly AxisValue[], where: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    const key = JSON.stringify(v);
    if (seen.has(key)) throw new InputError(where, `the value ${valueLabel(v)} appears twice`);
    seen.add(key);
  }
}

/** `--seeds N` → 1..N; or a list and ranges of seeds (`1,5,9`, `1..10`, `100..200:10`). */
export function parseSeeds(text: string, where = `--seeds "${text}"`): number[] {
  const expected = 'expected a count N ≥ 1 (seeds 1..N), or a list of seeds like 1,5,9 or 1..10';
  const t = text.trim();
  if (/^\d+$/.test(t)) return seedCount(Number(t), where);
  let seeds: AxisValue[];
  try {
    seeds = parseValueList(t, where);
  } catch {
    throw new InputError(where, expected);
  }
  return seedList(seeds, where);
}

/** A count of seeds: 1..n. */
export function seedCount(n: number, where: string): number[] {
  if (!Number.isInteger(n) || n < 1) throw new InputError(where, 'expected a count N ≥ 1 (seeds 1..N), or a list of seeds like 1,5,9 or 1..10');
  if (n > MAX_RANGE_VALUES) throw new InputError(where, `${n} seeds is more than ${MAX_RANGE_VALUES}`);
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** An explicit list of seeds: non-negative integers, each once. */
export function seedList(seeds: readonly unknown[], where: string): number[] {
  if (seeds.length === 0) throw new InputError(where, 'expected at least one seed');
  for (const s of seeds) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) throw new InputError(where, `seed ${JSON.stringify(s)} is not a non-negative integer (expected a list like 1,5,9 or 1..10)`);
  }
  checkDistinct(seeds, where);
  return seeds as number[];
}

export interface Shard {
  /** 1-based */
  index: number;
  count: number;
}

/** `--shard I/N`, 1 ≤ I ≤ N: the runs whose index mod N is I − 1. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new InputError(`--shard "${text}"`, 'expected I/N with 1 ≤ I ≤ N (shard I of N, e.g. 1/4)');
  return { index, count };
}

/** `--jobs N`, N ≥ 1. */
export function parseJobs(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InputError(`--jobs "${text}"`, 'expected a number of worker threads ≥ 1');
  return Number(text);
}

/** Strict JSON (the scenario loader's rules: no duplicate keys, bounded size and depth), errors prefixed with `label`. */
export function parseJsonText(text: string, label: string): unknown {
  try {
    return parseJson(text);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${label}: ${e.where}`, e.problem);
    throw e;
  }
}
