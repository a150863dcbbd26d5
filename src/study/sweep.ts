import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { collectResult, type Result } from '../metrics/result.ts';
import { simulate } from '../model/simulate.ts';
import { formatPath, InputError } from '../scenario/errors.ts';
import { assignPath, loadScenarioObject, parsePathParts, type Loaded } from '../scenario/load.ts';
import { firstIssueAsError } from '../scenario/zod-errors.ts';
import { checkMetrics, DEFAULT_METRICS, metricProblem } from './metrics.ts';
import { checkDistinct, parseJsonText, parseSeeds, parseValueList, seedCount, seedList, valueLabel, type AxisValue } from './values.ts';

/**
 * A sweep: one scenario run at every combination of some knob values (the points), each with
 * several seeds, recording some metrics of each run. It comes from the command line
 * (`--vary`, `--vary-apply`, `--seeds`, `--metric`) or from a sweep file, and is identified by
 * its hash: the SHA-256 of the canonical JSON (RFC 8785) of the scenario, the axes with their
 * values, the seeds and the metrics. Rows carry that hash, so shards, resumed files and merges
 * can tell one sweep's runs from another's.
 *
 * Runs are enumerated in a fixed order: the axes in the order given (the first outermost), each
 * axis's values in the order given, the seeds innermost. A run's id is its index in that order.
 */

/** One varied dimension: a scenario path set like `--set`, or a command applied like `--apply` with `{}` replaced. */
export interface Axis {
  kind: 'set' | 'apply';
  /** The path or the command with `{}`, exactly as given: the column header. */
  name: string;
  values: AxisValue[];
  /** Where it was given, for messages: `--vary "nics[0].coalesce.rx-usecs=…"`, `axes[1]`. */
  source: string;
}

export interface SweepSpec {
  /** The scenario as parsed JSON (not validated yet). */
  scenario: Record<string, unknown>;
  /** The scenario's name in messages (its file). */
  scenarioLabel: string;
  axes: Axis[];
  /** Seeds of each point; the scenario's own seed when none is given. */
  seeds: number[] | null;
  /** Metric paths; null: the default set (DEFAULT_METRICS that the result has). */
  metrics: string[] | null;
  /** Where the metrics were named, for messages (`--metric`). */
  metricsSource?: string;
}

export interface RunSpec {
  /** The run id: index in the enumeration order. */
  run: number;
  point: number;
  /** The index of each axis's value. */
  valueIndex: number[];
  seed: number;
}

export interface Sweep {
  scenario: Record<string, unknown>;
  scenarioLabel: string;
  axes: Axis[];
  seeds: number[];
  metrics: string[];
  /** SHA-256 (hex) of the canonical definition. */
  hash: string;
  /** Number of points (combinations of axis values). */
  points: number;
  /** points × seeds. */
  runs: number;
}

/** At most this many runs in one sweep. */
export const MAX_RUNS = 10_000_000;

/** Column names the rows use besides the axes and metrics. */
export const FIXED_COLUMNS = ['run', 'seed', 'digest', 'sweep', 'runs'] as const;

// ---- The command line ----

/** `--vary <path>=<v1>,<v2>,…` (`flag`: the option that gave it, for messages: `rxsim tune --knob`). */
export function parseVary(arg: string, flag = '--vary'): Axis {
  const source = `${flag} "${arg}"`;
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new InputError(source, 'expected <path>=<v1>,<v2>,… or <path>=<a>..<b>:<step>, e.g. nics[0].coalesce.rx-usecs=90..110:2');
  const name = arg.slice(0, eq).trim();
  parsePathParts(name, source);
  const values = parseValueList(arg.slice(eq + 1), source);
  return { kind: 'set', name, values, source };
}

/** `--vary-apply "<command with {}>"=<v1>,<v2>,…`: the values follow the first `=` after the last `{}`. */
export function parseVaryApply(arg: string, flag = '--vary-apply'): Axis {
  const source = `${flag} "${arg}"`;
  const hole = arg.lastIndexOf('{}');
  const eq = hole < 0 ? -1 : arg.indexOf('=', hole + 2);
  if (hole < 0 || eq < 0) throw new InputError(source, 'expected "<command with {}>"=<v1>,<v2>,…, e.g. "ethtool -C eth0 rx-usecs {}"=50,100');
  const name = arg.slice(0, eq).trim();
  const values = parseValueList(arg.slice(eq + 1), source);
  return { kind: 'apply', name, values, source };
}

// ---- The sweep file ----

const valuesField = z.union([z.array(z.json()).min(1), z.string().min(1)]).describe('The values in order: a JSON list, or the command-line form "v1,v2,…" with ranges "a..b:step" (e.g. "90..110:2").');

/** A sweep file: a study reproducible from one file. `rxsim schema --sweep` prints it as JSON Schema. */
export const sweepFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    scenario: z.union([z.string().min(1), z.record(z.string(), z.json())]).describe('The scenario: a path to its file (relative to the sweep file), or the scenario object itself.'),
    axes: z
      .array(
        z.union([
          z.strictObject({ vary: z.string().min(1).describe('A scenario path as --set takes it, e.g. nics[0].coalesce.rx-usecs'), values: valuesField }),
          z.strictObject({ vary_apply: z.string().min(1).describe('A command as --apply takes it, with {} where the value goes'), values: valuesField }),
        ]),
      )
      .default([])
      .describe('The varied dimensions in order: the first is the outermost loop.'),
    seeds: z
      .union([z.number().int().min(1), z.array(z.number().int().min(0)).min(1), z.string().min(1)])
      .optional()
      .describe('N (seeds 1..N), a list of seeds, or "1,5,9" / "1..10". Default: the scenario\'s seed.'),
    metrics: z.array(z.string().min(1)).min(1).optional().describe('Result paths to record, e.g. throughput.delivered_gbps, flows[0].goodput_gbps, packets.dropped.*'),
  })
  .describe('An rxsim sweep: a scenario, the axes to vary, the seeds and the metrics.');

export type SweepFile = z.output<typeof sweepFileSchema>;

/** The JSON Schema of sweep files. */
export function sweepJsonSchema(): object {
  const schema = z.toJSONSchema(sweepFileSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://rxsim.invalid/sweep.schema.json', title: 'rxsim sweep' };
}

/** Is this parsed JSON a sweep file (rather than a scenario)? */
export function isSweepFile(json: unknown): boolean {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && 'scenario' in json;
}

/**
 * A sweep file (parsed JSON) → a spec. `readScenario` reads a scenario named by path (relative to
 * the sweep file; the CLI resolves it) and returns its text and its name for messages.
 */
export function sweepSpecFromFile(json: unknown, label: string, readScenario: (path: string) => { text: string; label: string }): SweepSpec {
  const parsed = sweepFileSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    const e = firstIssueAsError(parsed.error.issues, sweepFileSchema);
    throw new InputError(`${label}: ${e.where}`, e.problem);
  }
  const file = parsed.data;
  let scenario: Record<string, unknown>;
  let scenarioLabel: string;
  if (typeof file.scenario === 'string') {
    const read = readScenario(file.scenario);
    scenario = scenarioObject(parseJsonText(read.text, read.label), read.label);
    scenarioLabel = read.label;
  } else {
    scenario = file.scenario;
    scenarioLabel = `${label}: scenario`;
  }
  const axes = file.axes.map((a, i): Axis => {
    const source = `${label}: axes[${i}]`;
    const values = typeof a.values === 'string' ? parseValueList(a.values, source) : a.values;
    if ('vary' in a) {
      parsePathParts(a.vary, source);
      return { kind: 'set', name: a.vary, values, source };
    }
    if (!a.vary_apply.includes('{}')) throw new InputError(`${source}.vary_apply`, 'expected a command with {} where the value goes, e.g. "ethtool -C eth0 rx-usecs {}"');
    return { kind: 'apply', name: a.vary_apply, values, source };
  });
  const seedsWhere = `${label}: seeds`;
  const seeds =
    file.seeds === undefined
      ? null
      : typeof file.seeds === 'number'
        ? seedCount(file.seeds, seedsWhere)
        : typeof file.seeds === 'string'
          ? parseSeeds(file.seeds, seedsWhere)
          : seedList(file.seeds, seedsWhere);
  return { scenario, scenarioLabel, axes, seeds, metrics: file.metrics ?? null, metricsSource: `${label}: metrics` };
}

/** A sweep as a sweep file with the scenario inline: `rxsim sweep` on it gives the same hash. */
export function toSweepFile(s: Sweep): SweepFile {
  return {
    scenario: s.scenario as SweepFile['scenario'],
    axes: s.axes.map((a) => (a.kind === 'set' ? { vary: a.name, values: a.values as z.core.util.JSONType[] } : { vary_apply: a.name, values: a.values as z.core.util.JSONType[] })),
    seeds: s.seeds,
    metrics: s.metrics,
  };
}

/** Parsed scenario JSON must be an object. */
export function scenarioObject(json: unknown, label: string): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new InputError(label, 'expected a scenario object ({ "name": …, "nics": […], … })');
  return json as Record<string, unknown>;
}

// ---- Points and runs ----

/** Number of points: the product of the axes' value counts (1 without axes). */
export function pointCount(axes: readonly Axis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1);
}

/** The value index of each axis at point `p` (the first axis outermost). */
export function pointValueIndex(axes: readonly Axis[], p: number): number[] {
  const out = new Array<number>(axes.length);
  let rest = p;
  for (let i = axes.length - 1; i >= 0; i--) {
    const n = axes[i]!.values.length;
    out[i] = rest % n;
    rest = Math.floor(rest / n);
  }
  return out;
}

/** Run `run` of a sweep. */
export function runSpec(s: Pick<Sweep, 'axes' | 'seeds'>, run: number): RunSpec {
  const point = Math.floor(run / s.seeds.length);
  return { run, point, valueIndex: pointValueIndex(s.axes, point), seed: s.seeds[run % s.seeds.length]! };
}

/** The runs of shard `index` of `count` (1-based): run id mod count = index − 1. All runs without a shard. */
export function shardRuns(s: Pick<Sweep, 'axes' | 'seeds' | 'runs'>, shard?: { index: number; count: number }): RunSpec[] {
  const out: RunSpec[] = [];
  const step = shard?.count ?? 1;
  for (let r = shard ? shard.index - 1 : 0; r < s.runs; r += step) out.push(runSpec(s, r));
  return out;
}

/** The scenario object and extra apply commands of a point. */
export function pointScenario(s: Pick<Sweep, 'scenario' | 'axes'>, valueIndex: readonly number[]): { raw: Record<string, unknown>; apply: string[] } {
  const raw = structuredClone(s.scenario);
  const apply: string[] = [];
  s.axes.forEach((axis, i) => {
    const value = axis.values[valueIndex[i]!];
    if (axis.kind === 'set') assignPath(raw, parsePathParts(axis.name, axis.source), value, axis.source);
    else apply.push(axis.name.replaceAll('{}', valueLabel(value)));
  });
  return { raw, apply };
}

/** Load (validate, apply, resolve) a point's scenario for one seed. */
export function loadRun(s: Pick<Sweep, 'scenario' | 'axes'>, spec: Pick<RunSpec, 'valueIndex' | 'seed'>): Loaded {
  const { raw, apply } = pointScenario(s, spec.valueIndex);
  return loadScenarioObject(raw, { apply, seed: spec.seed });
}

/** "nics[0].coalesce.rx-usecs=100, sysctl -w net.core.netdev_budget={}=600" */
export function pointLabel(axes: readonly Axis[], valueIndex: readonly number[]): string {
  return axes.map((a, i) => `${a.name}=${valueLabel(a.values[valueIndex[i]!])}`).join(', ');
}

/** The hash of a sweep: SHA-256 of the canonical JSON of what decides its rows. */
export function sweepHash(s: Pick<Sweep, 'scenario' | 'axes' | 'seeds' | 'metrics'>): string {
  const canonical = canonicalize({
    rxsim_sweep: 1,
    scenario: s.scenario,
    axes: s.axes.map((a) => ({ [a.kind === 'set' ? 'vary' : 'vary_apply']: a.name, values: a.values })),
    seeds: s.seeds,
    metrics: s.metrics,
  });
  return bytesToHex(sha256(utf8ToBytes(canonical!)));
}

// ---- Checking a sweep before any run ----

/** A loading problem, reworded to name the axis value that caused it. */
function axisError(e: unknown, axis: Axis, value: AxisValue): unknown {
  if (!(e instanceof InputError)) return e;
  const flag = /^--[\w-]+/.exec(axis.source)?.[0] ?? (axis.kind === 'set' ? '--vary' : '--vary-apply');
  const given = `${flag} ${axis.kind === 'apply' ? `"${axis.name}"` : axis.name}=${valueLabel(value)}`;
  const where = axis.source.startsWith('--') ? given : `${axis.source} (${axis.name}), value ${valueLabel(value)}`;
  // The command's own label (`--apply "<command>"`) or the path says again what the axis says.
  const own = axis.kind === 'apply' ? `--apply "${axis.name.replaceAll('{}', valueLabel(value))}"` : axis.name;
  const inner = e.where === own ? e.problem : e.where.startsWith(`${own}: `) ? `${e.where.slice(own.length + 2)}: ${e.problem}` : e.message;
  return new InputError(where, inner);
}

export interface CheckOptions {
  /** Called after each point is checked (and probed), e.g. to report progress. */
  onPoint?: (point: number, points: number) => void;
}

/** Simulated time of the probe that gives a point's result its shape (the metric paths it has). */
export const PROBE_MS = 0.001;

/** Run a point's scenario for PROBE_MS, without its timeline, warm-up and expectations: a result of the same shape. */
export function probeResult(s: Pick<Sweep, 'scenario' | 'axes'>, valueIndex: readonly number[], seed: number): Result {
  const { raw, apply } = pointScenario(s, valueIndex);
  const short = { ...raw, duration_ms: PROBE_MS, warmup_ms: 0, timeline: [], expect: [] };
  const loaded = loadScenarioObject(short, { apply, seed });
  return collectResult(simulate(loaded.resolved), 0);
}

/**
 * Check a spec completely before any run, and fix its metrics and hash:
 *  1. the axes: distinct names and values, no column clash, no `seed` axis (`--seeds` is that);
 *  2. every axis value alone on the scenario (a knob's refusal names the axis and the value),
 *     then every point (every combination) with its timeline;
 *  3. every point's result shape, from a probe of PROBE_MS simulated: each metric must be a
 *     numeric path of it (or the nearest valid name is given). Without --metric, the default
 *     metrics that every point's result has.
 */
export function prepareSweep(spec: SweepSpec, opts: CheckOptions = {}): Sweep {
  // Copies: a value may be normalized below (a number meant as text).
  const axes = spec.axes.map((a) => ({ ...a, values: [...a.values] }));
  const names = new Set<string>();
  for (const axis of axes) {
    if (axis.kind === 'set') {
      const ps = parsePathParts(axis.name, axis.source);
      if (ps.length === 1 && ps[0] === 'seed') throw new InputError(axis.source, 'seeds are not an axis: use --seeds N (seeds 1..N) or --seeds 1,5,9');
    }
    if (names.has(axis.name)) throw new InputError(axis.source, `${axis.name} is varied twice; give all its values in one axis`);
    if ((FIXED_COLUMNS as readonly string[]).includes(axis.name)) throw new InputError(axis.source, `"${axis.name}" is a column of the rows already; vary it through its path`);
    names.add(axis.name);
    if (axis.values.length === 0) throw new InputError(axis.source, 'no values');
    checkDistinct(axis.values, axis.source);
    for (const v of axis.values) if (/[\n\r]/.test(valueLabel(v))) throw new InputError(axis.source, `the value ${JSON.stringify(v)} has a line break`);
  }
  const points = pointCount(axes);
  const baseSeed = typeof spec.scenario.seed === 'number' ? spec.scenario.seed : 1;
  const seeds = spec.seeds ?? [baseSeed];
  if (points * seeds.length > MAX_RUNS) throw new InputError(axes[0]?.source ?? '--seeds', `${points} points × ${seeds.length} seeds is more than ${MAX_RUNS} runs`);

  const metricSource = spec.metricsSource ?? '--metric';
  if (spec.metrics) {
    const columns = [...axes.map((a) => a.name), ...spec.metrics];
    const clash = columns.find((c, i) => columns.indexOf(c) !== i || (FIXED_COLUMNS as readonly string[]).includes(c));
    if (clash)
      throw new InputError(
        `${metricSource} "${clash}"`,
        `"${clash}" is ${columns.indexOf(clash) < axes.length ? 'also an axis' : columns.indexOf(clash) !== columns.lastIndexOf(clash) ? 'named twice' : 'a column of the rows already'}; the columns must have distinct names`,
      );
  }
  const sourced = (e: unknown): unknown => (e instanceof InputError && axes.length === 0 ? new InputError(`${spec.scenarioLabel}: ${e.where}`.replace(/: $/, ''), e.problem) : e);
  const base = { scenario: spec.scenario, axes };
  // 2a. Each value alone on the base scenario. A value refused alone is blamed when a point with
  // it fails (it may be valid beside another axis's value: rx-usecs 2000 on ice, not on ixgbe).
  // The scenario itself: a problem outside what the axes set is the scenario file's, not an axis value's.
  if (axes.length > 0 && axes.every((a) => a.kind === 'set')) {
    try {
      loadScenarioObject(structuredClone(spec.scenario), { seed: seeds[0] });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      const varied = axes.map((a) => formatPath(parsePathParts(a.name, a.source)));
      if (!varied.some((v) => e.where === v || e.where.startsWith(`${v}.`) || e.where.startsWith(`${v}[`))) throw new InputError(`${spec.scenarioLabel}: ${e.where}`.replace(/: $/, ''), e.problem);
    }
  }
  const refusedAlone = new Map<string, unknown>();
  const loadsAlone = (axis: Axis, value: AxisValue): void => {
    const { raw, apply } = pointScenario({ scenario: spec.scenario, axes: [{ ...axis, values: [value] }] }, [0]);
    loadScenarioObject(raw, { apply, seed: seeds[0] });
  };
  axes.forEach((axis, i) => {
    axis.values.forEach((value, j) => {
      try {
        loadsAlone(axis, value);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        // As --set: a value that reads as a number where the field takes text (a CPU list "1",
        // a mask "4") meant the text.
        if (axis.kind === 'set' && typeof value === 'number' && e.where === formatPath(parsePathParts(axis.name, axis.source)) && e.problem.startsWith('expected a string')) {
          try {
            loadsAlone(axis, String(value));
            axis.values[j] = String(value);
            return;
          } catch (again) {
            // Not that either: what is wrong with the text is the better message.
            if (!(again instanceof InputError)) throw again;
            refusedAlone.set(`${i}:${j}`, axisError(again, axis, value));
            return;
          }
        }
        refusedAlone.set(`${i}:${j}`, axisError(e, axis, value));
      }
    });
    checkDistinct(axis.values, axis.source);
  });
  const pointError = (e: unknown, valueIndex: readonly number[]): unknown => {
    if (!(e instanceof InputError)) return e;
    if (axes.length === 0) return sourced(e);
    for (let i = 0; i < axes.length; i++) {
      const alone = refusedAlone.get(`${i}:${valueIndex[i]}`);
      if (alone) return alone;
    }
    if (axes.length === 1) return axisError(e, axes[0]!, axes[0]!.values[valueIndex[0]!]);
    return new InputError(`the point ${pointLabel(axes, valueIndex)}`, e.message);
  };
  // 2b and 3. Every point, loaded as it will run, and probed for the result's shape.
  const allMetrics = spec.metrics ?? [...DEFAULT_METRICS];
  const usable = new Set(allMetrics);
  for (let p = 0; p < points; p++) {
    const valueIndex = pointValueIndex(axes, p);
    let result: Result;
    try {
      loadRun(base, { valueIndex, seed: seeds[0]! });
      result = probeResult(base, valueIndex, seeds[0]!);
    } catch (e) {
      throw pointError(e, valueIndex);
    }
    if (spec.metrics) {
      checkMetrics(result, spec.metrics, (m) => `${metricSource} "${m}"${points > 1 ? ` (at ${pointLabel(axes, valueIndex)})` : ''}`);
    } else {
      for (const m of allMetrics) if (metricProblem(result, m)) usable.delete(m);
    }
    opts.onPoint?.(p, points);
  }
  const metrics = allMetrics.filter((m) => usable.has(m));
  if (metrics.length === 0) throw new InputError('--metric', `none of the default metrics (${DEFAULT_METRICS.join(', ')}) is in this scenario's result; name one with --metric <result path>`);
  const s = { scenario: spec.scenario, scenarioLabel: spec.scenarioLabel, axes, seeds, metrics };
  return { ...s, hash: sweepHash(s), points, runs: points * seeds.length };
}
