/**
 * Statistics of a sweep: per point the mean, sample standard deviation and the 95 % confidence
 * interval of the mean by Student's t distribution; between two points Welch's t-test (unequal
 * variances, Welch–Satterthwaite degrees of freedom).
 *
 * The t distribution comes from the regularized incomplete beta function (continued fraction,
 * modified Lentz; Numerical Recipes §6.4) and ln Γ by Lanczos' approximation (g = 7, n = 9); the
 * quantile inverts the distribution function by bisection, to full double precision. No
 * variance is assumed: a sample whose values are all equal has sd 0 and a confidence interval of
 * zero width, and two such samples with the same mean are "identical" (no NaN anywhere).
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error below 1e-14). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x); // reflection
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), 0 ≤ x ≤ 1, a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(lnFront);
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); else use the symmetry.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T > t) for t ≥ 0, T with Student's t distribution of `df` degrees of freedom (df > 0, not necessarily an integer). */
export function studentTUpperTail(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  if (t === Infinity) return 0;
  if (t < 0) return 1 - studentTUpperTail(-t, df);
  return 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The distribution function P(T ≤ t). */
export function studentTCdf(t: number, df: number): number {
  return t >= 0 ? 1 - studentTUpperTail(t, df) : studentTUpperTail(-t, df);
}

/** The quantile t_p of Student's t distribution with `df` degrees of freedom: P(T ≤ t_p) = p. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  const tail = 1 - p;
  let lo = 0;
  let hi = 1;
  while (studentTUpperTail(hi, df) > tail) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  // Bisection to the last bit: the tail is strictly decreasing in t.
  for (let i = 0; i < 2000; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (studentTUpperTail(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** What a sample of one metric at one point shows. sd and the interval are null below two values. */
export interface Summary {
  n: number;
  mean: number | null;
  sd: number | null;
  ci95_lo: number | null;
  ci95_hi: number | null;
  min: number | null;
  max: number | null;
}

/** The mean; exactly the value when all values are equal (a plain sum leaves a rounding residue). */
export function mean(xs: readonly number[]): number {
  let s = 0;
  let same = true;
  for (const x of xs) {
    s += x;
    same &&= x === xs[0];
  }
  return same ? xs[0]! : s / xs.length;
}

/** Sample variance (n − 1 in the denominator), two-pass; 0 for identical values. */
export function variance(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / (xs.length - 1);
}

/** n, mean, sd, the two-sided 95 % confidence interval of the mean (Student t, n − 1 df), min and max. Nulls are left out. */
export function summarize(values: readonly (number | null)[], level = 0.95): Summary {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: null, sd: null, ci95_lo: null, ci95_hi: null, min: null, max: null };
  const m = mean(xs);
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  if (n < 2) return { n, mean: m, sd: null, ci95_lo: null, ci95_hi: null, min, max };
  // Identical values: sd exactly 0 (the two-pass sum can leave a rounding residue otherwise).
  const sd = min === max ? 0 : Math.sqrt(variance(xs));
  const half = sd === 0 ? 0 : (studentTQuantile(1 - (1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { n, mean: m, sd, ci95_lo: m - half, ci95_hi: m + half, min, max };
}

/**
 * Welch's unequal-variances t-test of B against A. `status`:
 *  - "tested": the usual test; p two-sided;
 *  - "identical": both samples have no variance and the same mean (p = 1, difference 0);
 *  - "no-variance": both samples have no variance but different means (p = 0: every draw differs by the same amount);
 *  - "too-few": a sample has fewer than two values (no variance to estimate: p null).
 */
export interface WelchResult {
  status: 'tested' | 'identical' | 'no-variance' | 'too-few';
  na: number;
  nb: number;
  meanA: number | null;
  meanB: number | null;
  /** meanB − meanA */
  diff: number | null;
  /** The confidence interval of the difference (Welch). */
  ci_lo: number | null;
  ci_hi: number | null;
  t: number | null;
  df: number | null;
  p: number | null;
}

export function welch(aValues: readonly (number | null)[], bValues: readonly (number | null)[], level = 0.95): WelchResult {
  const a = aValues.filter((v): v is number => v !== null && Number.isFinite(v));
  const b = bValues.filter((v): v is number => v !== null && Number.isFinite(v));
  return welchMoments(moments(a), moments(b), level);
}

/** A sample reduced to what Welch's test needs: n, the mean and the sample variance (0 for identical values, null below two). */
export interface Moments {
  n: number;
  mean: number | null;
  variance: number | null;
}

export function moments(xs: readonly number[]): Moments {
  const n = xs.length;
  if (n === 0) return { n, mean: null, variance: null };
  return { n, mean: mean(xs), variance: n < 2 ? null : Math.min(...xs) === Math.max(...xs) ? 0 : variance(xs) };
}

/** Welch's test from two samples' moments (what a baseline file keeps instead of every value). */
export function welchMoments(a: Moments, b: Moments, level = 0.95): WelchResult {
  const { n: na, mean: meanA } = a;
  const { n: nb, mean: meanB } = b;
  // A difference below the resolution of the means' doubles is none.
  const raw = meanA !== null && meanB !== null ? meanB - meanA : null;
  const diff = raw !== null && Math.abs(raw) <= 1e-12 * Math.max(Math.abs(meanA!), Math.abs(meanB!)) ? 0 : raw;
  const none = { t: null, df: null };
  if (na < 2 || nb < 2 || diff === null || a.variance === null || b.variance === null) return { status: 'too-few', na, nb, meanA, meanB, diff, ci_lo: null, ci_hi: null, p: null, ...none };
  const sa = a.variance / na;
  const sb = b.variance / nb;
  const se2 = sa + sb;
  if (se2 === 0) {
    if (diff === 0) return { status: 'identical', na, nb, meanA, meanB, diff, ci_lo: 0, ci_hi: 0, t: 0, df: null, p: 1 };
    return { status: 'no-variance', na, nb, meanA, meanB, diff, ci_lo: diff, ci_hi: diff, t: diff > 0 ? Infinity : -Infinity, df: null, p: 0 };
  }
  const se = Math.sqrt(se2);
  const t = diff / se;
  // Welch–Satterthwaite, with the shares of se² rather than their squares: for variances near the
  // smallest double, sa² underflows to 0 and the textbook form gives 0 / 0.
  const fa = sa / se2;
  const fb = sb / se2;
  const df = 1 / ((fa * fa) / (na - 1) + (fb * fb) / (nb - 1));
  const p = Math.min(1, 2 * studentTUpperTail(Math.abs(t), df));
  const half = studentTQuantile(1 - (1 - level) / 2, df) * se;
  return { status: 'tested', na, nb, meanA, meanB, diff, ci_lo: diff - half, ci_hi: diff + half, t, df, p };
}
