import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { EV, TraceRecorder } from '../../src/trace/index.ts';
import { resolve } from '../helpers.ts';

/**
 * Threaded NAPI polls inside local_bh_disable()/local_bh_enable() (napi_threaded_poll_loop): a
 * poll is never preempted, and an interrupt during it runs no softirq at irq_exit — the NET_RX
 * it raises waits for local_bh_enable.
 */
describe('threaded NAPI with bottom halves off', () => {
  // One CPU: the napi thread and a nice -10 UDP reader that each poll wakes (wake-up preemption
  // wants the CPU for it at once), a 1 Mpps flood, and the tick (HZ 1000) interrupting.
  const scenario = {
    cpus: 1,
    duration_ms: 10,
    warmup_ms: 2,
    kernel: { hz: 1000 },
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }],
    apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', nice: -10 }],
    flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '1mpps', size: 64, arrival: 'poisson' }],
    apply: ['echo 1 > /sys/class/net/eth0/threaded'],
  };

  it('no task switch and no softirq falls inside a poll of the napi thread', () => {
    const trace = new TraceRecorder({ detail: 'poll', capacity: 1 << 20 });
    const k = simulate(resolve(scenario), { trace });
    const r = collectResult(k, 0);
    expect(r.packets.delivered).toBeGreaterThan(100);
    const polls: { cpu: number; t: number; end: number }[] = [];
    const inside: { cpu: number; t: number }[] = [];
    for (const e of trace.buf.events()) {
      if (e.type === EV.NAPI_POLL && e.a > 0) polls.push({ cpu: e.cpu, t: e.t, end: e.t + e.dur });
      if (e.type === EV.SCHED_SWITCH || e.type === EV.SOFTIRQ_ENTRY) inside.push({ cpu: e.cpu, t: e.t });
    }
    expect(polls.length).toBeGreaterThan(100);
    const interrupted = polls.filter((p) => inside.some((x) => x.cpu === p.cpu && x.t > p.t && x.t < p.end));
    expect(interrupted).toEqual([]);
  });
});
