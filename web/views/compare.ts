import type { Result } from '../../src/metrics/result.ts';
import { formatPath } from '../../src/scenario/errors.ts';
import { commandFor, formatKnobPath, textOf } from '../../src/scenario/knobs/registry.ts';
import type { ScenarioObject } from '../state.ts';
import { el, fmt } from './colors.ts';
import { controls, parsed, valueAt } from './knob-controls.ts';

/**
 * Compare: pin runs (A, B, C, …), each under a name you can edit (by default the scenario's name
 * and the settings that differ from A), and see them side by side with the latest run: the
 * settings that differ, in the commands that set them, and the figures — per CPU, not averaged
 * over all CPUs, because a fix that moves the softirq off a saturated core shows as one CPU's
 * %soft falling and another's rising, which a mean over ten CPUs turns into "worse".
 */

export interface CompareRow {
  label: string;
  /** One value per run, in column order. */
  values: (number | null)[];
  /** Which way is better; null where the direction depends on the question (one CPU's share). */
  better: 'higher' | 'lower' | null;
  digits: number;
}

type Metric = [label: string, value: (r: Result) => number | null, better: 'higher' | 'lower' | null, digits: number];

const drops = (r: Result) => Object.values(r.packets.dropped).reduce((x, y) => x + y, 0);
const goodput = (r: Result) => r.flows.reduce((x, f) => x + f.goodput_gbps, 0);

const METRICS: Metric[] = [
  ['delivered Gbit/s', (r) => r.throughput.delivered_gbps, 'higher', 3],
  ['goodput Gbit/s (all flows)', goodput, 'higher', 3],
  ['delivered pps', (r) => r.throughput.delivered_pps, 'higher', 0],
  ['latency p50 µs', (r) => r.latency_us.p50, 'lower', 1],
  ['latency p99 µs', (r) => r.latency_us.p99, 'lower', 1],
  ['dropped packets', drops, 'lower', 0],
  ['device interrupts/s', (r) => r.interrupts.per_sec, 'lower', 0],
  ['cores per Gbit/s (irq + soft)', (r) => r.throughput.rx_cores_per_gbps, 'lower', 4],
];

/** mpstat's columns for one CPU, and its ksoftirqd's share. */
const CPU_FIELDS = ['usr', 'sys', 'irq', 'soft', 'idle', 'ksoftirqd'] as const;

/** A CPU gets rows when it did something (under 99 % idle) in at least one of the runs. */
function busyCpus(runs: readonly Result[]): number[] {
  const n = Math.max(...runs.map((r) => r.cpus.length));
  const out: number[] = [];
  for (let cpu = 0; cpu < n; cpu++) if (runs.some((r) => (r.cpus[cpu]?.idle ?? 100) < 99)) out.push(cpu);
  return out;
}

/** The rows of the comparison of `runs` (columns in order): totals, then per busy CPU, then request/response flows. */
export function compareTable(runs: readonly Result[]): CompareRow[] {
  const rows: CompareRow[] = METRICS.map(([label, f, better, digits]) => ({ label, values: runs.map(f), better, digits }));
  for (const cpu of busyCpus(runs)) {
    for (const field of CPU_FIELDS) {
      const label = field === 'ksoftirqd' ? `CPU ${cpu} ksoftirqd/${cpu} %` : `CPU ${cpu} %${field}`;
      rows.push({ label, values: runs.map((r) => r.cpus[cpu]?.[field] ?? null), better: null, digits: 2 });
    }
  }
  const rr = [...new Set(runs.flatMap((r) => r.rr.map((f) => f.flow)))];
  for (const flow of rr) {
    const of = (r: Result) => r.rr.find((x) => x.flow === flow);
    rows.push({ label: `${flow} transactions/s`, values: runs.map((r) => of(r)?.transactions_per_sec ?? null), better: 'higher', digits: 0 });
    rows.push({ label: `${flow} rr p99 µs`, values: runs.map((r) => of(r)?.latency_us.p99 ?? null), better: 'lower', digits: 1 });
  }
  return rows;
}

/** Two runs: the rows with A's and B's values by name. */
export function compareRows(a: Result, b: Result): (CompareRow & { a: number | null; b: number | null })[] {
  return compareTable([a, b]).map((r) => ({ ...r, a: r.values[0]!, b: r.values[1]! }));
}

/** Fields that describe a scenario rather than set it. */
const NOT_SETTINGS = new Set(['$schema', 'name', 'description', 'narrative', 'expect', 'explain', 'seed', 'apply']);

const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);

/** Paths of the JSON leaves that differ (arrays of different length and new objects count as one leaf). */
function leafDiff(a: unknown, b: unknown, path: (string | number)[], out: (string | number)[][]): void {
  if (same(a, b)) return;
  const objA = a !== null && typeof a === 'object';
  const objB = b !== null && typeof b === 'object';
  if (!objA || !objB || Array.isArray(a) !== Array.isArray(b) || (Array.isArray(a) && (a as unknown[]).length !== (b as unknown[]).length)) {
    out.push(path);
    return;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (path.length === 0 && NOT_SETTINGS.has(k)) continue;
    const key = Array.isArray(a) ? Number(k) : k;
    leafDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...path, key], out);
  }
}

const show = (v: unknown) => (v === undefined ? 'default' : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * What B sets differently from A, in the terms of the knob registry: the command that sets a
 * knob to B's value (`echo 0-3 > /sys/class/net/eth0/queues/rx-0/rps_cpus`), a knob back to its
 * default, apply commands B adds or drops, the seed, and any other field as `path: A → B`.
 */
export function settingsDiff(a: ScenarioObject, b: ScenarioObject): string[] {
  const out: string[] = [];
  if (!same(a.seed, b.seed)) out.push(`seed ${show(a.seed)} → ${show(b.seed)}`);
  const knobs = new Map([...controls(parsed(a)), ...controls(parsed(b))].map((c) => [formatPath(c.parts), c]));
  const covered = new Set<string>();
  for (const [path, c] of knobs) {
    const va = valueAt(a, c.parts);
    const vb = valueAt(b, c.parts);
    if (same(va, vb)) continue;
    covered.add(path);
    const command = vb === undefined ? undefined : commandFor(c.knob, c.names, textOf(c.knob, vb));
    out.push(command ?? `${formatKnobPath(c.knob, c.parts)}: ${va === undefined ? 'default' : textOf(c.knob, va)} → ${vb === undefined ? 'default' : textOf(c.knob, vb)}`);
  }
  const paths: (string | number)[][] = [];
  leafDiff(a, b, [], paths);
  for (const p of paths) {
    const where = formatPath(p);
    if (covered.has(where) || [...covered].some((c) => c.startsWith(`${where}.`) || c.startsWith(`${where}[`))) continue;
    out.push(`${where}: ${show(valueAt(a, p))} → ${show(valueAt(b, p))}`);
  }
  const list = (s: ScenarioObject) => (Array.isArray(s.apply) ? (s.apply as unknown[]).map(String) : []);
  const [la, lb] = [list(a), list(b)];
  for (const cmd of la) if (!lb.includes(cmd)) out.push(`without: ${cmd}`);
  for (const cmd of lb) if (!la.includes(cmd)) out.push(cmd);
  return out;
}

/** A run's default name: the scenario's name, and what it sets differently from the reference. */
export function defaultRunName(run: ScenarioObject, reference: ScenarioObject | null): string {
  const name = typeof run.name === 'string' ? run.name : 'scenario';
  const diff = reference ? settingsDiff(reference, run) : [];
  return diff.length ? `${name} + ${diff.join('; ')}` : name;
}

interface Column {
  result: Result;
  scenario: ScenarioObject;
  /** A name typed for it; null: the default name. */
  name: string | null;
}

const letter = (i: number) => (i < 26 ? String.fromCharCode(65 + i) : `Z${i - 25}`);

export class CompareView {
  private pins: Column[] = [];
  private latest: Column | null = null;

  constructor(private readonly container: HTMLElement) {
    this.render();
  }

  /** A run finished with this scenario: it is the latest column (and can be pinned). */
  setLatest(result: Result, scenario: ScenarioObject): void {
    this.latest = { result, scenario, name: null };
    this.render();
  }

  /** Keep the latest run as the next pinned column (A, then B, C, …). */
  pinLatest(): void {
    if (!this.latest || this.pins.some((p) => p.result === this.latest!.result)) return;
    this.pins.push(this.latest);
    this.render();
  }

  clearPins(): void {
    this.pins = [];
    this.render();
  }

  private columns(): Column[] {
    const cols = [...this.pins];
    if (this.latest && !cols.some((c) => c.result === this.latest!.result)) cols.push(this.latest);
    return cols;
  }

  private nameOf(col: Column, i: number): string {
    if (col.name !== null) return col.name;
    const reference = i === 0 ? null : this.columns()[0]!.scenario;
    return `${defaultRunName(col.scenario, reference)} (seed ${col.result.seed})`;
  }

  private render(): void {
    const cols = this.columns();
    if (this.pins.length === 0 || cols.length < 2) {
      const hint = this.pins.length
        ? 'A is pinned: change a knob or add a command and run again; the table shows the runs side by side.'
        : 'Pin a run as A, change a knob or add a command, and run again: the table shows A and B side by side. Pin more runs (B, C, …) to line up several.';
      this.container.replaceChildren(el('p', { class: 'muted' }, hint));
      return;
    }
    const t = el('table', { class: 'compare', 'data-testid': 'compare-table' });
    const head = el('tr');
    head.append(el('th'));
    cols.forEach((col, i) => {
      const input = el('input', { class: 'runname', 'data-testid': `compare-name-${letter(i)}`, title: 'the name of this run (edit it)' });
      input.value = this.nameOf(col, i);
      input.addEventListener('change', () => {
        col.name = input.value.trim() || null;
        this.render();
      });
      const th = el('th', { 'data-testid': `compare-head-${letter(i)}` }, `${letter(i)}${this.pins.includes(col) ? '' : ' (latest run)'}: `);
      th.append(input);
      head.append(th);
    });
    const last = letter(cols.length - 1);
    head.append(el('th', {}, `${last} − A`));
    t.append(head);
    for (const row of compareTable(cols.map((c) => c.result))) t.append(this.row(row));
    const settings = el('div', { class: 'compare-settings', 'data-testid': 'compare-settings' });
    cols.slice(1).forEach((col, j) => {
      const diff = settingsDiff(cols[0]!.scenario, col.scenario);
      const ul = el('ul');
      for (const d of diff.length ? diff : ['no setting differs (the same scenario and seed)']) ul.append(el('li', {}, d));
      settings.append(el('h4', {}, `settings of ${letter(j + 1)} that differ from A`), ul);
    });
    this.container.replaceChildren(t, settings);
  }

  private row(row: CompareRow): HTMLElement {
    const tr = el('tr');
    const f = (x: number | null) => (x === null ? '–' : fmt(x, row.digits));
    const a = row.values[0]!;
    const mark = (v: number | null): string => {
      if (row.better === null || a === null || v === null || Math.abs(v - a) <= 1e-9 * Math.max(1, Math.abs(a))) return '';
      return v > a === (row.better === 'higher') ? 'better' : 'worse';
    };
    tr.append(el('td', {}, row.label));
    row.values.forEach((v, i) => {
      const cls = i === 0 ? '' : mark(v);
      tr.append(el('td', cls ? { class: cls } : {}, f(v)));
    });
    const b = row.values[row.values.length - 1]!;
    const cls = mark(b);
    const diff = a !== null && b !== null ? (b - a >= 0 ? '+' : '') + fmt(b - a, row.digits) : '–';
    tr.append(el('td', cls ? { class: cls } : {}, diff));
    return tr;
  }
}
