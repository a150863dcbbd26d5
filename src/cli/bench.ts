/**
 * `npm run bench`: speed figures, printed, never asserted (a benchmark, not a test).
 *
 *  1. Engine: a hold model with 10^4 pending events (each event schedules one more at an
 *     exponential distance), events per second, median of 5 runs after a warm-up run, each with
 *     a new simulator (as `rxsim check` runs one per scenario).
 *  2. Model: simulated packets (frames offered on the wire) per wall-clock second for
 *     (a) a 10 GbE 64-byte line-rate flood into one queue, and (b) 1518-byte frames at line
 *     rate over 4 queues, (c) one TCP flow at 10 GbE with GRO, read by a stream-reader on
 *     another CPU, (d) the seed lab (sim-scenarios/seed-lab-iperf3-on-irq-core.json: 10 CPUs,
 *     iperf3 in a pod behind the bridge, sharing the interrupt core); median of 5 runs of 100 ms
 *     simulated, after three warm-up runs of the same (the steady state, JIT compiled).
 *  3. Memory: heap in use after a run of 10 ms and of 100 ms simulated (flat = memory is bounded
 *     by packets in flight, not packets simulated).
 */
import { readFileSync } from 'node:fs';
import { Simulator, RngStream } from '../engine/index.ts';
import { simulate } from '../model/simulate.ts';
import { loadScenarioObject } from '../scenario/load.ts';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmtM = (x: number): string => `${(x / 1e6).toFixed(2)} M`;

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

type Kind = 'flood' | 'mtu4' | 'tcp' | 'seedlab';

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

function modelRate(kind: Kind): { rate: number; packets: number; events: number } {
  const s = scenario(kind, 100);
  for (let i = 0; i < 3; i++) simulate(s); // JIT warm-up: V8 needs about three runs to settle
  const runs: { rate: number; packets: number; events: number }[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const k = simulate(s);
    const ms = performance.now() - t0;
    const packets = k.nics.reduce((a, n) => a + n.wire.frames, 0);
    runs.push({ rate: (packets / ms) * 1000, packets, events: k.sim.dispatched });
  }
  return runs.sort((a, b) => a.rate - b.rate)[2]!;
}

function heapAfter(durationMs: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  const k = simulate(scenario('flood', durationMs));
  gc?.();
  const used = process.memoryUsage().heapUsed;
  void k.sim.now; // keep the kernel alive until measured
  return used;
}

console.log('rxsim benchmark (Node', process.version + ')');
console.log('');
hold(1_000_000, 10_000);
const holdRates = Array.from({ length: 5 }, () => hold(3_000_000, 10_000));
console.log(`engine hold model, 10^4 pending: ${fmtM(median(holdRates))}events/s (median of 5; runs ${holdRates.map((r) => (r / 1e6).toFixed(2)).join(', ')})`);
console.log('');
for (const [kind, label] of [
  ['flood', '(a) 10 GbE 64 B line-rate flood, one queue'],
  ['mtu4', '(b) 10 GbE 1518 B line rate over 4 queues'],
  ['tcp', '(c) one 10 GbE TCP flow, GRO on, iperf3 reading on another CPU'],
  ['seedlab', '(d) the seed lab: iperf3 in a pod on the interrupt core, 10 CPUs'],
] as const) {
  const r = modelRate(kind);
  console.log(`${label}: ${fmtM(r.rate)}simulated packets/s (${r.packets} packets, ${r.events} events per 100 ms simulated)`);
}
console.log('');
const gcAvailable = typeof (globalThis as { gc?: unknown }).gc === 'function';
const h10 = heapAfter(10);
const h100 = heapAfter(100);
console.log(
  `heap in use after the flood: ${(h10 / 2 ** 20).toFixed(1)} MiB at 10 ms simulated, ${(h100 / 2 ** 20).toFixed(1)} MiB at 100 ms${gcAvailable ? '' : ' (run with --expose-gc for exact figures)'}`,
);
