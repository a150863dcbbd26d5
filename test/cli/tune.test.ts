import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenario } from '../helpers.ts';
import { expectBadInput, rxsimIn, type Ran } from './binary.ts';

const dir = mkdtempSync(join(tmpdir(), 'rxsim-tune-'));

const rxsim = (...args: string[]): Promise<Ran> => rxsimIn(dir, ...args);

// RPS onto a small netdev_max_backlog for 2 ms: the backlog overflows unless it holds the
// burst, so a larger netdev_max_backlog drops fewer packets (none at 10000) — and the packets
// wait longer in it, so the tail latency grows with it. A udp-sink on CPU 3 reads with recvmmsg
// (batch 64), fast enough that the socket drops nothing: the backlog is the only place that drops.
// Its frees go back to CPU 0, where the skbs were built (skb_attempt_defer_free; flushed in
// net_rx_action, with kick IPIs): CPU 0 polls its ring more often and hands the burst to CPU 1's
// backlog sooner. And the skbs waiting in that backlog still hold their half pages when the ring
// comes round, so ixgbe cannot reuse those pages (ixgbe_can_reuse_rx_page) and CPU 0 allocates
// one for about every other buffer (page_alloc), which slows it down: 2000 already holds the
// burst, 1500 still drops a few hundred (before the page rule, 3000 did).
writeFileSync(
  join(dir, 'rps.json'),
  JSON.stringify(
    scenario({
      name: 'rps-backlog',
      duration_ms: 2,
      cpus: 4,
      variability: { cost_cv: 0.1 },
      nics: [{ name: 'eth0', driver: 'ixgbe', speed_gbps: 10, channels: { combined: 1 }, queues: { 'rx-0': { rps_cpus: '2' } } }],
      sysctl: { 'net.core.netdev_max_backlog': 100 },
      flows: [{ name: 'flood', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: '4mpps', size: 64 }],
      apply: ['ethtool -N eth0 rx-flow-hash udp4 sdfn'],
      apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '3', batch: 64 }],
    }),
  ),
);
const KNOB = 'sysctl["net.core.netdev_max_backlog"]=100,300,1000,1500,10000';
const TUNE = ['tune', 'rps.json', '--knob', KNOB, '--minimize', 'packets.dropped.*'];

interface TuneJson {
  method: string;
  rounds: { points: number; seeds: number }[];
  runs: number;
  best: { settings: Record<string, unknown>; apply: string[]; seeds: number; metrics: Record<string, { mean: number }> } | null;
  baseline: { metrics: Record<string, { mean: number }> };
  comparison: { diff: number; p: number };
  ranking: { settings: Record<string, unknown>; feasible: boolean; round: number }[];
}

describe('rxsim tune (the real binary)', () => {
  it('evaluates the whole grid and picks the backlog that drops nothing, as the apply command, against the unchanged scenario', async () => {
    const [text, j1] = await Promise.all([rxsim(...TUNE, '--seeds', '2', '--jobs', '2'), rxsim(...TUNE, '--seeds', '2', '--jobs', '1', '--json')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^best setting \(minimize packets\.dropped\.\*\):\n {2}sysctl -w net\.core\.netdev_max_backlog=10000\n/);
    expect(text.stdout).toMatch(/top 5 of 5 points:/);
    expect(text.stderr).toMatch(/5 points, the whole grid \(points × seeds: 5 × 2\): 10 runs \+ 2 of the unchanged scenario/);
    expect(j1.code, j1.stderr).toBe(0);
    const a = JSON.parse(j1.stdout) as TuneJson;
    expect(a.method).toBe('grid');
    expect(a.best!.settings).toEqual({ 'sysctl["net.core.netdev_max_backlog"]': 10000 });
    expect(a.best!.metrics['packets.dropped.*']!.mean).toBe(0);
    expect(a.baseline.metrics['packets.dropped.*']!.mean).toBeGreaterThan(1000);
    expect(a.comparison.diff).toBeLessThan(0);
    expect(a.comparison.p).toBeLessThan(0.05);
    // Drops fall as the backlog grows: the ranking is the mechanism's order (ties by grid order).
    expect(a.ranking.map((r) => r.settings['sysctl["net.core.netdev_max_backlog"]'])).toEqual([10000, 1500, 1000, 300, 100]);
    expect(text.stdout).toContain(`-${a.baseline.metrics['packets.dropped.*']!.mean}`);
  });

  it('never chooses a point whose mean breaks a constraint', async () => {
    const constrained = await rxsim(...TUNE, '--subject-to', 'latency_us.p99 <= 800', '--seeds', '2', '--json');
    expect(constrained.code, constrained.stderr).toBe(0);
    const c = JSON.parse(constrained.stdout) as TuneJson;
    expect(c.best!.apply).toEqual(['sysctl -w net.core.netdev_max_backlog=1000']);
    expect(c.ranking.filter((r) => !r.feasible).map((r) => r.settings['sysctl["net.core.netdev_max_backlog"]'])).toEqual([10000, 1500]);
  });

  it('searches by successive halving when the grid does not fit the budget, the same with --jobs 1 and 2', async () => {
    const [j1, j2] = await Promise.all([rxsim(...TUNE, '--seeds', '4', '--budget', '16', '--json', '--jobs', '1'), rxsim(...TUNE, '--seeds', '4', '--budget', '16', '--json', '--jobs', '2')]);
    expect(j1.code, j1.stderr).toBe(0);
    const h = JSON.parse(j1.stdout) as TuneJson;
    expect(h.method).toBe('successive-halving');
    // 5 points × 2 seeds, then the better 3 with 2 seeds more: 10 + 6 = 16 runs.
    expect(h.rounds).toEqual([
      { points: 5, seeds: 2 },
      { points: 3, seeds: 4 },
    ]);
    expect(h.runs).toBe(16);
    expect(h.best!.settings).toEqual({ 'sysctl["net.core.netdev_max_backlog"]': 10000 });
    expect(h.best!.seeds).toBe(4);
    expect(h.ranking.map((r) => r.round)).toEqual([1, 1, 1, 0, 0]);
    expect(JSON.parse(j2.stdout)).toEqual(h);
  });

  it('refuses bad input with one line and exit 2 before any run', async () => {
    const [both, metric, value] = await Promise.all([
      rxsim(...TUNE, '--maximize', 'throughput.delivered_gbps'),
      rxsim('tune', 'rps.json', '--knob', KNOB, '--maximize', 'throughput.delivered_gpbs'),
      rxsim('tune', 'rps.json', '--knob', 'ethtool -C eth0 rx-usecs {}=10,5000', '--minimize', 'packets.dropped.*'),
    ]);
    expectBadInput(both, /--maximize: and --minimize are both given/);
    expectBadInput(metric, /--maximize "throughput\.delivered_gpbs".*did you mean "throughput\.delivered_gbps"/);
    expectBadInput(value, /--knob "ethtool -C eth0 rx-usecs \{\}"=5000: /);
  });
});
