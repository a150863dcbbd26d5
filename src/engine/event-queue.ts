import { freeStack, grown } from './typed.ts';

/** Slots are numbered below 2^21 so that (sequence, slot) packs exactly into one float64. */
const SLOT_BITS = 21;
const SLOT_SPACE = 2 ** SLOT_BITS;
const SLOT_MASK = SLOT_SPACE - 1;
/** Sequence numbers stay below 2^32 so that seq * 2^21 + slot < 2^53. */
const SEQ_LIMIT = 2 ** 32;
const TWO32 = 2 ** 32;
/**
 * Buckets: 0 holds times equal to `last`; bucket 1 + 16·d + v holds times whose highest 4-bit
 * digit differing from `last` is digit d (0..13, covering 53 bits) and whose value there is v.
 */
const LEVELS = 14;
const BUCKETS = 1 + LEVELS * 16;
const NONE = -1;

/**
 * Pending events, ordered by (time, insertion sequence): a radix heap.
 *
 * Simulated time never goes backwards (nothing is scheduled before the last event taken), which
 * is exactly when a radix heap works: each pending time sits in the bucket named by the highest
 * hexadecimal digit in which it differs from `last`, the last minimum taken, and by its value in
 * that digit. Bucket 0 (times equal to `last`) is consumed in order; when it is empty, the lowest
 * non-empty bucket is redistributed around its smallest time, which becomes the new `last`.
 * Entries only move to lower digits, so each moves about log16 of the pending time span times:
 * typed-array appends, no pairwise comparisons. (Binary digits, the textbook radix heap, moved
 * every entry about four times as often and measured slower.)
 *
 * Ties: equal times always share a bucket, appends go to the end and redistribution keeps order,
 * so events at the same time come out in insertion order.
 *
 * A pending event occupies a slot (time, handler kind, one numeric argument). A bucket entry is
 * `seq * 2^21 + slot`; it is live only while the slot still holds that same entry, so cancelling
 * or re-arming a timer just leaves the old entry stale (dropped when met, or by compaction when
 * stale entries dominate). Slots are one-shot (released when they fire) or owned by a timer.
 *
 * The hold model in `npm run bench` measures it; a binary heap in typed arrays (which beat a
 * 4-ary one) was slower here, and its speed depended on V8 specialising code for one instance.
 */
export class EventQueue {
  private time: Float64Array;
  /** The live bucket entry of each slot, or NONE. */
  private live: Float64Array;
  private kindOf: Int32Array;
  private argOf: Float64Array;
  private freeSlots: Int32Array;
  private freeTop = 0;
  private capacity = 0;
  private nextSeq = 0;

  private readonly buckets: Float64Array[] = Array.from({ length: BUCKETS }, () => new Float64Array(64));
  private readonly bucketLen = new Int32Array(BUCKETS);
  /**
   * A lower bound of each bucket's live times: the smallest time appended since the bucket was
   * last emptied. It may belong to an entry cancelled since; taking it as the next `last` is still
   * correct (it is <= every live time in the bucket and shares their high bits), it only means
   * bucket 0 can come out empty and the search goes on.
   */
  private readonly bucketLow = new Float64Array(BUCKETS).fill(Infinity);
  /** Per level, bit v set when bucket 1 + 16·level + v may be non-empty; `levelMask` bit d when level d has any. */
  private readonly digitMask = new Int32Array(LEVELS);
  private levelMask = 0;
  /** Next unread index of bucket 0. */
  private head0 = 0;
  /** The time of the last minimum taken: nothing may be pushed below it. */
  private last = 0;
  private stale = 0;
  /** Number of live (queued) events. */
  size = 0;

  constructor(initialCapacity = 1024) {
    this.time = new Float64Array(0);
    this.live = new Float64Array(0);
    this.kindOf = new Int32Array(0);
    this.argOf = new Float64Array(0);
    this.freeSlots = new Int32Array(0);
    this.grow(Math.max(16, initialCapacity));
  }

  /** Take a free slot (not queued). */
  allocSlot(): number {
    if (this.freeTop === 0) this.grow(this.capacity * 2);
    return this.freeSlots[--this.freeTop]!;
  }

  /** Give a slot back; it must not be queued. */
  releaseSlot(slot: number): void {
    this.freeSlots[this.freeTop++] = slot;
  }

  isQueued(slot: number): boolean {
    return this.live[slot]! !== NONE;
  }

  /** Time of a queued (or just popped) slot. */
  timeOf(slot: number): number {
    return this.time[slot]!;
  }

  kind(slot: number): number {
    return this.kindOf[slot]!;
  }

  arg(slot: number): number {
    return this.argOf[slot]!;
  }

  /**
   * Queue `slot` at `time` (an integer not below the last time taken); it sorts after
   * everything queued before it at the same time. A slot already queued is moved.
   */
  push(slot: number, time: number, kind: number, arg: number): void {
    if (this.live[slot]! !== NONE) this.remove(slot);
    if (this.nextSeq >= SEQ_LIMIT) this.renumber();
    const entry = this.nextSeq++ * SLOT_SPACE + slot;
    this.time[slot] = time;
    this.live[slot] = entry;
    this.kindOf[slot] = kind;
    this.argOf[slot] = arg;
    this.append(this.bucketOf(time), entry, time);
    this.size++;
  }

  /** Un-queue a slot if queued (the slot stays allocated). */
  remove(slot: number): void {
    if (this.live[slot]! === NONE) return;
    this.live[slot] = NONE;
    this.size--;
    if (++this.stale > 1024 && this.stale > 2 * this.size) this.compact();
  }

  /**
   * Take the earliest event if its time is <= `limit`: returns its slot (still allocated), or
   * NONE when the queue is empty or the earliest event is later than `limit`.
   */
  popUntil(limit: number): number {
    const live = this.live;
    for (;;) {
      const b0 = this.buckets[0]!;
      const n0 = this.bucketLen[0]!;
      while (this.head0 < n0) {
        const entry = b0[this.head0]!;
        const slot = entry & SLOT_MASK;
        if (live[slot] === entry) {
          if (this.last > limit) return NONE;
          this.head0++;
          live[slot] = NONE;
          this.size--;
          return slot;
        }
        this.head0++;
        this.stale--;
      }
      this.bucketLen[0] = 0;
      this.head0 = 0;
      if (!this.refill(limit)) return NONE;
    }
  }

  /** Earliest time, or Infinity when empty. Not on the hot path. */
  minTime(): number {
    let best = Infinity;
    for (let b = 0; b < BUCKETS; b++) {
      const bucket = this.buckets[b]!;
      for (let k = b === 0 ? this.head0 : 0; k < this.bucketLen[b]!; k++) {
        const entry = bucket[k]!;
        const slot = entry & SLOT_MASK;
        if (this.live[slot] === entry && this.time[slot]! < best) best = this.time[slot]!;
      }
      if (best !== Infinity) return best;
    }
    return best;
  }

  /**
   * Bucket 0 is exhausted: take the lowest non-empty bucket and, if its low time is <= `limit`,
   * make that the new `last` and redistribute the bucket. False if nothing was moved.
   */
  private refill(limit: number): boolean {
    if (this.levelMask === 0) return false;
    const d = 31 - Math.clz32(this.levelMask & -this.levelMask);
    const dm = this.digitMask[d]!;
    const b = 1 + 16 * d + (31 - Math.clz32(dm & -dm));
    const m = this.bucketLow[b]!;
    if (m > limit) return false;
    this.last = m;
    this.clearBucket(b);
    const bucket = this.buckets[b]!;
    const n = this.bucketLen[b]!;
    this.bucketLen[b] = 0;
    const live = this.live;
    const time = this.time;
    for (let k = 0; k < n; k++) {
      const entry = bucket[k]!;
      const slot = entry & SLOT_MASK;
      if (live[slot] === entry) {
        const t = time[slot]!;
        this.append(this.bucketOf(t), entry, t);
      } else {
        this.stale--;
      }
    }
    return true;
  }

  private bucketOf(t: number): number {
    const last = this.last;
    if (t === last) return 0;
    const tHi = (t / TWO32) >>> 0;
    const xHi = (tHi ^ ((last / TWO32) >>> 0)) >>> 0;
    if (xHi !== 0) {
      const d = (63 - Math.clz32(xHi)) >> 2; // 8..13
      return 1 + 16 * d + ((tHi >>> (4 * d - 32)) & 15);
    }
    const tLo = t >>> 0;
    const d = (31 - Math.clz32((tLo ^ (last >>> 0)) >>> 0)) >> 2; // 0..7
    return 1 + 16 * d + ((tLo >>> (4 * d)) & 15);
  }

  private append(b: number, entry: number, t: number): void {
    let bucket = this.buckets[b]!;
    const n = this.bucketLen[b]!;
    if (n === bucket.length) {
      const grown = new Float64Array(n * 2);
      grown.set(bucket);
      this.buckets[b] = bucket = grown;
    }
    bucket[n] = entry;
    this.bucketLen[b] = n + 1;
    if (t < this.bucketLow[b]!) this.bucketLow[b] = t;
    if (b === 0) return;
    const d = (b - 1) >> 4;
    this.digitMask[d]! |= 1 << ((b - 1) & 15);
    this.levelMask |= 1 << d;
  }

  private clearBucket(b: number): void {
    this.bucketLow[b] = Infinity;
    const d = (b - 1) >> 4;
    const dm = this.digitMask[d]! & ~(1 << ((b - 1) & 15));
    this.digitMask[d] = dm;
    if (dm === 0) this.levelMask &= ~(1 << d);
  }

  /** Drop stale entries from every bucket, keeping the order of live ones. */
  private compact(): void {
    for (let b = 0; b < BUCKETS; b++) {
      const bucket = this.buckets[b]!;
      let w = 0;
      for (let k = b === 0 ? this.head0 : 0; k < this.bucketLen[b]!; k++) {
        const entry = bucket[k]!;
        if (this.live[entry & SLOT_MASK] === entry) bucket[w++] = entry;
      }
      this.bucketLen[b] = w;
    }
    this.head0 = 0;
    this.stale = 0;
  }

  /** Re-issue sequence numbers 0.. in insertion order (after 2^32 pushes); relative order is kept. */
  private renumber(): void {
    this.compact();
    const entries: number[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      for (let k = 0; k < this.bucketLen[b]!; k++) entries.push(this.buckets[b]![k]!);
    }
    entries.sort((x, y) => x - y);
    const rank = new Map<number, number>();
    entries.forEach((entry, i) => rank.set(entry, i));
    for (let b = 0; b < BUCKETS; b++) {
      const bucket = this.buckets[b]!;
      for (let k = 0; k < this.bucketLen[b]!; k++) {
        const entry = bucket[k]!;
        const slot = entry & SLOT_MASK;
        const renumbered = rank.get(entry)! * SLOT_SPACE + slot;
        bucket[k] = renumbered;
        this.live[slot] = renumbered;
      }
    }
    this.nextSeq = entries.length;
  }

  private grow(capacity: number): void {
    if (capacity > SLOT_SPACE) throw new RangeError(`more than ${SLOT_SPACE} pending events`);
    const old = this.capacity;
    this.time = grown(this.time, capacity);
    this.live = grown(this.live, capacity);
    this.live.fill(NONE, old);
    this.kindOf = grown(this.kindOf, capacity);
    this.argOf = grown(this.argOf, capacity);
    this.freeSlots = freeStack(old, capacity, this.freeSlots, this.freeTop);
    this.freeTop += capacity - old;
    this.capacity = capacity;
  }

  /** For tests: move the sequence counter close to its limit. */
  setSequenceForTest(seq: number): void {
    this.nextSeq = seq;
  }
}
