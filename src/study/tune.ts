import { numberNapis } from '../model/nic/napi-ids.ts';
import { InputError } from '../scenario/errors.ts';
import { queueCount } from '../scenario/knobs/ethtool.ts';
import { commandFor, knobAt, textOf, type CommandNames } from '../scenario/knobs/registry.ts';
import { loadScenarioObject, parsePathParts } from '../scenario/load.ts';
import { summarize, welch, type Summary, type WelchResult } from './stats.ts';
import { parseVary, parseVaryApply, pointCount, pointValueIndex, type Axis, type Sweep } from './sweep.ts';
import { valueLabel } from './values.ts';

/**
 * `rxsim tune`: the best point of a grid of knob values for one metric (maximized or minimized),
 * subject to constraints on other metrics' means, and how it compares with the scenario as it is.
 *
 * The search is deterministic: it decides only from the runs' metrics, and a run's metrics depend
 * only on its point and seed (never on the thread that ran it or the order runs finish), so the
 * same inputs choose the same point whatever `--jobs` is.
 *
 *  - The whole grid when points × seeds fits in the budget: every point with every seed.
 *  - Otherwise successive halving: every point with the first s₀ seeds (2, or 1 when two per
 *    point do not fit), then the better half (rounded up) with twice the seeds (only the new
 *    seeds run), and so on until the survivors have every seed or the next round does not fit
 *    in what is left of the budget. Points are ranked by feasibility first, then by
 *    the round they reached, then by the objective's mean, then by their order in the grid.
 *
 * A point is feasible when the mean of each constraint's metric (over the seeds it ran) satisfies
 * the constraint; an infeasible point is never chosen. The unchanged scenario (the baseline) runs
 * with the seeds the chosen point ran, and the chosen point is compared with it by Welch's t-test.
 */

export type Direction = 'maximize' | 'minimize';

export interface Constraint {
  metric: string;
  op: '<=' | '>=';
  value: number;
  /** As given, for messages and output: `latency_us.p99 <= 500`. */
  text: string;
}

export interface Objective {
  metric: string;
  direction: Direction;
}

/** Rows of the runner-up table. */
export const TOP = 5;

/** Default --budget: runs of the search (the baseline's runs come on top). */
export const DEFAULT_BUDGET = 200;

/** Default seeds of each point (1..N). */
export const DEFAULT_SEEDS = 5;

/** `--knob`: a command template with `{}` (as `--vary-apply`) or a scenario path (as `--vary`). */
export function parseKnob(arg: string): Axis {
  const hole = arg.lastIndexOf('{}');
  if (hole >= 0 && arg.indexOf('=', hole + 2) > 0) return parseVaryApply(arg, '--knob');
  return parseVary(arg, '--knob');
}

/** `--subject-to "<metric> <= <value>"` (or `>=`). */
export function parseConstraint(text: string): Constraint {
  const m = /^\s*(\S+?)\s*(<=|>=)\s*(-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$/.exec(text);
  if (!m) throw new InputError(`--subject-to "${text}"`, 'expected "<metric> <= <value>" or "<metric> >= <value>", e.g. "latency_us.p99 <= 500"');
  return { metric: m[1]!, op: m[2] as '<=' | '>=', value: Number(m[3]), text: `${m[1]} ${m[2]} ${m[3]}` };
}

/** `--budget N`, N ≥ 1. */
export function parseBudget(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InputError(`--budget "${text}"`, 'expected a number of runs ≥ 1');
  return Number(text);
}

/** The metrics the search records: the objective first, then each constraint's (each once). */
export function tuneMetrics(objective: Objective, constraints: readonly Constraint[]): string[] {
  return [...new Set([objective.metric, ...constraints.map((c) => c.metric)])];
}

// ---- The search ----

/** A run the search asks for: a point (null: the unchanged scenario) with one seed. */
export interface TuneRun {
  point: number | null;
  valueIndex: number[];
  seed: number;
}

/** Runs a batch; answers each run's metrics (in `tuneMetrics` order), in the batch's order. */
export type Evaluate = (runs: readonly TuneRun[]) => Promise<(number | null)[][]>;

export interface PointResult {
  point: number;
  valueIndex: number[];
  /** The round it reached (0: the first). */
  round: number;
  /** Per metric (tuneMetrics order): the values of its runs, in seed order. */
  values: (number | null)[][];
  stats: Summary[];
  feasible: boolean;
  /** The constraints its means break. */
  violated: string[];
}

export interface TuneResult {
  method: 'grid' | 'successive-halving';
  metrics: string[];
  /** Every point, best first. */
  ranking: PointResult[];
  /** The chosen point: the first feasible of the ranking (null when none is). */
  best: PointResult | null;
  baseline: { values: (number | null)[][]; stats: Summary[] } | null;
  /** The chosen point against the baseline, on the objective. */
  comparison: WelchResult | null;
  /** Rounds: points and seeds per point. */
  rounds: { points: number; seeds: number }[];
  /** Runs of the search (without the baseline's). */
  runs: number;
  baselineRuns: number;
}

export interface TuneSearch {
  axes: readonly Axis[];
  seeds: readonly number[];
  objective: Objective;
  constraints: readonly Constraint[];
  budget: number;
}

/** Check the budget against the grid before any run: at least one seed for every point. */
export function checkBudget(search: Pick<TuneSearch, 'axes' | 'budget'>): void {
  const points = pointCount(search.axes);
  if (points > search.budget)
    throw new InputError(`--budget ${search.budget}`, `the grid has ${points} points: at least one run each is needed (raise --budget to ${points} or more, or give the knobs fewer values)`);
}

function isFeasible(stats: readonly Summary[], metrics: readonly string[], constraints: readonly Constraint[]): string[] {
  return constraints
    .filter((c) => {
      const m = stats[metrics.indexOf(c.metric)]!.mean;
      return m === null || (c.op === '<=' ? !(m <= c.value) : !(m >= c.value));
    })
    .map((c) => c.text);
}

/** Best first: feasible, further round, better mean (a point without a value last), grid order. */
function compare(objective: Objective): (a: PointResult, b: PointResult) => number {
  const sign = objective.direction === 'maximize' ? -1 : 1;
  return (a, b) => {
    if (a.feasible !== b.feasible) return a.feasible ? -1 : 1;
    if (a.round !== b.round) return b.round - a.round;
    const ma = a.stats[0]!.mean;
    const mb = b.stats[0]!.mean;
    if (ma !== mb) {
      if (ma === null) return 1;
      if (mb === null) return -1;
      return sign * (ma - mb);
    }
    return a.point - b.point;
  };
}

export async function tune(search: TuneSearch, evaluate: Evaluate): Promise<TuneResult> {
  checkBudget(search);
  const { axes, seeds, objective, constraints, budget } = search;
  const metrics = tuneMetrics(objective, constraints);
  const points = pointCount(axes);
  const n = seeds.length;
  const grid = points * n <= budget;
  const s0 = grid ? n : points * Math.min(2, n) <= budget ? Math.min(2, n) : 1;
  const results = new Map<number, PointResult>();
  for (let p = 0; p < points; p++) results.set(p, { point: p, valueIndex: pointValueIndex(axes, p), round: 0, values: metrics.map(() => []), stats: [], feasible: false, violated: [] });
  const rounds: { points: number; seeds: number }[] = [];
  const order = compare(objective);
  let runs = 0;
  let candidates = [...results.values()];
  let have = 0;
  let s = s0;
  for (let round = 0; ; round++) {
    // The new seeds of every candidate, in point order then seed order.
    const batch: TuneRun[] = [];
    for (const c of candidates) for (let k = have; k < s; k++) batch.push({ point: c.point, valueIndex: c.valueIndex, seed: seeds[k]! });
    const answers = await evaluate(batch);
    runs += batch.length;
    batch.forEach((r, i) => {
      const pr = results.get(r.point!)!;
      metrics.forEach((_, m) => pr.values[m]!.push(answers[i]![m]!));
    });
    for (const c of candidates) {
      c.round = round;
      c.stats = c.values.map((v) => summarize(v));
      c.violated = isFeasible(c.stats, metrics, constraints);
      c.feasible = c.violated.length === 0;
    }
    rounds.push({ points: candidates.length, seeds: s });
    if (s >= n) break;
    const keep = Math.ceil(candidates.length / 2);
    const nextS = Math.min(n, 2 * s);
    if (runs + keep * (nextS - s) > budget) break;
    candidates = [...candidates].sort(order).slice(0, keep);
    have = s;
    s = nextS;
  }
  const ranking = [...results.values()].sort(order);
  const best = ranking.find((r) => r.feasible) ?? null;
  let baseline: TuneResult['baseline'] = null;
  let comparison: WelchResult | null = null;
  if (best) {
    const used = seeds.slice(0, best.values[0]!.length);
    const answers = await evaluate(used.map((seed) => ({ point: null, valueIndex: [], seed })));
    const values = metrics.map((_, m) => answers.map((a) => a[m]!));
    baseline = { values, stats: values.map((v) => summarize(v)) };
    comparison = welch(values[0]!, best.values[0]!);
  }
  return { method: grid ? 'grid' : 'successive-halving', metrics, ranking, best, baseline, comparison, rounds, runs, baselineRuns: baseline ? baseline.values[0]!.length : 0 };
}

// ---- The chosen setting as commands ----

/**
 * The command a user types for one knob's value: an apply axis's command with the value; a path
 * axis's knob command from the registry with the scenario's names (device, queue, cgroup, app);
 * else the `--set` form.
 */
export function settingCommand(scenario: Record<string, unknown>, axis: Axis, value: unknown): string {
  if (axis.kind === 'apply') return axis.name.replaceAll('{}', valueLabel(value));
  const set = `--set ${axis.name}=${valueLabel(value)}`;
  const parts = parsePathParts(axis.name, axis.source);
  const knob = knobAt(parts);
  if (!knob?.command) return set;
  let loaded;
  try {
    loaded = loadScenarioObject(structuredClone(scenario));
  } catch {
    return set;
  }
  const s = loaded.scenario as unknown as { nics: { name: string }[]; apps: { name: string }[] };
  const names: CommandNames = {};
  if (parts[0] === 'nics' && typeof parts[1] === 'number') {
    names.dev = s.nics[parts[1]]?.name;
    const q = /^rx-(\d+)$/.exec(String(parts[3] ?? ''));
    if (parts[2] === 'queues' && q) {
      names.queue = Number(q[1]);
      const sc = loaded.scenario;
      names.napi = numberNapis(sc.nics.map((n) => queueCount(n, sc.cpus))).find((x) => x.nic === parts[1] && x.queue === names.queue)?.id;
    }
  }
  if (parts[0] === 'cgroups' && typeof parts[1] === 'string') names.cgroup = parts[1];
  if (parts[0] === 'apps' && typeof parts[1] === 'number') names.app = s.apps[parts[1]]?.name;
  const command = commandFor(knob, names, textOf(knob, value));
  return command === undefined || /<\w+>/.test(command) ? set : command;
}

/** The commands of a point, one per knob. */
export function pointCommands(sweep: Pick<Sweep, 'scenario' | 'axes'>, valueIndex: readonly number[]): string[] {
  return sweep.axes.map((a, i) => settingCommand(sweep.scenario, a, a.values[valueIndex[i]!]));
}
