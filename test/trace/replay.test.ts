import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { changeTimes, EV, frameAt, nextChange, prevChange, spansByCpu, TraceRecorder, vizData } from '../../src/trace/index.ts';

const file = (name: string) => readFileSync(new URL(`../../sim-scenarios/${name}.json`, import.meta.url), 'utf8');

function recorded(name: string, durationMs: number) {
  const { resolved } = loadScenario(file(name), { durationMs, set: ['warmup_ms=0'] });
  const rec = new TraceRecorder({ detail: 'poll', capacity: 1 << 18 });
  const k = simulate(resolved, { trace: rec });
  return { rec, viz: vizData(rec, k, { stepFromNs: 0, stepToNs: 0, maxSteps: 0 }) };
}

describe('replay frames (src/trace/replay.ts)', () => {
  const { rec, viz } = recorded('seed-lab-iperf3-on-irq-core', 8);
  const byCpu = spansByCpu(viz);

  it('a queue at t is its last recorded length at or before t, for every queue and many instants', () => {
    const b = rec.buf;
    for (let n = 0; n <= 40; n++) {
      const t = viz.fromNs + ((viz.toNs - viz.fromNs) * n) / 40 + 37;
      const f = frameAt(viz, byCpu, t, 10_000);
      rec.counters.forEach((c, i) => {
        let v = NaN; // not sampled yet in the window: unknown, not empty
        for (let j = 0; j < b.length; j++) {
          const s = b.slot(j);
          if (b.type[s] === EV.COUNTER && b.a[s] === i && b.t[s]! <= t) v = b.b[s]!; // written in time order
        }
        expect(f.queues[i]!.value, `${c.name} at ${t}`).toBe(v);
      });
    }
  });

  it("a queue is unknown (NaN) at the opening of the window, before its first sample: the seed lab's ring already holds frames then", () => {
    // Recorded from the end of the warm-up, as the browser's worker records (fromNs).
    const { resolved } = loadScenario(file('seed-lab-iperf3-on-irq-core'), { durationMs: 12 });
    const warm = new TraceRecorder({ detail: 'poll', capacity: 1 << 18, fromNs: resolved.warmupNs });
    const w = vizData(warm, simulate(resolved, { trace: warm }), { stepFromNs: 0, stepToNs: 0, maxSteps: 0 });
    const ring = w.series.findIndex((q) => q.name.endsWith('rx-4 ring'));
    expect(ring).toBeGreaterThanOrEqual(0);
    expect(frameAt(w, spansByCpu(w), w.fromNs, 10_000).queues[ring]!.value).toBeNaN();
    // Once sampled, rx-4 is far from empty (the narrative's 230-330 of 512), not the 0 a default would have shown.
    expect(frameAt(w, spansByCpu(w), w.fromNs + 1e6, 10_000).queues[ring]!.value).toBeGreaterThan(100);
  });

  it('a CPU at t runs what its span at t says, and device interrupts light up their ring', () => {
    const s = viz.spans;
    for (let i = 0; i < s.cpu.length; i += 97) {
      const t = s.start[i]! + s.dur[i]! / 2;
      expect(frameAt(viz, byCpu, t, 0).cpus[s.cpu[i]!]!.cls).toBe(['idle', 'hardirq', 'softirq', 'ksoftirqd', 'napi-thread', 'app', 'switch'][s.cls[i]!]);
    }
    if (viz.irqs.t.length > 0) {
      const f = frameAt(viz, byCpu, viz.irqs.t[0]!, 1);
      expect(f.irqs[0]!.ring).toBe('ens4f1/rx-4 ring');
      expect(f.irqs[0]!.cpu).toBe(4);
    }
  });

  it('stepping visits the recorded changes in order', () => {
    const times = changeTimes(viz);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    const mid = times[Math.floor(times.length / 2)]!;
    expect(nextChange(times, mid)).toBe(times[Math.floor(times.length / 2) + 1]);
    expect(prevChange(times, mid)).toBe(times[Math.floor(times.length / 2) - 1]);
  });
});
