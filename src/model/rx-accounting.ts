import { Histogram } from '../metrics/histogram.ts';
import { forEachSegment } from './gro.ts';
import { NIL, type PacketPool } from './packet.ts';
import { uncharge, type Socket } from './socket.ts';

/**
 * The packet accounting of the receive path: what was offered, delivered and dropped where, and
 * how long it took. Packets count if they arrived inside the measurement window: offered =
 * delivered + Σ dropped + in flight holds exactly for that cohort, per segment.
 */
export type DropPlace = 'wire' | 'nic_ring' | 'nic_missed' | 'backlog' | 'flow_limit' | 'veth' | 'socket' | 'tcp_dup';
export const DROP_PLACES: DropPlace[] = ['wire', 'nic_ring', 'nic_missed', 'backlog', 'flow_limit', 'veth', 'socket', 'tcp_dup'];

export interface FlowCounters {
  offered: number;
  offeredBytes: number;
  delivered: number;
  deliveredBytes: number;
  dropped: number;
  /** Deliveries inside the window, whenever the packet arrived (for rates); payload bytes for goodput. */
  windowDelivered: number;
  windowDeliveredBytes: number;
  windowPayload: number;
}

const zeroFlow = (): FlowCounters => ({ offered: 0, offeredBytes: 0, delivered: 0, deliveredBytes: 0, dropped: 0, windowDelivered: 0, windowDeliveredBytes: 0, windowPayload: 0 });

export class RxAccounting {
  readonly dropped = Object.fromEntries(DROP_PLACES.map((p) => [p, 0])) as Record<DropPlace, number>;
  /** Counted packets currently held somewhere in the path. */
  inFlight = 0;
  /** Wire arrival to the application (or to the socket when nothing reads it), and per stage. */
  readonly latency = new Histogram();
  readonly latencyRing = new Histogram();
  readonly latencyStack = new Histogram();
  readonly latencySocket = new Histogram();
  readonly flows: FlowCounters[];

  constructor(
    private readonly pool: PacketPool,
    nflows: number,
  ) {
    this.flows = Array.from({ length: nflows }, zeroFlow);
  }

  /** Start of the measurement window: rate counters and latencies restart (the cohort counters are per arrival time already). */
  resetWindow(): void {
    for (const f of this.flows) f.windowDelivered = f.windowDeliveredBytes = f.windowPayload = 0;
    for (const h of [this.latency, this.latencyRing, this.latencyStack, this.latencySocket]) h.reset();
  }

  /** Totals over the flows (counted per flow only, so the per-segment path updates one set). */
  totals(): FlowCounters {
    const t = zeroFlow();
    for (const f of this.flows) for (const key of Object.keys(t) as (keyof FlowCounters)[]) t[key] += f[key];
    return t;
  }

  /** A frame reached the NIC: it is offered from now on. */
  offer(row: number, counted: boolean): void {
    const pool = this.pool;
    pool.counted[row] = counted ? 1 : 0;
    if (!counted) return;
    const size = pool.size[row]!;
    const f = this.flows[pool.flow[row]!]!;
    f.offered++;
    f.offeredBytes += size;
    this.inFlight++;
  }

  /** A frame dropped before the NIC (upstream switch buffer); it never had a row. */
  upstreamDrop(flow: number, size: number, counted: boolean): void {
    if (!counted) return;
    const f = this.flows[flow]!;
    f.offered++;
    f.offeredBytes += size;
    this.dropped.wire++;
    f.dropped++;
  }

  /** The skb (every segment of an aggregate) is dropped at `place`; its rows are freed. */
  drop(row: number, place: DropPlace): void {
    const pool = this.pool;
    forEachSegment(pool, row, (r) => {
      if (pool.counted[r]) {
        this.dropped[place]++;
        this.flows[pool.flow[r]!]!.dropped++;
        this.inFlight--;
      }
      pool.release(r);
    });
  }

  /**
   * An application consumed an skb from its socket at `t` (or the socket was drained, if
   * nothing reads it): every segment is delivered, and its latency recorded by stage.
   */
  consumed(sock: Socket, row: number, t: number): void {
    const pool = this.pool;
    const tSocket = pool.tSocket[row]!;
    uncharge(sock, pool, row);
    const f = this.flows[pool.flow[row]!]!; // an skb's segments are of one flow
    let segs = 0;
    let bytes = 0;
    let payload = 0;
    let counted = 0;
    let countedBytes = 0;
    for (let r = row; r !== NIL;) {
      const next = pool.frag[r]!;
      const size = pool.size[r]!;
      segs++;
      bytes += size;
      payload += pool.payload[r]!;
      if (pool.counted[r]) {
        counted++;
        countedBytes += size;
        const arrival = pool.arrival[r]!;
        const polled = pool.tPoll[r]!;
        this.latency.record(t - arrival);
        this.latencyRing.record(polled - arrival);
        this.latencyStack.record(tSocket - polled);
      }
      pool.release(r);
      r = next;
    }
    f.windowDelivered += segs;
    f.windowDeliveredBytes += bytes;
    f.windowPayload += payload;
    if (counted > 0) {
      f.delivered += counted;
      f.deliveredBytes += countedBytes;
      this.inFlight -= counted;
      this.latencySocket.record(t - tSocket, counted); // the same for every segment of the skb
    }
  }
}
