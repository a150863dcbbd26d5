import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { InputError } from '../scenario/errors.ts';
import { explain, explanationText, type Explanation, type FlowExplanation } from '../study/explain.ts';
import { remedyMetric, remedyTable, summarizeRemedies, type RemedyResult } from '../study/remedies.ts';
import { prepareSweep, scenarioObject } from '../study/sweep.ts';
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
  for (const f of wanted) out.push(...(await runFlowRemedies(file, scenario, f, o)));
  return out;
}

async function runFlowRemedies(file: string, scenario: Record<string, unknown>, f: FlowExplanation, o: ExplainOptions): Promise<RemedyResult[]> {
  const metric = remedyMetric(f);
  // One apply axis whose values are the remedies' commands: "{}" is the whole command.
  const commands = f.remedies.map((r) => r.command);
  const sweep = prepareSweep({ scenario, scenarioLabel: file, axes: [{ kind: 'apply', name: '{}', values: commands, source: `remedies of flow ${f.flow}` }], seeds: o.seeds, metrics: [metric] });
  const jobs = Math.max(1, Math.min(o.jobs ?? availableParallelism(), sweep.runs + o.seeds.length));
  const runner = new SweepRunner(sweep, jobs);
  try {
    let run = 0;
    const tasks = [
      ...o.seeds.map((seed) => ({ run: run++, valueIndex: [] as number[], seed, baseline: true })),
      ...f.remedies.flatMap((_, i) => o.seeds.map((seed) => ({ run: run++, valueIndex: [i], seed }))),
    ];
    const outcomes = await runner.run(tasks);
    const values = outcomes.map((a) => ('metrics' in a ? a.metrics[0]! : null));
    return summarizeRemedies(f, metric, values.slice(0, o.seeds.length), (i) => values.slice(o.seeds.length * (i + 1), o.seeds.length * (i + 2)));
  } finally {
    await runner.close();
  }
}
