import { collectResult, type Result } from '../metrics/result.ts';
import { MS } from '../engine/time.ts';
import type { Kernel } from '../model/kernel.ts';
import { simulate, simulateSteps, type SimulateOptions } from '../model/simulate.ts';
import { InputError } from '../scenario/errors.ts';
import { dirname, resolve } from 'node:path';
import { loadScenario, parseJson, type Loaded, type LoadOptions } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { metricProblem } from '../study/metrics.ts';
import { PROBE_MS } from '../study/sweep.ts';
import type { TraceRecorder } from '../trace/index.ts';
import { EXIT_INTERRUPTED, readText } from './io.ts';

/**
 * Load a scenario and probe it (PROBE_MS simulated, no warm-up or timeline: a result of the same
 * shape); an expectation whose metric the result does not have is an InputError at its JSON path.
 * Returns the scenario and the probe's result, against which other metric paths (a baseline's) can
 * be checked before anything runs.
 */
export function probeScenario(file: string, opts: Pick<LoadOptions, 'apply' | 'set'> = {}): { scenario: Scenario; probe: Result } {
  const text = readText(file, 'scenario file');
  let scenario;
  let probe;
  try {
    scenario = loadScenario(text, { readCosts: costsReader(file), ...opts }).scenario;
    probe = collectResult(simulate(loadScenario(text, { readCosts: costsReader(file), ...opts, durationMs: PROBE_MS, set: [...(opts.set ?? []), 'warmup_ms=0', 'timeline=[]'] }).resolved), 0);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.where}`.replace(/: $/, ''), e.problem);
    throw e;
  }
  scenario.expect.forEach((e, i) => {
    const problem = metricProblem(probe, e.metric);
    if (problem) throw new InputError(`${file}: expect[${i}].metric "${e.metric}"`, problem);
  });
  return { scenario, probe };
}

/** A costs file named in a scenario (`"costs": "./x.costs.json"`): read relative to the scenario file. */
export function costsReader(file: string): (ref: string) => unknown {
  return (ref) => parseJson(readText(resolve(dirname(file), ref), 'costs file'));
}

function loadFile(file: string, opts: LoadOptions) {
  const text = readText(file, 'scenario file');
  let loaded;
  try {
    loaded = loadScenario(text, { readCosts: costsReader(file), ...opts });
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.where}`.replace(/: $/, ''), e.problem);
    throw e;
  }
  for (const w of loaded.resolved.warnings) process.stderr.write(`rxsim: warning: ${file}: ${w}\n`);
  return loaded;
}

function resultOf(file: string, opts: LoadOptions, loaded: Loaded, kernel: Kernel, wallMs: number) {
  const result = collectResult(kernel, wallMs);
  const overrides = {
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.durationMs !== undefined ? { duration_ms: opts.durationMs } : {}),
    set: opts.set ?? [],
    apply: opts.apply ?? [],
  };
  result.run = { file, overrides, scenario: loaded.scenario };
  return { loaded, result };
}

const simulateOptions = (trace: TraceRecorder | undefined, seriesMs: number): SimulateOptions => ({ ...(trace ? { trace } : {}), ...(seriesMs > 0 ? { seriesNs: seriesMs * 1e6 } : {}) });

/** Load, validate, apply and run one scenario file; returns the result and the loaded scenario. */
export function runFile(file: string, opts: LoadOptions, trace?: TraceRecorder, seriesMs = 0) {
  const loaded = loadFile(file, opts);
  const t0 = performance.now();
  const kernel = simulate(loaded.resolved, simulateOptions(trace, seriesMs));
  return resultOf(file, opts, loaded, kernel, performance.now() - t0);
}

/**
 * The same run for a terminal: it yields to the event loop every 50 ms of wall time, so Ctrl-C
 * stops it cleanly (one line, exit 130, nothing written: outputs are written after the run), and
 * a run that takes longer than two seconds shows its progress on stderr when that is a terminal.
 */
export async function runFileInteractive(file: string, opts: LoadOptions, trace?: TraceRecorder, seriesMs = 0) {
  const loaded = loadFile(file, opts);
  const t0 = performance.now();
  const progress = new RunProgress(t0);
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    const steps = simulateSteps(loaded.resolved, { ...simulateOptions(trace, seriesMs), onProgress: (ns, total) => progress.update(ns, total), progressEveryNs: MS });
    let yielded = performance.now();
    for (;;) {
      const r = steps.next();
      if (r.done) return resultOf(file, opts, loaded, r.value, performance.now() - t0);
      if (performance.now() - yielded > 50) {
        await new Promise((resolve) => setImmediate(resolve));
        yielded = performance.now();
      }
      if (interrupted) {
        progress.end();
        process.stderr.write(`rxsim: interrupted at ${progress.at()}; nothing written\n`);
        process.exit(EXIT_INTERRUPTED);
      }
    }
  } finally {
    progress.end();
    process.off('SIGINT', onSigint);
  }
}

/** "3.2 s of 10 s simulated (32 %), 4 s elapsed, ETA 0:09" on stderr, redrawn at most 10 times a second, after the first two seconds. */
class RunProgress {
  private ns = 0;
  private total = 0;
  private drawn = 0;
  private readonly on = process.stderr.isTTY === true;
  constructor(private readonly t0: number) {}

  update(ns: number, total: number): void {
    this.ns = ns;
    this.total = total;
    const now = performance.now();
    if (!this.on || now - this.t0 < 2000 || now - this.drawn < 100) return;
    this.drawn = now;
    const elapsed = (now - this.t0) / 1000;
    const eta = ns > 0 ? (elapsed * (total - ns)) / ns : null;
    process.stderr.write(`\r\x1b[Krxsim: ${this.at()} (${((ns / total) * 100).toFixed(0)} %), ${elapsed.toFixed(0)} s elapsed, ETA ${eta === null ? '-' : `${eta.toFixed(0)} s`}`);
  }

  at(): string {
    const ms = (ns: number): string => `${+(ns / 1e6).toPrecision(4)} ms`;
    return `${ms(this.ns)} of ${ms(this.total)} simulated`;
  }

  end(): void {
    if (this.drawn > 0) process.stderr.write('\r\x1b[K');
    this.drawn = 0;
  }
}
