import { collectResult, type Result } from '../metrics/result.ts';
import { simulate } from '../model/simulate.ts';
import { InputError } from '../scenario/errors.ts';
import { loadScenario, type LoadOptions } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { metricProblem } from '../study/metrics.ts';
import { PROBE_MS } from '../study/sweep.ts';
import type { TraceRecorder } from '../trace/index.ts';
import { readText } from './io.ts';

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
    scenario = loadScenario(text, opts).scenario;
    probe = collectResult(simulate(loadScenario(text, { ...opts, durationMs: PROBE_MS, set: [...(opts.set ?? []), 'warmup_ms=0', 'timeline=[]'] }).resolved), 0);
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

/** Load, validate, apply and run one scenario file; returns the result and the loaded scenario. */
export function runFile(file: string, opts: LoadOptions, trace?: TraceRecorder, seriesMs = 0) {
  const text = readText(file, 'scenario file');
  let loaded;
  try {
    loaded = loadScenario(text, opts);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.where}`.replace(/: $/, ''), e.problem);
    throw e;
  }
  for (const w of loaded.resolved.warnings) process.stderr.write(`rxsim: warning: ${file}: ${w}\n`);
  const t0 = performance.now();
  const kernel = simulate(loaded.resolved, { ...(trace ? { trace } : {}), ...(seriesMs > 0 ? { seriesNs: seriesMs * 1e6 } : {}) });
  const result = collectResult(kernel, performance.now() - t0);
  const overrides = {
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...(opts.durationMs !== undefined ? { duration_ms: opts.durationMs } : {}),
    set: opts.set ?? [],
    apply: opts.apply ?? [],
  };
  result.run = { file, overrides, scenario: loaded.scenario };
  return { loaded, result };
}
