import type { Command } from 'commander';
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../scenario/errors.ts';
import { rowOf } from '../study/browser-sweep.ts';
import { sweepHtml } from '../study/html.ts';
import {
  isSweepFile,
  parseVary,
  parseVaryApply,
  pointLabel,
  prepareSweep,
  scenarioObject,
  shardRuns,
  sweepSpecFromFile,
  toSweepFile,
  type RunSpec,
  type Sweep,
  type SweepSpec,
} from '../study/sweep.ts';
import { columnsOf, formatHeader, formatOf, formatRow, formatRows, layoutOf, parseRows, summarizeRows, summaryCsv, summaryText, type Format, type Layout, type SweepRow } from '../study/table.ts';
import { parseJobs, parseJsonText, parseSeeds, parseShard, type Shard } from '../study/values.ts';
import { fail, readText, writeAtomic } from './io.ts';
import { WorkerPool } from './pool.ts';
import { collect } from './options.ts';
import type { RunAnswer, RunTask, WorkerInit } from './sweep-worker.ts';

/**
 * `rxsim sweep`: run a scenario at every point of some axes with several seeds, in a pool of
 * worker threads, and write one row per run (in run order, whatever --jobs is), a summary per
 * point and, optionally, an HTML page of charts. Every input is checked — every point loaded and
 * probed — before the first run, and before any file is written.
 */

/** The worker's entry: the compiled JavaScript, or, from the TypeScript sources, a boot file that registers tsx in the worker first. */
export function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./sweep-worker-boot.mjs', import.meta.url) : new URL('./sweep-worker.js', import.meta.url);
}

/** What a finished run gives. */
export interface RunOutcome {
  run: number;
  metrics: (number | null)[];
  digest: string;
  wallMs: number;
}

/**
 * A pool of `jobs` worker threads that know one sweep (its scenario, axes and metrics) and run any
 * list of its runs — points with seeds, or the unchanged scenario (`baseline`) — as often as asked:
 * `rxsim sweep` runs its runs once, `rxsim tune` one batch per round. A worker's failure (a bug)
 * rejects with its stack.
 */
export class SweepRunner {
  private readonly pool: WorkerPool<RunTask, RunAnswer>;
  private sweep: Pick<Sweep, 'scenario' | 'axes' | 'metrics'> | null = null;

  /**
   * Start `jobs` workers; with a sweep they know it from the start, without one they wait for
   * `load` — so a sweep can start its threads (each loads the model for ~0.2 s) while the main
   * thread is still checking every point.
   */
  constructor(sweep: Pick<Sweep, 'scenario' | 'axes' | 'metrics'> | null, jobs: number) {
    const init: WorkerInit | { rxsimSweepLater: true } = sweep ? { rxsimSweep: workerSweep(sweep) } : { rxsimSweepLater: true };
    this.pool = new WorkerPool<RunTask, RunAnswer>(workerUrl(), jobs, init);
    this.sweep = sweep;
  }

  /** Tell the workers the sweep (a runner started without one). */
  load(sweep: Pick<Sweep, 'scenario' | 'axes' | 'metrics'>): void {
    this.sweep = sweep;
    const init: WorkerInit = { rxsimSweep: workerSweep(sweep) };
    this.pool.broadcast(init);
  }

  get size(): number {
    return this.pool.size;
  }

  /** Run `tasks`; `onDone` hears each as it finishes (in any order); the outcomes come back in the tasks' order. */
  async run(tasks: readonly RunTask[], onDone?: (o: RunOutcome) => void): Promise<RunOutcome[]> {
    return Promise.all(
      tasks.map(async (r) => {
        const a = await this.pool.run(r);
        if ('error' in a) {
          const what = r.baseline ? 'the unchanged scenario' : pointLabel(this.sweep!.axes, r.valueIndex);
          const where = `run ${r.run} (${[what, `seed ${r.seed}`].filter(Boolean).join(', ')})`;
          if (a.error.input) throw new InputError(`${where}: ${a.error.where}`, a.error.problem);
          throw new Error(`${where}: ${a.error.stack}`);
        }
        onDone?.(a);
        return a;
      }),
    );
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function workerSweep(sweep: Pick<Sweep, 'scenario' | 'axes' | 'metrics'>): WorkerInit['rxsimSweep'] {
  return { scenario: sweep.scenario, axes: sweep.axes, metrics: sweep.metrics };
}

/**
 * Run `runs` of `sweep` in a pool of `jobs` worker threads (or in `started`, a runner whose
 * workers were started before the sweep was known); `onDone` hears each run as it finishes (in
 * any order). A worker's failure (a bug) rejects with its stack.
 */
export async function executeRuns(sweep: Sweep, runs: readonly RunSpec[], jobs: number, onDone: (o: RunOutcome) => void, started?: SweepRunner): Promise<void> {
  if (runs.length === 0) {
    await started?.close();
    return;
  }
  const runner = started ?? new SweepRunner(sweep, Math.min(jobs, runs.length));
  if (started) started.load(sweep);
  try {
    await runner.run(
      runs.map((r) => ({ run: r.run, valueIndex: r.valueIndex, seed: r.seed })),
      onDone,
    );
  } finally {
    await runner.close();
  }
}

/** A progress bar with ETA on stderr, drawn only when stderr is a terminal. */
class Progress {
  private done = 0;
  private last = 0;
  /** When the first run finished: the rate is measured from there (worker start-up is not a run's cost). */
  private first = 0;
  private readonly on = process.stderr.isTTY === true;
  constructor(
    private readonly total: number,
    private readonly t0 = performance.now(),
  ) {}

  tick(): void {
    this.done++;
    if (!this.on) return;
    const now = performance.now();
    if (this.done === 1) this.first = now;
    if (now - this.last < 100 && this.done < this.total) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    const elapsed = (now - this.t0) / 1000;
    const eta = this.done >= 2 ? ((now - this.first) / 1000 / (this.done - 1)) * (this.total - this.done) : null;
    process.stderr.write(`\r\x1b[Ksweep [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} runs  ${clock(elapsed)} elapsed  ETA ${eta === null ? '-:--' : clock(eta)}`);
  }

  end(): void {
    if (this.on && this.done > 0) process.stderr.write('\r\x1b[K');
  }
}

function clock(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A file we will write: its directory must exist (checked before any run). */
export function checkWritable(file: string, flag: string): void {
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${flag} "${file}"`, `the directory ${dir} does not exist`);
}

/** The d3 build the HTML page inlines (its UMD file, which defines `d3`). */
export function d3Source(): string {
  const require = createRequire(import.meta.url);
  return readFileSync(join(dirname(require.resolve('d3')), 'd3.min.js'), 'utf8');
}

/** The summary table on stdout, --summary CSV and --html page of some rows. */
export function writeSummaries(layout: Layout, rows: readonly SweepRow[], o: { summary?: string; html?: string; title: string; subtitle: string }): void {
  const points = summarizeRows(layout, rows);
  process.stdout.write(summaryText(layout, points));
  if (o.summary) writeAtomic(o.summary, summaryCsv(layout, points));
  if (o.html) writeAtomic(o.html, sweepHtml({ title: o.title, subtitle: o.subtitle, layout, points, d3Source: d3Source() }));
}

export interface SweepOptions {
  seeds?: number[];
  metric?: string[];
  jobs?: number;
  shard?: Shard;
  out?: string;
  resume?: boolean;
  summary?: string;
  html?: string;
  saveSweep?: string;
}

/** The runs an existing output already has, checked against the sweep; a partial last line is cut off. */
function resumeFrom(out: string, format: Format, sweep: Sweep, shardIds: Set<number>, shard: Shard | undefined): SweepRow[] {
  const text = readFileSync(out, 'utf8');
  const read = parseRows(text, format, out);
  const layout = layoutOf(sweep);
  if (read.layout === null) {
    writeFileSync(out, formatHeader(layout, format));
    return [];
  }
  const expected = columnsOf(layout).join(', ');
  if (columnsOf(read.layout).join(', ') !== expected) throw new InputError(`--resume ${out}`, `its columns (${columnsOf(read.layout).join(', ')}) are not this sweep's (${expected})`);
  const seen = new Set<number>();
  read.rows.forEach((r) => {
    if (r.sweep !== sweep.hash)
      throw new InputError(`--resume ${out}`, `run ${r.run} belongs to sweep ${r.sweep.slice(0, 12)}, not to this one (${sweep.hash.slice(0, 12)}): the scenario, axes, seeds or metrics differ`);
    if (!shardIds.has(r.run)) throw new InputError(`--resume ${out}`, `run ${r.run} is not one of ${shard ? `shard ${shard.index}/${shard.count}` : 'this sweep'}'s runs`);
    if (seen.has(r.run)) throw new InputError(`--resume ${out}`, `run ${r.run} is in the file twice`);
    seen.add(r.run);
  });
  if (read.partial) truncateSync(out, Buffer.byteLength(text.slice(0, read.complete), 'utf8'));
  return read.rows;
}

export async function sweepCommand(file: string, axisArgs: readonly { kind: 'set' | 'apply'; arg: string }[], o: SweepOptions): Promise<void> {
  const t0 = performance.now();
  // Options first: cheap checks before loading anything.
  const format = o.out ? formatOf(o.out, `--out "${o.out}"`) : null;
  if (o.resume && !o.out) throw new InputError('--resume', 'needs --out FILE.csv|FILE.jsonl: the output to complete');
  if (o.out) {
    if (existsSync(o.out) && !o.resume) throw new InputError(`--out "${o.out}"`, 'exists; add --resume to complete it, or name another file (an output is never overwritten)');
    checkWritable(o.out, '--out');
  }
  if (o.summary) checkWritable(o.summary, '--summary');
  if (o.html) checkWritable(o.html, '--html');
  if (o.saveSweep) {
    checkWritable(o.saveSweep, '--save-sweep');
    if (!/\.json$/i.test(o.saveSweep)) throw new InputError(`--save-sweep "${o.saveSweep}"`, 'expected a file name ending in .json');
  }
  const jobs = o.jobs ?? availableParallelism();
  // The workers load the model while this thread checks every point (an input error exits the
  // process, workers and all).
  const runner = new SweepRunner(null, jobs);

  const text = readText(file, 'scenario or sweep file');
  const json = parseJsonText(text, file);
  let spec: SweepSpec;
  if (isSweepFile(json)) {
    const given = axisArgs.length ? (axisArgs[0]!.kind === 'set' ? '--vary' : '--vary-apply') : o.seeds ? '--seeds' : o.metric?.length ? '--metric' : null;
    if (given) throw new InputError(given, `${file} is a sweep file: it defines the axes, seeds and metrics itself (edit it, or give a scenario file)`);
    spec = sweepSpecFromFile(json, file, (p) => ({ text: readText(resolve(dirname(file), p), 'scenario file'), label: p }));
  } else {
    spec = {
      scenario: scenarioObject(json, file),
      scenarioLabel: file,
      axes: axisArgs.map((a) => (a.kind === 'set' ? parseVary(a.arg) : parseVaryApply(a.arg))),
      seeds: o.seeds ?? null,
      metrics: o.metric?.length ? o.metric : null,
    };
  }
  const sweep = prepareSweep(spec);
  const layout = layoutOf(sweep);
  const runs = shardRuns(sweep, o.shard);
  const ids = new Set(runs.map((r) => r.run));

  let kept: SweepRow[] = [];
  if (o.out && format) {
    if (o.resume && existsSync(o.out)) kept = resumeFrom(o.out, format, sweep, ids, o.shard);
    else writeFileSync(o.out, formatHeader(layout, format), { flag: 'wx' });
  }
  if (o.saveSweep) writeAtomic(o.saveSweep, `${JSON.stringify(toSweepFile(sweep), null, 2)}\n`);

  const have = new Set(kept.map((r) => r.run));
  const pending = runs.filter((r) => !have.has(r.run));
  const fresh: SweepRow[] = [];
  // Rows go to the file in run order: finished runs wait for the ones before them.
  const finished = new Map<number, SweepRow>();
  let next = 0;
  const byId = new Map(pending.map((r) => [r.run, r]));
  const progress = new Progress(pending.length, t0);
  await executeRuns(
    sweep,
    pending,
    jobs,
    (outcome) => {
      const spec = byId.get(outcome.run)!;
      finished.set(outcome.run, rowOf(sweep, spec, outcome));
      let lines = '';
      while (next < pending.length && finished.has(pending[next]!.run)) {
        const row = finished.get(pending[next]!.run)!;
        finished.delete(row.run);
        fresh.push(row);
        if (format) lines += formatRow(row, layout, format);
        next++;
      }
      if (lines && o.out) appendFileSync(o.out, lines);
      progress.tick();
    },
    runner,
  );
  progress.end();

  const rows = [...kept, ...fresh];
  const sorted = [...rows].sort((a, b) => a.run - b.run);
  // Rows kept from a file that was not in run order (a gap filled now): rewrite it sorted, whole.
  if (o.out && format && rows.some((r, i) => r !== sorted[i])) writeAtomic(o.out, formatRows(sorted, layout, format));

  const shardText = o.shard ? `, shard ${o.shard.index}/${o.shard.count}: ${runs.length} runs` : '';
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const workers = Math.min(jobs, pending.length);
  process.stderr.write(
    `rxsim: sweep ${sweep.hash.slice(0, 12)}: ${sweep.points} point${sweep.points === 1 ? '' : 's'} × ${sweep.seeds.length} seed${sweep.seeds.length === 1 ? '' : 's'} = ${sweep.runs} runs${shardText}; ${fresh.length} run${fresh.length === 1 ? '' : 's'} now${kept.length ? `, ${kept.length} already in ${o.out}` : ''} in ${seconds} s${workers ? ` with ${workers} worker${workers === 1 ? '' : 's'}` : ''}${o.out ? ` -> ${o.out}` : ''}\n`,
  );
  const name = typeof sweep.scenario.name === 'string' ? sweep.scenario.name : sweep.scenarioLabel;
  writeSummaries(layout, sorted, {
    summary: o.summary,
    html: o.html,
    title: `rxsim sweep: ${name}`,
    subtitle: `sweep ${sweep.hash} · ${sweep.points} points × ${sweep.seeds.length} seeds = ${sweep.runs} runs${o.shard ? ` (shard ${o.shard.index}/${o.shard.count})` : ''} · scenario ${sweep.scenarioLabel}`,
  });
}

export function registerSweep(program: Command): void {
  // --vary and --vary-apply in the order given on the command line: the order of the axes.
  const axisArgs: { kind: 'set' | 'apply'; arg: string }[] = [];
  const axis =
    (kind: 'set' | 'apply') =>
    (arg: string, previous: string[] | undefined): string[] => {
      axisArgs.push({ kind, arg });
      return [...(previous ?? []), arg];
    };
  program
    .command('sweep')
    .description('run a scenario at every combination of knob values with several seeds (worker threads); one row per run, a summary per point')
    .argument('<file>', 'scenario file, or sweep file (a JSON object with "scenario", "axes", "seeds", "metrics")')
    .option('--vary <path=values>', 'vary a scenario field as --set writes it (repeatable): path=v1,v2,… or path=a..b:step, e.g. nics[0].coalesce.rx-usecs=90..110:2', axis('set'))
    .option('--vary-apply <cmd=values>', 'vary a command applied as --apply, {} standing for the value (repeatable): "ethtool -C eth0 rx-usecs {}"=50,100', axis('apply'))
    .option('--seeds <n|list>', "seeds of each point: N for 1..N, or a list 1,5,9 / 1..10 (default: the scenario's seed)", (v: string) => parseSeeds(v))
    .option(
      '--metric <path>',
      'a result path to record (repeatable; * sums, e.g. packets.dropped.*); default: throughput.delivered_gbps, flows[0].goodput_gbps, latency_us.p50, latency_us.p99, interrupts.per_sec, packets.dropped.*',
      collect,
    )
    .option('--jobs <n>', 'worker threads (default: the available parallelism)', parseJobs)
    .option('--shard <I/N>', 'run shard I of N only: the runs whose id mod N is I-1 (rxsim merge joins the shards)', parseShard)
    .option('--out <file>', 'write one row per run to FILE.csv or FILE.jsonl (never overwritten)')
    .option('--resume', 'complete an existing --out: skip the runs it has (same sweep), drop a partial last line')
    .option('--summary <file>', 'also write the summary per point (n, mean, sd, ci95_lo, ci95_hi, min, max per metric) as CSV')
    .option('--html <file>', 'write a self-contained HTML page: each metric against each axis with its 95 % CI band, and the summary')
    .option('--save-sweep <file>', 'write the sweep as a sweep file (the scenario inline): rxsim sweep FILE repeats it, same hash')
    .action((file: string, o: SweepOptions) => {
      sweepCommand(file, axisArgs, o).catch((e: unknown) => fail(e));
    });
}
