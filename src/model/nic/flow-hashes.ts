import { addressAt, type Endpoint } from '../../scenario/units.ts';
import { rssQueue, type FlowTuple, type ToeplitzTable } from './rss.ts';

/**
 * The 5-tuples a flow cycles through (port and address ranges) and what the receive path derives
 * from each: the NIC's RSS hash, the RX queue it selects, and the flow dissector's hash.
 *
 * A flow of up to TABLE_TUPLES tuples keeps all three in typed arrays, computed once. A larger
 * one — a flood from a million source addresses is an ordinary DDoS — costs memory for what is
 * active, not for every possible tuple: each value is computed when a frame needs it, through a
 * direct-mapped cache of CACHE_SLOTS tuples (a frame of the next cycle finds its tuple evicted and
 * computes it again: the same value), and the aRFS filters installed for a tuple live in a map.
 * Either way the values are the same functions of the tuple, so runs do not depend on the form.
 */

/** Flows with at most this many tuples precompute them (12 bytes each: 768 KiB at the limit). */
export const TABLE_TUPLES = 65_536;
/** Cache slots of a larger flow (2 × (tag + hash): 64 KiB). */
const CACHE_SLOTS = 4096;

export interface TupleSpace {
  family: 4 | 6;
  src: Endpoint;
  dst: Endpoint;
  tuples: number;
}

/** Scratch of decompose(): sport, source address index, dport, destination address index. */
const parts = new Float64Array(4);

/** The i-th tuple's ports and address indices: the source port varies fastest, then the source address, the destination port, the destination address. */
function decompose(f: Pick<TupleSpace, 'src' | 'dst'>, i: number): Float64Array {
  const nsport = f.src.portHi - f.src.port + 1;
  const ndport = f.dst.portHi - f.dst.port + 1;
  let r = i;
  parts[0] = f.src.port + (r % nsport);
  r = Math.floor(r / nsport);
  parts[1] = r % f.src.addrCount;
  r = Math.floor(r / f.src.addrCount);
  parts[2] = f.dst.port + (r % ndport);
  parts[3] = Math.floor(r / ndport);
  return parts;
}

/** The i-th tuple's [sport, source address index, dport, destination address index] in a shared scratch array (no allocation: read it before the next call). */
export function tupleFields(f: Pick<TupleSpace, 'src' | 'dst'>, i: number): Float64Array {
  return decompose(f, i);
}

/** The index of the i-th tuple's source address in the flow's source range (the ICMP peer it answers). */
export function srcAddrIndex(f: Pick<TupleSpace, 'src' | 'dst'>, i: number): number {
  return decompose(f, i)[1]!;
}

/** The flow's i-th tuple (see decompose for the order). */
export function tupleAt(f: TupleSpace, i: number): FlowTuple {
  const [sport, saddr, dport, daddr] = decompose(f, i);
  return { family: f.family, src: addressAt(f.src, saddr!), dst: addressAt(f.dst, daddr!), sport: sport!, dport: dport! };
}

/**
 * Write the RSS input of the flow's i-th tuple (src ip ‖ dst ip ‖ src port ‖ dst port, as
 * rssInput does) into `out` without allocating; returns its length (without ports: the addresses).
 */
export function fillTuple(f: TupleSpace, i: number, out: Uint8Array, withPorts: boolean): number {
  const p = decompose(f, i);
  const n = f.src.addr.length;
  writeAddress(out, 0, f.src.addr, p[1]!);
  writeAddress(out, n, f.dst.addr, p[3]!);
  if (!withPorts) return 2 * n;
  out[2 * n] = p[0]! >> 8;
  out[2 * n + 1] = p[0]! & 0xff;
  out[2 * n + 2] = p[2]! >> 8;
  out[2 * n + 3] = p[2]! & 0xff;
  return 2 * n + 4;
}

/** `base` + `add` (in its last 32 bits) at `out[at..]`. */
function writeAddress(out: Uint8Array, at: number, base: Uint8Array, add: number): void {
  const n = base.length;
  for (let j = 0; j < n - 4; j++) out[at + j] = base[j]!;
  const v = ((((base[n - 4]! << 24) | (base[n - 3]! << 16) | (base[n - 2]! << 8) | base[n - 1]!) >>> 0) + add) >>> 0;
  out[at + n - 4] = v >>> 24;
  out[at + n - 3] = (v >>> 16) & 0xff;
  out[at + n - 2] = (v >>> 8) & 0xff;
  out[at + n - 1] = v & 0xff;
}

export interface HashKeys {
  rss: ToeplitzTable;
  /** Hash the ports for this flow's protocol (the driver's rx-flow-hash setting). */
  rssPorts: boolean;
  dissector: ToeplitzTable;
  indir: Int32Array;
}

export abstract class FlowHashes {
  constructor(
    protected readonly f: TupleSpace,
    protected readonly keys: HashKeys,
  ) {}

  static of(f: TupleSpace, keys: HashKeys): FlowHashes {
    return f.tuples <= TABLE_TUPLES ? new TableHashes(f, keys) : new CachedHashes(f, keys);
  }

  /** The NIC's RSS hash (Toeplitz over the fields the driver hashes). */
  abstract hash(i: number): number;
  /** The flow dissector's hash (skb_get_hash without a NIC hash); never 0, which means "none". */
  abstract sw(i: number): number;
  /** The RX queue a frame of tuple i lands in: an aRFS filter's, else the indirection table's. */
  abstract queue(i: number): number;
  /** aRFS: install a filter sending tuple i to queue q; false when it already goes there. */
  abstract steer(i: number, q: number): boolean;
  /** The RX queues the flow's tuples reach (all of them for a table, those seen for a cache), ascending. */
  abstract queues(): number[];

  /** Scratch for one tuple's bytes (IPv6 with ports: 36). */
  private readonly bytes = new Uint8Array(36);

  protected computeHash(i: number): number {
    return this.keys.rss.hash(this.bytes, fillTuple(this.f, i, this.bytes, this.keys.rssPorts));
  }

  // __flow_hash_from_keys is siphash with a boot-time key; any well-mixed keyed hash of the
  // 4-tuple behaves the same here.
  protected computeSw(i: number): number {
    return this.keys.dissector.hash(this.bytes, fillTuple(this.f, i, this.bytes, true)) || 1;
  }
}

class TableHashes extends FlowHashes {
  private readonly h: Uint32Array;
  private readonly s: Uint32Array;
  private readonly q: Int32Array;

  constructor(f: TupleSpace, keys: HashKeys) {
    super(f, keys);
    this.h = new Uint32Array(f.tuples);
    this.s = new Uint32Array(f.tuples);
    this.q = new Int32Array(f.tuples);
    for (let i = 0; i < f.tuples; i++) {
      this.h[i] = this.computeHash(i);
      this.q[i] = rssQueue(keys.indir, this.h[i]!);
      this.s[i] = this.computeSw(i);
    }
  }

  hash(i: number): number {
    return this.h[i]!;
  }
  sw(i: number): number {
    return this.s[i]!;
  }
  queue(i: number): number {
    return this.q[i]!;
  }
  steer(i: number, q: number): boolean {
    if (this.q[i] === q) return false;
    this.q[i] = q;
    return true;
  }
  queues(): number[] {
    return [...new Set(this.q)].sort((a, b) => a - b);
  }
}

class CachedHashes extends FlowHashes {
  // Two caches: the dissector's hash is needed only where the NIC gave none (RPS with rxhash off).
  private readonly tagH = new Int32Array(CACHE_SLOTS).fill(-1);
  private readonly tagS = new Int32Array(CACHE_SLOTS).fill(-1);
  private readonly h = new Uint32Array(CACHE_SLOTS);
  private readonly s = new Uint32Array(CACHE_SLOTS);
  private readonly filters = new Map<number, number>();
  /** Queues a frame of this flow went to (indexed by queue). */
  private readonly seen: Uint8Array;

  constructor(f: TupleSpace, keys: HashKeys) {
    super(f, keys);
    this.seen = new Uint8Array(Math.max(0, ...keys.indir) + 1);
  }

  hash(i: number): number {
    const k = i & (CACHE_SLOTS - 1);
    if (this.tagH[k] !== i) {
      this.tagH[k] = i;
      this.h[k] = this.computeHash(i);
    }
    return this.h[k]!;
  }
  sw(i: number): number {
    const k = i & (CACHE_SLOTS - 1);
    if (this.tagS[k] !== i) {
      this.tagS[k] = i;
      this.s[k] = this.computeSw(i);
    }
    return this.s[k]!;
  }
  queue(i: number): number {
    const q = (this.filters.size > 0 ? this.filters.get(i) : undefined) ?? rssQueue(this.keys.indir, this.hash(i));
    this.seen[q] = 1;
    return q;
  }
  steer(i: number, q: number): boolean {
    if (this.queue(i) === q) return false;
    this.filters.set(i, q);
    return true;
  }
  queues(): number[] {
    if (!this.seen.includes(1)) this.queue(0);
    return [...this.seen.keys()].filter((q) => this.seen[q] === 1);
  }
}
