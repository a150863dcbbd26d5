import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/metrics/report.ts';
import { collectResult, digestOf, type Result } from '../../src/metrics/result.ts';
import { MAX_SERIES_POINTS, seriesCsv, seriesInterval } from '../../src/metrics/series.ts';
import { simulate } from '../../src/model/simulate.ts';
import { resolve, run, scenario } from '../helpers.ts';

/** A line-rate UDP flood read by a sink that shares its CPU with a hog: drops upstream, in the NIC (landed lazily) and at the socket. */
const flood = {
  duration_ms: 22,
  warmup_ms: 2,
  cpus: 2,
  nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, ring: { rx: 64 }, irq_affinity: { '0': '0' } }],
  apps: [
    { name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' },
    { name: 'hog', kind: 'cpu-hog', cpus: '1' },
  ],
  flows: [
    { name: 'a', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: 'line', size: 64, arrival: 'poisson' },
    { name: 'b', proto: 'udp', src: '10.0.0.3:1000', dst: '10.0.0.2:9', rate: '100kpps', size: 'mtu', arrival: 'onoff', burst: 32, gap_us: 100 },
  ],
};

/** One TCP flow with a 1 ms RTT: slow start ramps goodput up over the first ≈ 8 ms. */
const tcpRamp = {
  duration_ms: 40,
  cpus: 2,
  nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
  apps: [{ name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1' }],
  flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 1000 }],
};

/** A constant-rate UDP stream into a sink on a free CPU: stationary from the first millisecond. */
const cbr = {
  duration_ms: 30,
  cpus: 2,
  nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
  apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }],
  flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '500kpps', size: 512 }],
};

/** Σ value × interval length over the series, divided by the window: the window average the series imply. */
function windowAverage(r: Result, values: number[]): number {
  const s = r.series!;
  let acc = 0;
  values.forEach((v, i) => (acc += v * (s.t_ms[i]! - (i === 0 ? s.start_ms : s.t_ms[i - 1]!))));
  return acc / (s.t_ms[s.t_ms.length - 1]! - s.start_ms);
}

/** The result without what observes the run (series, steady state, CIs) and wall-clock time. */
function outcome(r: Result): unknown {
  return { ...r, series: undefined, steady_state: undefined, ci: undefined, sim: { ...r.sim, wall_ms: 0 } };
}

describe('per-interval series', () => {
  const { result: r } = run(flood, { seriesNs: 700_000 }); // 20 ms window: 28 intervals of 0.7 ms and one of 0.4 ms

  it('cover the window in intervals, the last one shorter when the window is not a multiple', () => {
    const s = r.series!;
    expect(s.interval_ms).toBe(0.7);
    expect(s.start_ms).toBe(2);
    expect(s.t_ms).toHaveLength(29);
    expect(s.t_ms[0]).toBe(2.7);
    expect(s.t_ms[28]).toBe(22);
    for (const xs of [s.goodput_gbps, s.interrupts_per_sec, s.flows[1]!.goodput_gbps, s.cpus[1]!.soft, s.rings[0]!.mean_length, s.backlogs[0]!.mean_length]) expect(xs).toHaveLength(29);
  });

  it('sum to the window totals: goodput per flow and in all, drops by place, interrupts, CPU shares, ring occupancy', () => {
    const s = r.series!;
    const windowS = r.sim.window_ns / 1e9;
    // Each interval is rounded to 1 Mbit/s: the window average is within that of the total.
    expect(Math.abs(windowAverage(r, s.goodput_gbps) - (r.flows[0]!.goodput_gbps + r.flows[1]!.goodput_gbps))).toBeLessThan(0.0015);
    for (const f of r.flows) expect(Math.abs(windowAverage(r, s.flows.find((x) => x.name === f.name)!.goodput_gbps) - f.goodput_gbps)).toBeLessThan(0.001);
    expect(Object.keys(s.drops_per_sec).sort()).toEqual(['nic_missed', 'socket', 'wire']);
    for (const [place, rates] of Object.entries(s.drops_per_sec)) expect(windowAverage(r, rates) * windowS).toBeCloseTo(r.packets.dropped[place]!, 0);
    expect(Object.keys(s.drops_per_sec).sort()).toEqual(
      Object.keys(r.packets.dropped)
        .filter((p) => r.packets.dropped[p]! > 0)
        .sort(),
    );
    expect(windowAverage(r, s.interrupts_per_sec) * windowS).toBeCloseTo(r.interrupts.total, 0);
    for (const c of r.cpus) {
      for (const cls of ['usr', 'sys', 'irq', 'soft', 'idle'] as const) expect(Math.abs(windowAverage(r, s.cpus[c.cpu]![cls]) - c[cls]), `cpu${c.cpu} ${cls}`).toBeLessThan(0.011);
    }
    const ring = r.queues.find((q) => q.queue === 'eth0/rx-0/ring')!;
    expect(Math.abs(windowAverage(r, s.rings[0]!.mean_length) - ring.mean_length)).toBeLessThan(0.002);
    const backlog = r.queues.find((q) => q.queue === 'cpu0/backlog')!;
    expect(Math.abs(windowAverage(r, s.backlogs[0]!.mean_length) - backlog.mean_length)).toBeLessThan(0.002);
  });

  it('do not change the run: the same digest and every other field with series at 1 ms, 2 ms or none', () => {
    const none = run(flood).result;
    const two = run(flood, { seriesNs: 2_000_000, onProgress: () => {}, progressEveryNs: 300_000 }).result;
    expect(none.series).toBeUndefined();
    expect(none.steady_state).toBeUndefined();
    for (const x of [r, two]) {
      expect(x.digest).toBe(none.digest);
      expect(outcome(x)).toEqual(outcome(none));
    }
    // The digest leaves them out, and sim.warmup_ns (simulated_ns − window_ns).
    expect(digestOf({ ...r, series: undefined, steady_state: undefined, ci: undefined })).toBe(r.digest);
    expect(r.sim.warmup_ns).toBe(r.sim.simulated_ns - r.sim.window_ns);
  });

  it('stay bounded: a window longer than 10,000 intervals doubles the interval', () => {
    expect(seriesInterval(1_000_000, 50_000_000)).toBe(1_000_000);
    expect(seriesInterval(1_000, 50_000_000)).toBe(8_000);
    const tiny = run(scenario({ duration_ms: 12 }), { seriesNs: 1_000 }).result.series!;
    expect(tiny.t_ms.length).toBeLessThanOrEqual(MAX_SERIES_POINTS);
    expect(tiny.interval_ms).toBe(0.002);
    expect(tiny.requested_interval_ms).toBe(0.001);
  });

  it('write as tidy CSV: time_ms,metric,value, one row per interval and metric', () => {
    const csv = seriesCsv(r.series!).trimEnd().split('\n');
    expect(csv[0]).toBe('time_ms,metric,value');
    expect(csv[1]).toBe(`2.7,goodput_gbps,${r.series!.goodput_gbps[0]}`);
    expect(csv).toContain(`22,flows.b.goodput_gbps,${r.series!.flows[1]!.goodput_gbps[28]}`);
    expect(csv.some((l) => l.startsWith('2.7,cpus.1.usr,'))).toBe(true);
    expect(csv.some((l) => l.startsWith('2.7,rings.eth0/rx-0.mean_length,'))).toBe(true);
    const metrics = 1 + 2 + Object.keys(r.series!.drops_per_sec).length + 1 + 2 * 5 + 1 + 2;
    expect(csv).toHaveLength(1 + 29 * metrics);
  });
});

describe('steady state and confidence intervals', () => {
  it('a slow-start ramp at the start of the window: MSER-5 truncates it and the report says which warm-up removes it', () => {
    const { result: r } = run({ ...tcpRamp, warmup_ms: 0 }, { seriesNs: 1_000_000 });
    const ss = r.steady_state!;
    expect(ss.method).toBe('MSER-5');
    expect(ss.truncation_ms).toBeGreaterThanOrEqual(10);
    expect(ss.truncation_ms).toBeLessThanOrEqual(20);
    expect(ss.transient).toBe(true);
    expect(ss.steady_goodput_gbps!).toBeGreaterThan(ss.window_goodput_gbps!);
    expect(ss.suggested_warmup_ms).toBe(ss.truncation_ms);
    const text = formatReport(r);
    expect(text).toContain(`warning: the first ${ss.truncation_ms} ms of the window are a transient`);
    expect(text).toContain(`warmup_ms ${ss.suggested_warmup_ms} would remove it (with duration_ms ${40 + ss.truncation_ms!} to keep a 40 ms window)`);
    // The batches start after the truncation; the interval is about the steady goodput.
    const ci = r.ci!;
    expect(ci.from_ms).toBeGreaterThanOrEqual(ss.truncation_ms!);
    expect(ci.goodput_gbps[0]).toBeLessThanOrEqual(ss.steady_goodput_gbps! + 0.01);
    expect(ci.goodput_gbps[1]).toBeGreaterThanOrEqual(ss.steady_goodput_gbps! - 0.01);
  });

  it('a stationary stream: no transient, and the intervals hold the reported goodput and p99', () => {
    const { result: r } = run({ ...cbr, warmup_ms: 5 }, { seriesNs: 1_000_000 });
    expect(r.steady_state!.transient).toBe(false);
    const ci = r.ci!;
    // 25 intervals: 10 batches of 2, the 5 left over at the start.
    expect(ci.batches).toBe(10);
    expect(ci.batch_ms).toBe(2);
    expect(ci.from_ms).toBe(10);
    expect(ci.goodput_gbps[0]).toBeLessThanOrEqual(r.flows[0]!.goodput_gbps);
    expect(ci.goodput_gbps[1]).toBeGreaterThanOrEqual(r.flows[0]!.goodput_gbps);
    expect(ci.goodput_half_width_pct!).toBeLessThan(5);
    expect(ci.p99_point_us).toBe(r.latency_us.p99);
    expect(ci.p99_us![0]).toBeLessThanOrEqual(r.latency_us.p99!);
    expect(ci.p99_us![1]).toBeGreaterThanOrEqual(r.latency_us.p99!);
    const text = formatReport(r);
    expect(text).toContain('Steady state (MSER-5 on goodput per 1 ms interval: 25 intervals, batches of 5)');
    expect(text).toMatch(/95 % confidence \(batch means: 10 batches of 2 ms, 10–30 ms\): goodput [\d.]+ Gbit\/s \[[\d.]+, [\d.]+\]; p99 latency [\d.]+ µs/);
    expect(text).not.toContain('warning:');
  });

  it('too short a window: no verdict, no interval, and the report says so', () => {
    const { result: r } = run(scenario({ duration_ms: 3 }), { seriesNs: 1_000_000 });
    expect(r.steady_state!.truncation_ms).toBeNull();
    expect(r.ci).toBeNull();
    expect(formatReport(r)).toContain('too few intervals for MSER-5');
  });
});

describe('warmup_ms "auto"', () => {
  it('a slow-start ramp: the pilot run finds it and the run starts its window after it, deterministically', () => {
    const s = resolve({ ...tcpRamp, warmup_ms: 'auto' });
    const a = collectResult(simulate(s), 0);
    const auto = a.steady_state!.auto_warmup_ms!;
    expect(auto).toBeGreaterThanOrEqual(10);
    expect(auto).toBeLessThanOrEqual(20);
    expect(a.steady_state!.pilot!.transient).toBe(true);
    expect(a.sim.warmup_ns).toBe(auto * 1e6);
    expect(a.sim.window_ns).toBe((40 - auto) * 1e6);
    expect(a.series).toBeUndefined(); // not asked for
    // The same run as one with that warm-up written in the file.
    expect(a.digest).toBe(run({ ...tcpRamp, warmup_ms: auto }).result.digest);
    // Progress spans both runs.
    const seen: number[] = [];
    const b = collectResult(simulate(s, { onProgress: (done, total) => seen.push(done / total), progressEveryNs: 5_000_000 }), 0);
    expect(b.digest).toBe(a.digest);
    expect(seen[seen.length - 1]).toBe(1);
    expect(seen.every((x, i) => i === 0 || x >= seen[i - 1]!)).toBe(true);
    expect(formatReport(b)).toContain(`warmup_ms "auto": ${auto} ms — the MSER-5 truncation of a pilot run from 0 ms`);
  });

  it('a stationary stream: no warm-up (the pilot is the run)', () => {
    const r = collectResult(simulate(resolve({ ...cbr, warmup_ms: 'auto' }), { seriesNs: 1_000_000 }), 0);
    expect(r.steady_state!.auto_warmup_ms).toBe(0);
    expect(r.sim.warmup_ns).toBe(0);
    expect(r.series!.t_ms).toHaveLength(30);
    expect(r.digest).toBe(run({ ...cbr, warmup_ms: 0 }).result.digest);
  });
});

describe('rxsim run --series-ms / --series-out', () => {
  const BIN = fileURLToPath(new URL('../../src/cli/rxsim.mjs', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'rxsim-series-'));
  const file = join(dir, 'cbr.json');
  writeFileSync(file, JSON.stringify(scenario({ ...cbr, name: 'cbr', warmup_ms: 5 })));
  const rxsim = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, RXSIM_FROM_SOURCE: '1' } });

  it('series by default at 1 ms; --series-out writes the CSV; --series-ms 0 turns them off (same digest)', () => {
    const csv = join(dir, 'series.csv');
    const a = rxsim('run', file, '--json', '--series-out', csv);
    expect(a.status).toBe(0);
    const r = JSON.parse(a.stdout) as Result;
    expect(r.series!.interval_ms).toBe(1);
    expect(r.steady_state!.observations).toBe(25);
    expect(readFileSync(csv, 'utf8').split('\n')[1]).toBe(`6,goodput_gbps,${r.series!.goodput_gbps[0]}`);
    const c = rxsim('run', file, '--json', '--series-ms', '0');
    const off = JSON.parse(c.stdout) as Result;
    expect(off.series).toBeUndefined();
    expect(off.digest).toBe(r.digest);
    const bad = rxsim('run', file, '--series-ms', '0', '--series-out', csv);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--series-out .*needs series/);
  });
});
