import { Histogram } from '../metrics/histogram.ts';
import { NIL, type PacketPool } from './packet.ts';
import type { RxPages } from './rx-pages.ts';
import { uncharge, type Socket } from './socket.ts';
import { FOLLOW, type FollowProbe } from './trace-hooks.ts';

/**
 * The packet accounting of the receive path: what was offered, delivered and dropped where, and
 * how long it took. Packets count if they arrived inside the measurement window: offered =
 * delivered + Σ dropped + in flight holds exactly for that cohort, per segment.
 */
export type DropPlace = 'wire' | 'nic_ring' | 'nic_missed' | 'xdp' | 'cpumap' | 'devmap' | 'xsk' | 'backlog' | 'flow_limit' | 'veth' | 'route' | 'ttl' | 'qdisc' | 'no_socket' | 'socket' | 'tcp_dup';
export const DROP_PLACES: DropPlace[] = [
  'wire',
  'nic_ring',
  'nic_missed',
  'xdp',
  'cpumap',
  'devmap',
  'xsk',
  'backlog',
  'flow_limit',
  'veth',
  'route',
  'ttl',
  'qdisc',
  'no_socket',
  'socket',
  'tcp_dup',
];
/** The places only a forwarded packet can be dropped at (results without "forward" flows leave them out). */
export const FORWARD_DROP_PLACES: readonly DropPlace[] = ['route', 'ttl', 'qdisc'];

/**
 * Where the kernel drops a packet: the place rxsim counts it under, and — for a drop of an skb —
 * the `enum skb_drop_reason` and the function that frees it, as `perf trace -e skb:kfree_skb`
 * and dropwatch report them. The NIC's drops have no skb (the frame never left the NIC's
 * buffer): they show in ethtool -S only.
 */
export const DROP_SITES = {
  nic_ring: { place: 'nic_ring', reason: null, location: null },
  nic_missed: { place: 'nic_missed', reason: null, location: null },
  // Native XDP_DROP / XDP_ABORTED: the driver recycles the page, no skb was built (no kfree_skb).
  xdp_native: { place: 'xdp', reason: null, location: null },
  // Generic XDP_DROP / XDP_ABORTED: netif_receive_generic_xdp() frees the skb with a plain
  // kfree_skb() (NOT_SPECIFIED); SKB_DROP_REASON_XDP is do_xdp_generic's for a failed redirect.
  xdp_generic: { place: 'xdp', reason: 'SKB_DROP_REASON_NOT_SPECIFIED', location: 'netif_receive_generic_xdp' },
  // Generic XDP_REDIRECT the map refused (cpu_map_generic_redirect: the entry's ptr_ring is full,
  // -ENOSPC): do_xdp_generic's out_redir frees the skb. Counted where native's full ring is.
  xdp_generic_redirect: { place: 'cpumap', reason: 'SKB_DROP_REASON_XDP', location: 'do_xdp_generic' },
  // generic_xdp_tx(): the TX queue netdev_core_pick_tx gave is stopped (generic XDP_TX, or a devmap's
  // dev_map_generic_redirect): trace_xdp_exception, tx_dropped, kfree_skb.
  xdp_generic_tx: { place: 'xdp', reason: 'SKB_DROP_REASON_NOT_SPECIFIED', location: 'generic_xdp_tx' },
  // bq_flush_to_queue(): the cpumap entry's ptr_ring is full, xdp_return_frame_rx_napi() (no skb yet).
  cpumap: { place: 'cpumap', reason: null, location: null },
  // bq_xmit_all(): ndo_xdp_xmit sent fewer than asked (its XDP TX ring full), the rest xdp_return_frame_rx_napi();
  // or __xdp_enqueue refused the frame (a device without NETDEV_XDP_ACT_NDO_XMIT), the driver's out_failure.
  devmap: { place: 'devmap', reason: null, location: null },
  // __xsk_map_redirect → xsk_rcv failed (RX ring full: rx_queue_full; copy mode without a fill-ring
  // frame: rx_dropped): the driver's out_failure recycles its buffer (or xsk_buff_free), no skb.
  xsk: { place: 'xsk', reason: null, location: null },
  // enqueue_to_backlog(): qlen > netdev_max_backlog, or skb_flow_limit(): one reason for both.
  backlog: { place: 'backlog', reason: 'SKB_DROP_REASON_CPU_BACKLOG', location: 'enqueue_to_backlog' },
  flow_limit: { place: 'flow_limit', reason: 'SKB_DROP_REASON_CPU_BACKLOG', location: 'enqueue_to_backlog' },
  // veth_xdp_rx(): the peer's ptr_ring is full, dev_kfree_skb_any() (before 6.16's qdisc backpressure).
  veth: { place: 'veth', reason: 'SKB_DROP_REASON_NOT_SPECIFIED', location: 'veth_xdp_rx' },
  // ip_error(): not for this host and the device does not forward (ip_route_input_slow's -EHOSTUNREACH): InAddrErrors, no ICMP.
  ip_forward_off: { place: 'route', reason: 'SKB_DROP_REASON_IP_INADDRERRORS', location: 'ip_error' },
  // ip_forward(): too_many_hops — TTL ≤ 1: InHdrErrors and ICMP time exceeded.
  ttl_expired: { place: 'ttl', reason: 'SKB_DROP_REASON_IP_INHDR', location: 'ip_forward' },
  // __dev_xmit_skb(): the egress queue's pfifo_fast is at its limit (txqueuelen) while the driver has stopped the TX queue.
  qdisc: { place: 'qdisc', reason: 'SKB_DROP_REASON_QDISC_DROP', location: '__dev_xmit_skb' },
  // __udp4_lib_rcv(): no socket is bound to the destination (UdpNoPorts, ICMP port unreachable).
  udp_no_socket: { place: 'no_socket', reason: 'SKB_DROP_REASON_NO_SOCKET', location: '__udp4_lib_rcv' },
  // tcp_v4_rcv(): no connection and no listener (tcp_v4_send_reset answers).
  tcp_no_socket: { place: 'no_socket', reason: 'SKB_DROP_REASON_NO_SOCKET', location: 'tcp_v4_rcv' },
  // udp_queue_rcv_one_skb(): __udp_enqueue_schedule_skb() returned -ENOMEM.
  udp_rcvbuf: { place: 'socket', reason: 'SKB_DROP_REASON_SOCKET_RCVBUFF', location: 'udp_queue_rcv_one_skb' },
  // tcp_add_backlog(): sk_add_backlog() over the limit (TCPBacklogDrop).
  tcp_backlog: { place: 'socket', reason: 'SKB_DROP_REASON_SOCKET_BACKLOG', location: 'tcp_add_backlog' },
  // tcp_data_queue(): in sequence, no room and the queue not empty (TCPRcvQDrop).
  tcp_rcvq: { place: 'socket', reason: 'SKB_DROP_REASON_PROTO_MEM', location: 'tcp_data_queue' },
  // tcp_data_queue_ofo(): out of order, no room (TCPOFODrop).
  tcp_ofo_mem: { place: 'socket', reason: 'SKB_DROP_REASON_PROTO_MEM', location: 'tcp_data_queue_ofo' },
  // tcp_data_queue(): entirely before rcv_nxt (a retransmission of data already received).
  tcp_old_data: { place: 'tcp_dup', reason: 'SKB_DROP_REASON_TCP_OLD_DATA', location: 'tcp_data_queue' },
  // tcp_ofo_queue(): an out-of-order skb the in-order data has since covered.
  tcp_ofo_drop: { place: 'tcp_dup', reason: 'SKB_DROP_REASON_TCP_OFO_DROP', location: 'tcp_ofo_queue' },
} as const satisfies Record<string, { place: DropPlace; reason: string | null; location: string | null }>;
export type DropSite = keyof typeof DROP_SITES;
const DROP_SITE_NAMES = Object.keys(DROP_SITES) as DropSite[];
const DROP_SITE_COUNT = DROP_SITE_NAMES.length;
/** A drop site's index in DROP_SITE_NAMES: the per-packet path names a site by it (`dropAt`), not by a string key. */
export const SITE_INDEX = Object.fromEntries(DROP_SITE_NAMES.map((s, i) => [s, i])) as Record<DropSite, number>;

/** One row of the drop-reason table: kfree_skb events (skbs) and the packets (segments) they held. */
export interface DropReasonRow {
  reason: string;
  location: string;
  skbs: number;
  packets: number;
}

/** One counted packet of a flow dropped at drop site `site` (at place `placeIndex`): the flow's drops, by place and by site (its drop reasons). */
function countFlowDrop(f: FlowCounters, placeIndex: number, site: number): void {
  f.dropped++;
  f.droppedAt[placeIndex]!++;
  f.droppedSite[site]!++;
}

export interface FlowCounters {
  offered: number;
  offeredBytes: number;
  delivered: number;
  deliveredBytes: number;
  dropped: number;
  /** Packets forwarded out of another device (a "forward" flow's term instead of delivered; per arrival cohort). */
  forwarded: number;
  /** Packets forwarded inside the window, whenever they arrived (for rates). */
  windowForwarded: number;
  /** Deliveries inside the window, whenever the packet arrived (for rates); payload bytes for goodput. */
  windowDelivered: number;
  windowDeliveredBytes: number;
  windowPayload: number;
  /** Its dropped packets by place, in DROP_PLACES order (as `dropped`, per arrival cohort). */
  droppedAt: Float64Array;
  /** Its dropped packets by drop site, in DROP_SITES order (the same cohort): the place and the skb_drop_reason of each. */
  droppedSite: Float64Array;
  /** Over the window: segments delivered with a latency, and their summed wait per stage (ns: ring, stack, socket), for per-flow means. */
  stageSamples: number;
  stageSum: Float64Array;
}

const zeroFlow = (): FlowCounters => ({
  offered: 0,
  offeredBytes: 0,
  delivered: 0,
  deliveredBytes: 0,
  dropped: 0,
  forwarded: 0,
  windowForwarded: 0,
  windowDelivered: 0,
  windowDeliveredBytes: 0,
  windowPayload: 0,
  droppedAt: new Float64Array(DROP_PLACES.length),
  droppedSite: new Float64Array(DROP_SITE_COUNT),
  stageSamples: 0,
  stageSum: new Float64Array(3),
});
/** A drop place's index in DROP_PLACES. */
const PLACE_INDEX = Object.fromEntries(DROP_PLACES.map((p, i) => [p, i])) as Record<DropPlace, number>;
/** Each site's place, as an index in DROP_PLACES. */
const SITE_PLACE = Int32Array.from(DROP_SITE_NAMES, (s) => PLACE_INDEX[DROP_SITES[s].place]);
const XDP_NATIVE = SITE_INDEX.xdp_native;
const XSK = SITE_INDEX.xsk;

export class RxAccounting {
  /** Dropped counted packets by place, in DROP_PLACES order (`dropped` names them). */
  private readonly droppedByPlace = new Float64Array(DROP_PLACES.length);
  /** kfree_skb events and their packets by site, in DROP_SITE_NAMES order (counted packets, as `dropped`). */
  private readonly siteSkbs = new Float64Array(DROP_SITE_NAMES.length);
  private readonly sitePackets = new Float64Array(DROP_SITE_NAMES.length);
  /** Counted packets currently held somewhere in the path. */
  inFlight = 0;
  /** Follow one packet (trace-hooks.ts), or null. */
  follow: FollowProbe | null = null;
  /** Counted packets XDP sent out (XDP_TX, or a devmap redirect's ndo_xdp_xmit): they leave the receive path (a conservation term of their own). */
  xdpTx = 0;
  /** Counted packets the stack forwarded: handed to the egress device's queue (dev_queue_xmit), they leave the receive path (a conservation term of their own). */
  forwarded = 0;
  /** Counted packets an XDP program redirected that wait in a cpumap bulk queue or ring: a term of their own until the kthread builds their skb. */
  xdpRedirect = 0;
  /** Counted packets an AF_XDP socket received that wait in its RX ring for the application: a term of their own until it reads them. */
  xsk = 0;
  /** Wire arrival to the application, and per stage. */
  readonly latency = new Histogram();
  readonly latencyRing = new Histogram();
  readonly latencyStack = new Histogram();
  readonly latencySocket = new Histogram();
  readonly flows: FlowCounters[];

  constructor(
    private readonly pool: PacketPool,
    nflows: number,
    /** The RX pages: a freed segment's page reference goes back (rx-pages.ts). */
    private readonly pages: RxPages,
  ) {
    this.flows = Array.from({ length: nflows }, zeroFlow);
  }

  /** Start of the measurement window: rate counters and latencies restart (the cohort counters are per arrival time already). */
  resetWindow(): void {
    for (const f of this.flows) {
      f.windowDelivered = f.windowDeliveredBytes = f.windowPayload = f.windowForwarded = f.stageSamples = 0;
      f.stageSum.fill(0);
    }
    for (const h of [this.latency, this.latencyRing, this.latencyStack, this.latencySocket]) h.reset();
  }

  /** Dropped counted packets by place. */
  get dropped(): Record<DropPlace, number> {
    return Object.fromEntries(DROP_PLACES.map((p, i) => [p, this.droppedByPlace[i]!])) as Record<DropPlace, number>;
  }

  /** Dropped counted packets at the place of index `i` in DROP_PLACES. */
  droppedIn(i: number): number {
    return this.droppedByPlace[i]!;
  }

  /** Totals over the flows (counted per flow only, so the per-segment path updates one set). */
  totals(): FlowCounters {
    const t = zeroFlow();
    for (const f of this.flows) {
      for (const key of Object.keys(t) as (keyof FlowCounters)[]) if (key !== 'droppedAt' && key !== 'droppedSite' && key !== 'stageSum') t[key] += f[key];
      f.droppedAt.forEach((n, i) => (t.droppedAt[i]! += n));
      f.droppedSite.forEach((n, i) => (t.droppedSite[i]! += n));
    }
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

  /**
   * A frame the NIC dropped at `site` (an index in SITE_INDEX) as it arrived, before it had a row
   * (nic/rx-queue.ts dropOnArrival): offered and dropped at once, as `offer` then `dropAt`.
   */
  arriveDropped(flow: number, size: number, counted: boolean, site: number): void {
    if (!counted) return;
    const f = this.flows[flow]!;
    const placeIndex = SITE_PLACE[site]!;
    f.offered++;
    f.offeredBytes += size;
    countFlowDrop(f, placeIndex, site);
    this.droppedByPlace[placeIndex]!++;
    this.siteSkbs[site]!++;
    this.sitePackets[site]!++;
  }

  /** A frame dropped before the NIC (upstream switch buffer); it never had a row. */
  upstreamDrop(flow: number, size: number, counted: boolean): void {
    if (!counted) return;
    const f = this.flows[flow]!;
    f.offered++;
    f.offeredBytes += size;
    this.droppedByPlace[PLACE_INDEX.wire]!++;
    f.dropped++;
    f.droppedAt[PLACE_INDEX.wire]!++;
  }

  /**
   * The skb (every segment of an aggregate) is dropped at `site` by `cpu` (-1: the NIC, no skb);
   * its rows are freed and their pages' references go: in softirq (kfree_skb from the stack's
   * passes), or straight back from the driver's poll for a native XDP_DROP (xdp_return_buff).
   */
  drop(row: number, site: DropSite, cpu = -1): void {
    this.dropAt(row, SITE_INDEX[site], cpu);
  }

  /** `drop` with the site as its index in SITE_INDEX (the per-packet callers hold it: no string key per packet). */
  dropAt(row: number, site: number, cpu = -1): void {
    const pool = this.pool;
    const follow = this.follow;
    if (follow !== null && follow.skb === row) follow.stage(FOLLOW.DROP, NaN, cpu, 0, 0, DROP_SITE_NAMES[site]);
    const placeIndex = SITE_PLACE[site]!;
    // A native XDP_DROP and a frame an AF_XDP socket refused go straight back from the driver's poll.
    const direct = site === XDP_NATIVE || site === XSK;
    let counted = 0;
    // Each segment of the skb (forEachSegment, inlined: a drop is on the per-packet path of a flood).
    for (let r = row; r !== NIL;) {
      const next = pool.frag[r]!;
      if (pool.counted[r]) {
        countFlowDrop(this.flows[pool.flow[r]!]!, placeIndex, site);
        counted++;
      }
      if (pool.page[r]! >= 0) this.pages.putRow(r, cpu, true, direct);
      pool.release(r);
      r = next;
    }
    if (counted > 0) {
      this.droppedByPlace[placeIndex]! += counted;
      this.inFlight -= counted;
      this.siteSkbs[site]!++;
      this.sitePackets[site]! += counted;
    }
  }

  /**
   * XDP_TX or a devmap redirect: the frame leaves the receive path on NIC `nic`'s TX ring, by the
   * driver's XDP TX ring or, from generic XDP, by generic_xdp_tx; its rows are freed (the TX ring
   * keeps its length and page).
   */
  xdpTxed(row: number, nic: number, generic: boolean): void {
    const pool = this.pool;
    const follow = this.follow;
    if (follow !== null && follow.skb === row) follow.stage(FOLLOW.DROP, NaN, -1, nic, 0, generic ? 'xdp_tx_generic' : 'xdp_tx');
    for (let r = row; r !== NIL;) {
      const next = pool.frag[r]!;
      if (pool.counted[r]) {
        this.xdpTx++;
        this.inFlight--;
      }
      if (pool.page[r]! >= 0) this.pages.putRow(r, -1, false, false); // a device that did not keep the page
      pool.release(r);
      r = next;
    }
  }

  /** ip_forward → dev_queue_xmit: the skb went to the egress device's qdisc or TX ring, which took its page reference; its rows are freed. */
  forwardedOut(row: number): void {
    const pool = this.pool;
    for (let r = row; r !== NIL;) {
      const next = pool.frag[r]!;
      const f = this.flows[pool.flow[r]!]!;
      f.windowForwarded++;
      if (pool.counted[r]) {
        this.forwarded++;
        f.forwarded++;
        this.inFlight--;
      }
      pool.release(r);
      r = next;
    }
  }

  /** XDP_REDIRECT: the frame leaves the driver for a redirect queue (bq_enqueue). */
  xdpRedirectHold(row: number): void {
    if (this.pool.counted[row]) {
      this.xdpRedirect++;
      this.inFlight--;
    }
  }

  /** The frame leaves the redirect queues (onto a cpumap ring's consumer, or dropped): it is in flight again. */
  xdpRedirectRelease(row: number): void {
    if (this.pool.counted[row]) {
      this.xdpRedirect--;
      this.inFlight++;
    }
  }

  /** __xsk_rcv / xsk_rcv_zc posted the frame on an AF_XDP socket's RX ring: it leaves the receive path. */
  xskHold(row: number): void {
    if (this.pool.counted[row]) {
      this.xsk++;
      this.inFlight--;
    }
  }

  /**
   * The AF_XDP application read the frame in `row` from its RX ring at `t` (on `cpu`): delivered,
   * with its latency by stage (ring: to the poll; stack: to the RX ring post; socket: in the RX ring).
   * The row goes; its UMEM frame is the application's.
   */
  xskConsumed(row: number, t: number): void {
    const pool = this.pool;
    const f = this.flows[pool.flow[row]!]!;
    const size = pool.size[row]!;
    f.windowDelivered++;
    f.windowDeliveredBytes += size;
    f.windowPayload += pool.payload[row]!;
    if (pool.counted[row]) {
      this.xsk--;
      f.delivered++;
      f.deliveredBytes += size;
      const arrival = pool.arrival[row]!;
      const polled = pool.tPoll[row]!;
      const posted = pool.tSocket[row]!;
      this.latency.record(t - arrival);
      this.latencyRing.record(polled - arrival);
      this.latencyStack.record(posted - polled);
      this.latencySocket.record(t - posted);
      f.stageSum[0]! += polled - arrival;
      f.stageSum[1]! += posted - polled;
      f.stageSum[2]! += t - posted;
      f.stageSamples++;
    }
    pool.release(row);
  }

  /**
   * One flow's skb drops by place and `enum skb_drop_reason` (packets, the cohort of `dropped`):
   * what `perf trace -e skb:kfree_skb` filtered to the flow's 5-tuple would sum. Drops without an
   * skb (the NIC's, a native XDP_DROP, a full cpumap or devmap queue) have no reason and are only
   * in the flow's drops by place.
   */
  flowDropReasons(flow: number): Record<string, Record<string, number>> {
    const counts = this.flows[flow]!.droppedSite;
    const out: Record<string, Record<string, number>> = {};
    DROP_SITE_NAMES.forEach((site, i) => {
      const { place, reason } = DROP_SITES[site];
      if (counts[i]! === 0 || reason === null) return;
      const byReason = (out[place] ??= {});
      byReason[reason] = (byReason[reason] ?? 0) + counts[i]!;
    });
    return out;
  }

  /** The drop-reason table (skb drops only), most packets first. */
  dropReasons(): DropReasonRow[] {
    const rows = new Map<string, DropReasonRow>();
    DROP_SITE_NAMES.forEach((site, i) => {
      const c = { skbs: this.siteSkbs[i]!, packets: this.sitePackets[i]! };
      const { reason, location } = DROP_SITES[site];
      if (c.skbs === 0 || reason === null || location === null) return;
      const key = `${reason} ${location}`;
      const row = rows.get(key) ?? { reason, location, skbs: 0, packets: 0 };
      row.skbs += c.skbs;
      row.packets += c.packets;
      rows.set(key, row);
    });
    return [...rows.values()].sort((a, b) => b.packets - a.packets || a.reason.localeCompare(b.reason) || a.location.localeCompare(b.location));
  }

  /**
   * An application on `cpu` consumed an skb from its socket at `t`: every segment is delivered,
   * and its latency recorded by stage. Pages the skb still references (skb_attempt_defer_free did
   * not queue it to another CPU) go back now, with BH off (kfree_skb_napi_cache).
   */
  consumed(sock: Socket, row: number, t: number, cpu: number): void {
    const pool = this.pool;
    const follow = this.follow;
    if (follow !== null && follow.skb === row) follow.stage(FOLLOW.COPY, t, cpu, pool.segs[row]!, 0);
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
        f.stageSum[0]! += polled - arrival;
        f.stageSum[1]! += tSocket - polled;
      }
      if (pool.page[r]! >= 0) this.pages.putRow(r, cpu, true, false);
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
      f.stageSum[2]! += (t - tSocket) * counted;
      f.stageSamples += counted;
    }
  }
}
