import { MS, SEC } from '../engine/time.ts';
import { DEFAULT_SERIES_NS, runStatisticsOf, SeriesRecorder, seriesInterval, setRunStatistics, type RunStatistics } from '../metrics/series.ts';
import { isTransient, mser5 } from '../metrics/steady-state.ts';
import type { ResolvedScenario } from '../scenario/resolve.ts';
import { Kernel } from './kernel.ts';
import type { TraceHooks } from './trace-hooks.ts';

/** A tracer: the hooks, plus a look at the machine once it is built and a call when the run is over. */
export interface Tracer extends TraceHooks {
  /** The machine is built (before the first event). */
  attach?(k: Kernel): void;
  /** The run is over (after the last event). */
  finish?(): void;
}

export interface SimulateOptions {
  /** After the run, keep simulating (no new traffic) until every packet is delivered or dropped. */
  drain?: boolean;
  trace?: Tracer;
  /**
   * Called every `progressEveryNs` of simulated time (the browser shows progress). The run is
   * the same: running to a time and on from it dispatches the same events in the same order.
   */
  onProgress?: (simulatedNs: number, totalNs: number) => void;
  progressEveryNs?: number;
  /**
   * Record per-interval series over the window, every `seriesNs` of simulated time (0 or absent:
   * none), for collectResult's `series`, `steady_state` and `ci` (src/metrics/series.ts). The run
   * is the same: the simulator runs in interval steps and counters are read between them.
   */
  seriesNs?: number;
}

/**
 * Build the machine for a resolved scenario and run it: warm-up, then a reset of every windowed
 * counter, then the measured window up to duration_ms. Returns the kernel for the result
 * collector (src/metrics/result.ts).
 *
 * warmup_ms "auto" (scenario.warmupAuto): a pilot run from t = 0 records the goodput series,
 * MSER-5 finds where its transient ends, and the run proper starts its window there — the same
 * scenario and seed, so the choice and the run are deterministic. The pilot costs a second run
 * (none when there is no transient and the pilot already is the run asked for).
 */
export function simulate(scenario: ResolvedScenario, opts: SimulateOptions = {}): Kernel {
  const steps = simulateSteps(scenario, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The same run as `simulate`, as steps: it pauses after each progress report (every
 * `progressEveryNs` of simulated time, when `onProgress` is given), so a caller can yield to its
 * event loop between steps — to notice Ctrl-C, or keep a page responsive — and stop early. The
 * pauses change nothing: the same events run in the same order.
 */
export function* simulateSteps(scenario: ResolvedScenario, opts: SimulateOptions = {}): Generator<void, Kernel, void> {
  if (!scenario.warmupAuto) return yield* runOnce(scenario, opts, opts.seriesNs ? { series: opts.seriesNs, publish: true } : null, null);
  const requested = opts.seriesNs || DEFAULT_SERIES_NS;
  const total = 2 * scenario.durationNs;
  const progress = (offset: number) => (opts.onProgress ? { onProgress: (ns: number) => opts.onProgress!(offset + ns, total), progressEveryNs: opts.progressEveryNs } : {});
  const pilotScenario: ResolvedScenario = { ...scenario, warmupNs: 0 };
  const pilotOnly = !opts.trace && !opts.drain;
  const pilot = yield* runOnce(pilotScenario, progress(0), { series: requested, publish: pilotOnly && !!opts.seriesNs }, null);
  const rec = stats(pilot).recorder!;
  // The truncation counts only if it removes a material bias (isTransient: > 1 % and > 2
  // standard errors); below that it is MSER-5 reacting to noise — on a short stationary series it
  // can land anywhere up to half the run — and would only throw data away.
  const m = mser5(rec.goodputBytes());
  const warmupNs = m && isTransient(m) ? m.truncation * rec.intervalNs : 0;
  const auto = { warmupNs, pilot: m, intervalNs: rec.intervalNs };
  if (warmupNs === 0 && pilotOnly) {
    // The pilot ran the scenario with no warm-up and the options asked for: it is the run.
    setRunStatistics(pilot, { ...stats(pilot), auto });
    opts.onProgress?.(total, total);
    return pilot;
  }
  return yield* runOnce({ ...scenario, warmupNs }, { ...opts, ...progress(scenario.durationNs) }, { series: requested, publish: !!opts.seriesNs }, auto);
}

function stats(k: Kernel): RunStatistics {
  return { recorder: null, publishSeries: false, auto: null, ...runStatisticsOf(k) };
}

/** One run of the scenario as resolved (its warmupNs is the warm-up). */
function* runOnce(scenario: ResolvedScenario, opts: SimulateOptions, series: { series: number; publish: boolean } | null, auto: RunStatistics['auto']): Generator<void, Kernel, void> {
  const k = new Kernel(scenario, opts.trace ?? null);
  opts.trace?.attach?.(k);
  k.start();
  const step = opts.progressEveryNs ?? MS;
  let nextProgress = opts.onProgress ? k.sim.now + step : Infinity;
  let rec: SeriesRecorder | null = null;
  // Run to `end`, stopping for progress reports and interval ends (stops change nothing: the
  // same events run in the same order); the interval ending at `end` itself is not sampled here.
  const runTo = function* (end: number): Generator<void, void, void> {
    if (!opts.onProgress && !rec) return k.sim.runUntil(end);
    while (k.sim.now < end) {
      const stop = Math.min(end, nextProgress, rec ? rec.nextAt : Infinity);
      k.sim.runUntil(stop);
      if (rec && k.sim.now >= rec.nextAt) rec.sample(k);
      if (opts.onProgress && (k.sim.now >= nextProgress || k.sim.now >= end)) {
        opts.onProgress(k.sim.now, scenario.durationNs);
        nextProgress = k.sim.now + step;
        yield;
      }
    }
  };
  if (scenario.warmupNs > 0) {
    yield* runTo(scenario.warmupNs);
    // Land what has arrived by now first, so the window's queue integrals start complete.
    for (const nic of k.nics) nic.settleAt(k.sim.now);
    k.resetWindow();
  }
  if (series) {
    const windowNs = scenario.durationNs - k.sim.now;
    rec = new SeriesRecorder(k, seriesInterval(series.series, windowNs), k.sim.now, scenario.durationNs, Math.max(1, Math.round(series.series)));
    setRunStatistics(k, { recorder: rec, publishSeries: series.publish, auto });
  }
  yield* runTo(scenario.durationNs);
  if (rec) {
    // The last interval closes once the NICs have landed what arrived by now (as the end of a
    // run does anyway, and the drain's first step).
    for (const nic of k.nics) nic.settleAt(k.sim.now);
    rec.sample(k);
  }
  if (opts.drain) drain(k);
  for (const nic of k.nics) nic.settleAt(k.sim.now);
  for (const cpu of k.cpus) cpu.account();
  for (const q of k.queues()) q.finish(k.sim.now);
  opts.trace?.finish?.();
  return k;
}

/**
 * Run on until every packet is delivered or dropped (bounded to 1 s). The wire is lazy, so each
 * step first lands what has arrived by now: a frame nobody has looked at yet is still in flight.
 */
function drain(k: Kernel): void {
  const limit = k.sim.now + SEC;
  for (;;) {
    for (const nic of k.nics) nic.settleAt(k.sim.now);
    if (k.pool.inUse === 0 || k.sim.now >= limit || k.sim.pending === 0) return;
    k.sim.runUntil(Math.min(limit, k.sim.now + MS));
  }
}
