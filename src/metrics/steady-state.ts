/**
 * Output analysis of one run: where the initial transient ends (MSER-5) and how precise the
 * steady-state means are (batch means). Pure arithmetic on arrays — no kernel, no randomness —
 * so the same series gives the same answer in Node and in the browser (only +, −, ×, ÷ and
 * comparisons: IEEE 754 makes those identical everywhere). docs/statistics.md explains both.
 *
 * Why MSER-5 and not a trend test. A trend test (a regression slope, a runs test, the
 * Schruben or Goldsman tests) answers "is there a transient?" with a yes or no at a chosen
 * significance, and needs the variance of the output, which a short autocorrelated series does
 * not give reliably; it does not say where the transient ends, which is what a user needs to set
 * `warmup_ms`. MSER (White 1997; MSER-5 with batches of 5 in White, Cobb and Spratt 2000)
 * returns the truncation point itself: the one that minimizes the standard error of the mean of
 * what is left, trading the bias removed against the data lost. It needs no parameter but the
 * batch size, no variance model, costs O(b²) on b batches, and in the comparison of warm-up
 * methods by Hoad, Robinson and Davies ("Automating warm-up length estimation", JORS 61, 2010)
 * it came out as the one to automate. Its known weak points: it may truncate on a stationary
 * series by chance (hence the tolerance of `isTransient`); on a series that never settles its
 * minimum goes to the end of the search range (reported as `atLimit`: the run is too short); and
 * a transient longer than half the series cannot be found at all — the batch-means interval,
 * wide then, is what tells (series.ts, IMPRECISE_PCT).
 */

/** Observations per MSER batch: White, Cobb and Spratt (2000) found 5 a good compromise between smoothing and resolution. */
export const MSER_BATCH = 5;
/** MSER needs this many batches (20 observations with batches of 5) for its minimum to mean anything. */
export const MSER_MIN_BATCHES = 4;

export interface MserResult {
  /** Observations the optimal truncation removes from the start (a multiple of MSER_BATCH). */
  truncation: number;
  /** Observations in the series, and the batches of MSER_BATCH they form (a trailing remainder is left out). */
  observations: number;
  batches: number;
  /** Truncation points searched: 0 … searchLimit batches (the first half, as White recommends). */
  searchLimit: number;
  /** The minimum is at the end of the search range: the series may never settle in this run. */
  atLimit: boolean;
  /** Mean per observation over all batched observations, and over those after the truncation. */
  mean: number;
  steadyMean: number;
  /** Standard error of `steadyMean`: √MSER(d*) is the (biased) standard error of the mean of the remaining batch means. */
  steadySe: number;
}

/**
 * MSER-5 (White, K. P. Jr., "An effective truncation heuristic for bias reduction in simulation
 * output", Simulation 69(6), 1997; batch size 5: White, Cobb and Spratt, WSC 2000). The series
 * y₁…yₙ is cut into b = ⌊n/5⌋ batches with means Z₁…Z_b; for each truncation d (in batches)
 *
 *   MSER(d) = 1/(b−d)² · Σ_{j>d} (Z_j − Z̄(d))²,   Z̄(d) = the mean of Z_{d+1…b},
 *
 * and the truncation is d* = argmin MSER(d) over d = 0 … ⌊b/2⌋ (the first half: near the end,
 * MSER becomes unstable as few batches remain). Ties go to the smallest d.
 *
 * Computed on batch sums: with B_j = 5·Z_j, N = b − d and S = Σ B_j, each deviation is
 * (N·B_j − S)/(5N), exact when the observations are integers (bytes per interval), so a constant
 * series gives MSER = 0 at every d exactly and d* = 0 — no rounding noise picks a truncation.
 * Returns null with fewer than MSER_MIN_BATCHES batches.
 */
export function mser5(y: ArrayLike<number>): MserResult | null {
  const b = Math.floor(y.length / MSER_BATCH);
  if (b < MSER_MIN_BATCHES) return null;
  const sums = new Float64Array(b);
  for (let j = 0; j < b; j++) {
    let s = 0;
    for (let i = 0; i < MSER_BATCH; i++) s += y[j * MSER_BATCH + i]!;
    sums[j] = s;
  }
  const limit = Math.floor(b / 2);
  let best = 0;
  let bestStat = Infinity;
  let bestSum = 0;
  let total = 0;
  for (let d = 0; d <= limit; d++) {
    const n = b - d;
    let s = 0;
    for (let j = d; j < b; j++) s += sums[j]!;
    if (d === 0) total = s;
    let ss = 0;
    for (let j = d; j < b; j++) {
      const dev = n * sums[j]! - s;
      ss += dev * dev;
    }
    // MSER(d) = Σ (Z_j − Z̄)² / N² with Z_j − Z̄ = dev / (5N): ss / (25 N²) / N², in units of the observations.
    const stat = ss / (MSER_BATCH * MSER_BATCH * n * n * n * n);
    if (stat < bestStat) {
      bestStat = stat;
      best = d;
      bestSum = s;
    }
  }
  return {
    truncation: best * MSER_BATCH,
    observations: y.length,
    batches: b,
    searchLimit: limit,
    atLimit: best === limit && limit > 0,
    mean: total / (b * MSER_BATCH),
    steadyMean: bestSum / ((b - best) * MSER_BATCH),
    steadySe: Math.sqrt(bestStat),
  };
}

/** A truncation must remove a bias of at least this share of the steady mean to count as a transient. */
export const TRANSIENT_MIN_BIAS = 0.01;

/**
 * Whether the truncation MSER found removes a real transient: the mean over the whole series
 * must differ from the mean after the truncation by more than TRANSIENT_MIN_BIAS (1 %) of the
 * latter AND by more than twice the standard error of the latter.
 *
 * Why a tolerance. On a stationary series MSER still returns d* > 0 now and then (a first batch
 * that happens to be low is "cheaper" to drop than to keep); such a truncation changes the mean
 * by about one batch's noise divided by the number of batches. The two conditions keep the
 * warning for what matters: a bias a user would notice when comparing runs (tuning effects of a
 * few percent, goodput printed to 3 decimals — 1 % is the smallest difference worth a warning) and
 * that noise cannot explain (2 standard errors, ≈ a 95 % two-sided test). The truncation point
 * itself is reported either way, and `warmup_ms: "auto"` uses it as it is.
 */
export function isTransient(m: MserResult): boolean {
  if (m.truncation === 0) return false;
  const bias = Math.abs(m.mean - m.steadyMean);
  return bias > TRANSIENT_MIN_BIAS * Math.abs(m.steadyMean) && bias > 2 * m.steadySe;
}

/** t_{0.975, ν} for ν = 1 … 30 (two-sided 95 %); beyond, the normal 1.96 is within 0.5 %. */
const T975 = [
  12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.093, 2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595,
  2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/** The 97.5 % quantile of Student's t with `df` degrees of freedom (for a two-sided 95 % interval). */
export function t975(df: number): number {
  if (df < 1) return Infinity;
  return T975[df - 1] ?? 1.96;
}

export interface BatchMeansCi {
  /** Mean of the batch values (or the given centre), and the two-sided 95 % interval around it. */
  mean: number;
  lo: number;
  hi: number;
  halfWidth: number;
  /** Sample standard deviation of the batch values. */
  sd: number;
  /** Lag-1 autocorrelation of the batch values (0 when they do not vary). */
  lag1: number;
}

/**
 * The batch-means interval: with k batch values X₁…X_k (each the statistic over one batch of
 * the window), X̄ ± t_{0.975, k−1} · s/√k. Valid when the batches are long enough for their values
 * to be nearly independent and normal (Schmeiser 1982: 10 to 30 batches). With `centre`, the
 * interval is centred there instead of on X̄ — sectioning (Asmussen and Glynn 2007, ch. III): the
 * whole-sample estimate, less biased than the mean of batch estimates for a quantile, with the
 * batches' spread for the width.
 */
export function batchMeansCi(values: ArrayLike<number>, centre?: number): BatchMeansCi {
  const k = values.length;
  let sum = 0;
  for (let i = 0; i < k; i++) sum += values[i]!;
  const mean = sum / k;
  let ss = 0;
  let cross = 0;
  for (let i = 0; i < k; i++) {
    const d = values[i]! - mean;
    ss += d * d;
    if (i + 1 < k) cross += d * (values[i + 1]! - mean);
  }
  const sd = k > 1 ? Math.sqrt(ss / (k - 1)) : 0;
  const halfWidth = k > 1 ? (t975(k - 1) * sd) / Math.sqrt(k) : Infinity;
  const c = centre ?? mean;
  return { mean: c, lo: c - halfWidth, hi: c + halfWidth, halfWidth, sd, lag1: ss > 0 ? cross / ss : 0 };
}

/**
 * Whether a lag-1 autocorrelation of k batch values is too large for the batch-means interval
 * to be trusted: above 2/√k, about the 5 % one-sided critical value of r₁ under independence.
 */
export function batchesCorrelated(lag1: number, k: number): boolean {
  return lag1 > 2 / Math.sqrt(k);
}
