import { MS, SEC } from '../engine/time.ts';
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
}

/**
 * Build the machine for a resolved scenario and run it: warm-up, then a reset of every windowed
 * counter, then the measured window up to duration_ms. Returns the kernel for the result
 * collector (src/metrics/result.ts).
 */
export function simulate(scenario: ResolvedScenario, opts: SimulateOptions = {}): Kernel {
  const k = new Kernel(scenario, opts.trace ?? null);
  opts.trace?.attach?.(k);
  k.start();
  const runTo = (end: number): void => {
    const step = opts.progressEveryNs ?? MS;
    if (!opts.onProgress) return k.sim.runUntil(end);
    while (k.sim.now < end) {
      k.sim.runUntil(Math.min(end, k.sim.now + step));
      opts.onProgress(k.sim.now, scenario.durationNs);
    }
  };
  if (scenario.warmupNs > 0) {
    runTo(scenario.warmupNs);
    // Land what has arrived by now first, so the window's queue integrals start complete.
    for (const nic of k.nics) nic.settleAt(k.sim.now);
    k.resetWindow();
  }
  runTo(scenario.durationNs);
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
