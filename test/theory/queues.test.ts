import { describe, expect, it } from 'vitest';
import { RngStream, Simulator } from '../../src/engine/index.ts';

/**
 * Queueing theory on the engine alone: a tiny queue model (Poisson arrivals, exponential or
 * deterministic service, c servers, optional capacity K) must reproduce the analytic values
 * within the 95 % confidence interval over independent seeded replications.
 */

interface QueueRun {
  meanSojourn: number;
  meanWait: number;
  lossFraction: number;
  /** Time-average number in system and throughput, for Little's law. */
  meanInSystem: number;
  throughput: number;
}

function simulateQueue(seed: number, o: { lambda: number; mu: number; servers: number; capacity: number; deterministic: boolean; customers: number; warmup: number }): QueueRun {
  const sim = new Simulator();
  const arrivals = new RngStream(seed, 'arrivals');
  const services = new RngStream(seed, 'services');
  const meanGap = 1e6 / o.lambda; // rates per ms of simulated time, times in ns
  const meanService = 1e6 / o.mu;
  const waiting: number[] = [];
  let head = 0;
  let busy = 0;
  let inSystem = 0;
  let arrived = 0;
  let lost = 0;
  let offered = 0;
  let done = 0;
  let sojournSum = 0;
  let waitSum = 0;
  let area = 0;
  let lastChange = 0;
  let windowStart = 0;
  const touch = () => {
    if (arrived > o.warmup) area += inSystem * (sim.now - lastChange);
    lastChange = sim.now;
  };
  const serviceTime = () => Math.max(1, Math.round(o.deterministic ? meanService : services.exponential(meanService)));
  // arg of departure events = arrival time; counted when arg >= 0 (after warm-up)
  const depart = sim.on((arrivalAt) => {
    touch();
    inSystem--;
    if (arrivalAt >= 0) {
      done++;
      sojournSum += sim.now - arrivalAt;
    }
    if (head < waiting.length) {
      const a = waiting[head++]!;
      if (a >= 0) waitSum += sim.now - a;
      sim.after(serviceTime(), depart, a);
    } else {
      busy--;
    }
  });
  const arrive = sim.on(() => {
    arrived++;
    if (arrived === o.warmup + 1) {
      windowStart = sim.now;
      lastChange = sim.now;
    }
    const counted = arrived > o.warmup;
    const stamp = counted ? sim.now : -1;
    if (counted) offered++;
    if (inSystem >= o.capacity) {
      if (counted) lost++;
    } else {
      touch();
      inSystem++;
      if (busy < o.servers) {
        busy++;
        sim.after(serviceTime(), depart, stamp);
      } else {
        waiting.push(stamp);
      }
    }
    if (arrived < o.warmup + o.customers) sim.after(Math.max(1, Math.round(arrivals.exponential(meanGap))), arrive);
  });
  sim.at(0, arrive);
  sim.runUntilIdle();
  const elapsed = sim.now - windowStart;
  return {
    meanSojourn: sojournSum / done / 1e6,
    meanWait: waitSum / done / 1e6,
    lossFraction: lost / offered,
    meanInSystem: area / elapsed,
    throughput: (done / elapsed) * 1e6,
  };
}

/** Mean and 95 % half-width (Student t, n-1 degrees of freedom) over replications. */
function ci(xs: number[]): { mean: number; half: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const t975 = { 19: 2.093, 29: 2.045 }[n - 1] ?? 1.96;
  return { mean, half: (t975 * sd) / Math.sqrt(n) };
}

function replicate(n: number, o: Parameters<typeof simulateQueue>[1], pick: (r: QueueRun) => number): { mean: number; half: number } {
  return ci(Array.from({ length: n }, (_, i) => pick(simulateQueue(1000 + i, o))));
}

/** Erlang C: probability of waiting in M/M/c with offered load a = λ/μ. */
function erlangC(c: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < c; k++) {
    term *= a / k;
    sum += term;
  }
  const top = (term * a) / c / (1 - a / c);
  return top / (sum + top);
}

const base = { servers: 1, capacity: Infinity, deterministic: false, customers: 20_000, warmup: 2_000 };

describe('the engine reproduces queueing theory (95 % CI over 30 seeded replications)', () => {
  it('M/M/1: W = 1/(μ−λ)', () => {
    const { mean, half } = replicate(30, { ...base, lambda: 0.8, mu: 1 }, (r) => r.meanSojourn);
    expect(Math.abs(mean - 1 / (1 - 0.8))).toBeLessThanOrEqual(half);
  });

  it('M/D/1: Wq = ρ/(2μ(1−ρ))', () => {
    const { mean, half } = replicate(30, { ...base, lambda: 0.8, mu: 1, deterministic: true }, (r) => r.meanWait);
    expect(Math.abs(mean - 0.8 / (2 * 1 * 0.2))).toBeLessThanOrEqual(half);
  });

  it('M/M/c (Erlang C): Wq = C(c, a)/(cμ−λ)', () => {
    const c = 3;
    const lambda = 2.4;
    const { mean, half } = replicate(30, { ...base, servers: c, lambda, mu: 1 }, (r) => r.meanWait);
    expect(Math.abs(mean - erlangC(c, lambda) / (c - lambda))).toBeLessThanOrEqual(half);
  });

  it('M/M/1/K: P_K = (1−ρ)ρ^K/(1−ρ^(K+1))', () => {
    const K = 5;
    const rho = 0.9;
    const { mean, half } = replicate(30, { ...base, capacity: K, lambda: rho, mu: 1 }, (r) => r.lossFraction);
    expect(Math.abs(mean - ((1 - rho) * rho ** K) / (1 - rho ** (K + 1)))).toBeLessThanOrEqual(half);
  });

  it("Little's law L = λW holds on the queue (within 2 %)", () => {
    const r = simulateQueue(7, { ...base, lambda: 0.8, mu: 1 });
    expect(Math.abs(r.meanInSystem - r.throughput * r.meanSojourn) / r.meanInSystem).toBeLessThan(0.02);
  });

  it('a wrong model is caught: M/M/1 is not M/D/1', () => {
    const { mean, half } = replicate(30, { ...base, lambda: 0.8, mu: 1, deterministic: true }, (r) => r.meanSojourn);
    expect(Math.abs(mean - 1 / (1 - 0.8))).toBeGreaterThan(half);
  });
});
