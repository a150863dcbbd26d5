/**
 * `npm run bench`: speed figures, printed, never asserted (a benchmark, not a test).
 *
 *  1. Engine: a hold model with 10^4 and with 10^6 pending events (each event schedules one more
 *     at an exponential distance), events per second, median of 5 (10^4) or 3 (10^6) runs after a
 *     warm-up run, each with a new simulator (as `rxsim check` runs one per scenario).
 *  2. Model: simulated packets (frames offered on the wire) per wall-clock second for
 *     (a) a 10 GbE 64-byte line-rate flood into one queue, and (b) 1518-byte frames at line
 *     rate over 4 queues, (c) one TCP flow at 10 GbE with GRO, read by a stream-reader on
 *     another CPU, (d) the seed lab (sim-scenarios/seed-lab-iperf3-on-irq-core.json: 10 CPUs,
 *     iperf3 in a pod behind the bridge, sharing the interrupt core), (f) a 100 GbE 64-byte
 *     line-rate flood on ice over 8 queues from 64 source ports (64 5-tuples spread by RSS); median
 *     of 5 runs of 100 ms simulated, after three warm-up runs of the same (the steady state, JIT
 *     compiled; 10 ms for (f)). Each line prints its real-time factor — simulated packets/s ÷ the packets/s the
 *     wire carried in the window, i.e. simulated seconds per wall-clock second — and whether
 *     issue 18's target is met.
 *  3. Memory: heap in use after a run of 10 ms and of 100 ms simulated (flat = memory is bounded
 *     by packets in flight, not packets simulated); and (e) a flood from 2^20 source 5-tuples
 *     (a /14 of source addresses × 4 ports, over 4 queues: a DDoS), whose memory must not grow
 *     with the tuples it may send from (src/model/nic/flow-hashes.ts), with its rate.
 *  4. Sweep: runs per second of a 32-run sweep (4 values of rx-usecs × 8 seeds) of a 10 ms
 *     scenario (the TCP flow of (c)) in worker threads at --jobs 1 and --jobs 2, against the same
 *     runs in this thread, in a first pass (JIT warming up) and warm (the simulation alone); the
 *     difference per run is the sweep's overhead: worker start-up and JIT warm-up, messages. The
 *     same with 100 ms runs shows how much of it a longer sweep amortizes. Then a warm pool (its
 *     workers already ran every run once) at 1 and 2 workers: its ratio is the most --jobs 2 can
 *     give on this machine for this work once start-up is paid (two vCPUs that share a physical
 *     core, memory bandwidth or a busy host give less than 2x), the ceiling the cold ratio is
 *     measured against, and the bound a cold --jobs 2 cannot pass on this sweep even if its two
 *     workers started as fast as one.
 *
 *   npm run bench [-- --only engine|model|memory|sweep]…
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Simulator, RngStream } from '../engine/index.ts';
import { simulate } from '../model/simulate.ts';
import { loadScenarioObject } from '../scenario/load.ts';
import { parseVary, prepareSweep, shardRuns } from '../study/sweep.ts';
import { executeRuns, SweepRunner } from './sweep.ts';
import { runOne } from './sweep-worker.ts';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmtM = (x: number): string => `${(x / 1e6).toFixed(2)} M `;

function hold(events: number, pending: number): number {
  const sim = new Simulator();
  const rng = new RngStream(1, 'hold');
  let left = events;
  const kind = sim.on(() => {
    if (--left > 0) sim.after(1 + Math.floor(rng.exponential(1000)), kind);
  });
  for (let i = 0; i < pending; i++) sim.at(Math.floor(rng.exponential(1000)), kind);
  const t0 = performance.now();
  sim.runUntilIdle();
  return (sim.dispatched / (performance.now() - t0)) * 1000;
}

type Kind = 'flood' | 'mtu4' | 'tcp' | 'seedlab' | 'ddos' | 'ice100';

function scenario(kind: Kind, durationMs: number) {
  if (kind === 'seedlab') {
    const file = new URL('../../sim-scenarios/seed-lab-iperf3-on-irq-core.json', import.meta.url);
    const obj = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return loadScenarioObject({ ...obj, duration_ms: durationMs, expect: [] }).resolved;
  }
  if (kind === 'tcp') {
    return loadScenarioObject({
      name: 'bench-tcp',
      duration_ms: durationMs,
      cpus: 4,
      nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1' }],
      flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 50 }],
    }).resolved;
  }
  if (kind === 'ddos') {
    return loadScenarioObject({
      name: 'bench-ddos',
      duration_ms: durationMs,
      cpus: 4,
      nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 4 } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.0/14:1000-1003', dst: '10.1.0.2:9', rate: 'line', size: 64 }],
    }).resolved;
  }
  if (kind === 'ice100') {
    return loadScenarioObject({
      name: 'bench-ice100',
      duration_ms: durationMs,
      cpus: 8,
      nics: [{ name: 'eth0', driver: 'ice', speed_gbps: 100, channels: { combined: 8 } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
    }).resolved;
  }
  const flood = kind === 'flood';
  return loadScenarioObject({
    name: `bench-${kind}`,
    duration_ms: durationMs,
    cpus: 4,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: flood ? 1 : 4 } }],
    flows: [{ name: 'f', proto: 'udp', src: flood ? '10.0.0.1:1000' : '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: 'line', size: flood ? 64 : 'mtu' }],
    apply: flood ? [] : ['ethtool -N eth0 rx-flow-hash udp4 sdfn'],
  }).resolved;
}

interface ModelRun {
  /** Simulated packets (frames the wire carried in the window) per wall-clock second. */
  rate: number;
  /** The packets/s the wire carried in the window (simulated time). */
  wireRate: number;
  packets: number;
  events: number;
}

function modelRate(kind: Kind, durationMs = 100): ModelRun {
  const s = scenario(kind, durationMs);
  for (let i = 0; i < 3; i++) simulate(s); // JIT warm-up: V8 needs about three runs to settle
  const runs: ModelRun[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const k = simulate(s);
    const ms = performance.now() - t0;
    const packets = k.nics.reduce((a, n) => a + n.wire.frames, 0);
    const windowS = (k.sim.now - k.windowStart) / 1e9;
    runs.push({ rate: (packets / ms) * 1000, wireRate: packets / windowS, packets, events: k.sim.dispatched });
  }
  return runs.sort((a, b) => a.rate - b.rate)[2]!;
}

/** Issue 18's targets: simulated packets/s, and the real-time factor (simulated s per wall s). */
interface Target {
  pps?: number;
  rtf?: number;
}

/** "real-time factor 0.31×; target ≥ 15.00 M packets/s: not met (0.31 of it)". */
function verdict(r: ModelRun, target: Target): string {
  const rtf = r.rate / r.wireRate;
  const parts: string[] = [];
  if (target.pps !== undefined) parts.push(`≥ ${fmtM(target.pps)}packets/s`);
  if (target.rtf !== undefined) parts.push(`≥ ${target.rtf}× real time`);
  const met = (target.pps === undefined || r.rate >= target.pps) && (target.rtf === undefined || rtf >= target.rtf);
  const short = Math.min(target.pps === undefined ? Infinity : r.rate / target.pps, target.rtf === undefined ? Infinity : rtf / target.rtf);
  const goal = parts.length ? `; target ${parts.join(' and ')}: ${met ? 'met' : `not met (${short.toFixed(2)} of it)`}` : '';
  return `real-time factor ${rtf.toFixed(2)}× (the wire: ${fmtM(r.wireRate)}packets/s)${goal}`;
}

/** The hold model's rate on main before issue 18 (README, 2026-11-30: 8.1–8.6 M events/s); the target is 1.5× it at 10^4 pending. */
const HOLD_BEFORE = 8.1e6;

function heapAfter(durationMs: number, kind: Kind = 'flood'): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  const k = simulate(scenario(kind, durationMs));
  gc?.();
  const used = process.memoryUsage().heapUsed;
  void k.sim.now; // keep the kernel alive until measured
  return used;
}

function engineBench(): void {
  hold(1_000_000, 10_000);
  const holdRates = Array.from({ length: 5 }, () => hold(3_000_000, 10_000));
  const hold4 = median(holdRates);
  console.log(
    `engine hold model, 10^4 pending: ${fmtM(hold4)}events/s (median of 5; runs ${holdRates.map((r) => (r / 1e6).toFixed(2)).join(', ')}); target ≥ 1.5 × ${fmtM(HOLD_BEFORE)}= ${fmtM(1.5 * HOLD_BEFORE)}events/s: ${hold4 >= 1.5 * HOLD_BEFORE ? 'met' : `not met (${(hold4 / (1.5 * HOLD_BEFORE)).toFixed(2)} of it)`}`,
  );
  hold(1_000_000, 1_000_000);
  const holdRates6 = Array.from({ length: 3 }, () => hold(3_000_000, 1_000_000));
  console.log(`engine hold model, 10^6 pending: ${fmtM(median(holdRates6))}events/s (median of 3; runs ${holdRates6.map((r) => (r / 1e6).toFixed(2)).join(', ')}); target: no slower than before`);
}

function modelBench(): void {
  for (const [kind, label, target] of [
    ['flood', '(a) 10 GbE 64 B line-rate flood, one queue', { pps: 15e6, rtf: 1 }],
    ['mtu4', '(b) 10 GbE 1518 B line rate over 4 queues', { pps: 8e6, rtf: 10 }],
    ['tcp', '(c) one 10 GbE TCP flow, GRO on, iperf3 reading on another CPU', { pps: 8e6, rtf: 10 }],
    ['seedlab', '(d) the seed lab: iperf3 in a pod on the interrupt core, 10 CPUs', { pps: 5e6 }],
    ['ice100', '(f) 100 GbE 64 B line-rate flood, ice, 8 queues, 64 source ports', {}],
  ] as const satisfies readonly (readonly [Kind, string, Target])[]) {
    const ms = kind === 'ice100' ? 10 : 100; // 100 GbE: ten times the frames per simulated ms
    const r = modelRate(kind, ms);
    console.log(`${label}: ${fmtM(r.rate)}simulated packets/s (${r.packets} packets, ${r.events} events per ${ms} ms simulated); ${verdict(r, target)}`);
  }
}

function memoryBench(): void {
  const gcAvailable = typeof (globalThis as { gc?: unknown }).gc === 'function';
  const h10 = heapAfter(10);
  const h100 = heapAfter(100);
  console.log(
    `heap in use after the flood: ${(h10 / 2 ** 20).toFixed(1)} MiB at 10 ms simulated, ${(h100 / 2 ** 20).toFixed(1)} MiB at 100 ms${gcAvailable ? '' : ' (run with --expose-gc for exact figures)'}`,
  );
  const ddos = modelRate('ddos');
  const hDdos = heapAfter(100, 'ddos');
  console.log(
    `(e) 10 GbE 64 B flood from 2^20 source 5-tuples over 4 queues: ${fmtM(ddos.rate)}simulated packets/s (${verdict(ddos, {})}); heap in use after 100 ms: ${(hDdos / 2 ** 20).toFixed(1)} MiB (${((hDdos - h100) / 2 ** 20).toFixed(1)} MiB more than the one-tuple flood)`,
  );
}

// 4. Sweep throughput: worker threads against the same runs in this thread.
async function sweepBench(durationMs: number): Promise<void> {
  const scenario = {
    name: 'bench-sweep-tcp',
    duration_ms: durationMs,
    cpus: 4,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
    apps: [{ name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1' }],
    flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 50 }],
  };
  const tPrepare = performance.now();
  const sweep = prepareSweep({ scenario, scenarioLabel: 'bench', axes: [parseVary('nics[0].coalesce.rx-usecs=0,20,50,100')], seeds: [1, 2, 3, 4, 5, 6, 7, 8], metrics: null });
  const prepareMs = performance.now() - tPrepare;
  const runs = shardRuns(sweep);
  const n = runs.length;
  const tCold = performance.now();
  for (const r of runs) runOne(sweep, r); // the first pass: JIT warm-up, as in a new worker
  const coldMs = performance.now() - tCold;
  const tWarm = performance.now();
  for (const r of runs) runOne(sweep, r);
  const warmMs = performance.now() - tWarm;
  const pooled: { ms: number; firstMs: number }[] = [];
  for (const jobs of [1, 2]) {
    const t0 = performance.now();
    let firstMs = 0;
    await executeRuns(sweep, runs, jobs, () => {
      firstMs ||= performance.now() - t0;
    });
    pooled[jobs] = { ms: performance.now() - t0, firstMs };
  }
  const warm: number[] = [];
  for (const jobs of [1, 2]) warm[jobs] = await warmPoolMs(sweep, runs, jobs);
  const perSec = (ms: number): string => ((n / ms) * 1000).toFixed(1);
  const j1 = pooled[1]!;
  const j2 = pooled[2]!;
  console.log(`sweep: ${n} runs of ${durationMs} ms simulated (4 values of rx-usecs × 8 seeds; checking the ${sweep.points} points first: ${prepareMs.toFixed(0)} ms)`);
  console.log(
    `  in this thread: ${perSec(coldMs)} runs/s in a first pass (${(coldMs / n).toFixed(1)} ms per run, JIT warming up), ${perSec(warmMs)} runs/s warm (${(warmMs / n).toFixed(1)} ms per run)`,
  );
  console.log(
    `  --jobs 1: ${perSec(j1.ms)} runs/s (${j1.ms.toFixed(0)} ms, the first run back after ${j1.firstMs.toFixed(0)} ms): overhead per run ${((j1.ms - warmMs) / n).toFixed(1)} ms beyond warm runs in this thread, ${((j1.ms - coldMs) / n).toFixed(1)} ms beyond a first pass`,
  );
  console.log(
    `  --jobs 2: ${perSec(j2.ms)} runs/s (${j2.ms.toFixed(0)} ms, the first run back after ${j2.firstMs.toFixed(0)} ms): ${(j1.ms / j2.ms).toFixed(2)}x --jobs 1 (${availableParallelism()} CPUs)`,
  );
  console.log(
    `  a warm pool (start-up and JIT paid): 1 worker ${perSec(warm[1]!)} runs/s, 2 workers ${perSec(warm[2]!)} runs/s: ${(warm[1]! / warm[2]!).toFixed(2)}x, the ceiling for --jobs 2 on this machine; start-up and warm-up cost ${(j1.ms - warm[1]!).toFixed(0)} ms at --jobs 1, ${(j2.ms - warm[2]!).toFixed(0)} ms at --jobs 2`,
  );
  // Each worker is its own V8 isolate: it loads the modules and warms its JIT itself, so --jobs 2
  // pays start-up and warm-up at least once, as --jobs 1 does; if it paid no more than that, the
  // cold ratio would be (start-up + 1 warm worker's time) / (start-up + 2 warm workers' time).
  const startup = j1.ms - warm[1]!;
  console.log(
    `  bound: even if two workers started and warmed up as fast as one (${startup.toFixed(0)} ms), --jobs 2 could give at most ${((startup + warm[1]!) / (startup + warm[2]!)).toFixed(2)}x on this sweep`,
  );
}

/** The same runs through a pool whose workers have each run every one of them once: the simulation and the messages alone. */
async function warmPoolMs(sweep: ReturnType<typeof prepareSweep>, runs: ReturnType<typeof shardRuns>, jobs: number): Promise<number> {
  const runner = new SweepRunner(sweep, jobs);
  const tasks = runs.map((r) => ({ run: r.run, valueIndex: r.valueIndex, seed: r.seed }));
  try {
    // `jobs` passes: the pool hands out runs as workers free up, so each worker runs about every run once.
    for (let i = 0; i < jobs; i++) await runner.run(tasks);
    const t0 = performance.now();
    await runner.run(tasks);
    return performance.now() - t0;
  } finally {
    await runner.close();
  }
}
/** `npm run bench -- --only sweep` (or engine, model, memory; repeatable): some sections only. */
const SECTIONS = {
  engine: engineBench,
  model: modelBench,
  memory: memoryBench,
  sweep: async () => {
    await sweepBench(10);
    await sweepBench(100);
  },
};
const only = process.argv.slice(2).flatMap((a, i, all) => (all[i - 1] === '--only' ? [a] : []));
const unknown = only.find((o) => !(o in SECTIONS)) ?? process.argv.slice(2).find((a, i, all) => a !== '--only' && all[i - 1] !== '--only');
if (unknown !== undefined) {
  console.error(`bench: token "${unknown}": expected --only ${Object.keys(SECTIONS).join('|')}`);
  process.exit(2);
}
console.log('rxsim benchmark (Node', process.version + ')');
for (const [name, section] of Object.entries(SECTIONS)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log('');
  await section();
}
