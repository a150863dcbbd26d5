import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { InputError } from '../scenario/errors.ts';
import { fmtNumber, alignedTable } from '../study/table.ts';
import { prepareSweep, scenarioObject, type Axis, type Sweep } from '../study/sweep.ts';
import {
  checkBudget,
  DEFAULT_BUDGET,
  DEFAULT_SEEDS,
  parseBudget,
  parseConstraint,
  parseKnob,
  pointCommands,
  TOP,
  tune,
  tuneMetrics,
  type Constraint,
  type Objective,
  type PointResult,
  type TuneResult,
} from '../study/tune.ts';
import { parseJobs, parseJsonText, parseSeeds, seedCount, valueLabel } from '../study/values.ts';
import type { Summary } from '../study/stats.ts';
import { EXIT_FAILED, readText } from './io.ts';
import { collect } from './options.ts';
import { SweepRunner } from './sweep.ts';

/**
 * `rxsim tune`: the best setting of some knobs for one metric, subject to constraints, found by
 * running the grid (or successive halving over it, see src/study/tune.ts) in the sweep's worker
 * pool, and compared with the unchanged scenario.
 */

export interface TuneOptions {
  knob?: string[];
  maximize?: string;
  minimize?: string;
  subjectTo?: string[];
  seeds?: number[];
  budget?: number;
  jobs?: number;
  json?: boolean;
}

/** The options that named a metric: where a metric problem is reported. */
function metricFlag(metric: string, objective: Objective, constraints: readonly Constraint[]): string {
  if (metric === objective.metric) return `--${objective.direction} "${metric}"`;
  const c = constraints.find((x) => x.metric === metric);
  return c ? `--subject-to "${c.text}"` : `--metric "${metric}"`;
}

const pText = (p: number | null): string => (p === null ? '' : p < 1e-4 ? '<1e-4' : fmtNumber(p, 3));
const f = (x: number | null): string => fmtNumber(x, 6);
const ci = (s: Summary): string => (s.ci95_lo === null ? '' : `[${f(s.ci95_lo)}, ${f(s.ci95_hi)}]`);

function settingsOf(sweep: Sweep, r: PointResult): Record<string, unknown> {
  return Object.fromEntries(sweep.axes.map((a, i) => [a.name, a.values[r.valueIndex[i]!]]));
}

const summaryJson = (metrics: readonly string[], stats: readonly Summary[]): Record<string, Summary> => Object.fromEntries(metrics.map((m, i) => [m, stats[i]!]));

export function tuneJson(sweep: Sweep, t: TuneResult, o: { objective: Objective; constraints: readonly Constraint[]; budget: number }): unknown {
  const point = (r: PointResult) => ({
    settings: settingsOf(sweep, r),
    apply: pointCommands(sweep, r.valueIndex),
    round: r.round,
    seeds: r.values[0]!.length,
    feasible: r.feasible,
    violated: r.violated,
    metrics: summaryJson(t.metrics, r.stats),
  });
  return {
    scenario: typeof sweep.scenario.name === 'string' ? sweep.scenario.name : sweep.scenarioLabel,
    objective: o.objective,
    constraints: o.constraints.map(({ metric, op, value }) => ({ metric, op, value })),
    method: t.method,
    budget: o.budget,
    seeds: sweep.seeds,
    rounds: t.rounds,
    runs: t.runs,
    baseline_runs: t.baselineRuns,
    best: t.best ? point(t.best) : null,
    baseline: t.baseline ? { seeds: sweep.seeds.slice(0, t.baselineRuns), metrics: summaryJson(t.metrics, t.baseline.stats) } : null,
    comparison: t.comparison ? { metric: o.objective.metric, ...t.comparison } : null,
    ranking: t.ranking.map(point),
  };
}

export function tuneText(sweep: Sweep, t: TuneResult, o: { objective: Objective; constraints: readonly Constraint[] }): string {
  const goal = `${o.objective.direction} ${o.objective.metric}${o.constraints.length ? ` subject to ${o.constraints.map((c) => c.text).join(', ')}` : ''}`;
  let text = '';
  if (t.best && t.baseline) {
    text += `best setting (${goal}):\n${pointCommands(sweep, t.best.valueIndex)
      .map((c) => `  ${c}\n`)
      .join('')}\n`;
    const rows = t.metrics.map((m, i) => {
      const w = i === 0 ? t.comparison! : null;
      const b = t.best!.stats[i]!;
      const u = t.baseline!.stats[i]!;
      return [
        m,
        String(b.n),
        f(b.mean),
        ci(b),
        f(u.mean),
        ci(u),
        w ? f(w.diff) : f(b.mean !== null && u.mean !== null ? b.mean - u.mean : null),
        w && w.ci_lo !== null ? `[${f(w.ci_lo)}, ${f(w.ci_hi)}]` : '',
        w ? pText(w.p) : '',
      ];
    });
    text += alignedTable(['metric', 'n', 'tuned', 'ci95', 'unchanged', 'ci95', 'change', 'ci95 of change', 'p'], rows);
    text += `(the same seeds for both; mean and 95 % CI by Student t; the change's CI and p by Welch's t-test)\n\n`;
  } else {
    text += `no setting satisfies ${o.constraints.map((c) => c.text).join(', ')} (by its mean)\n\n`;
  }
  const top = t.ranking.slice(0, TOP);
  const others = t.metrics.slice(1);
  const rows = top.map((r, k) => [
    String(k + 1),
    ...sweep.axes.map((a, i) => valueLabel(a.values[r.valueIndex[i]!])),
    String(r.stats[0]!.n),
    f(r.stats[0]!.mean),
    f(r.stats[0]!.ci95_lo),
    f(r.stats[0]!.ci95_hi),
    ...others.map((_, i) => f(r.stats[i + 1]!.mean)),
    r === t.best ? 'chosen' : !r.feasible ? `infeasible: ${r.violated.join(', ')}` : r.round < t.rounds.length - 1 ? `dropped after round ${r.round + 1}` : '',
  ]);
  text += `top ${top.length} of ${t.ranking.length} points:\n`;
  text += alignedTable(['rank', ...sweep.axes.map((a) => a.name), 'n', o.objective.metric, 'ci95_lo', 'ci95_hi', ...others.map((m) => `${m} (mean)`), ''], rows);
  return text;
}

function describeSearch(t: TuneResult): string {
  const rounds = t.rounds.map((r) => `${r.points} × ${r.seeds}`).join(', then ');
  return `${t.method === 'grid' ? 'the whole grid' : 'successive halving'} (points × seeds: ${rounds})`;
}

export async function tuneCommand(file: string, o: TuneOptions): Promise<void> {
  const t0 = performance.now();
  if (!o.maximize === !o.minimize)
    throw new InputError(
      o.maximize ? '--maximize' : '--minimize',
      o.maximize ? 'and --minimize are both given: name one objective' : 'is missing: name the metric to optimize with --maximize <metric> or --minimize <metric>',
    );
  const objective: Objective = o.maximize ? { metric: o.maximize, direction: 'maximize' } : { metric: o.minimize!, direction: 'minimize' };
  const constraints = (o.subjectTo ?? []).map(parseConstraint);
  if (!o.knob?.length) throw new InputError('--knob', "is missing: give at least one knob and its values, e.g. --knob 'nics[0].ring.rx=256,1024,4096'");
  const budget = o.budget ?? DEFAULT_BUDGET;
  const jobs = o.jobs ?? availableParallelism();
  const axes: Axis[] = o.knob.map(parseKnob);
  checkBudget({ axes, budget });
  const text = readText(file, 'scenario file');
  const scenario = scenarioObject(parseJsonText(text, file), file);
  const seeds = o.seeds ?? seedCount(DEFAULT_SEEDS, '--seeds');
  let sweep: Sweep;
  try {
    sweep = prepareSweep({ scenario, scenarioLabel: file, axes, seeds, metrics: tuneMetrics(objective, constraints), metricsSource: '--metric' });
  } catch (e) {
    const m = e instanceof InputError ? /^--metric "([^"]*)"(.*)$/.exec(e.where) : null;
    if (m) throw new InputError(`${metricFlag(m[1]!, objective, constraints)}${m[2]}`, (e as InputError).problem);
    throw e;
  }
  const runner = new SweepRunner(sweep, Math.max(1, Math.min(jobs, budget)));
  let result: TuneResult;
  try {
    let next = 0;
    result = await tune({ axes: sweep.axes, seeds: sweep.seeds, objective, constraints, budget }, async (batch) => {
      const outcomes = await runner.run(batch.map((r) => ({ run: next++, valueIndex: r.valueIndex, seed: r.seed, ...(r.point === null ? { baseline: true } : {}) })));
      return outcomes.map((x) => x.metrics);
    });
  } finally {
    await runner.close();
  }
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const name = typeof sweep.scenario.name === 'string' ? sweep.scenario.name : sweep.scenarioLabel;
  process.stderr.write(
    `rxsim: tune ${name}: ${sweep.points} point${sweep.points === 1 ? '' : 's'}, ${describeSearch(result)}: ${result.runs} runs + ${result.baselineRuns} of the unchanged scenario (budget ${budget}) in ${seconds} s with ${runner.size} worker${runner.size === 1 ? '' : 's'}\n`,
  );
  process.stdout.write(o.json ? `${JSON.stringify(tuneJson(sweep, result, { objective, constraints, budget }), null, 2)}\n` : tuneText(sweep, result, { objective, constraints }));
  if (!result.best) process.exitCode = EXIT_FAILED;
}

export function registerTune(program: Command, fail: (e: unknown) => never): void {
  program
    .command('tune')
    .description('find the knob values that maximize or minimize a metric (subject to constraints), and compare them with the unchanged scenario')
    .argument('<scenario>', 'scenario file (*.json)')
    .option(
      '--knob <path=values|"cmd {}"=values>',
      'a knob and its values (repeatable): as sweep --vary (path=v1,v2,… or path=a..b:step) or --vary-apply ("ethtool -C eth0 rx-usecs {}"=50,100)',
      collect,
    )
    .option('--maximize <metric>', 'the result path to maximize (e.g. flows[0].goodput_gbps)')
    .option('--minimize <metric>', 'the result path to minimize (e.g. packets.dropped.*)')
    .option('--subject-to <constraint>', 'a constraint on a metric\'s mean (repeatable): "latency_us.p99 <= 500" or "… >= v"', collect)
    .option('--seeds <n|list>', `seeds of each point at most: N for 1..N, or a list (default ${DEFAULT_SEEDS})`, (v: string) => parseSeeds(v))
    .option('--budget <runs>', `runs of the search at most, the unchanged scenario's not counted (default ${DEFAULT_BUDGET}); a larger grid is searched by successive halving`, parseBudget)
    .option('--jobs <n>', 'worker threads (default: the available parallelism)', parseJobs)
    .option('--json', 'print the result as JSON')
    .action((file: string, o: TuneOptions) => {
      tuneCommand(file, o).catch((e: unknown) => fail(e));
    });
}
