import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { InputError } from '../scenario/errors.ts';
import { explain, explanationText, type Explanation, type FlowExplanation } from '../study/explain.ts';
import { remedyResults, remedySweep, remedyTable, type RemedyResult } from '../study/remedies.ts';
import { scenarioObject, shardRuns } from '../study/sweep.ts';
import { parseJobs, parseJsonText, parseSeeds } from '../study/values.ts';
import { readText, writeAtomic } from './io.ts';
import { integerOption } from './options.ts';
import { runFileInteractive } from './run-file.ts';
import { SweepRunner } from './sweep.ts';

/**
 * `rxsim explain`: run a scenario, name per flow what limited it with the evidence, and — unless
 * --no-remedies — prove it by running the remedies a kernel engineer would try as replicas (seeds)
 * against the unchanged scenario, each with its effect and a confidence interval.
 */
interface ExplainOptions {
  flow?: string;
  json?: boolean;
  seed?: number;
  seeds: number[];
  remedies: boolean;
  jobs?: number;
  out?: string;
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('name what limits each flow of a scenario, with the evidence, and run the remedies that would prove it')
    .argument('<scenario>', 'scenario file (*.json)')
    .option('--flow <name>', 'explain only this flow')
    .option('--seed <n>', 'the run to explain (default: the scenario seed)', integerOption('--seed'))
    .option('--seeds <list>', 'seeds of the remedy replicas (N for 1..N, a..b, or a list)', (v) => parseSeeds(v, `--seeds ${v}`), [1, 2, 3, 4, 5])
    .option('--no-remedies', 'only explain the run; do not run the remedies')
    .option('--jobs <n>', 'worker threads for the remedies (default: available parallelism)', (v) => parseJobs(v))
    .option('--json', 'print the explanation as JSON')
    .option('--out <file>', 'write the output to a file instead of stdout')
    .action(async (file: string, o: ExplainOptions) => {
      const { loaded, result } = await runFileInteractive(file, { seed: o.seed, apply: [], set: [] }, undefined, 1);
      if (o.flow !== undefined && !result.flows.some((f) => f.name === o.flow)) {
        const names = result.flows.map((f) => f.name);
        throw new InputError(`--flow ${o.flow}`, `no such flow; the scenario's flows are ${names.join(', ')}`);
      }
      const e = explain(result, loaded.scenario, o.flow);
      const remedies = o.remedies ? await runRemedies(file, e, o) : [];
      const text = o.json ? `${JSON.stringify({ ...e, remedy_results: remedies }, null, 2)}\n` : `${explanationText(e)}${remedies.length > 0 ? `\n\n${remedyTable(remedies, o.seeds)}` : ''}\n`;
      if (o.out) writeAtomic(o.out, text);
      else process.stdout.write(text);
    });
}

/** Every flow's remedies, run with the seeds against the unchanged scenario in the sweep's worker pool. */
async function runRemedies(file: string, e: Explanation, o: ExplainOptions): Promise<RemedyResult[]> {
  const wanted = e.flows.filter((f) => f.remedies.length > 0);
  if (wanted.length === 0) return [];
  const scenario = scenarioObject(parseJsonText(readText(file, 'scenario file'), file), file);
  const out: RemedyResult[] = [];
  for (const f of wanted) out.push(...(await runFlowRemedies(file, scenario, e, f, o)));
  return out;
}

async function runFlowRemedies(file: string, scenario: Record<string, unknown>, e: Explanation, f: FlowExplanation, o: ExplainOptions): Promise<RemedyResult[]> {
  // One sweep: the scenario's apply list as it is, then with each remedy's commands (remedySweep).
  const sweep = remedySweep(scenario, file, f, o.seeds, e);
  const runs = shardRuns(sweep);
  const jobs = Math.max(1, Math.min(o.jobs ?? availableParallelism(), runs.length));
  const runner = new SweepRunner(sweep, jobs);
  try {
    const outcomes = await runner.run(runs.map((r) => ({ run: r.run, valueIndex: r.valueIndex, seed: r.seed })));
    const byRun = new Map(outcomes.map((a) => [a.run, a.metrics]));
    return remedyResults(f, sweep, (run) => byRun.get(run));
  } finally {
    await runner.close();
  }
}
