/**
 * A log-linear histogram of non-negative integers (latencies in ns), in the spirit of
 * HdrHistogram: values below 2^SUB are exact; above, each power-of-two range is split into
 * 2^SUB equal buckets, so any recorded value is known to within 1/2^SUB (≈0.8 %). Fixed memory,
 * integer counts, no floating-point accumulation: percentiles are identical everywhere.
 */
const SUB = 7;
const SUB_COUNT = 1 << SUB;
/** Enough ranges for values up to 2^53. */
const RANGES = 54 - SUB;

export class Histogram {
  readonly counts = new Float64Array((RANGES + 1) * SUB_COUNT);
  count = 0;
  /** Exact sum of values (integers, so exact below 2^53). */
  sum = 0;
  max = 0;
  min = Infinity;

  /** Record `value` (`n` times). */
  record(value: number, n = 1): void {
    const v = value < 0 ? 0 : Math.floor(value);
    this.counts[bucketOf(v)]! += n;
    this.count += n;
    this.sum += v * n;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
  }

  /** The smallest bucket-representative value v such that at least q of all values are <= v. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(bucketHigh(b), this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
    this.min = Infinity;
  }

  merge(other: Histogram): void {
    for (let b = 0; b < this.counts.length; b++) this.counts[b]! += other.counts[b]!;
    this.count += other.count;
    this.sum += other.sum;
    this.max = Math.max(this.max, other.max);
    this.min = Math.min(this.min, other.min);
  }

  /** Non-empty buckets as [low, high, count] (for plotting). */
  buckets(): [number, number, number][] {
    const out: [number, number, number][] = [];
    for (let b = 0; b < this.counts.length; b++) {
      if (this.counts[b]! > 0) out.push([bucketLow(b), bucketHigh(b), this.counts[b]!]);
    }
    return out;
  }
}

/**
 * The q-quantile of bucket counts laid out as `Histogram.counts` (`total` values in all), as
 * `Histogram.quantile` gives it — the high end of the bucket, at most `max` — scanning buckets
 * `lo` … `hi − 1` only (the caller knows the others are empty).
 */
export function quantileOfBuckets(counts: ArrayLike<number>, total: number, q: number, max: number, lo = 0, hi = counts.length): number {
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let b = lo; b < hi; b++) {
    seen += counts[b]!;
    if (seen >= rank) return Math.min(bucketHigh(b), max);
  }
  return max;
}

/** The index in `counts` of the bucket that holds `v` (a non-negative integer). */
export function bucketOf(v: number): number {
  if (v < SUB_COUNT) return v;
  // Range r >= 1 holds [2^(SUB+r-1), 2^(SUB+r)); its width is 2^(r-1) per bucket.
  if (v < 0x80000000) {
    // The common case (below 2.1 s): integer bit operations only.
    const r = 32 - Math.clz32(v) - SUB;
    return r * SUB_COUNT + ((v >>> (r - 1)) - SUB_COUNT);
  }
  const bits = v < 2 ** 32 ? 32 - Math.clz32(v) : 32 + (32 - Math.clz32(Math.floor(v / 2 ** 32)));
  const r = bits - SUB;
  const sub = Math.floor(v / 2 ** (r - 1)) - SUB_COUNT;
  return r * SUB_COUNT + sub;
}

function bucketLow(b: number): number {
  const r = Math.floor(b / SUB_COUNT);
  const sub = b % SUB_COUNT;
  if (r === 0) return sub;
  return (SUB_COUNT + sub) * 2 ** (r - 1);
}

function bucketHigh(b: number): number {
  const r = Math.floor(b / SUB_COUNT);
  if (r === 0) return b;
  return bucketLow(b) + 2 ** (r - 1) - 1;
}
