import { describe, expect, it } from 'vitest';
import { incompleteBeta, lnGamma, studentTCdf, studentTQuantile, summarize, welch } from '../../src/study/stats.ts';

// Student's (1908) sleep data, as R ships it (`sleep`): extra hours of sleep under two drugs.
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('Student t distribution', () => {
  it('has the quantiles of the tables (two-sided 95 %: t_0.975)', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 3);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.303, 3);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.776, 3);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228, 3);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.042, 3);
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.96, 3);
    expect(studentTQuantile(0.995, 1)).toBeCloseTo(63.657, 3);
    expect(studentTQuantile(0.995, 5)).toBeCloseTo(4.032, 3);
    expect(studentTQuantile(0.95, 20)).toBeCloseTo(1.725, 3);
  });

  it('quantile and distribution function invert each other, symmetric about 0, for fractional df too', () => {
    for (const df of [1, 2.5, 7, 17.776, 120]) {
      for (const p of [0.01, 0.2, 0.5, 0.9, 0.975]) {
        const t = studentTQuantile(p, df);
        expect(studentTCdf(t, df)).toBeCloseTo(p, 12);
        expect(studentTQuantile(1 - p, df)).toBeCloseTo(-t, 10);
      }
    }
    // df = 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/π.
    expect(studentTCdf(3, 1)).toBeCloseTo(0.5 + Math.atan(3) / Math.PI, 14);
  });

  it('rests on ln Γ and the regularized incomplete beta function', () => {
    expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(lnGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(incompleteBeta(0.3, 4, 1)).toBeCloseTo(0.3 ** 4, 14);
    expect(incompleteBeta(0.5, 7.5, 7.5)).toBeCloseTo(0.5, 14);
  });
});

describe('summarize', () => {
  it('gives the mean, sd and 95 % confidence interval R gives (t.test(sleep$extra[1:10]))', () => {
    const s = summarize(SLEEP_1);
    expect(s.n).toBe(10);
    expect(s.mean).toBeCloseTo(0.75, 12);
    expect(s.sd).toBeCloseTo(1.78901, 6);
    expect(s.ci95_lo).toBeCloseTo(-0.5297804, 7);
    expect(s.ci95_hi).toBeCloseTo(2.0297804, 7);
    expect([s.min, s.max]).toEqual([-1.6, 3.7]);
  });

  it('assumes no variance: equal values give sd 0 and an interval of zero width, not NaN', () => {
    expect(summarize([0.096, 0.096, 0.096])).toEqual({ n: 3, mean: 0.096, sd: 0, ci95_lo: 0.096, ci95_hi: 0.096, min: 0.096, max: 0.096 });
    expect(summarize([5])).toEqual({ n: 1, mean: 5, sd: null, ci95_lo: null, ci95_hi: null, min: 5, max: 5 });
    expect(summarize([null, null]).n).toBe(0);
    expect(summarize([1, null, 3]).mean).toBe(2);
  });
});

describe("Welch's t-test", () => {
  it("matches R's t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p = 0.07939", () => {
    // R reports group 1 − group 2; welch(a, b) reports b − a.
    const w = welch(SLEEP_2, SLEEP_1);
    expect(w.status).toBe('tested');
    expect(w.diff).toBeCloseTo(-1.58, 12);
    expect(w.t).toBeCloseTo(-1.8608, 4);
    expect(w.df).toBeCloseTo(17.776, 3);
    expect(w.p).toBeCloseTo(0.07939, 5);
    expect(w.ci_lo).toBeCloseTo(-3.3654832, 6);
    expect(w.ci_hi).toBeCloseTo(0.2054832, 6);
  });

  it('with unequal sizes and variances (Wikipedia, "Welch\'s t-test", example 2: t = -1.57, df = 9.9, p = 0.149)', () => {
    const a = [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8];
    const b = [21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8];
    // welch(a, b) tests b − a; scipy.stats.ttest_ind(a, b, equal_var=False) gives t = -1.565434, df = 9.904741, p = 0.148842 for a − b.
    const w = welch(b, a);
    expect(w.t).toBeCloseTo(-1.565434, 5);
    expect(w.df).toBeCloseTo(9.904741, 5);
    expect(w.p).toBeCloseTo(0.148842, 5);
  });

  it('reports identical samples as identical, equal-valued different samples with p 0, and too few values without a test', () => {
    const same = welch([3, 3, 3], [3, 3]);
    expect(same).toMatchObject({ status: 'identical', diff: 0, p: 1, ci_lo: 0, ci_hi: 0 });
    expect(welch([0.096, 0.096, 0.096], [0.096, 0.096, 0.096]).status).toBe('identical');
    expect(welch([3, 3], [4, 4])).toMatchObject({ status: 'no-variance', diff: 1, p: 0 });
    expect(welch([1, 2, 3], [5])).toMatchObject({ status: 'too-few', p: null, diff: 3 });
    expect(welch([1, 2, 3], [4, 4, 4]).status).toBe('tested');
  });
});
