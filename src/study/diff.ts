import { InputError } from '../scenario/errors.ts';
import { numericPaths } from './metrics.ts';
import { welch, type WelchResult } from './stats.ts';
import { alignedTable, fmtNumber, type ReadTable, type SweepRow } from './table.ts';

/**
 * `rxsim diff`: two results (`rxsim run --json`) compared metric by metric, or two sweep outputs
 * compared point by point with Welch's t-test.
 */

// ---- Two results ----

/** Paths that are clocks of the host, not of the simulation: never a difference. */
const WALL_CLOCK = new Set(['sim.wall_ms']);

/** The per-interval series (`rxsim run --series-ms`) are samples over time, not metrics: left out (hundreds of rows). */
const SAMPLES = /^series[.[]/;

export interface ResultDiffRow {
  path: string;
  /** undefined: the path is not in that result. */
  a: number | null | undefined;
  b: number | null | undefined;
  /** b − a when both are numbers. */
  delta: number | null;
}

function numericLeaves(result: unknown): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const path of numericPaths(result)) {
    if (WALL_CLOCK.has(path) || SAMPLES.test(path)) continue;
    let cur: unknown = result;
    for (const part of path.match(/[^.[\]]+/g) ?? []) cur = (cur as Record<string, unknown>)[part];
    out.set(path, cur as number | null);
  }
  return out;
}

/** Every numeric path of either result (A's order, then B's own), only those that differ unless `all`. */
export function diffResults(a: unknown, b: unknown, all = false): ResultDiffRow[] {
  const la = numericLeaves(a);
  const lb = numericLeaves(b);
  const paths = [...la.keys(), ...[...lb.keys()].filter((p) => !la.has(p))];
  const rows: ResultDiffRow[] = [];
  for (const path of paths) {
    const va = la.has(path) ? la.get(path)! : undefined;
    const vb = lb.has(path) ? lb.get(path)! : undefined;
    if (!all && va === vb) continue;
    rows.push({ path, a: va, b: vb, delta: typeof va === 'number' && typeof vb === 'number' ? vb - va : null });
  }
  return rows;
}

const show = (v: number | null | undefined): string => (v === undefined ? '(none)' : v === null ? 'null' : fmtNumber(v, 10));

export function resultDiffText(rows: readonly ResultDiffRow[]): string {
  return alignedTable(
    ['metric', 'A', 'B', 'B - A'],
    rows.map((r) => [r.path, show(r.a), show(r.b), r.delta === null ? '' : fmtNumber(r.delta, 10)]),
  );
}

// ---- Two sweeps ----

export interface SweepDiffRow {
  /** The point's axis values (labels), empty when the two sweeps have one point each and different axes. */
  labels: string[];
  metric: string;
  test: WelchResult;
  significant: boolean;
}

export interface SweepDiff {
  axes: string[];
  rows: SweepDiffRow[];
  /** Points of one sweep that the other does not have (labels joined). */
  onlyA: string[];
  onlyB: string[];
  /** Metrics of one only. */
  metricsOnlyA: string[];
  metricsOnlyB: string[];
}

function groupByPoint(rows: readonly SweepRow[]): Map<string, { labels: string[]; rows: SweepRow[] }> {
  const groups = new Map<string, { labels: string[]; rows: SweepRow[] }>();
  for (const r of [...rows].sort((x, y) => x.run - y.run)) {
    const key = JSON.stringify(r.labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels: r.labels, rows: [] }));
    g.rows.push(r);
  }
  return groups;
}

/**
 * Per point and metric, B's mean minus A's with its 95 % confidence interval (Welch) and the
 * two-sided p-value of Welch's t-test; `significant` when p < alpha. Points are matched by their
 * axis values when the two sweeps have the same axes; two one-point sweeps compare whatever their
 * axes.
 */
export function diffSweeps(a: ReadTable, b: ReadTable, alpha: number, labels = { a: 'A', b: 'B' }): SweepDiff {
  if (!a.layout) throw new InputError(labels.a, 'has no rows');
  if (!b.layout) throw new InputError(labels.b, 'has no rows');
  const ga = groupByPoint(a.rows);
  const gb = groupByPoint(b.rows);
  const sameAxes = a.layout.axes.join('\0') === b.layout.axes.join('\0');
  const pairs: { labels: string[]; ra: SweepRow[]; rb: SweepRow[] }[] = [];
  let onlyA: string[] = [];
  let onlyB: string[] = [];
  let axes: string[];
  if (sameAxes) {
    axes = a.layout.axes;
    for (const [key, g] of ga) {
      const other = gb.get(key);
      if (other) pairs.push({ labels: g.labels, ra: g.rows, rb: other.rows });
      else onlyA.push(g.labels.join(', '));
    }
    onlyB = [...gb.entries()].filter(([k]) => !ga.has(k)).map(([, g]) => g.labels.join(', '));
  } else if (ga.size === 1 && gb.size === 1) {
    axes = [];
    pairs.push({ labels: [], ra: [...ga.values()][0]!.rows, rb: [...gb.values()][0]!.rows });
    onlyA = [];
  } else {
    throw new InputError(
      labels.b,
      `varies ${b.layout.axes.join(', ') || 'nothing'} and ${labels.a} varies ${a.layout.axes.join(', ') || 'nothing'}: points can be matched only between sweeps with the same axes (or one point each)`,
    );
  }
  const metrics = a.layout.metrics.filter((m) => b.layout!.metrics.includes(m));
  if (metrics.length === 0) throw new InputError(labels.b, `has none of ${labels.a}'s metrics (${a.layout.metrics.join(', ')})`);
  const rows: SweepDiffRow[] = [];
  for (const p of pairs) {
    for (const m of metrics) {
      const ia = a.layout.metrics.indexOf(m);
      const ib = b.layout.metrics.indexOf(m);
      const test = welch(
        p.ra.map((r) => r.metrics[ia]!),
        p.rb.map((r) => r.metrics[ib]!),
      );
      rows.push({ labels: p.labels, metric: m, test, significant: test.p !== null && test.p < alpha && test.status !== 'identical' });
    }
  }
  return {
    axes,
    rows,
    onlyA,
    onlyB,
    metricsOnlyA: a.layout.metrics.filter((m) => !metrics.includes(m)),
    metricsOnlyB: b.layout.metrics.filter((m) => !a.layout!.metrics.includes(m)),
  };
}

/** The p-value as a table shows it. */
function pText(t: WelchResult): string {
  if (t.p === null) return '';
  if (t.p < 1e-4) return '<1e-4';
  return fmtNumber(t.p, 3);
}

function note(r: SweepDiffRow, alpha: number): string {
  switch (r.test.status) {
    case 'identical':
      return 'identical';
    case 'no-variance':
      return '* (no variance: every run differs by this)';
    case 'too-few':
      return 'n < 2: no test';
    default:
      return r.significant ? `* (p < ${alpha})` : '';
  }
}

export function sweepDiffText(d: SweepDiff, alpha: number): string {
  const columns = [...d.axes, 'metric', 'n_a', 'mean_a', 'n_b', 'mean_b', 'B - A', 'ci95_lo', 'ci95_hi', 'p', ''];
  const rows = d.rows.map((r) => [
    ...r.labels,
    r.metric,
    String(r.test.na),
    fmtNumber(r.test.meanA, 6),
    String(r.test.nb),
    fmtNumber(r.test.meanB, 6),
    fmtNumber(r.test.diff, 6),
    fmtNumber(r.test.ci_lo, 6),
    fmtNumber(r.test.ci_hi, 6),
    pText(r.test),
    note(r, alpha),
  ]);
  let text = alignedTable(columns, rows);
  const sig = d.rows.filter((r) => r.significant).length;
  text += `${sig} of ${d.rows.length} differences significant at alpha ${alpha} (Welch's t-test, two-sided; 95 % CI of B - A)\n`;
  if (d.onlyA.length) text += `only in A: ${d.onlyA.join('; ')}\n`;
  if (d.onlyB.length) text += `only in B: ${d.onlyB.join('; ')}\n`;
  if (d.metricsOnlyA.length) text += `metrics only in A: ${d.metricsOnlyA.join(', ')}\n`;
  if (d.metricsOnlyB.length) text += `metrics only in B: ${d.metricsOnlyB.join(', ')}\n`;
  return text;
}
