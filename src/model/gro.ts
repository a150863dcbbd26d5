import type { CostTable } from './costs.ts';
import { NIL, PSH, type PacketPool } from './packet.ts';
import { SKB_STRUCT_BYTES } from './socket.ts';
import { FOLLOW, type FollowProbe } from './trace-hooks.ts';

/**
 * Generic Receive Offload for one NAPI (struct gro_node; net/core/gro.c, net/ipv4/tcp_offload.c).
 *
 *  - GRO_HASH_BUCKETS = 8 buckets chosen by skb->hash & 7 (no hash: bucket 0), MAX_GRO_SKBS = 8
 *    held skbs per bucket (the oldest is flushed to make room).
 *  - TCP segments merge into a held skb of the same flow when the sequence continues, the TCP
 *    option words match (a new TSval ends an aggregate), the segment is not longer than the first
 *    one's mss, and the aggregate stays below gro_max_size (65536). A PSH or a short segment is
 *    merged and then ends the aggregate. A segment that cannot merge (a sequence gap, a new
 *    TSval, longer than the mss) flushes the held one and is held itself as a new aggregate, as
 *    is one that would pass 64 KB.
 *  - UDP is not aggregated (no UDP GRO unless a socket asks for it).
 *  - Everything GRO hands up goes on rx_list; once it holds gro_normal_batch segments the list
 *    is delivered (netif_receive_skb_list). Held skbs are flushed by napi_complete_done (all, or
 *    only those older than this jiffy when a gro_flush_timeout timer is armed) and when a poll
 *    uses its whole weight (older than this jiffy, HZ >= 1000).
 *
 * An aggregate keeps its member rows chained through pool.frag, so counts and latencies stay
 * per segment.
 */

/** GRO_HASH_BUCKETS and MAX_GRO_SKBS. */
export const GRO_HASH_BUCKETS = 8;
export const MAX_GRO_SKBS = 8;
/** GRO_LEGACY_MAX_SIZE: the default dev->gro_max_size. */
export const GRO_MAX_SIZE = 65536;
/**
 * The held aggregate's headers that skb_gro_receive() counts in p->len against gro_max_size:
 * Ethernet 14 + IPv4 20 + TCP with timestamps 32 (pool.len holds payload only).
 */
export const GRO_HEADER_BYTES = 66;

/** Why held skbs were completed. */
export interface GroCounters {
  /** Frames given to GRO. */
  received: number;
  /** Segments merged into a held skb. */
  merged: number;
  /** Skbs handed up, and a histogram of their segment counts (index = segments, last = 64+). */
  delivered: number;
  readonly segsHist: Float64Array;
  flushPush: number;
  flushMismatch: number;
  flushFull: number;
  flushBucket: number;
  flushComplete: number;
  flushOld: number;
  /** Skbs that bypassed GRO (UDP, GRO off, single segments that asked to flush). */
  normal: number;
}

export function groCounters(): GroCounters {
  return {
    received: 0,
    merged: 0,
    delivered: 0,
    segsHist: new Float64Array(65),
    flushPush: 0,
    flushMismatch: 0,
    flushFull: 0,
    flushBucket: 0,
    flushComplete: 0,
    flushOld: 0,
    normal: 0,
  };
}

export class Gro {
  private readonly buckets: number[][] = Array.from({ length: GRO_HASH_BUCKETS }, () => []);
  private held = 0;
  /** gro->rx_list (reused: the deliver callback must not keep it) and its segment count. */
  private readonly rxList: number[] = [];
  private rxCount = 0;
  readonly counters = groCounters();

  /** Start of the measurement window: the counters restart (held skbs are kept). */
  resetWindow(): void {
    const c = this.counters;
    for (const key of Object.keys(c) as (keyof GroCounters)[]) if (key !== 'segsHist') c[key] = 0;
    c.segsHist.fill(0);
  }

  constructor(
    private readonly pool: PacketPool,
    private readonly costs: CostTable,
    /** 1 for the flows whose frames GRO may aggregate (TCP), by flow index. */
    private readonly tcpFlows: Uint8Array,
    /** NETIF_F_GRO on the device. */
    private readonly enabled: boolean,
    private readonly batch: number,
    /** netif_receive_skb_list_internal for a delivered batch (the caller records rows and times). */
    private readonly deliver: (rows: readonly number[], t: number) => void,
  ) {}

  /** Follow one packet (trace-hooks.ts), or null. */
  follow: FollowProbe | null = null;

  /** gro->bitmask != 0. */
  get holding(): boolean {
    return this.held > 0;
  }

  /**
   * napi_gro_receive() at time `t` (inside a poll); `jiffies` for the age of held skbs.
   * Returns the CPU cost.
   */
  receive(row: number, t: number, jiffies: number): number {
    const c = this.costs;
    const pool = this.pool;
    this.counters.received++;
    if (!this.enabled || this.tcpFlows[pool.flow[row]!] !== 1) {
      this.counters.normal++;
      return this.normalOne(row, t) + (this.enabled ? c.gro_receive : 0);
    }
    let cost = c.gro_receive;
    const bucket = this.buckets[pool.hash[row]! & (GRO_HASH_BUCKETS - 1)]!;
    const len = pool.len[row]!;
    const psh = (pool.flags[row]! & PSH) !== 0;
    // same_flow: the same 5-tuple (flow and port-range tuple here).
    const flow = pool.flow[row]!;
    const tuple = pool.tuple[row]!;
    let pIndex = -1;
    for (let i = 0; i < bucket.length; i++) {
      const q = bucket[i]!;
      if (pool.flow[q] === flow && pool.tuple[q] === tuple) {
        pIndex = i;
        break;
      }
    }
    if (pIndex >= 0) {
      const p = bucket[pIndex]!;
      const mss = pool.groMss[p]!;
      const continues = pool.seq[p]! + pool.len[p]! === pool.seq[row]!;
      const sameOptions = pool.tsval[p] === pool.tsval[row];
      if (!continues || !sameOptions || len > mss) {
        // tcp_gro_receive(): `flush` sets mss = 1, so at out_check_final `flush = len < mss` is
        // 0 and the segment's skb->same_flow is 0: pp = p goes up (gro_complete) and
        // dev_gro_receive() holds the new segment as the start of a new aggregate — unless it
        // asks to flush itself (PSH), when it goes up too.
        this.counters.flushMismatch++;
        cost += this.complete(bucket, pIndex, t);
        return cost + this.hold(bucket, row, t, jiffies, len, psh);
      }
      if (pool.len[p]! + len + GRO_HEADER_BYTES >= GRO_MAX_SIZE) {
        // skb_gro_receive() returned -E2BIG: complete p, start a new aggregate with this one.
        this.counters.flushFull++;
        cost += this.complete(bucket, pIndex, t);
        return cost + this.hold(bucket, row, t, jiffies, len, psh);
      }
      // Merge.
      this.counters.merged++;
      cost += c.gro_merge;
      pool.frag[pool.lastFrag[p]!] = row;
      pool.lastFrag[p] = row;
      pool.len[p] = pool.len[p]! + len;
      // skb_gro_receive() steals the merged skb's head as a frag (NAPI_GRO_FREE_STOLEN_HEAD): p
      // gains its truesize less the sk_buff itself (delta_truesize).
      pool.truesize[p] = pool.truesize[p]! + pool.truesize[row]! - SKB_STRUCT_BYTES;
      pool.segs[p] = pool.segs[p]! + 1;
      if (psh) pool.flags[p] = pool.flags[p]! | PSH;
      const f = this.follow;
      if (f !== null && f.skb === row) f.stage(FOLLOW.GRO_MERGE, t, -1, p, pool.segs[p]);
      if (psh || len < mss) {
        if (psh) this.counters.flushPush++;
        else this.counters.flushMismatch++;
        cost += this.complete(bucket, pIndex, t);
      }
      return cost;
    }
    return cost + this.hold(bucket, row, t, jiffies, len, psh);
  }

  /** Hold a new skb (or send it up if it asks to flush: PSH on a single segment). */
  private hold(bucket: number[], row: number, t: number, jiffies: number, len: number, psh: boolean): number {
    if (psh) {
      this.counters.normal++;
      return this.normalOne(row, t);
    }
    let cost = 0;
    if (bucket.length >= MAX_GRO_SKBS) {
      this.counters.flushBucket++;
      cost += this.complete(bucket, 0, t); // gro_flush_oldest
    }
    bucket.push(row);
    const f = this.follow;
    if (f !== null && f.skb === row) f.stage(FOLLOW.GRO_HOLD, t, -1, 0, 0);
    this.pool.groAge[row] = jiffies;
    this.pool.groMss[row] = len;
    this.held++;
    return cost;
  }

  /** Complete a held skb: gro_complete, then onto rx_list. */
  private complete(bucket: number[], i: number, t: number): number {
    const row = bucket[i]!;
    if (i === 0) bucket.shift();
    else bucket.splice(i, 1);
    this.held--;
    return this.costs.gro_complete + this.normalOne(row, t);
  }

  /** gro_normal_one(): queue for list delivery; deliver once gro_normal_batch segments wait. */
  private normalOne(row: number, t: number): number {
    const segs = this.pool.segs[row]!;
    const f = this.follow;
    if (f !== null && f.skb === row) f.stage(FOLLOW.GRO_LIST, t, -1, segs, 0);
    this.counters.delivered++;
    this.counters.segsHist[Math.min(segs, 64)]! += 1;
    this.rxList.push(row);
    this.rxCount += segs;
    if (this.rxCount >= this.batch) this.deliverList(t);
    return 0;
  }

  /** gro_normal_list(): hand rx_list up. */
  deliverList(t: number): void {
    if (this.rxList.length === 0) return;
    this.rxCount = 0;
    this.deliver(this.rxList, t);
    this.rxList.length = 0;
  }

  /**
   * gro_flush_normal(gro, flush_old): complete held skbs — only those held since an earlier
   * jiffy if `flushOld` (__gro_flush_chain stops at the first one of this jiffy, oldest first) —
   * then deliver rx_list. Returns the cost.
   */
  flush(flushOld: boolean, jiffies: number, t: number, reason: 'complete' | 'old'): number {
    let cost = 0;
    for (const bucket of this.buckets) {
      while (bucket.length > 0) {
        if (flushOld && this.pool.groAge[bucket[0]!] === jiffies) break;
        if (reason === 'complete') this.counters.flushComplete++;
        else this.counters.flushOld++;
        cost += this.complete(bucket, 0, t);
      }
    }
    this.deliverList(t);
    return cost;
  }
}

/** Walk an aggregate's member rows (the head first). */
export function forEachSegment(pool: PacketPool, head: number, fn: (row: number) => void): void {
  for (let r = head; r !== NIL;) {
    const next = pool.frag[r]!;
    fn(r);
    r = next;
  }
}

/** GRO over several NAPIs in the result: skbs in and out, segments per skb handed up (1..64), flush reasons. */
export interface GroResult {
  received: number;
  merged: number;
  delivered: number;
  segs_per_skb: number[];
  flush: { push: number; mismatch: number; full: number; bucket: number; complete: number; old: number };
}

/** The sum of the counters of `gros`, as the result reports it. */
export function groReport(gros: readonly Gro[]): GroResult {
  const r: GroResult = { received: 0, merged: 0, delivered: 0, segs_per_skb: new Array<number>(64).fill(0), flush: { push: 0, mismatch: 0, full: 0, bucket: 0, complete: 0, old: 0 } };
  for (const g of gros) {
    const c = g.counters;
    r.received += c.received;
    r.merged += c.merged;
    r.delivered += c.delivered;
    c.segsHist.forEach((n, i) => {
      if (i > 0) r.segs_per_skb[i - 1]! += n;
    });
    r.flush.push += c.flushPush;
    r.flush.mismatch += c.flushMismatch;
    r.flush.full += c.flushFull;
    r.flush.bucket += c.flushBucket;
    r.flush.complete += c.flushComplete;
    r.flush.old += c.flushOld;
  }
  return r;
}
