import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { toFtrace, TraceRecorder, vizData } from '../../src/trace/index.ts';
import { SPAN_CLASSES } from '../../src/trace/viz.ts';

/**
 * The seed lab's narrative describes the run the browser opens on (its own seed, 2020): what
 * every seed 1..5 shares is in its expectations (`rxsim check`); the figures of this one run —
 * the switch to ksoftirqd/4 in the warm-up and why, the ring and the socket in the Queues view,
 * the CPU timeline, the window — are checked here against that run, so the narrative cannot
 * drift from what the views show.
 */
const text = readFileSync(new URL('../../sim-scenarios/seed-lab-iperf3-on-irq-core.json', import.meta.url), 'utf8');
const narrative = (JSON.parse(text) as { narrative: string }).narrative;

describe("the seed lab's narrative matches its run (seed 2020)", () => {
  const { resolved } = loadScenario(text);
  const warmupMs = resolved.warmupNs / 1e6;

  it('NET_RX moves to ksoftirqd/4 in the warm-up: a timer tick inside a NET_RX pass ends handle_softirqs (MAX_SOFTIRQ_TIME is one jiffy at HZ 250)', () => {
    const trace = new TraceRecorder({ detail: 'poll', capacity: 1 << 16, toNs: resolved.warmupNs });
    simulate(resolved, { trace });
    const lines = toFtrace(trace)
      .split('\n')
      .filter((l) => l.includes('[004]'));
    const wake = lines.findIndex((l) => /sched_wakeup: comm=ksoftirqd\/4 /.test(l));
    expect(wake).toBeGreaterThan(0);
    const ms = Number(/(\d+\.\d+): sched_wakeup/.exec(lines[wake]!)![1]) * 1000;
    expect(ms).toBeLessThan(warmupMs);
    expect(narrative).toContain(`at ${ms.toFixed(2)} ms the timer tick`);
    // The frame that ends with the wake-up: a NET_RX pass during which the local timer fired and raised SCHED.
    let entry = wake;
    while (entry > 0 && !/softirq_entry: vec=3/.test(lines[entry]!)) entry--;
    const frame = lines.slice(entry, wake);
    expect(frame.some((l) => /irq_handler_entry: irq=LOC name=local_timer/.test(l))).toBe(true);
    expect(frame.some((l) => /softirq_raise: vec=7 \[action=SCHED\]/.test(l))).toBe(true);
    expect(frame.every((l) => !/softirq_entry: vec=7/.test(l))).toBe(true); // not restarted: woken instead
    // Before it, the softirq ran inline on top of iperf3.
    expect(lines.slice(0, wake).some((l) => /^\s*iperf3-\d+ .*softirq_entry: vec=3/.test(l))).toBe(true);
  });

  it('in the window: ksoftirqd/4 has every softirq, no device interrupt, the ring holds the data and the socket does not', () => {
    const trace = new TraceRecorder({ detail: 'poll', capacity: 1 << 20, fromNs: resolved.warmupNs });
    const k = simulate(resolved, { trace, seriesNs: 1e6 });
    const r = collectResult(k, 0);
    const viz = vizData(trace, k, { stepFromNs: resolved.warmupNs, stepToNs: resolved.warmupNs + 1e6, maxSteps: 10 });
    // CPU timeline: on CPU 4, no inline softirq span; ksoftirqd/4 about half the core.
    const soft = SPAN_CLASSES.indexOf('softirq');
    let inline = 0;
    for (let i = 0; i < viz.spans.cpu.length; i++) if (viz.spans.cpu[i] === 4 && viz.spans.cls[i] === soft) inline += viz.spans.dur[i]!;
    expect(inline).toBe(0);
    expect(r.interrupts.per_sec).toBe(0);
    expect(narrative).toContain('device interrupts/s 0');
    const cpu4 = r.cpus[4]!;
    expect(narrative).toContain(`ksoftirqd/4 (${Math.round(cpu4.ksoftirqd)} % of the core)`);
    const iperf3 = r.tasks.find((t) => t.comm === 'iperf3')!;
    expect(narrative).toContain(`${iperf3.wakeups} wake-ups; iperf3 waits ${Math.round(iperf3.wait_ms)} ms`);
    expect(narrative).toContain(`${r.flows[0]!.goodput_gbps.toFixed(2)} Gbit/s and the softirq runs in ksoftirqd/4`);
    // Queues view: the ring at 230–330 of 512 after the first millisecond; the socket ≈132 KB of sk_rcvbuf.
    const ring = viz.series.find((s) => s.kind === 'ring' && /rx-4/.test(s.name))!;
    const socket = viz.series.find((s) => s.kind === 'socket')!;
    const after = (s: typeof ring) => [...s.v].filter((_, i) => s.t[i]! >= resolved.warmupNs + 1e6);
    expect(ring.limit).toBe(512);
    expect(Math.min(...after(ring))).toBeGreaterThanOrEqual(230);
    expect(Math.max(...after(ring))).toBeLessThanOrEqual(330);
    expect(Math.max(...after(socket))).toBeLessThan(133_000);
    expect(Math.max(...after(socket))).toBeGreaterThan(131_000);
    expect(narrative).toContain(`≈132 KB of its ${Math.round(socket.limit / 1000)} KB sk_rcvbuf`);
    // The window, the latency and the drops.
    expect(narrative).toContain(`back ${Math.round(r.flows[0]!.rwnd_limited_pct ?? -1)} % of the time`);
    expect(narrative).toContain(`${Math.round(r.latency_us.p50!)} µs p50 latency is the ring wait (wire → driver poll ${Math.round(r.latency_stages_us.ring.p50!)} µs`);
    expect(Object.values(r.packets.dropped).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
