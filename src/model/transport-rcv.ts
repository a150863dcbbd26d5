import type { Simulator } from '../engine/simulator.ts';
import type { ResolvedFlow } from '../scenario/resolve.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { Icmp } from './icmp.ts';
import { LocalTcpSender } from './local-sender.ts';
import { NIL, type PacketPool } from './packet.ts';
import { SITE_INDEX, type RxAccounting } from './rx-accounting.ts';
import type { Snmp } from './snmp.ts';
import { SKB_STRUCT_BYTES, tcpAckSndCheck, tcpCompressedAckKick, tcpDataQueue, tcpEnterQuickack, tcpReleaseCb, tcpSendAck, udpEnqueue, type Socket } from './socket.ts';

/** Ethernet header (14) and FCS (4): a received frame's size less its IP datagram. */
const ETH_HLEN_FCS = 18;
/** tcp_v4_send_reset's reply: Ethernet (14) + IPv4 (20) + a TCP header without options (20), no FCS. */
const TCP_RST_BYTES = 54;

/** MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS default 17): the pages one skb holds. */
const MAX_SKB_FRAGS = 17;
import type { Task } from './task.ts';
import { FOLLOW, type TraceHooks } from './trace-hooks.ts';

export interface TransportHost {
  readonly sim: Simulator;
  readonly trace: TraceHooks | null;
  readonly costs: CostTable;
  readonly pool: PacketPool;
  readonly snmp: Snmp;
  readonly accounting: RxAccounting;
  readonly sched: { wakeUp(task: Task, wakerCpu: number): boolean };
  readonly rps: { hashOf(row: number): number };
  readonly flows: readonly ResolvedFlow[];
  readonly icmp: Pick<Icmp, 'portUnreach'>;
  readonly sockets: { tcpPeer(flow: number): { reset(atNs: number): void } | undefined };
  /** dev_queue_xmit of a frame the host sends on flow `flow`'s NIC from CPU `cpu` (`len`: no FCS). */
  xmit(flow: number, cpu: number, len: number): void;
}

/**
 * The transport layer's receive side (net/ipv4/tcp_ipv4.c tcp_v4_rcv, tcp_input.c,
 * net/ipv4/udp.c udp_rcv): an skb at the end of its last pass goes into its socket — the TCP
 * socket backlog while the reader owns the socket, otherwise tcp_rcv_established → tcp_data_queue
 * and the ACK decision — and sk_data_ready wakes the reader.
 */
export class TransportRcv {
  constructor(private readonly k: TransportHost) {}

  /**
   * tcp_v4_rcv / udp_rcv of an skb at time `t` on `cpu`: into `sock`, or down the no-socket path
   * when `sock` is null. Returns the extra cost (ACK, wakeup, ICMP, RST).
   */
  deliver(cpu: Cpu, sock: Socket | null, row: number, t: number): number {
    const k = this.k;
    const pool = k.pool;
    // The MIB counters below count skbs, as the kernel's do: a GRO aggregate is one segment to
    // tcp_v4_rcv (TCP_MIB_INSEGS), one delivery to ip_protocol_deliver_rcu (IPSTATS_MIB_INDELIVERS,
    // counted whatever the protocol handler did with it).
    k.snmp.IpInDelivers++;
    if (sock === null) return this.noSocket(cpu, row);
    pool.tSocket[row] = t;
    pool.l4cpu[row] = cpu.id;
    const follow = k.trace?.follow;
    if (follow && follow.skb === row) follow.stage(FOLLOW.SOCKET, t, cpu.id, sock.rmem, sock.owned ? 1 : 0);
    if (sock.rxhash === 0) sock.rxhash = k.rps.hashOf(row);
    let extra = 0;
    if (sock.proto === 'udp') {
      // __udp_queue_rcv_skb: an unconnected socket takes the first skb's NAPI id (sk_mark_napi_id_once).
      if (sock.napiId === 0) sock.napiId = pool.napiId[row]!;
      if (udpEnqueue(sock, pool, row, k.sim.now) === 'dropped') {
        k.snmp.UdpRcvbufErrors++; // __udp_queue_rcv_skb: UDP_MIB_RCVBUFERRORS and UDP_MIB_INERRORS
        k.snmp.UdpInErrors++;
        k.accounting.drop(row, 'udp_rcvbuf', cpu.id);
        return 0;
      }
    } else {
      k.snmp.TcpInSegs++;
      sock.napiId = pool.napiId[row]!; // tcp_v4_do_rcv: sk_mark_napi_id, each skb
      if (sock.owned) {
        // tcp_add_backlog: the reader holds the socket; it processes the backlog at release_sock.
        // First skb_try_coalesce() with the backlog's tail — even above the limit (the tail's
        // capacity is bounded by MAX_SKB_FRAGS).
        if (this.backlogCoalesce(sock, row)) return 0;
        // sk_add_backlog → sk_rcvqueues_full: what is queued already, not counting this skb.
        if (sock.rmem + sock.backlogBytes > sock.backlogLimit()) {
          sock.counters.backlogDrop++;
          sock.drops++;
          k.snmp.TcpExtTCPBacklogDrop++; // tcp_add_backlog: LINUX_MIB_TCPBACKLOGDROP
          k.accounting.drop(row, 'tcp_backlog', cpu.id);
          return 0;
        }
        sock.backlog.push(row, k.sim.now);
        sock.backlogBytes += pool.truesize[row]!;
        return 0;
      }
      extra += this.tcpReceive(sock, row, cpu.id);
    }
    return extra + this.dataReady(cpu, sock);
  }

  /**
   * No socket is bound to the skb's destination.
   *
   * UDP (net/ipv4/udp.c __udp4_lib_rcv, after the lookup failed and the checksum was verified):
   * UDP_MIB_NOPORTS once per skb — never UdpInDatagrams, which udp_recvmsg counts when a reader
   * takes a datagram — then icmp_send(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH) under its rate
   * limits (icmp.ts), then kfree_skb with SKB_DROP_REASON_NO_SOCKET.
   *
   * TCP (net/ipv4/tcp_ipv4.c tcp_v4_rcv, no_tcp_socket): TCP_MIB_INSEGS was counted before the
   * lookup; tcp_v4_send_reset answers (not a RST: the model's senders never send one), counting
   * TCP_MIB_OUTSEGS and TCP_MIB_OUTRSTS, and the skb is freed with SKB_DROP_REASON_NO_SOCKET. The
   * RST (ip_send_unicast_reply) and a port unreachable that the limits let go leave through the
   * NIC's TX ring like an ACK. The RST reaches the sender, which stops (tcp_reset). Returns the
   * cost of the ICMP or the RST.
   */
  private noSocket(cpu: Cpu, row: number): number {
    const k = this.k;
    const pool = k.pool;
    const flow = pool.flow[row]!;
    let cost: number;
    if (k.flows[flow]!.proto === 'udp') {
      k.snmp.UdpNoPorts++;
      cost = k.icmp.portUnreach(flow, pool.tuple[row]!, cpu.id, pool.size[row]! - ETH_HLEN_FCS);
      k.accounting.dropAt(row, SITE_INDEX.udp_no_socket, cpu.id);
    } else {
      k.snmp.TcpInSegs++;
      k.snmp.TcpOutSegs++;
      k.snmp.TcpOutRsts++;
      k.sockets.tcpPeer(flow)?.reset(k.sim.now);
      k.xmit(flow, cpu.id, TCP_RST_BYTES);
      cost = k.costs.tcp_v4_send_reset;
      k.accounting.dropAt(row, SITE_INDEX.tcp_no_socket, cpu.id);
    }
    return cost;
  }

  /**
   * tcp_add_backlog()'s coalescing: the skb continues the backlog's tail (end_seq == seq), with
   * the same TCP options (the TSval: memcmp of the option words) and no SYN/RST/URG, and the
   * pages fit in the tail (nr_frags ≤ MAX_SKB_FRAGS): skb_try_coalesce() moves its pages to the
   * tail and frees the rest (LINUX_MIB_TCPBACKLOGCOALESCE). The tail grows by the truesize
   * moved (delta: the skb less its sk_buff); one skb less to process at release_sock.
   */
  private backlogCoalesce(sock: Socket, row: number): boolean {
    const pool = this.k.pool;
    const tail = sock.backlog.tail;
    if (tail === NIL) return false;
    if (pool.seq[tail]! + pool.len[tail]! !== pool.seq[row]! || pool.tsval[tail] !== pool.tsval[row]) return false;
    // A build_skb aggregate of n segments holds n − 1 frags beside its head; the merged skb's
    // head becomes a frag too: up to MAX_SKB_FRAGS + 1 segments in all.
    if (pool.segs[tail]! + pool.segs[row]! > MAX_SKB_FRAGS + 1) return false;
    const delta = pool.truesize[row]! - SKB_STRUCT_BYTES;
    const follow = this.k.trace?.follow;
    if (follow && follow.skb === row) follow.stage(FOLLOW.COALESCE, NaN, -1, tail, pool.segs[tail]! + pool.segs[row]!);
    pool.frag[pool.lastFrag[tail]!] = row;
    pool.lastFrag[tail] = pool.lastFrag[row]!;
    pool.len[tail] = pool.len[tail]! + pool.len[row]!;
    pool.segs[tail] = pool.segs[tail]! + pool.segs[row]!;
    pool.truesize[tail] = pool.truesize[tail]! + delta;
    pool.flags[tail] = pool.flags[tail]! | pool.flags[row]!;
    sock.backlogBytes += delta;
    this.k.snmp.TcpExtTCPBacklogCoalesce++;
    return true;
  }

  /** tcp_rcv_established → tcp_data_queue, then the ACK decision, on CPU `cpu`. Returns the ACK cost. */
  tcpReceive(sock: Socket, row: number, cpu: number): number {
    const k = this.k;
    const pool = k.pool;
    const c0 = sock.counters;
    const [pruned, collapsed, collapsedBytes, rcvPruned] = [c0.pruneCalled, c0.collapsed, c0.collapsedBytes, c0.rcvPruned];
    const holes = sock.tcp!.ofo.length;
    const verdict = tcpDataQueue(sock, pool, row, k.sim.now, (dup) => k.accounting.drop(dup, 'tcp_ofo_drop', cpu));
    k.snmp.TcpExtPruneCalled += c0.pruneCalled - pruned;
    k.snmp.TcpExtTCPRcvCollapsed += c0.collapsed - collapsed;
    k.snmp.TcpExtRcvPruned += c0.rcvPruned - rcvPruned;
    // tcp_collapse copies the data into new skbs, in softirq (at the LLC figure: where its source
    // lines are is not traced here; the copies it makes are CPU-written, see copyToUser).
    let cost = Math.round(((c0.collapsedBytes - collapsedBytes) * k.costs.copy_kb_llc) / 1024);
    if (verdict === 'dropped' || verdict === 'ofo-dropped') {
      k.snmp.TcpExtTCPRcvQDrop++; // tcp_data_queue: LINUX_MIB_TCPRCVQDROP per skb (TCPOFODrop counted with it here)
      k.accounting.drop(row, verdict === 'dropped' ? 'tcp_rcvq' : 'tcp_ofo_mem', cpu);
    } else if (verdict === 'dup') {
      k.accounting.drop(row, 'tcp_old_data', cpu);
    } else if (verdict === 'ofo') {
      k.snmp.TcpExtTCPOFOQueue++; // tcp_data_queue_ofo: LINUX_MIB_TCPOFOQUEUE per skb
    }
    // A duplicate (or out of window): tcp_enter_quickack_mode(TCP_MAX_QUICKACKS). A drop for
    // memory, or a segment that fills the last hole (RFC 5681 4.2): ICSK_ACK_NOW. Out-of-order
    // data goes to the SACK branch of __tcp_ack_snd_check.
    if (verdict === 'dup') tcpEnterQuickack(sock);
    // (tcp_try_rmem_schedule failing sets ICSK_ACK_NOMEM | ICSK_ACK_NOW even when the skb was queued into an empty queue.)
    const now = verdict === 'dropped' || sock.tcp!.nomem || (verdict === 'queued' && holes > 0 && sock.tcp!.ofo.length === 0);
    if (tcpAckSndCheck(sock, k.sim.now, now, cpu)) {
      k.snmp.TcpOutSegs++;
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

  /** compressed_ack_timer fired (tcp_compressed_ack_kick): send the SACK it held. */
  compressedAck(sock: Socket): void {
    if (tcpCompressedAckKick(sock, this.k.sim.now)) this.k.snmp.TcpOutSegs++;
  }

  /** The delayed-ACK timer fired (tcp_delack_timer): ACK what has not been ACKed. */
  delayedAck(sock: Socket): void {
    if (sock.tcp && sock.tcp.rcvNxt > sock.tcp.lastAck && tcpSendAck(sock, this.k.sim.now, sock.tcp.delackCpu)) this.k.snmp.TcpOutSegs++;
  }

  /** sk_data_ready: wake the reader sleeping in recvmsg or epoll_wait. Returns the wakeup's cost. */
  private dataReady(cpu: Cpu, sock: Socket): number {
    const k = this.k;
    const ep = sock.ep;
    if (ep !== null) ep.pollCallback(sock); // ep_poll_callback → ep_set_busy_poll_napi_id
    const waiter = sock.waiter;
    if (waiter) {
      sock.waiter = null;
      if (k.sched.wakeUp(waiter, cpu.id)) return k.costs.wakeup;
    }
    return 0;
  }

  /**
   * sk_backlog_rcv → tcp_v4_do_rcv for one skb of the socket backlog, in the reader's process
   * context at release_sock (`cpu` is the reader's). Returns the extra cost (an ACK, a collapse).
   */
  /** tcp_release_cb after the backlog was processed: a deferred ACK goes now. Returns its cost. */
  releaseCb(sock: Socket, now: number, cpu: number): number {
    if (!sock.tcp || !tcpReleaseCb(sock, now, cpu)) return 0;
    this.k.snmp.TcpOutSegs++;
    return this.ackCost(sock);
  }

  backlogRcv(sock: Socket, cpu: number, now: number): number {
    const pool = this.k.pool;
    const row = sock.backlog.shift(now);
    sock.backlogBytes -= pool.truesize[row]!;
    pool.l4cpu[row] = cpu;
    return this.tcpReceive(sock, row, cpu);
  }
}
