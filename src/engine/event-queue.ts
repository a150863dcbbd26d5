import { freeStack, grown } from './typed.ts';

/** The lowest level: one bucket per time for the 2^12 times that share their higher bits with `last`. */
const L0_BITS = 12;
const L0 = 1 << L0_BITS;
const L0_MASK = L0 - 1;
/** Higher levels: 4-bit digits of bits 12..52 (11 digits, the last one partial), 16 buckets each. */
const LEVELS = 11;
const BUCKETS = L0 + LEVELS * 16;
const TWO32 = 2 ** 32;
/** The largest slot count (slots are rows of typed arrays). */
const MAX_SLOTS = 2 ** 21;
const NONE = -1;

/**
 * Pending events, ordered by (time, insertion order): a radix heap whose buckets are linked lists
 * of slots.
 *
 * Simulated time never goes backwards (nothing is scheduled before the last event taken), which
 * is exactly when a radix heap works: each pending time sits in a bucket named by the highest
 * digit in which it differs from `last` (a lower bound of every pending time) and by its value in
 * that digit. The lowest digit is 12 bits wide and its buckets hold one time each: a time less
 * than 4096 ns ahead within `last`'s 4096-ns block goes straight to its final bucket, found again
 * by a bitmap of non-empty buckets. Times further ahead sit in 16-way buckets of 4-bit digits;
 * when the lowest level is empty, the lowest non-empty bucket is redistributed around its
 * smallest time, which becomes the new `last`. Entries only move to lower digits, and most
 * events of a simulation are scheduled less than 4096 ns ahead: they never move. (A 16-way lowest
 * level, the previous version, moved every entry about log16 of the pending span times; binary
 * digits twice as often.)
 *
 * Ties: equal times always share a bucket, a push appends at its end, redistribution walks a
 * bucket in order and appends, so events at the same time come out in insertion order — a
 * re-armed timer counts as inserted when re-armed.
 *
 * A pending event occupies a slot (time, handler kind, one numeric argument, its bucket and its
 * neighbours there). Cancelling or re-arming a timer unlinks its slot at once (doubly linked), so
 * nothing stale is ever left behind. Slots are one-shot (released when they fire) or owned by a
 * timer.
 *
 * The hold model in `npm run bench` measures it.
 */
export class EventQueue {
  private time: Float64Array;
  private kindOf: Int32Array;
  private argOf: Float64Array;
  /** The bucket of each queued slot, or NONE. */
  private bucketOfSlot: Int32Array;
  private next: Int32Array;
  private prev: Int32Array;
  private freeSlots: Int32Array;
  private freeTop = 0;
  private capacity = 0;

  private readonly head = new Int32Array(BUCKETS).fill(NONE);
  private readonly tail = new Int32Array(BUCKETS).fill(NONE);
  /**
   * A lower bound of each higher bucket's times: the smallest time appended since the bucket was
   * last emptied. It may belong to an entry cancelled since; taking it as the next `last` is still
   * correct (it is <= every time in the bucket and shares their high bits), it only means the
   * lowest level can come out empty below `limit` and the search goes on.
   */
  private readonly low = new Float64Array(BUCKETS).fill(Infinity);
  /** The lowest level's non-empty buckets, one bit each, and one bit per non-zero word of those. */
  private readonly l0Bits = new Int32Array(L0 >> 5);
  private readonly l0Words = new Int32Array(L0 >> 10);
  /** Per higher level, bit v set when its bucket of digit v is non-empty; `levelMask` bit d when level d has any. */
  private readonly digitMask = new Int32Array(LEVELS);
  private levelMask = 0;
  /** The time of the last minimum taken (nothing may be pushed below it), and its lowest-level bucket. */
  private last = 0;
  private cur = 0;
  /** Number of live (queued) events. */
  size = 0;

  constructor(initialCapacity = 1024) {
    this.time = new Float64Array(0);
    this.kindOf = new Int32Array(0);
    this.argOf = new Float64Array(0);
    this.bucketOfSlot = new Int32Array(0);
    this.next = new Int32Array(0);
    this.prev = new Int32Array(0);
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
    return this.bucketOfSlot[slot]! !== NONE;
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
    if (this.bucketOfSlot[slot]! !== NONE) this.unlink(slot);
    else this.size++;
    this.time[slot] = time;
    this.kindOf[slot] = kind;
    this.argOf[slot] = arg;
    this.append(this.bucketOf(time), slot, time);
  }

  /** Un-queue a slot if queued (the slot stays allocated). */
  remove(slot: number): void {
    if (this.bucketOfSlot[slot]! === NONE) return;
    this.unlink(slot);
    this.size--;
  }

  /**
   * Take the earliest event if its time is <= `limit`: returns its slot (still allocated), or
   * NONE when the queue is empty or the earliest event is later than `limit`.
   */
  popUntil(limit: number): number {
    const head = this.head;
    for (;;) {
      const c = this.cur;
      const slot = head[c]!;
      if (slot !== NONE) {
        if (this.last > limit) return NONE;
        const n = this.next[slot]!;
        head[c] = n;
        if (n === NONE) {
          this.tail[c] = NONE;
          this.clearL0(c);
        } else this.prev[n] = NONE;
        this.bucketOfSlot[slot] = NONE;
        this.size--;
        return slot;
      }
      const j = this.nextL0(c + 1);
      if (j !== NONE) {
        const t = this.last - c + j;
        if (t > limit) return NONE;
        this.last = t;
        this.cur = j;
      } else if (!this.refill(limit)) return NONE;
    }
  }

  /** Earliest time, or Infinity when empty. Not on the hot path. */
  minTime(): number {
    if (this.size === 0) return Infinity;
    const c = this.cur;
    const j = this.head[c]! !== NONE ? c : this.nextL0(c + 1);
    if (j !== NONE) return this.last - c + j;
    // The lowest non-empty higher bucket holds the minimum.
    const d = 31 - Math.clz32(this.levelMask & -this.levelMask);
    const dm = this.digitMask[d]!;
    let best = Infinity;
    for (let s = this.head[L0 + 16 * d + (31 - Math.clz32(dm & -dm))]!; s !== NONE; s = this.next[s]!) best = Math.min(best, this.time[s]!);
    return best;
  }

  /**
   * The lowest level is empty: take the lowest non-empty higher bucket and, if its low time is
   * <= `limit`, make that the new `last` and redistribute the bucket. False if nothing was moved.
   */
  private refill(limit: number): boolean {
    if (this.levelMask === 0) return false;
    const d = 31 - Math.clz32(this.levelMask & -this.levelMask);
    const dm = this.digitMask[d]!;
    const b = L0 + 16 * d + (31 - Math.clz32(dm & -dm));
    const m = this.low[b]!;
    if (m > limit) return false;
    this.last = m;
    this.cur = m & L0_MASK;
    let s = this.head[b]!;
    this.head[b] = this.tail[b] = NONE;
    this.clearHigh(b);
    const next = this.next;
    const time = this.time;
    while (s !== NONE) {
      const n = next[s]!;
      const t = time[s]!;
      this.append(this.bucketOf(t), s, t);
      s = n;
    }
    return true;
  }

  /** The bucket of time `t` (>= last). */
  private bucketOf(t: number): number {
    const last = this.last;
    if (t === last) return this.cur;
    const tLo = t >>> 0;
    const xHi = ((t / TWO32) >>> 0) ^ ((last / TWO32) >>> 0);
    let p: number;
    if (xHi !== 0) p = 63 - Math.clz32(xHi);
    else {
      const xLo = (tLo ^ (last >>> 0)) >>> 0;
      if (xLo < L0) return tLo & L0_MASK;
      p = 31 - Math.clz32(xLo);
    }
    const d = (p - L0_BITS) >> 2;
    const shift = L0_BITS + 4 * d;
    const digit = shift < 32 ? (tLo >>> shift) & 15 : ((t / TWO32) >>> (shift - 32)) & 15;
    return L0 + 16 * d + digit;
  }

  private append(b: number, slot: number, t: number): void {
    const tl = this.tail[b]!;
    this.prev[slot] = tl;
    this.next[slot] = NONE;
    this.tail[b] = slot;
    this.bucketOfSlot[slot] = b;
    if (tl !== NONE) this.next[tl] = slot;
    else {
      this.head[b] = slot;
      if (b < L0) {
        this.l0Bits[b >> 5]! |= 1 << (b & 31);
        this.l0Words[b >> 10]! |= 1 << ((b >> 5) & 31);
        return;
      }
      const d = (b - L0) >> 4;
      this.digitMask[d]! |= 1 << ((b - L0) & 15);
      this.levelMask |= 1 << d;
    }
    if (b >= L0 && t < this.low[b]!) this.low[b] = t;
  }

  private unlink(slot: number): void {
    const b = this.bucketOfSlot[slot]!;
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p === NONE) this.head[b] = n;
    else this.next[p] = n;
    if (n === NONE) this.tail[b] = p;
    else this.prev[n] = p;
    this.bucketOfSlot[slot] = NONE;
    if (this.head[b]! === NONE) {
      if (b < L0) this.clearL0(b);
      else this.clearHigh(b);
    }
  }

  private clearL0(b: number): void {
    const w = b >> 5;
    const bits = this.l0Bits[w]! & ~(1 << (b & 31));
    this.l0Bits[w] = bits;
    if (bits === 0) this.l0Words[w >> 5]! &= ~(1 << (w & 31));
  }

  private clearHigh(b: number): void {
    this.low[b] = Infinity;
    const d = (b - L0) >> 4;
    const dm = this.digitMask[d]! & ~(1 << ((b - L0) & 15));
    this.digitMask[d] = dm;
    if (dm === 0) this.levelMask &= ~(1 << d);
  }

  /** The first non-empty lowest-level bucket at or after `from`, or NONE. */
  private nextL0(from: number): number {
    if (from >= L0) return NONE;
    const w = from >> 5;
    const bits = this.l0Bits[w]! & (-1 << (from & 31));
    if (bits !== 0) return (w << 5) + ctz(bits);
    // The words after w, through their summary bits.
    const w1 = w + 1;
    for (let g = w1 >> 5; g < L0 >> 10; g++) {
      const words = g === w1 >> 5 ? this.l0Words[g]! & (-1 << (w1 & 31)) : this.l0Words[g]!;
      if (words !== 0) {
        const word = (g << 5) + ctz(words);
        return (word << 5) + ctz(this.l0Bits[word]!);
      }
    }
    return NONE;
  }

  private grow(capacity: number): void {
    if (capacity > MAX_SLOTS) throw new RangeError(`more than ${MAX_SLOTS} pending events`);
    const old = this.capacity;
    this.time = grown(this.time, capacity);
    this.kindOf = grown(this.kindOf, capacity);
    this.argOf = grown(this.argOf, capacity);
    this.bucketOfSlot = grown(this.bucketOfSlot, capacity);
    this.bucketOfSlot.fill(NONE, old);
    this.next = grown(this.next, capacity);
    this.prev = grown(this.prev, capacity);
    this.freeSlots = freeStack(old, capacity, this.freeSlots, this.freeTop);
    this.freeTop += capacity - old;
    this.capacity = capacity;
  }
}

/** Count of trailing zero bits of a non-zero 32-bit integer. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}
