import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { evaluateExpectations } from '../metrics/expect.ts';
import { evaluateExplainClaims } from '../study/explain.ts';
import { formatCheck, REPORTERS, type CheckedRun, type Reporter } from '../study/check-report.ts';
import type { Result } from '../metrics/result.ts';
import { InputError } from '../scenario/errors.ts';
import { parseJson } from '../scenario/load.ts';
import {
  BASELINE_FORMAT,
  baselineFailures,
  baselineText,
  checkAgainstBaseline,
  DEFAULT_ALPHA,
  DEFAULT_BASELINE_SEEDS,
  DEFAULT_TOLERANCES,
  parseBaseline,
  scenarioBaselineOf,
  type Baseline,
  type BaselineCheck,
} from '../study/baseline.ts';
import { metricProblem } from '../study/metrics.ts';
import { parseSeeds } from '../study/values.ts';
import { isLessonText } from '../lesson/load.ts';
import { checkLessons, loadLessonFile } from './check-lessons.ts';
import { EXIT_FAILED, readText, scenarioFiles, writeAtomic } from './io.ts';
import { collect, integerOption } from './options.ts';
import { probeScenario, runFile } from './run-file.ts';

interface CheckOptions {
  seed?: number;
  seeds?: number[];
  apply: string[];
  set: string[];
  reporter: Reporter;
  out?: string;
  baseline?: string;
  updateBaseline?: boolean;
  exact?: boolean;
  alpha?: number;
}

function alphaOption(v: string): number {
  const a = Number(v);
  if (v.trim() === '' || !(a > 0 && a < 1)) throw new InputError(`--alpha "${v}"`, 'expected a level between 0 and 1, e.g. 0.01');
  return a;
}

/** The baseline file, or null when it does not exist yet and --update-baseline will write it. */
function readBaseline(o: CheckOptions): Baseline | null {
  const file = o.baseline!;
  if (!existsSync(file)) {
    if (o.updateBaseline) return null;
    throw new InputError(`--baseline ${file}`, 'no such file (record one with --update-baseline)');
  }
  let raw: unknown;
  try {
    raw = parseJson(readText(file, 'baseline file'));
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.where}`, e.problem);
    throw e;
  }
  return parseBaseline(raw, file);
}

/** Which seeds to run: given, else the baseline's, else (a new baseline) 1..5, else the scenario's own. */
function seedsToRun(o: CheckOptions, baseline: Baseline | null): (number | undefined)[] {
  if (o.seed !== undefined) return [o.seed];
  if (o.seeds) return o.seeds;
  if (baseline) return baseline.seeds;
  if (o.updateBaseline) return DEFAULT_BASELINE_SEEDS;
  return [undefined];
}

function checkOptions(o: CheckOptions): void {
  if (o.seed !== undefined && o.seeds !== undefined) throw new InputError('--seeds', 'give --seed or --seeds, not both');
  if (!o.baseline) {
    for (const [flag, on] of [
      ['--update-baseline', o.updateBaseline],
      ['--exact', o.exact],
      ['--alpha', o.alpha !== undefined],
    ] as const) {
      if (on) throw new InputError(flag, 'needs --baseline FILE');
    }
  }
  if (o.exact && o.updateBaseline) throw new InputError('--exact', 'compares with a baseline; --update-baseline writes one: give one of them');
}

/** Before any run: seeds the comparison can use, one entry per scenario name, and every baseline metric a metric of the scenario's result. */
function checkAgainstFiles(o: CheckOptions, baseline: Baseline | null, seeds: readonly (number | undefined)[], probes: { file: string; name: string; probe: Result }[]): void {
  const seen = new Map<string, string>();
  for (const { file, name } of probes) {
    const other = seen.get(name);
    if (other && o.baseline) throw new InputError(file, `scenario name "${name}" is also the name of ${other}; a baseline keys scenarios by name`);
    seen.set(name, file);
  }
  if (o.updateBaseline) {
    if (seeds.length < 2) throw new InputError(o.seed !== undefined ? `--seed ${o.seed}` : '--seeds', 'a baseline needs at least 2 seeds (their spread is what later checks test against)');
    // Kept entries were recorded with the file's seeds: a partial update must use them too, or
    // --exact and the file's default seeds would no longer describe every entry.
    const runNames = new Set(probes.map((p) => p.name));
    const kept = baseline ? Object.keys(baseline.scenarios).filter((n) => !runNames.has(n)) : [];
    if (baseline && kept.length > 0 && seeds.join(',') !== baseline.seeds.join(',')) {
      throw new InputError(
        '--seeds',
        `the baseline's other scenarios (${kept.slice(0, 3).join(', ')}${kept.length > 3 ? ', …' : ''}) were recorded with seeds ${baseline.seeds.join(',')}: use those, or record every scenario again`,
      );
    }
    return;
  }
  if (!baseline) return;
  if (o.exact) {
    const missing = seeds.find((s) => s === undefined || !baseline.seeds.includes(s));
    if (missing !== undefined || seeds.includes(undefined)) {
      throw new InputError(o.seed !== undefined ? `--seed ${o.seed}` : '--seeds', `--exact compares digests of the baseline's seeds (${baseline.seeds.join(',')}); run those`);
    }
  } else if (seeds.length < 2) {
    throw new InputError(o.seed !== undefined ? `--seed ${o.seed}` : '--seeds', 'a comparison with a baseline needs at least 2 seeds (the baseline has ' + baseline.seeds.length + ')');
  }
  for (const { name, probe } of probes) {
    const entry = baseline.scenarios[name];
    if (!entry || o.exact) continue;
    for (const metric of Object.keys(entry.metrics)) {
      const problem = metricProblem(probe, metric);
      if (problem) throw new InputError(`${o.baseline}: scenarios.${name}.metrics["${metric}"]`, `${problem} (if the scenario changed on purpose, record the baseline again with --update-baseline)`);
    }
  }
}

function newBaseline(o: CheckOptions, old: Baseline | null, seeds: number[], version: string): Baseline {
  return {
    rxsim_baseline: BASELINE_FORMAT,
    rxsim_version: version,
    seeds,
    alpha: o.alpha ?? old?.alpha ?? DEFAULT_ALPHA,
    overrides: { set: o.set, apply: o.apply },
    tolerance: old?.tolerance ?? DEFAULT_TOLERANCES,
    scenarios: { ...(old?.scenarios ?? {}) },
  };
}

export function registerCheck(program: Command, scenarioDir: string, version: string): void {
  program
    .command('check')
    .description('run scenarios and check their expectations, and optionally compare them with a baseline (exit 1 if any fails)')
    .argument('[paths...]', 'scenario or lesson files, or directories (sim-scenarios/, lessons/)', [scenarioDir])
    .option('--seed <n>', 'run each scenario with this seed instead of its own', integerOption('--seed'))
    .option('--seeds <n|list>', 'run each scenario with seeds 1..N or a list (1,5,9 / 6..10): every expectation must hold for each', (v: string) => parseSeeds(v))
    .option('--apply <cmd>', "apply a command after each scenario's own (repeatable)", collect, [])
    .option('--set <path=value>', 'set a field of each scenario before validation (repeatable)', collect, [])
    .option('--baseline <file>', 'compare each scenario with its entry in this baseline file (JSON; see docs/ci.md)')
    .option('--update-baseline', 'record the baseline instead (keeps its tolerances and the entries of scenarios not run)')
    .option('--exact', "compare each run's digest with the baseline's (any change of the model shows) instead of the statistics")
    .option('--alpha <level>', `level of Welch's test for a change (default: the baseline's; new baselines ${DEFAULT_ALPHA})`, alphaOption)
    .addOption(new Option('--reporter <format>', 'text, junit (JUnit XML), tap (TAP 13) or json').choices([...REPORTERS]).default('text'))
    .option('--out <file>', 'write the report to a file (atomically) instead of stdout')
    .action((paths: string[], o: CheckOptions) => {
      checkOptions(o);
      const all = scenarioFiles(paths);
      if (all.length === 0) throw new InputError(paths.join(' '), 'no scenario files (*.json) found');
      // Lessons (a `steps` list) are checked against their own claims, step by step.
      const lessonFiles = all.filter((f) => isLessonText(readText(f, 'file')));
      const files = all.filter((f) => !lessonFiles.includes(f));
      if (lessonFiles.length > 0) {
        const flag = o.baseline ? '--baseline' : o.apply.length > 0 ? '--apply' : o.set.length > 0 ? '--set' : null;
        if (flag) throw new InputError(`${flag} with ${lessonFiles[0]}`, "lessons are checked against their own steps' claims: give scenario files only");
      }
      const lessons = lessonFiles.map((f) => loadLessonFile(f, scenarioDir));
      const baseline = o.baseline ? readBaseline(o) : null;
      const seeds = seedsToRun(o, baseline);
      // Before any scenario runs: every file loads, every expectation and baseline metric names a
      // metric its result has — a misspelt metric is bad input (exit 2), not a failed check.
      const probes = files.map((file) => {
        const { scenario, probe } = probeScenario(file, { apply: o.apply, set: o.set });
        return { file, name: scenario.name, probe };
      });
      checkAgainstFiles(o, baseline, seeds, probes);

      const runs: CheckedRun[] = [];
      const checks: BaselineCheck[] = [];
      const recorded = o.updateBaseline ? newBaseline(o, baseline, seeds as number[], version) : null;
      const several = seeds.length > 1 || o.seeds !== undefined;
      for (const { file, name } of probes) {
        const results: Result[] = [];
        let expectMetrics: string[] = [];
        for (const seed of seeds) {
          const { loaded, result } = runFile(file, { seed, apply: o.apply, set: o.set });
          expectMetrics = loaded.scenario.expect.map((e) => e.metric);
          results.push(result);
          runs.push({
            scenario: name,
            ...(several ? { seed } : {}),
            digest: result.digest,
            wallMs: result.sim.wall_ms,
            outcomes: [...evaluateExpectations(result, loaded.scenario.expect), ...evaluateExplainClaims(result, loaded.scenario)],
          });
        }
        if (recorded) recorded.scenarios[name] = scenarioBaselineOf(file, seeds as number[], results, expectMetrics, baseline?.scenarios[name]);
        else if (baseline) {
          const b = o.alpha !== undefined ? { ...baseline, alpha: o.alpha } : baseline;
          checks.push(checkAgainstBaseline(name, baseline.scenarios[name], b, seeds as number[], results, o.exact === true));
        }
      }
      if (recorded) writeAtomic(o.baseline!, baselineText(recorded));
      runs.push(...checkLessons(lessons, seeds));

      const total = runs.reduce((a, r) => a + r.outcomes.length, 0);
      const failed = runs.reduce((a, r) => a + r.outcomes.filter((x) => !x.pass).length, 0);
      const changed = checks.reduce((a, c) => a + baselineFailures(c), 0);
      const inLessons =
        lessons.length > 0 ? `${files.length > 0 ? ' and' : ''} ${lessons.length} lesson${lessons.length === 1 ? '' : 's'} (${lessons.reduce((a, l) => a + l.steps.length, 0)} steps)` : '';
      const inScenarios = files.length > 0 || lessons.length === 0 ? ` ${files.length} scenario${files.length === 1 ? '' : 's'}` : '';
      const lines = [`${total - failed}/${total} expectations passed in${inScenarios}${inLessons}${several ? ` × ${seeds.length} seeds` : ''}`];
      if (baseline && !recorded) {
        const compared = checks.reduce((a, c) => a + (o.exact ? c.digests.length : c.metrics.length), 0);
        lines.push(
          `${changed === 0 ? 'no change' : `${changed} ${o.exact ? 'digest' : 'metric'}${changed === 1 ? '' : 's'} changed`} against the baseline ${o.baseline} (${compared} ${o.exact ? 'digests' : 'metrics'} compared)`,
        );
      }
      if (recorded) {
        const metrics = probes.reduce((a, p) => a + Object.keys(recorded.scenarios[p.name]!.metrics).length, 0);
        lines.push(`recorded the baseline ${o.baseline}: ${probes.length} scenario${probes.length === 1 ? '' : 's'}, ${metrics} metrics, seeds ${seeds.join(',')}`);
      }
      const summary = `${lines.join('\n')}\n`;
      const report =
        formatCheck(runs, o.reporter, baseline && !recorded ? { file: o.baseline!, alpha: o.alpha ?? baseline.alpha, exact: o.exact === true, checks } : undefined) +
        (o.reporter === 'text' ? summary : '');
      if (o.out) {
        writeAtomic(o.out, report);
        process.stdout.write(summary);
      } else process.stdout.write(report);
      if (failed > 0 || changed > 0) process.exitCode = EXIT_FAILED;
    });
}
