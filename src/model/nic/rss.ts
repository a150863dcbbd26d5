/**
 * Receive Side Scaling: the Toeplitz hash, the hash input a NIC builds for a flow, and the
 * indirection table (RETA) that maps a hash to an RX queue. Reference: Microsoft "RSS Hashing
 * Functions"; net/core/dev.c netdev_rss_key, include/linux/ethtool.h ethtool_rxfh_indir_default. The CLI's `rxsim rss` uses this code.
 */

/** Microsoft's verification key (also the Intel 82599 datasheet's example). */
export const MS_VERIFICATION_KEY = Uint8Array.from('6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa'.match(/../g)!.map((b) => parseInt(b, 16)));

/**
 * Toeplitz hash: for each input bit, most significant first, XOR in the 32-bit window of the
 * key that starts at that bit position. The key must have at least input.length + 4 bytes.
 */
export function toeplitz(key: Uint8Array, input: Uint8Array): number {
  if (key.length < input.length + 4) throw new RangeError(`a ${key.length}-byte key cannot hash ${input.length} bytes`);
  let result = 0;
  let window = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    const next = key[i + 4]!;
    for (let bit = 7; bit >= 0; bit--) {
      if (byte & (1 << bit)) result ^= window;
      window = ((window << 1) | ((next >> bit) & 1)) >>> 0;
    }
  }
  return result >>> 0;
}

/**
 * The same hash from tables: Toeplitz is linear (XOR) in the input bits, so the contribution of
 * each input byte at each position can be looked up — one XOR per byte instead of eight tests.
 * The NIC hashes every frame in hardware; the model hashes a frame whose tuple it has not cached
 * (a flood from a million sources), so this is on the per-frame path. (key.length − 4) × 256
 * entries: 9 KiB for ixgbe's 40-byte key.
 */
export class ToeplitzTable {
  private readonly t: Uint32Array;
  readonly maxBytes: number;

  constructor(key: Uint8Array) {
    this.maxBytes = key.length - 4;
    this.t = new Uint32Array(this.maxBytes * 256);
    for (let p = 0; p < this.maxBytes; p++) {
      for (let v = 0; v < 256; v++) {
        let h = 0;
        for (let b = 0; b < 8; b++) if (v & (0x80 >> b)) h ^= keyWindow(key, 8 * p + b);
        this.t[p * 256 + v] = h >>> 0;
      }
    }
  }

  /** toeplitz(key, input[0..length)). */
  hash(input: Uint8Array, length: number): number {
    if (length > this.maxBytes) throw new RangeError(`a ${this.maxBytes + 4}-byte key cannot hash ${length} bytes`);
    let h = 0;
    for (let p = 0; p < length; p++) h ^= this.t[p * 256 + input[p]!]!;
    return h >>> 0;
  }
}

/** The key's 32 bits starting at bit `bit` (most significant first). */
function keyWindow(key: Uint8Array, bit: number): number {
  const i = bit >> 3;
  const s = bit & 7;
  const w = ((key[i]! << 24) | (key[i + 1]! << 16) | (key[i + 2]! << 8) | key[i + 3]!) >>> 0;
  return s === 0 ? w : ((w << s) | ((key[i + 4] ?? 0) >> (8 - s))) >>> 0;
}

export interface FlowTuple {
  family: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
}

/** The RSS input: src ip ‖ dst ip, and ‖ src port ‖ dst port when ports are hashed, big-endian. */
export function rssInput(t: FlowTuple, withPorts: boolean): Uint8Array {
  const n = t.src.length + t.dst.length + (withPorts ? 4 : 0);
  const out = new Uint8Array(n);
  out.set(t.src, 0);
  out.set(t.dst, t.src.length);
  if (withPorts) {
    const o = t.src.length + t.dst.length;
    out[o] = t.sport >> 8;
    out[o + 1] = t.sport & 0xff;
    out[o + 2] = t.dport >> 8;
    out[o + 3] = t.dport & 0xff;
  }
  return out;
}

/** Queue for a hash: `indir[hash & (size - 1)]`, the low-order bits (scaling.rst). */
export function rssQueue(indir: Int32Array, hash: number): number {
  return indir[hash & (indir.length - 1)]!;
}

/** The default table, `ethtool_rxfh_indir_default(i, n) = i % n` (ixgbe_setup_reta, ice_fill_rss_lut). */
export function indirDefault(size: number, queues: number): Int32Array {
  return indirEqual(size, queues);
}

/** `ethtool -X equal N`: entry i → i % N. */
export function indirEqual(size: number, n: number): Int32Array {
  const t = new Int32Array(size);
  for (let i = 0; i < size; i++) t[i] = i % n;
  return t;
}

/**
 * `ethtool -X weight w0 w1 …`: ethtool's fill_indir_table gives queue j the entries
 * [size·(w0+…+w(j-1))/sum, size·(w0+…+wj)/sum) with integer division, so each queue's share of
 * the table is proportional to its weight. ethtool refuses a total weight above the table size.
 */
export function indirWeights(size: number, weights: readonly number[]): Int32Array {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) throw new RangeError('At least one weight must be non-zero');
  if (sum > size) throw new RangeError('Total weight exceeds the size of the indirection table');
  const t = new Int32Array(size);
  let queue = -1;
  let partial = 0;
  for (let i = 0; i < size; i++) {
    while (i >= Math.floor((size * partial) / sum)) {
      queue++;
      partial += weights[queue]!;
    }
    t[i] = queue;
  }
  return t;
}

/**
 * `reciprocal_scale(hash, len)` = `((u64)hash * len) >> 32`: the RPS map index (get_rps_cpu).
 * The product fits in 2^53 only for len < 2^21, far above any CPU count.
 */
export function reciprocalScale(hash: number, len: number): number {
  return Math.floor(((hash >>> 0) * len) / 4294967296);
}
