import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { CostNoise, STEP_NS } from '../../src/model/cost-noise.ts';
import { Jiffies } from '../../src/model/jiffies.ts';
import { simulate } from '../../src/model/simulate.ts';
import { Simulator } from '../../src/engine/simulator.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { EXACT, run } from '../helpers.ts';

/** Run-to-run variation: a seed decides it, the mean costs stay the profile's, each source can be turned off. */

const seedLab = readFileSync(new URL('../../sim-scenarios/seed-lab-iperf3-on-irq-core.json', import.meta.url), 'utf8');
const goodput = (text: string, seed: number, set: string[] = []) => collectResult(simulate(loadScenario(text, { seed, set }).resolved), 0);

describe('variability', () => {
  it('different seeds give different trajectories; the same seed the same digest', () => {
    const runs = [1, 2, 3, 4, 5].map((seed) => goodput(seedLab, seed));
    // Five trajectories: segments delivered in the window and the median latency differ run to
    // run. (Goodput alone can coincide to its three decimals: where ksoftirqd/4 takes the softirq
    // from the start, CFS gives iperf3 the same share of CPU 4 and so the same read rate.)
    expect(new Set(runs.map((r) => `${r.flows[0]!.delivered} ${r.latency_us.p50}`)).size).toBe(5);
    expect(new Set(runs.map((r) => r.digest)).size).toBe(5);
    expect(goodput(seedLab, 3).digest).toBe(runs[2]!.digest);
  });

  it('turned off, the seed no longer changes the seed lab (its RSS key is set): the exact model', () => {
    const off = ['variability.cost_cv=0', 'variability.wire_jitter_ns=0', 'variability.random_phase=false'];
    const a = goodput(seedLab, 1, off);
    const b = goodput(seedLab, 2, off);
    expect(a.flows[0]!.goodput_gbps).toBe(b.flows[0]!.goodput_gbps);
    expect(a.cpus).toEqual(b.cpus);
  });

  it('cost noise keeps the mean cost and shrinks with the chunk: CV = cost_cv·√(100 ns / L)', () => {
    for (const [ns, cv] of [
      [50, 0.3],
      [1_000, 0.3],
      [20_000, 0.3],
    ] as const) {
      const noise = new CostNoise(7, 'test', cv);
      const n = 20_000;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        const x = noise.apply(ns);
        sum += x;
        sq += x * x;
      }
      const mean = sum / n;
      const sd = Math.sqrt(sq / n - mean * mean);
      const expected = ns > STEP_NS ? cv * Math.sqrt(STEP_NS / ns) : cv;
      expect(Math.abs(mean / ns - 1)).toBeLessThan(0.01);
      expect(sd / mean).toBeGreaterThan(expected * 0.85);
      expect(sd / mean).toBeLessThan(expected * 1.15 + 1 / ns); // rounding to whole ns
    }
    expect(new CostNoise(7, 'test', 0).apply(1234)).toBe(1234);
  });

  it('the mean CPU cost of a run is kept: softirq time per packet of a flood within 2 % of the exact run', () => {
    const flood = (variability: object) =>
      run(
        {
          duration_ms: 20,
          warmup_ms: 2,
          variability,
          cpus: 2,
          nics: [{ name: 'eth0', channels: { combined: 1 } }],
          flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '500kpps', size: 64 }],
        },
        {},
      ).result;
    const exact = flood(EXACT);
    const noisy = flood({ cost_cv: 0.3, wire_jitter_ns: 0, random_phase: false });
    // Port 9 has no socket: every packet the softirq takes through the stack ends as UdpNoPorts.
    const perPacket = (r: typeof exact) => (r.cpus[0]!.soft + r.cpus[0]!.irq) / r.nstat.UdpNoPorts!;
    expect(exact.nstat.UdpNoPorts).toBeGreaterThan(8000);
    expect(noisy.nstat.UdpNoPorts).toBe(exact.nstat.UdpNoPorts);
    expect(Math.abs(perPacket(noisy) / perPacket(exact) - 1)).toBeLessThan(0.02);
  });

  it('wire jitter keeps the line rate and the frame order: a 64-byte flood still carries 14.88 Mpps', () => {
    const r = run(
      {
        duration_ms: 2,
        variability: { cost_cv: 0, wire_jitter_ns: 500, random_phase: false },
        nics: [{ name: 'eth0', channels: { combined: 1 } }],
        flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
      },
      {},
    ).kernel;
    const frames = r.nics[0]!.wire.frames;
    expect(Math.abs(frames / 2e-3 / 14_880_952 - 1)).toBeLessThan(0.001);
  });

  it('the boot phase moves every tick boundary by the same offset, and jiffies count from 0', () => {
    const sim = new Simulator();
    const j = new Jiffies(sim, 1000, 0.25);
    expect(j.tickNs).toBe(1_000_000);
    expect(j.now()).toBe(0);
    expect(j.nextTickAt(0)).toBe(750_000);
    expect(j.nextTickAt(750_000)).toBe(1_750_000);
    const exact = new Jiffies(sim, 1000, 0);
    expect(exact.nextTickAt(0)).toBe(1_000_000);
  });
});
