import { grown } from '../engine/typed.ts';
import { Histogram } from '../metrics/histogram.ts';
import type { ResolvedFlow, ResolvedNetns, ResolvedScenario } from '../scenario/resolve.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import { forEachSegment } from './gro.ts';
import type { Kernel } from './kernel.ts';
import { NIL, PSH } from './packet.ts';
import { LocalTcpSender } from './local-sender.ts';
import { TCP_FRAME_OVERHEAD } from './tcp-sender.ts';
import { getRpsCpu, RpsDevFlowTable, RpsSockFlowTable, type RpsChoice, type RxQueueRps } from './rps.ts';
import { SKB_OVERHEAD, Socket, tcpAckCheck, tcpDataQueue, tcpRcvSpaceAdjust, udpEnqueue, uncharge } from './socket.ts';

/**
 * Above the driver: where an skb goes once NAPI hands it up, and the packet accounting of the path.
 *
 * netif_receive_skb_list_internal: with RPS configured on the RX queue, get_rps_cpu picks a CPU
 * and the skb goes to that CPU's backlog (even the local one); otherwise __netif_receive_skb runs
 * here. One pass through the stack (`__netif_receive_skb_core`, counted in softnet_stat
 * `processed` on the CPU doing it) then depends on the flow's path:
 *
 *   host:           ip_rcv → PREROUTING → INPUT → tcp_v4_rcv / udp_rcv → socket
 *   veth-bridge:    ip_rcv → PREROUTING (conntrack, DNAT) → ip_forward → FORWARD → POSTROUTING
 *                   → bridge → veth_xmit → __netif_rx into a backlog (or the veth NAPI with GRO on)
 *                   ... second pass in the container: ip_rcv → PREROUTING → INPUT → L4 → socket
 *   vxlan-overlay:  ip_rcv → INPUT → udp_rcv/vxlan_rcv (decapsulation) → gro_cells (modelled as the
 *                   local backlog) → bridge → veth → backlog → container pass as above
 *
 * A poll computes its CPU cost when it starts (the stages' costs are fixed per flow and pass) and
 * commits the effects when that time has been spent: backlog enqueues, socket queueing, ACKs and
 * wakeups, whose own costs (an ACK, a wakeup) are then charged as a further chunk.
 *
 * Packets count in the results if they arrived inside the measurement window: offered =
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

/** Counters in the kernel's MIB names (nstat). */
export interface Nstat {
  IpInReceives: number;
  IpInDelivers: number;
  IpForwDatagrams: number;
  TcpInSegs: number;
  TcpOutSegs: number;
  TcpExtTCPRcvQDrop: number;
  TcpExtTCPBacklogDrop: number;
  TcpExtTCPOFOQueue: number;
  TcpExtPruneCalled: number;
  TcpExtTCPRcvCollapsed: number;
  TcpExtRcvPruned: number;
  UdpInDatagrams: number;
  UdpOutDatagrams: number;
  UdpRcvbufErrors: number;
  UdpInErrors: number;
}

/** The skbs a poll hands up: each to a CPU's backlog (RPS) or to a pass here (-1), with its time. */
export class RxBatch {
  rows = new Int32Array(64);
  times = new Float64Array(64);
  targets = new Int32Array(64);
  slots = new Int32Array(64);
  readonly flowTables: (RpsDevFlowTable | null)[] = [];
  length = 0;
  cost = 0;

  push(row: number, t: number, target: number, flows: RpsDevFlowTable | null, slot: number, cost: number): void {
    const n = this.length;
    if (n === this.rows.length) {
      this.rows = grown(this.rows, 2 * n);
      this.times = grown(this.times, 2 * n);
      this.targets = grown(this.targets, 2 * n);
      this.slots = grown(this.slots, 2 * n);
    }
    this.rows[n] = row;
    this.times[n] = t;
    this.targets[n] = target;
    this.slots[n] = slot;
    this.flowTables[n] = flows;
    this.length = n + 1;
    this.cost += cost;
  }

  clear(): void {
    this.length = 0;
    this.cost = 0;
  }
}

const NO_STEERING: RpsChoice = { cpu: -1, flows: null, slot: -1 };

/** IPv4 (20) + UDP (8) + Ethernet (14) + FCS (4). */
const UDP_FRAME_OVERHEAD = 46;
/** VXLAN encapsulation: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;

export class Stack {
  readonly dropped: Record<DropPlace, number> = { wire: 0, nic_ring: 0, nic_missed: 0, backlog: 0, flow_limit: 0, veth: 0, socket: 0, tcp_dup: 0 };
  /** Counted packets currently held somewhere in the path. */
  inFlight = 0;
  /** Wire arrival to the application (or to the socket when nothing reads it), and per stage. */
  readonly latency = new Histogram();
  readonly latencyRing = new Histogram();
  readonly latencyStack = new Histogram();
  readonly latencySocket = new Histogram();
  readonly flows: FlowCounters[];
  readonly nstat: Nstat = {
    IpInReceives: 0,
    IpInDelivers: 0,
    IpForwDatagrams: 0,
    TcpInSegs: 0,
    TcpOutSegs: 0,
    TcpExtTCPRcvQDrop: 0,
    TcpExtTCPBacklogDrop: 0,
    TcpExtTCPOFOQueue: 0,
    TcpExtPruneCalled: 0,
    TcpExtTCPRcvCollapsed: 0,
    TcpExtRcvPruned: 0,
    UdpInDatagrams: 0,
    UdpOutDatagrams: 0,
    UdpRcvbufErrors: 0,
    UdpInErrors: 0,
  };

  readonly sockets: Socket[] = [];
  /** Socket of each flow. */
  readonly flowSocket: number[] = [];
  /** CPU cost of each pass of each flow (stages fixed by path and netfilter config). */
  private readonly passCost: number[][];
  /** The global RFS table (net.core.rps_sock_flow_entries), if any. */
  readonly sockFlow: RpsSockFlowTable | null;
  /** RPS of the container-side veth RX queue. */
  readonly vethRps: RxQueueRps;
  /** An empty RPS configuration (queues without rps_cpus). */
  static readonly NO_RPS: RxQueueRps = { map: [], flows: null };

  constructor(
    private readonly k: Kernel,
    private readonly s: ResolvedScenario,
  ) {
    this.flows = s.flows.map(() => ({ offered: 0, offeredBytes: 0, delivered: 0, deliveredBytes: 0, dropped: 0, windowDelivered: 0, windowDeliveredBytes: 0, windowPayload: 0 }));
    this.passCost = s.flows.map((f) => [0, 1, 2].map((p) => passCost(k.costs, f, p, s.netfilter.host, s.netfilter.container)));
    const entries = s.sysctl['net.core.rps_sock_flow_entries'];
    this.sockFlow = entries > 0 ? new RpsSockFlowTable(entries, s.cpus) : null;
    this.vethRps = { map: s.veth.rpsCpus, flows: null };
  }

  /** The RPS configuration of an RX queue (rps_cpus and rps_flow_cnt), with its device's aRFS hook. */
  static queueRps(map: number[], flowCnt: number, arfs?: (row: number, cpu: number) => void): RxQueueRps {
    return { map, flows: flowCnt > 0 ? new RpsDevFlowTable(flowCnt) : null, arfs };
  }

  // ---------------------------------------------------------------- accounting

  /** Start of the measurement window: rate counters restart. */
  resetWindow(): void {
    for (const f of this.flows) f.windowDelivered = f.windowDeliveredBytes = f.windowPayload = 0;
  }

  /** Totals over the flows (counted per flow only, so the per-segment path updates one set). */
  totals(): FlowCounters {
    const t: FlowCounters = { offered: 0, offeredBytes: 0, delivered: 0, deliveredBytes: 0, dropped: 0, windowDelivered: 0, windowDeliveredBytes: 0, windowPayload: 0 };
    for (const f of this.flows) for (const key of Object.keys(t) as (keyof FlowCounters)[]) t[key] += f[key];
    return t;
  }

  /** A frame reached the NIC: it is offered from now on. */
  offer(row: number, counted: boolean): void {
    const pool = this.k.pool;
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
    const pool = this.k.pool;
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
    const pool = this.k.pool;
    const tSocket = pool.tSocket[row]!;
    uncharge(sock, pool, row);
    const f = this.flows[pool.flow[row]!]!; // an skb's segments are of one flow
    let segs = 0;
    let bytes = 0;
    let payload = 0;
    let counted = 0;
    let countedBytes = 0;
    for (let r = row; r !== NIL; ) {
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

  // ---------------------------------------------------------------- receive

  /** The payload of a frame of a flow (UDP; TCP frames carry theirs from the sender). */
  static udpPayload(frameBytes: number, path: ResolvedFlow['path']): number {
    return frameBytes - UDP_FRAME_OVERHEAD - (path === 'vxlan-overlay' ? VXLAN_OVERHEAD : 0);
  }

  /** skb_get_hash(): the NIC's hash, or the flow dissector's (computed once and kept in skb->hash). */
  hashOf(row: number): number {
    const pool = this.k.pool;
    let h = pool.hash[row]!;
    if (h === 0) {
      const flow = this.s.flows[pool.flow[row]!]!;
      h = this.k.nics[flow.nic]!.softwareHash(flow.index, pool.tuple[row]!);
      pool.hash[row] = h;
    }
    return h;
  }

  /**
   * netif_receive_skb_list_internal() for one skb handed up at time `t` by a poll of `cpu` on an
   * RX queue with RPS configuration `rps`: steer it to a backlog, or plan a pass here.
   */
  steer(batch: RxBatch, rps: RxQueueRps, row: number, t: number): void {
    const choice = this.rpsChoice(rps, row);
    if (choice.cpu >= 0) batch.push(row, t, choice.cpu, choice.flows, choice.slot, this.k.costs.rps_enqueue);
    else this.planPass(batch, row, t);
  }

  /** get_rps_cpu() for an skb from an RX queue (with the queue's aRFS hook); cpu -1: no steering. */
  rpsChoice(rps: RxQueueRps, row: number): RpsChoice {
    if (rps.map.length === 0 && !rps.flows) return NO_STEERING;
    const k = this.k;
    const arfs = rps.arfs;
    return getRpsCpu(rps, this.sockFlow, this.hashOf(row), (c) => k.softnet[c]!.inputQueueHead, arfs && ((cpu) => arfs(row, cpu)));
  }

  /**
   * enqueue_to_backlog(skb, cpu, &rflow->last_qtail) at `now`: a queued skb stamps its RFS flow
   * slot with the target's queue tail (the in-order rule's reference); a refused one is dropped.
   */
  enqueueBacklog(from: Cpu, target: number, row: number, flows: RpsDevFlowTable | null, slot: number, now: number): void {
    const sd = this.k.softnet[target]!;
    const verdict = sd.enqueue(from, row, now);
    if (verdict !== 'queued') this.drop(row, verdict);
    else if (flows) flows.lastQtail[slot] = sd.inputQueueTail;
  }

  /**
   * A stream-writer on `cpu` sends `bytes` at its connection's snd_nxt over the veth pair: one
   * GSO skb (its segments chained as rows, each counted as offered now), __netif_rx into this
   * CPU's backlog or the RPS CPU of the peer's RX queue (veth.rps_cpus). Called with bottom
   * halves off; NET_RX runs at the writer's local_bh_enable.
   */
  localXmit(cpu: Cpu, conn: LocalTcpSender, bytes: number, endOfWrite: boolean): void {
    const k = this.k;
    const pool = k.pool;
    const now = k.sim.now;
    const flow = conn.flow.index;
    const counted = now >= k.warmupNs;
    let head = NIL;
    for (let off = 0; off < bytes; off += conn.mss) {
      const seg = Math.min(conn.mss, bytes - off);
      const row = pool.alloc();
      pool.flow[row] = flow;
      pool.tuple[row] = 0;
      pool.hash[row] = 0;
      pool.size[row] = seg + TCP_FRAME_OVERHEAD; // as a frame on the wire, for L2 rates
      pool.arrival[row] = now;
      pool.tPoll[row] = now;
      pool.seq[row] = conn.sndNxt + off;
      pool.payload[row] = seg;
      pool.len[row] = seg;
      pool.truesize[row] = 0;
      pool.tsval[row] = Math.floor(now / 1e6);
      this.offer(row, counted);
      if (head === NIL) head = row;
      else pool.frag[pool.lastFrag[head]!] = row;
      pool.lastFrag[head] = row;
    }
    pool.len[head] = bytes;
    pool.segs[head] = Math.ceil(bytes / conn.mss);
    // tcp_sendmsg fills page fragments: the skb charges its pages plus the skb itself.
    pool.truesize[head] = Math.ceil(bytes / 4096) * 4096 + SKB_OVERHEAD;
    if (endOfWrite) pool.flags[head] = PSH;
    conn.transmit(bytes, now);
    this.netifRx(cpu, head, this.vethRps); // a local TSO skb is not eligible for veth GRO
  }

  /**
   * __netif_rx() on `cpu` for a device whose RX queue has RPS configuration `rps` (a veth: RPS
   * map only): enqueue_to_backlog of the RPS CPU, or of this CPU.
   */
  netifRx(cpu: Cpu, row: number, rps: RxQueueRps): void {
    const target = rps.map.length > 0 ? getRpsCpu(rps, null, this.hashOf(row), () => 0).cpu : -1;
    this.enqueueBacklog(cpu, target >= 0 ? target : cpu.id, row, null, -1, this.k.sim.now);
  }

  /** __netif_receive_skb() here: one pass through the stack, costed now, run at commit. */
  planPass(batch: RxBatch, row: number, t: number): void {
    const pool = this.k.pool;
    batch.push(row, t, -1, null, -1, this.passCost[pool.flow[row]!]![pool.pass[row]!]!);
  }

  /**
   * The poll's CPU time has been spent: make its effects happen on `cpu`. Returns the CPU time
   * the effects cost beyond what was planned (ACKs sent, tasks woken).
   */
  commit(cpu: Cpu, batch: RxBatch): number {
    const k = this.k;
    const now = k.sim.now;
    let extra = 0;
    for (let i = 0; i < batch.length; i++) {
      const row = batch.rows[i]!;
      const target = batch.targets[i]!;
      if (target >= 0) {
        this.enqueueBacklog(cpu, target, row, batch.flowTables[i]!, batch.slots[i]!, now);
      } else {
        extra += this.pass(cpu, row, batch.times[i]!);
      }
    }
    batch.clear();
    return extra;
  }

  /** The device an skb of `flow` arrives on in pass `p` (for traces): the NIC, the VXLAN device, the pod's eth0. */
  private devName(flow: ResolvedFlow, p: number): string {
    if (flow.path === 'veth-local') return 'eth0';
    if (p === 0) return this.k.nics[flow.nic]!.cfg.name;
    return flow.path === 'vxlan-overlay' && p === 1 ? 'flannel.1' : 'eth0';
  }

  /** One pass through the stack on `cpu` (its planned cost already spent). Returns extra cost. */
  private pass(cpu: Cpu, row: number, t: number): number {
    const k = this.k;
    const pool = k.pool;
    k.softnet[cpu.id]!.processed++;
    const flow = this.s.flows[pool.flow[row]!]!;
    const p = pool.pass[row]!;
    const segs = pool.segs[row]!;
    if (k.trace?.netifReceiveSkb) k.trace.netifReceiveSkb(cpu.id, pool.len[row]!, segs, this.devName(flow, p));
    const last = flow.path === 'host' || flow.path === 'veth-local' ? 0 : flow.path === 'veth-bridge' ? 1 : 2;
    this.nstat.IpInReceives += segs;
    if (p === last) return this.l4(cpu, flow, row, t);
    pool.pass[row] = p + 1;
    if (flow.path === 'vxlan-overlay' && p === 0) {
      // vxlan_rcv → gro_cells_receive: queued on this CPU (gro_cells modelled as the backlog).
      const verdict = k.softnet[cpu.id]!.enqueue(cpu, row, k.sim.now);
      if (verdict !== 'queued') this.drop(row, verdict);
      return 0;
    }
    // bridge → veth_xmit on this CPU: the veth NAPI (GRO on) or __netif_rx into a backlog.
    this.nstat.IpForwDatagrams += flow.path === 'veth-bridge' ? segs : 0;
    return k.vethXmit(cpu, row);
  }

  /** tcp_v4_rcv / udp_rcv: into the flow's socket. */
  private l4(cpu: Cpu, flow: ResolvedFlow, row: number, t: number): number {
    const k = this.k;
    const pool = k.pool;
    const sock = this.sockets[this.flowSocket[flow.index]!]!;
    const segs = pool.segs[row]!;
    this.nstat.IpInDelivers += segs;
    pool.tSocket[row] = t;
    pool.l4cpu[row] = cpu.id;
    if (sock.rxhash === 0) sock.rxhash = this.hashOf(row);
    let extra = 0;
    if (sock.proto === 'udp') {
      if (udpEnqueue(sock, pool, row, k.sim.now) === 'dropped') {
        this.nstat.UdpRcvbufErrors += segs;
        this.nstat.UdpInErrors += segs;
        this.drop(row, 'socket');
        return 0;
      }
    } else {
      this.nstat.TcpInSegs += segs;
      if (sock.owned) {
        // tcp_add_backlog: the reader holds the socket; it processes the backlog at release_sock.
        // sk_add_backlog → sk_rcvqueues_full: what is queued already, not counting this skb.
        if (sock.rmem + sock.backlogBytes > sock.backlogLimit()) {
          sock.counters.backlogDrop++;
          sock.drops++;
          this.nstat.TcpExtTCPBacklogDrop += segs;
          this.drop(row, 'socket');
          return 0;
        }
        sock.backlog.push(row, k.sim.now);
        sock.backlogBytes += pool.truesize[row]!;
        return 0;
      }
      extra += this.tcpReceive(sock, row);
    }
    return extra + this.dataReady(cpu, sock, t);
  }

  /** tcp_rcv_established → tcp_data_queue, then the ACK decision. Returns the ACK cost. */
  tcpReceive(sock: Socket, row: number): number {
    const k = this.k;
    const pool = k.pool;
    const segs = pool.segs[row]!;
    const c0 = sock.counters;
    const [pruned, collapsed, collapsedBytes, rcvPruned] = [c0.pruneCalled, c0.collapsed, c0.collapsedBytes, c0.rcvPruned];
    const verdict = tcpDataQueue(sock, pool, row, k.sim.now, (dup) => this.drop(dup, 'tcp_dup'));
    this.nstat.TcpExtPruneCalled += c0.pruneCalled - pruned;
    this.nstat.TcpExtTCPRcvCollapsed += c0.collapsed - collapsed;
    this.nstat.TcpExtRcvPruned += c0.rcvPruned - rcvPruned;
    // tcp_collapse copies the data into new skbs, in softirq.
    let cost = Math.round(((c0.collapsedBytes - collapsedBytes) * k.costs.copy_kb_hot) / 1024);
    if (verdict === 'dropped') {
      this.nstat.TcpExtTCPRcvQDrop += segs;
      this.drop(row, 'socket');
    } else if (verdict === 'dup') {
      this.drop(row, 'tcp_dup');
    } else if (verdict === 'ofo') {
      this.nstat.TcpExtTCPOFOQueue += segs;
    }
    if (tcpAckCheck(sock, k.sim.now, verdict !== 'queued')) {
      this.nstat.TcpOutSegs++;
      cost += this.ackCost(sock);
    }
    return cost;
  }

  /**
   * The CPU cost of sending an ACK on `sock`; over a veth pair the sender's receive of it
   * (netif_rx and tcp_ack) runs at once on the same CPU, so it is charged here too.
   */
  ackCost(sock: Socket): number {
    const c = this.k.costs;
    return c.tcp_send_ack + (sock.tcp!.sink instanceof LocalTcpSender ? c.tcp_ack_rcv : 0);
  }

  /** The delayed-ACK timer fired (tcp_delack_timer): ACK what has not been ACKed. */
  delayedAck(sock: Socket): void {
    if (sock.tcp && sock.tcp.rcvNxt > sock.tcp.lastAck && tcpAckCheck(sock, this.k.sim.now, true)) this.nstat.TcpOutSegs++;
  }

  /**
   * sk_data_ready: wake the reader sleeping in recvmsg; a socket nobody reads is drained at
   * once (an infinitely fast reader). Returns the wakeup's cost.
   */
  private dataReady(cpu: Cpu, sock: Socket, t: number): number {
    const k = this.k;
    if (sock.app === null) {
      const q = sock.queue;
      while (q.length > 0) this.consumed(sock, q.shift(k.sim.now), t);
      if (sock.proto === 'udp') this.nstat.UdpInDatagrams++;
      if (sock.tcp) tcpRcvSpaceAdjust(sock, k.sim.now);
      if (sock.tcp && tcpAckCheck(sock, k.sim.now)) {
        this.nstat.TcpOutSegs++;
        return this.ackCost(sock);
      }
      return 0;
    }
    const waiter = sock.waiter;
    if (waiter) {
      sock.waiter = null;
      if (k.wakeUp(waiter, cpu.id)) return k.costs.wakeup;
    }
    return 0;
  }

  /**
   * sk_backlog_rcv → tcp_v4_do_rcv for one skb of the socket backlog, in the reader's process
   * context at release_sock (`cpu` is the reader's). Returns the extra cost (an ACK, a collapse).
   */
  backlogRcv(sock: Socket, cpu: number, now: number): number {
    const pool = this.k.pool;
    const row = sock.backlog.shift(now);
    sock.backlogBytes -= pool.truesize[row]!;
    pool.l4cpu[row] = cpu;
    return this.tcpReceive(sock, row);
  }
}

/**
 * The CPU cost of one pass of a flow's packet through the stack, up to the next hand-off or the
 * socket: the stages named in the Stack comment, with the namespace's netfilter work.
 */
function passCost(c: CostTable, f: ResolvedFlow, pass: number, host: ResolvedNetns, container: ResolvedNetns): number {
  const l4 = (f.proto === 'tcp' ? c.tcp_v4_rcv : c.udp_rcv) + c.sock_enqueue + c.sk_data_ready;
  const hook = (ns: ResolvedNetns, chain: keyof ResolvedNetns['rules'], withConntrack: boolean, withNat: boolean): number => {
    const rules = ns.rules[chain];
    const ct = withConntrack && ns.conntrack ? c.conntrack_in : 0;
    const nat = withNat && ns.nat ? c.nat : 0;
    const any = rules > 0 || ct > 0 || nat > 0;
    return any ? c.nf_hook + rules * c.nf_rule + ct + nat : 0;
  };
  const local = (ns: ResolvedNetns): number => c.ip_rcv + hook(ns, 'PREROUTING', true, true) + hook(ns, 'INPUT', false, false) + l4;
  const forward = (ns: ResolvedNetns): number =>
    c.ip_rcv + hook(ns, 'PREROUTING', true, true) + c.ip_forward + hook(ns, 'FORWARD', false, false) + hook(ns, 'POSTROUTING', false, true) + c.bridge_forward + c.veth_xmit;
  const base = c.netif_receive_skb;
  if (f.path === 'host') return base + local(host);
  // veth-local: from the backlog straight into the receiving namespace.
  if (f.path === 'veth-local') return base + local(container);
  if (f.path === 'veth-bridge') return base + (pass === 0 ? forward(host) : local(container));
  // vxlan-overlay: outer packet to the local VXLAN socket; then the inner frame on the bridge; then the container.
  if (pass === 0) return base + c.ip_rcv + hook(host, 'PREROUTING', true, false) + hook(host, 'INPUT', false, false) + c.vxlan_rcv;
  if (pass === 1) return base + c.bridge_forward + c.veth_xmit;
  return base + local(container);
}

export { Socket };
