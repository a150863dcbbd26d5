import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/metrics/histogram.ts';

describe('log-linear histogram', () => {
  it('puts every value in a bucket that contains it, at most 1/128 of the value wide (exact below 128)', () => {
    const values = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 2 ** 31 + 5000 }), fc.double({ min: 0, max: 2 ** 45, noNaN: true }));
    fc.assert(
      fc.property(values, (x) => {
        const v = Math.floor(x);
        const h = new Histogram();
        h.record(v);
        const [[low, high, count]] = h.buckets() as [[number, number, number]];
        expect(count).toBe(1);
        expect(low).toBeLessThanOrEqual(v);
        expect(high).toBeGreaterThanOrEqual(v);
        if (v < 128) expect(high).toBe(low);
        else expect(high - low + 1).toBeLessThanOrEqual(Math.ceil(v / 128));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('buckets are contiguous and increasing across the 2^31 and 2^32 boundaries', () => {
    const h = new Histogram();
    const around = [2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1];
    for (const v of around) h.record(v);
    const b = h.buckets();
    for (let i = 1; i < b.length; i++) expect(b[i]![0]).toBeGreaterThan(b[i - 1]![1]);
    expect(b.reduce((a, x) => a + x[2], 0)).toBe(around.length);
  });

  it('quantiles are exact for small values and never exceed the maximum', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    expect(h.quantile(0.5)).toBe(50);
    expect(h.quantile(0.99)).toBe(99);
    expect(h.quantile(1)).toBe(100);
    expect(h.mean()).toBe(50.5);
    h.record(1_000_003);
    expect(h.quantile(1)).toBe(1_000_003);
  });
});
