import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { EXACT } from '../helpers.ts';

/**
 * skb_attempt_defer_free(): a reader on another CPU than the one whose NAPI poll built the skb
 * queues it back there; that CPU frees it in net_rx_action (skb_defer_free_flush), and a list
 * half full kicks it with an IPI. The old rule freed every skb on the reader's CPU.
 */

function run(sc: Record<string, unknown>): Result {
  return collectResult(
    simulate(
      loadScenarioObject({
        name: 'defer',
        duration_ms: 30,
        warmup_ms: 5,
        cpus: 2,
        variability: EXACT,
        nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
        flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '300kpps', size: 256 }],
        ...sc,
      }).resolved,
    ),
    0,
  );
}

const sink = (cpus: string, batch = 1) => ({ apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus, batch }] });

describe('deferred skb freeing', () => {
  it('a reader on another CPU queues each datagram back to the CPU that received it, which frees it in NET_RX', () => {
    const r = run(sink('1'));
    const read = r.flows[0]!.delivered;
    expect(read).toBeGreaterThan(7000); // 300 kpps × 25 ms
    expect(r.skb_defer[0]!.deferred).toBeGreaterThan(read * 0.95);
    expect(r.skb_defer[0]!.flushes).toBeGreaterThan(0);
    expect(r.skb_defer[1]!.deferred).toBe(0);
  });

  it('the free moves from the reader’s CPU to the receiving CPU: net.core.skb_defer_max=0 puts it back on the reader', () => {
    const deferred = run(sink('1'));
    const local = run({ ...sink('1'), sysctl: { 'net.core.skb_defer_max': 0 } });
    expect(local.skb_defer[0]!.deferred).toBe(0);
    expect(deferred.cpus[0]!.soft).toBeGreaterThan(local.cpus[0]!.soft);
    expect(deferred.cpus[1]!.sys).toBeLessThan(local.cpus[1]!.sys);
    // The same datagrams are read (the window's edges move by a few with the reader's timing).
    expect(Math.abs(deferred.flows[0]!.delivered - local.flows[0]!.delivered)).toBeLessThan(10);
  });

  it('a reader on the receiving CPU frees at once: nothing is deferred', () => {
    const r = run(sink('0'));
    expect(r.flows[0]!.delivered).toBeGreaterThan(7000);
    expect(r.skb_defer.every((d) => d.deferred === 0)).toBe(true);
  });

  it('with long interrupt moderation the list passes half of skb_defer_max between polls: an IPI raises NET_RX to drain it', () => {
    const sc = { ...sink('1', 64), nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' }, coalesce: { 'rx-usecs': 300 } }] };
    const r = run(sc);
    expect(r.skb_defer[0]!.kicks).toBeGreaterThan(0);
    expect(r.proc.interrupts).toMatch(/CAL:\s+[1-9]/);
    // Past skb_defer_max attempts since the last flush, the reader frees them itself.
    const small = run({ ...sc, sysctl: { 'net.core.skb_defer_max': 8 } });
    expect(small.skb_defer[0]!.deferred).toBeLessThan(r.skb_defer[0]!.deferred);
  });
});
