import fc from 'fast-check';
import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { baselineMetricPaths, baselineText, compareMetric, DEFAULT_TOLERANCES, metricStatsOf, parseBaseline, toleranceFor, type Baseline } from '../../src/study/baseline.ts';
import { moments, welch, welchMoments } from '../../src/study/stats.ts';
import { run } from '../helpers.ts';

const stats = (xs: number[]) => metricStatsOf(xs);

describe('baseline tolerances', () => {
  it('the most specific pattern wins; a scenario’s patterns come before the file’s', () => {
    const file = { ...DEFAULT_TOLERANCES, 'cpus[4].soft': { abs: 0.5 } };
    expect(toleranceFor('cpus[4].soft', undefined, file)?.pattern).toBe('cpus[4].soft');
    expect(toleranceFor('cpus[3].soft', undefined, file)?.pattern).toBe('cpus[*]');
    expect(toleranceFor('latency_us.p99', undefined, file)?.pattern).toBe('latency_us.*');
    expect(toleranceFor('flows[iperf3].goodput_gbps', undefined, file)?.pattern).toBe('*');
    expect(toleranceFor('cpus[3].soft', { '*': { rel: 1 } }, file)?.pattern).toBe('*');
    expect(toleranceFor('cpus[3].soft', { '*': { rel: 1 } }, file)?.tolerance).toEqual({ rel: 1 });
    // A pattern covers what is below the part it matches, not a longer name.
    expect(toleranceFor('cpusx.soft', undefined, { 'cpus[*]': { abs: 2 } })).toBeNull();
    expect(toleranceFor('packets.dropped_total', undefined, { 'packets.dropped': { abs: 2 } })).toBeNull();
    expect(toleranceFor('packets.dropped.backlog', undefined, { 'packets.dropped': { abs: 2 } })?.pattern).toBe('packets.dropped');
  });
});

describe('compareMetric', () => {
  const tol = { pattern: '*', tolerance: { rel: 0.05 } };
  it('seed noise is not a change; a consistent shift beyond the tolerance is', () => {
    const base = stats([10, 10.4, 9.8, 10.1, 9.9]);
    expect(compareMetric('m', base, [10.2, 9.9, 10.0, 10.3, 9.7], 0.01, tol).verdict).toBe('noise');
    expect(compareMetric('m', base, [11.5, 11.6, 11.4, 11.7, 11.5], 0.01, tol).verdict).toBe('changed');
    // Significant (spread tiny) but within 5 %.
    expect(compareMetric('m', stats([10, 10.001, 10.002]), [10.2, 10.201, 10.202], 0.01, tol).verdict).toBe('within-tolerance');
    expect(compareMetric('m', stats([3, 3, 3]), [3, 3, 3], 0.01, tol).verdict).toBe('same');
  });

  it('a deterministic metric compared with its own rounded baseline is the same, not a tiny significant change', () => {
    const values = [2113.9873456, 2113.9873456, 2113.9873456];
    expect(compareMetric('m', stats(values), values, 0.01, null).verdict).toBe('same');
  });

  it('a side with fewer than two values has no spread to test: the tolerance alone decides', () => {
    expect(compareMetric('m', stats([5]), [9, 9.2, 9.1], 0.01, tol).verdict).toBe('changed');
    expect(compareMetric('m', stats([5]), [5.1, 5.05], 0.01, tol).verdict).toBe('within-tolerance');
  });

  it('a metric that appears or disappears (a latency that became null) is a change', () => {
    expect(compareMetric('m', { n: 0, mean: null, sd: null }, [5, 6], 0.01, tol).verdict).toBe('changed');
    expect(compareMetric('m', stats([5, 6]), [null, null], 0.01, tol).verdict).toBe('changed');
  });

  it("Welch's test from moments equals the test on the values", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 2, maxLength: 12 }),
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 2, maxLength: 12 }),
        (a, b) => {
          const direct = welch(a, b);
          const viaMoments = welchMoments(moments(a), moments(b));
          expect(viaMoments.status).toBe(direct.status);
          if (direct.p !== null) expect(viaMoments.p!).toBeCloseTo(direct.p, 12);
        },
      ),
    );
  });

  it('at α = 0.01, two samples of 5 from the same distribution are flagged about 1 % of the time', () => {
    const rng = seedrandom('baseline-false-positives');
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    const sample = () => Array.from({ length: 5 }, () => 10 + normal());
    const trials = 4000;
    let flagged = 0;
    for (let i = 0; i < trials; i++) if (compareMetric('m', metricStatsOf(sample()), sample(), 0.01, null).verdict !== 'noise') flagged++;
    // Binomial(4000, 0.01): mean 40, sd 6.3.
    expect(flagged).toBeGreaterThan(15);
    expect(flagged).toBeLessThan(70);
  });
});

describe('baseline metrics and file', () => {
  const results = [1, 2].map((seed) => run({ seed, duration_ms: 3, apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }] }).result);

  it('keeps the expectations’ metrics, goodput per flow by name, drops per place, CPU shares of used CPUs, latency and interrupts', () => {
    const paths = baselineMetricPaths(results, ['stack.processed']);
    expect(paths[0]).toBe('stack.processed');
    expect(paths).toContain('flows[f].goodput_gbps');
    expect(paths).toContain('packets.dropped.nic_ring');
    expect(paths).toContain('cpus[0].idle');
    expect(paths).toContain('cpus[1].idle');
    expect(paths).toContain('latency_us.p99');
    expect(paths).toContain('interrupts.per_sec');
    for (const cpu of [0, 1]) {
      const used = results.some((r) => r.cpus[cpu]!.idle < 100);
      expect(paths.includes(`cpus[${cpu}].soft`)).toBe(used);
    }
  });

  it('writes stable text that parses back to the same baseline, scenarios sorted by name', () => {
    const b: Baseline = {
      rxsim_baseline: 1,
      rxsim_version: '0.1.0',
      seeds: [1, 2],
      alpha: 0.01,
      overrides: { set: [], apply: [] },
      tolerance: DEFAULT_TOLERANCES,
      scenarios: {
        zeta: { file: 'z.json', digests: { '1': 'a', '2': 'b' }, metrics: { 'x.y': { n: 2, mean: 1.5, sd: 0.5 } } },
        alpha: { file: 'a.json', digests: { '1': 'c', '2': 'd' }, tolerance: { '*': { rel: 0.2, abs: 1 } }, metrics: { 'latency_us.p50': { n: 2, mean: null, sd: null } } },
      },
    };
    const text = baselineText(b);
    expect(text.indexOf('"alpha": {')).toBeLessThan(text.indexOf('"zeta"'));
    expect(text).toMatch(/"x\.y": \{ "n": 2, "mean": 1\.5, "sd": 0\.5 \}/);
    expect(text).toMatch(/"seeds": \[1, 2\]/);
    expect(parseBaseline(JSON.parse(text), 'b.json')).toEqual(b);
    expect(baselineText(parseBaseline(JSON.parse(text), 'b.json'))).toBe(text);
  });

  it('names the JSON path of a malformed baseline', () => {
    expect(() => parseBaseline({ rxsim_baseline: 1, rxsim_version: '1', seeds: [1], alpha: 2, overrides: { set: [], apply: [] }, tolerance: {}, scenarios: {} }, 'b.json')).toThrow(/b\.json: alpha/);
  });
});
