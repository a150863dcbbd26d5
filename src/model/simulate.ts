import type { ResolvedScenario } from '../scenario/resolve.ts';
import { Kernel } from './kernel.ts';
import type { GroCounters } from './gro.ts';
import type { PacketQueue } from './packet.ts';
import type { TraceHooks } from './trace-hooks.ts';

export interface SimulateOptions {
  /** After the run, keep simulating (no new traffic) until every packet is delivered or dropped. */
  drain?: boolean;
  trace?: TraceHooks;
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
  const k = new Kernel(scenario);
  if (opts.trace) {
    k.trace = opts.trace;
    opts.trace.attach?.(k);
  }
  k.start();
  const runTo = (end: number): void => {
    const step = opts.progressEveryNs ?? 1_000_000;
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
    resetWindowCounters(k);
  }
  runTo(scenario.durationNs);
  if (opts.drain) drain(k);
  for (const nic of k.nics) nic.settleAt(k.sim.now);
  for (const cpu of k.cpus) cpu.account();
  for (const q of allQueues(k)) q.finish(k.sim.now);
  opts.trace?.finish?.();
  return k;
}

/**
 * Run on until every packet is delivered or dropped (bounded to 1 s). The wire is lazy, so each
 * step first lands what has arrived by now: a frame nobody has looked at yet is still in flight.
 */
function drain(k: Kernel): void {
  const limit = k.sim.now + 1_000_000_000;
  for (;;) {
    for (const nic of k.nics) nic.settleAt(k.sim.now);
    if (k.pool.inUse === 0 || k.sim.now >= limit || k.sim.pending === 0) return;
    k.sim.runUntil(Math.min(limit, k.sim.now + 1_000_000));
  }
}

/**
 * Every queue whose occupancy is integrated: rings, NIC packet buffers, backlogs, veth rings,
 * socket receive queues and socket backlogs. (A queue's `arrivals` only stages frames the wire
 * generated ahead of time; it is not a queue of the path.)
 */
export function allQueues(k: Kernel): PacketQueue[] {
  const out: PacketQueue[] = [];
  for (const nic of k.nics) for (const q of nic.queues) out.push(q.ring, q.pktbuf);
  for (const sd of k.softnet) out.push(sd.inputPktQueue, sd.processQueue);
  for (const q of k.vethQueues()) out.push(q.ring);
  for (const sock of k.stack.sockets) out.push(sock.queue, sock.backlog);
  return out;
}

/** Zero every counter that describes the measurement window (state is kept). */
export function resetWindowCounters(k: Kernel): void {
  const now = k.sim.now;
  for (const cpu of k.cpus) {
    cpu.account();
    cpu.time.fill(0);
  }
  for (const t of k.tasks) {
    t.time.fill(0);
    t.waitNs = 0;
    if (t.state === 'runnable' && k.cpus[t.cpu]!.rq.curr !== t) t.waitStart = now;
    t.wakeups = t.nvcsw = t.nivcsw = t.migrations = 0;
  }
  for (const sd of k.softnet) {
    sd.processed = sd.dropped = sd.timeSqueeze = sd.receivedRps = sd.ipiSent = 0;
    if (sd.flowLimit) sd.flowLimit.count = 0;
    resetNapi(sd.backlog);
  }
  for (const key of Object.keys(k.stack.nstat) as (keyof typeof k.stack.nstat)[]) k.stack.nstat[key] = 0;
  for (const sock of k.stack.sockets) {
    sock.drops = sock.copiedHot = sock.copiedCold = 0;
    for (const key of Object.keys(sock.counters) as (keyof typeof sock.counters)[]) sock.counters[key] = 0;
  }
  for (const g of [...k.nics.flatMap((n) => n.pollers.map((p) => p.gro)), ...k.vethQueues().map((q) => q.gro)]) resetGro(g.counters);
  for (const s of [...k.senders, ...k.localSenders]) if (s) s.retransmits = s.rtos = 0;
  for (const g of k.cgroups) g.resetStats(now);
  for (const h of [k.stack.latency, k.stack.latencyRing, k.stack.latencyStack, k.stack.latencySocket]) h.reset();
  for (const d of k.irqs.descs) d.counts.fill(0);
  for (const row of k.softirqCounts) row.fill(0);
  for (const nic of k.nics) {
    nic.upstreamDrops = nic.arfsSteered = 0;
    nic.wire.frames = 0;
    nic.wire.bits = 0;
    for (const q of nic.queues) q.packets = q.bytes = q.noDescDrops = q.missedDrops = q.refills = 0;
    for (const v of nic.vectors) {
      v.interrupts = 0;
      v.moderation.updates = 0;
    }
    for (const n of nic.napis) resetNapi(n);
  }
  for (const q of allQueues(k)) {
    q.finish(now);
    q.area = 0;
    q.departures = 0;
    q.sojournSum = 0;
    q.peak = q.length;
  }
  k.stack.resetWindow();
  k.windowStart = now;
}

function resetGro(c: GroCounters): void {
  c.received = c.merged = c.delivered = c.normal = 0;
  c.flushPush = c.flushMismatch = c.flushFull = c.flushBucket = c.flushComplete = c.flushOld = 0;
  c.segsHist.fill(0);
}

function resetNapi(n: { polls: number; workHist: Float64Array }): void {
  n.polls = 0;
  n.workHist.fill(0);
}
