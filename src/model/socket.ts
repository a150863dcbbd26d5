import { r2 } from '../metrics/round.ts';
import { COLLAPSED, NIL, PacketQueue, type PacketPool } from './packet.ts';
import type { Task } from './task.ts';

/** sk_sndbuf of a TCP socket: tcp_wmem[1], 16384 by default (net/ipv4/tcp_ipv4.c: tcp_sk_init). */
const TCP_SNDBUF_DEFAULT = 16384;

/**
 * Socket receive (net/ipv4/udp.c, net/ipv4/tcp_input.c, net/core/sock.c): the receive queue, memory accounting by truesize, the drops the kernel makes and where it
 * counts them, and for TCP the in-order receiver with its out-of-order queue and the ACKs (with
 * the advertised window) that clock the sender.
 */

/**
 * SKB_TRUESIZE's overhead: SKB_DATA_ALIGN(sizeof(struct sk_buff)) + SKB_DATA_ALIGN(sizeof(struct
 * skb_shared_info)) on x86_64 (256 + 320), for an skb whose head is allocated with its
 * shared info (alloc_skb: a locally sent skb).
 */
export const SKB_OVERHEAD = 576;
/**
 * SKB_DATA_ALIGN(sizeof(struct sk_buff)): what a received skb adds to its buffers' truesize.
 * napi_build_skb(data, frag_size) → __build_skb_around() subtracts the shared info from the
 * buffer (it lives at the buffer's end) and sets truesize = SKB_TRUESIZE(frag_size − shinfo) =
 * frag_size + 256; each further buffer of a frame adds its frag truesize (skb_add_rx_frag).
 */
export const SKB_STRUCT_BYTES = 256;
/** RX buffers of ixgbe/ice for a 1500-byte MTU: half pages (the driver profile's rxBufferBytes). */
export const RX_BUFFER = 2048;

/** truesize of a received frame built in `bufferBytes` buffers: the buffers it fills plus the sk_buff. */
export function frameTruesize(frameBytes: number, bufferBytes = RX_BUFFER): number {
  return Math.ceil(frameBytes / bufferBytes) * bufferBytes + SKB_STRUCT_BYTES;
}

/**
 * Where a TCP ACK goes: the flow's sender (after the flow's RTT). `sack` is null, or the
 * out-of-order ranges the receiver holds, flat [start, end, start, end, …] ascending: its SACK
 * blocks. (An ACK carries at most 3 blocks beside timestamps and the sender accumulates them on
 * its scoreboard; the model hands over the accumulated view at once.)
 */
export interface AckSink {
  ack(at: number, ackSeq: number, window: number, sack: readonly number[] | null): void;
}

/** The receiver's out-of-order queue as SACK ranges (contiguous skbs merged). */
export function sackRanges(pool: PacketPool, ofo: readonly number[]): number[] | null {
  if (ofo.length === 0) return null;
  const out: number[] = [];
  for (const row of ofo) {
    const start = pool.seq[row]!;
    const end = start + pool.len[row]!;
    const last = out.length - 1;
    if (last > 0 && start <= out[last]!) out[last] = Math.max(out[last]!, end);
    else out.push(start, end);
  }
  return out;
}

/** The window of the receiver's SYN-ACK (unscaled, 65535): what the sender may send before the first ACK. */
export const SYN_WINDOW = 65535;
/** TCP_MAX_QUICKACKS: a new connection ACKs its first segments at once. */
const TCP_MAX_QUICKACKS = 16;

/** TCP_DELACK_MIN: HZ/25, 40 ms. */
export const DELACK_NS = 40_000_000;
/** TCP_FASTRETRANS_THRESH: dupacks sent at once for each rcv_nxt before SACKs are compressed. */
const TCP_FASTRETRANS_THRESH = 3;
/** sk_rcvlowat's default (SO_RCVLOWAT 1). */
const RCVLOWAT = 1;

/** Counters kept per socket (sk_drops) and per stack (nstat, by the caller). */
export interface SocketCounters {
  rcvbufErrors: number;
  rcvQDrop: number;
  backlogDrop: number;
  ofoQueue: number;
  dupData: number;
  acksSent: number;
  /** tcp_prune_queue calls (PruneCalled), skbs and bytes tcp_collapse copied (TCPRcvCollapsed), prunes that failed (RcvPruned). */
  pruneCalled: number;
  collapsed: number;
  collapsedBytes: number;
  rcvPruned: number;
}

export class TcpReceiver {
  rcvNxt = 0;
  /** Out-of-order skbs, sorted by sequence (the ofo rbtree). */
  readonly ofo: number[] = [];
  ofoBytes = 0;
  /** rcv_nxt when the last ACK left (rcv_wup) and the window it advertised (rcv_wnd): at first the SYN's. */
  lastAck = 0;
  lastWindow = SYN_WINDOW;
  /** The right edge last advertised (rcv_wup + rcv_wnd). */
  rightEdge = SYN_WINDOW;
  /** icsk_ack.quick: ACKs still to send at once (quickack mode, TCP_MAX_QUICKACKS at the start). */
  quick = TCP_MAX_QUICKACKS;
  /** net.ipv4.tcp_backlog_ack_defer: an ACK wanted while the reader owns the socket waits for tcp_release_cb. */
  backlogAckDefer = true;
  /** TCP_ACK_DEFERRED: an ACK was wanted while the socket was owned. */
  ackDeferred = false;
  /** net.ipv4.tcp_shrink_window: the advertised window may move its right edge left. */
  shrinkWindow = false;
  /** ICSK_ACK_NOMEM: data was dropped for memory; the next ACK advertises a zero window. */
  nomem = false;
  /** tp->rcv_ssthresh: the window may grow to it (tcp_grow_window raises it as data arrives); at first the SYN's window. */
  rcvSsthresh = SYN_WINDOW;
  /** SACK compression (tcp_comp_sack_nr, tcp_comp_sack_delay_ns) and its state: SACKs held, the rcv_nxt they were for, dupacks sent for it. */
  compSackNr = 44;
  compSackDelayNs = 1_000_000;
  compressedAck = 0;
  compressedAckRcvNxt = -1;
  dupAckCounter = 0;
  /** compressed_ack_timer (arm at an absolute time; Infinity = cancel), and whether it is queued. */
  compress: (atNs: number) => void = () => {};
  compressArmed = false;
  /** Where TcpExtTCPAckCompressed is counted (the stack's MIB). */
  mib: { TcpExtTCPAckCompressed: number } = { TcpExtTCPAckCompressed: 0 };
  /** The delayed-ACK timer (arm/cancel at an absolute time; Infinity = cancel). */
  delack: (atNs: number) => void = () => {};
  /** The CPU that last armed the delayed-ACK timer (sk_reset_timer: the timer runs there). */
  delackCpu = 0;
  /**
   * dev_queue_xmit() of an ACK of `len` bytes (skb->len) from CPU `cpu` through the NIC, for a
   * peer on the wire; null when the peer is local (over veth, no NIC).
   */
  xmit: ((cpu: number, len: number) => void) | null = null;
  readonly mss: number;
  /** Bytes the application has copied (copied_seq), and tcp_rcv_space_adjust's measurement. */
  copiedSeq = 0;
  spaceSeq = 0;
  spaceTime = 0;
  space: number;

  constructor(
    readonly sink: AckSink,
    mss: number,
    /** The receiver's RTT estimate (rcv_rtt_est), ns. */
    readonly rttNs: number,
  ) {
    this.mss = mss;
    this.space = 10 * mss; // TCP_INIT_CWND * advmss
  }
}

/** A socket in the result: its buffer, sk_drops and why, ACKs, and where its data was copied. */
export interface SocketResult {
  socket: number;
  proto: string;
  app: string | null;
  rcvbuf: number;
  /** sk_drops and why. */
  drops: number;
  rcvbuf_errors: number;
  rcvq_drops: number;
  backlog_drops: number;
  ofo_queued: number;
  acks_sent: number;
  /**
   * Bytes the reader copied to user space, and where it found them (ddio.ts): in its node's LLC
   * (DDIO's lines not yet evicted), in its node's DRAM, or on another NUMA node; the LLC share.
   */
  copied_bytes: number;
  copied_llc_bytes: number;
  copied_dram_bytes: number;
  copied_remote_bytes: number;
  copied_llc_pct: number;
}

export class Socket {
  /** sk_receive_queue (skbs, a GRO aggregate is one). */
  readonly queue: PacketQueue;
  /** sk_backlog, used while a reader owns the socket (TCP). */
  readonly backlog: PacketQueue;
  backlogBytes = 0;
  /** sk_rmem_alloc in bytes of truesize, and sk_rcvbuf. */
  rmem = 0;
  rcvbuf: number;
  /** sk_drops. */
  drops = 0;
  /** A task holds the socket lock (lock_sock in recvmsg): softirq uses the backlog. */
  owned = false;
  /** A task sleeping in recvmsg on this socket (the wait queue). */
  waiter: Task | null = null;
  /** Bytes of the head skb a reader has already copied (a read smaller than the skb). */
  readOffset = 0;
  /** Bytes copied to user space, by where the payload was (FROM_LLC, FROM_DRAM, FROM_REMOTE). */
  readonly copiedFrom = new Float64Array(3);
  /** sk->sk_rxhash: the hash of the flow's skbs (RFS records it where the reader runs). */
  rxhash = 0;
  /** sk->sk_napi_id: the NAPI of the skbs it received (sk_mark_napi_id); 0: none yet. */
  napiId = 0;
  /** sk_ll_usec (SO_BUSY_POLL, default net.core.busy_read), sk_prefer_busy_poll, sk_busy_poll_budget (0: BUSY_POLL_BUDGET). */
  llUsec = 0;
  preferBusyPoll = false;
  busyPollBudget = 0;
  /** The epoll instance the socket was added to (its ep_poll_callback runs on sk_data_ready), or null. */
  ep: { pollCallback(sock: Socket): void } | null = null;
  readonly counters: SocketCounters = {
    rcvbufErrors: 0,
    rcvQDrop: 0,
    backlogDrop: 0,
    ofoQueue: 0,
    dupData: 0,
    acksSent: 0,
    pruneCalled: 0,
    collapsed: 0,
    collapsedBytes: 0,
    rcvPruned: 0,
  };
  /** Payload bytes / truesize of received skbs, ×256 (sk->sk_scaling_ratio, TCP_RMEM_TO_WIN_SCALE). */
  scalingRatio = 0;

  constructor(
    readonly index: number,
    readonly proto: 'tcp' | 'udp',
    /** The application that reads it (a socket exists because an application bound it). */
    readonly app: number,
    rcvbuf: number,
    readonly rcvbufMax: number,
    readonly tcp: TcpReceiver | null,
    readonly pool: PacketPool,
  ) {
    this.rcvbuf = rcvbuf;
    this.queue = new PacketQueue(pool);
    this.backlog = new PacketQueue(pool);
  }

  /** Its part of the result (`appName`: the reader's name). */
  report(appName: string): SocketResult {
    const [llc, dram, remote] = this.copiedFrom as unknown as [number, number, number];
    const copied = llc + dram + remote;
    return {
      socket: this.index,
      proto: this.proto,
      app: appName,
      rcvbuf: this.rcvbuf,
      drops: this.drops,
      rcvbuf_errors: this.counters.rcvbufErrors,
      rcvq_drops: this.counters.rcvQDrop,
      backlog_drops: this.counters.backlogDrop,
      ofo_queued: this.counters.ofoQueue,
      acks_sent: this.counters.acksSent,
      copied_bytes: copied,
      copied_llc_bytes: llc,
      copied_dram_bytes: dram,
      copied_remote_bytes: remote,
      copied_llc_pct: copied > 0 ? r2((100 * llc) / copied) : 0,
    };
  }

  /** Start of the measurement window: its drop, copy and TCP counters restart (state is kept). */
  resetWindow(): void {
    this.drops = 0;
    this.copiedFrom.fill(0);
    for (const key of Object.keys(this.counters) as (keyof SocketCounters)[]) this.counters[key] = 0;
  }

  /** Limit of the socket backlog (tcp_add_backlog, newest form): 2*rcvbuf + sndbuf/2 + 64 KB. */
  backlogLimit(): number {
    return 2 * this.rcvbuf + (TCP_SNDBUF_DEFAULT >> 1) + 64 * 1024;
  }
}

/**
 * What happened to an skb handed to a socket: it was queued (and possibly released data and
 * ACKs), or dropped, or (TCP) queued out of order.
 */
export type SocketVerdict = 'queued' | 'backlog' | 'dropped' | 'ofo' | 'ofo-dropped' | 'dup';

/** Update sk_scaling_ratio from a received skb. */
function noteRatio(sock: Socket, pool: PacketPool, row: number): void {
  const ts = pool.truesize[row]!;
  if (ts > 0) sock.scalingRatio = Math.max(1, Math.min(255, Math.floor((pool.len[row]! * 256) / ts)));
}

/**
 * __udp_enqueue_schedule_skb(): drop when rmem already exceeds rcvbuf (RcvbufErrors, InErrors,
 * sk_drops); otherwise charge truesize and queue. (The 2025 "allow at least one packet for a small
 * buffer" change only matters for tiny buffers.)
 */
export function udpEnqueue(sock: Socket, pool: PacketPool, row: number, t: number): SocketVerdict {
  if (sock.rmem > sock.rcvbuf) {
    sock.counters.rcvbufErrors++;
    sock.drops++;
    return 'dropped';
  }
  noteRatio(sock, pool, row);
  sock.rmem += pool.truesize[row]!;
  sock.queue.push(row, t);
  return 'queued';
}

/**
 * tcp_data_queue() for an skb that arrives while no reader owns the socket. In sequence: admit
 * it if tcp_try_rmem_schedule finds room (see below); if not, drop it when the queue is
 * non-empty (TCPRcvQDrop), accept it anyway when empty (sk_forced_mem_schedule: progress is
 * guaranteed); then pull the now-contiguous out-of-order skbs in. Beyond rcv_nxt: the
 * out-of-order queue (TCPOFOQueue), dropped if no room. Before rcv_nxt: a duplicate
 * (retransmission of data already received).
 */
export function tcpDataQueue(sock: Socket, pool: PacketPool, row: number, t: number, release: (row: number) => void): SocketVerdict {
  const tcp = sock.tcp!;
  const seq = pool.seq[row]!;
  const len = pool.len[row]!;
  noteRatio(sock, pool, row);
  if (seq + len <= tcp.rcvNxt) {
    sock.counters.dupData++;
    return 'dup';
  }
  if (seq > tcp.rcvNxt) {
    if (!tcpTryRmemSchedule(sock, pool)) {
      sock.counters.rcvQDrop++; // TCPOFODrop in the kernel; counted with RcvQDrop here
      sock.drops++;
      return 'ofo-dropped';
    }
    sock.counters.ofoQueue++;
    let i = tcp.ofo.length;
    while (i > 0 && pool.seq[tcp.ofo[i - 1]!]! > seq) i--;
    tcp.ofo.splice(i, 0, row);
    tcp.ofoBytes += pool.truesize[row]!;
    tcpGrowWindow(sock, pool, row); // tcp_data_queue_ofo: SACK flows grow the window too
    return 'ofo';
  }
  if (!tcpTryRmemSchedule(sock, pool)) {
    // ICSK_ACK_NOMEM | ICSK_ACK_NOW: the ACK that follows advertises a zero window.
    tcp.nomem = true;
    if (sock.queue.length > 0) {
      sock.counters.rcvQDrop++;
      sock.drops++;
      return 'dropped';
    }
  }
  queueInOrder(sock, pool, row, t);
  tcpGrowWindow(sock, pool, row); // tcp_event_data_recv
  // Pull in what the out-of-order queue now continues (tcp_ofo_queue).
  while (tcp.ofo.length > 0) {
    const o = tcp.ofo[0]!;
    const oseq = pool.seq[o]!;
    if (oseq > tcp.rcvNxt) break;
    tcp.ofo.shift();
    tcp.ofoBytes -= pool.truesize[o]!;
    if (oseq + pool.len[o]! <= tcp.rcvNxt) {
      sock.counters.dupData++;
      release(o);
      continue;
    }
    queueInOrder(sock, pool, o, t);
  }
  return 'queued';
}

/** SKB_MAX_ORDER(0, 0): the data one collapsed skb holds (a page minus skb_shared_info), and its truesize. */
const COLLAPSE_CHUNK = 3776;
const COLLAPSE_TRUESIZE = 4352;

/**
 * tcp_try_rmem_schedule(): room while rmem does not exceed rcvbuf (tcp_can_ingest). Otherwise
 * tcp_prune_queue(): while rcvbuf is below tcp_rmem[2], tcp_clamp_window raises it to what is
 * allocated (no memory pressure is modelled), and that makes room; at the maximum,
 * tcp_collapse copies the queued data into compact skbs (a page each), which costs a copy in
 * softirq but frees the truesize the RX buffers wasted; if that is not enough, RcvPruned.
 */
function tcpTryRmemSchedule(sock: Socket, pool: PacketPool): boolean {
  const tcp = sock.tcp!;
  const rmem = () => sock.rmem + tcp.ofoBytes;
  // tcp_can_ingest(), in the form 6.18.y keeps: rmem <= rcvbuf (026dfef287c0, "give up on
  // stronger sk_rcvbuf checks (for now)", in 6.18.y since March 2026). v6.18.0 shipped
  // rmem + skb->len <= rcvbuf (f017c1f768b6), after 1d2fbaad7cd8's rmem + truesize (6.17).
  if (rmem() <= sock.rcvbuf) return true;
  sock.counters.pruneCalled++;
  if (rmem() >= sock.rcvbuf && sock.rcvbuf < sock.rcvbufMax) sock.rcvbuf = Math.min(rmem(), sock.rcvbufMax);
  if (rmem() <= sock.rcvbuf) return true;
  tcp.ofoBytes -= collapse(sock, pool, tcp.ofo);
  sock.rmem -= collapse(sock, pool, queueRows(sock.queue, pool));
  if (rmem() <= sock.rcvbuf) return true;
  sock.counters.rcvPruned++;
  return false;
}

/**
 * tcp_collapse() of a run of skbs: their data is copied into new skbs of a page each, so the
 * run's truesize becomes ceil(bytes / 3776) pages' worth; each row keeps its share (rows stay
 * separate here for per-segment accounting). Skbs collapsed before are left alone. Returns the
 * truesize freed (0 if it would not help).
 */
function collapse(sock: Socket, pool: PacketPool, all: number[]): number {
  const rows = all.filter((r) => (pool.flags[r]! & COLLAPSED) === 0);
  let bytes = 0;
  let truesize = 0;
  for (const r of rows) {
    bytes += pool.len[r]!;
    truesize += pool.truesize[r]!;
  }
  const compact = Math.ceil(bytes / COLLAPSE_CHUNK) * COLLAPSE_TRUESIZE;
  if (rows.length === 0 || compact >= truesize) return 0;
  let left = compact;
  rows.forEach((r, i) => {
    const share = i === rows.length - 1 ? left : Math.floor((compact * pool.len[r]!) / bytes);
    pool.truesize[r] = share;
    pool.flags[r] = pool.flags[r]! | COLLAPSED;
    left -= share;
  });
  sock.counters.collapsed += rows.length;
  sock.counters.collapsedBytes += bytes;
  return truesize - compact;
}

/** The rows of a queue, head first. */
function queueRows(q: PacketQueue, pool: PacketPool): number[] {
  const rows: number[] = [];
  for (let r = q.head; r !== NIL; r = pool.next[r]!) rows.push(r);
  return rows;
}

function queueInOrder(sock: Socket, pool: PacketPool, row: number, t: number): void {
  const tcp = sock.tcp!;
  // A partially duplicate skb only advances rcv_nxt by its new bytes.
  tcp.rcvNxt = Math.max(tcp.rcvNxt, pool.seq[row]! + pool.len[row]!);
  sock.rmem += pool.truesize[row]!;
  sock.queue.push(row, t);
}

/** tcp_win_from_space(): the window `space` bytes of buffer give at sk_scaling_ratio. */
function winFromSpace(sock: Socket, space: number): number {
  return Math.floor((Math.max(0, space) * (sock.scalingRatio || 128)) / 256);
}

/**
 * __tcp_select_window(): the window the free space allows now. tcp_space() is the free buffer
 * as window; below half of the full space quickack mode ends, and below 1/16 of it or one mss
 * the window is 0; above rcv_ssthresh it is capped there (window_clamp follows sk_rcvbuf, as
 * tcp_rcv_space_adjust keeps it). ALIGN to the window-scale unit is left out.
 */
export function tcpSelectWindowNow(sock: Socket): number {
  const tcp = sock.tcp!;
  const allowed = winFromSpace(sock, sock.rcvbuf); // tcp_full_space
  let free = winFromSpace(sock, sock.rcvbuf - sock.rmem - sock.backlogBytes); // tcp_space
  if (free < allowed >> 1) {
    tcp.quick = 0;
    if (free < allowed >> 4 || free < tcp.mss) return 0;
  }
  if (free > tcp.rcvSsthresh) free = tcp.rcvSsthresh;
  return free;
}

/**
 * tcp_grow_window() from tcp_event_data_recv, for an in-order data skb: while rcv_ssthresh is
 * below window_clamp and the free space, and the skb's truesize is worth its length as window,
 * raise it by max(2 × advmss, 2 × skb->len) and ACK the next segment at once (quick |= 1).
 */
export function tcpGrowWindow(sock: Socket, pool: PacketPool, row: number): void {
  const tcp = sock.tcp!;
  // room = min(window_clamp, tcp_space) - rcv_ssthresh
  const room = Math.min(winFromSpace(sock, sock.rcvbuf), winFromSpace(sock, sock.rcvbuf - sock.rmem - sock.backlogBytes)) - tcp.rcvSsthresh;
  if (room <= 0) return;
  const len = pool.len[row]!;
  if (winFromSpace(sock, pool.truesize[row]!) > len) return; // __tcp_grow_window's slow path: not modelled (no growth)
  const incr = Math.max(2 * tcp.mss, 2 * len);
  tcp.rcvSsthresh += Math.min(room, incr);
  tcp.quick |= 1;
}

/**
 * tcp_select_window(): the window an ACK advertises (__tcp_select_window). After a drop for
 * memory it is 0 (ICSK_ACK_NOMEM, 8c670bdfa58e, 6.14). Otherwise, unless
 * net.ipv4.tcp_shrink_window is 1 (b650d953cd39, 6.5), the offered window never shrinks: what is
 * left of the last one (rcv_wup + rcv_wnd - rcv_nxt) is kept even when the buffer has less room
 * — the sender may fill the promised space, and the socket must then prune or drop.
 */
function selectWindow(sock: Socket): number {
  const tcp = sock.tcp!;
  if (tcp.nomem) {
    tcp.nomem = false;
    tcp.rightEdge = tcp.rcvNxt;
    return 0;
  }
  const win = tcpSelectWindowNow(sock);
  const cur = tcp.rightEdge < 0 ? 0 : Math.max(0, tcp.rightEdge - tcp.rcvNxt);
  const adv = !tcp.shrinkWindow && win < cur ? cur : win;
  tcp.rightEdge = tcp.rcvNxt + adv;
  return adv;
}

/**
 * __tcp_ack_snd_check() when data arrived. ACK at once when
 *
 *  - more than one full segment is unacknowledged and either the reader has read everything
 *    (rcv_nxt - copied_seq < sk_rcvlowat) or the window would not shrink
 *    (__tcp_select_window() >= rcv_wnd) — a reader that falls behind gets its ACKs from
 *    tcp_cleanup_rbuf after it reads, not one per two segments;
 *  - in quickack mode (a new connection's first TCP_MAX_QUICKACKS, a duplicate, a growing
 *    window), or `now` (ICSK_ACK_NOW: a drop for memory, a filled hole).
 *
 * With the socket owned by the reader and net.ipv4.tcp_backlog_ack_defer (6.7+) that ACK waits
 * for tcp_release_cb: one per backlog drain. Otherwise, with out-of-order data queued
 * (`ofoPossible`), SACKs go out at once for the first TCP_FASTRETRANS_THRESH of each rcv_nxt,
 * then are compressed (tcp_comp_sack_nr of them, a timer of 5 % of the RTT, at most
 * tcp_comp_sack_delay_ns); else tcp_send_delayed_ack (TCP_DELACK_MIN: ato settles there for a
 * bulk receiver, whose segments arrive far closer than TCP_ATO_MIN apart). Returns true if an
 * ACK was sent.
 */
export function tcpAckSndCheck(sock: Socket, at: number, now: boolean, cpu: number, ofoPossible = true): boolean {
  const tcp = sock.tcp!;
  const newData = tcp.rcvNxt - tcp.lastAck;
  const more = newData > tcp.mss && (tcp.rcvNxt - tcp.copiedSeq < RCVLOWAT || tcpSelectWindowNow(sock) >= tcp.lastWindow);
  if (more || tcp.quick > 0 || now) {
    if (sock.owned && tcp.backlogAckDefer) {
      tcp.ackDeferred = true;
      return false;
    }
    return tcpSendAck(sock, at, cpu);
  }
  if (!ofoPossible || tcp.ofo.length === 0) {
    if (newData > 0) {
      tcp.delack(at + DELACK_NS);
      tcp.delackCpu = cpu; // sk_reset_timer: the timer runs where it was armed
    }
    return false;
  }
  if (tcp.compressedAck >= tcp.compSackNr) return tcpSendAck(sock, at, cpu);
  if (tcp.compressedAckRcvNxt !== tcp.rcvNxt) {
    tcp.compressedAckRcvNxt = tcp.rcvNxt;
    tcp.dupAckCounter = 0;
  }
  if (tcp.dupAckCounter < TCP_FASTRETRANS_THRESH) {
    tcp.dupAckCounter++;
    return tcpSendAck(sock, at, cpu);
  }
  tcp.compressedAck++;
  if (tcp.compressArmed) return false;
  tcp.compressArmed = true;
  tcp.delackCpu = cpu; // HRTIMER_MODE_REL_PINNED_SOFT: it fires on this CPU
  tcp.compress(at + Math.min(tcp.compSackDelayNs, tcp.rttNs / 20));
  return false;
}

/**
 * tcp_enter_quickack_mode(TCP_MAX_QUICKACKS) (tcp_incr_quickack): ACK the next segments at once
 * — as many as half the receive window in full segments, at least 2, at most TCP_MAX_QUICKACKS.
 */
export function tcpEnterQuickack(sock: Socket): void {
  const tcp = sock.tcp!;
  const quickacks = Math.min(TCP_MAX_QUICKACKS, Math.floor(tcp.lastWindow / (2 * tcp.mss)) || 2); // tp->rcv_wnd
  if (quickacks > tcp.quick) tcp.quick = quickacks;
}

/** tcp_compressed_ack_kick(): the compression timer fired — send the SACK it held (one fewer counted as compressed). */
export function tcpCompressedAckKick(sock: Socket, at: number): boolean {
  const tcp = sock.tcp!;
  tcp.compressArmed = false;
  if (tcp.compressedAck === 0) return false;
  tcp.compressedAck--;
  return tcpSendAck(sock, at, tcp.delackCpu);
}

/** tcp_release_cb() with TCP_ACK_DEFERRED: send the ACK the backlog wanted, if one is still due. */
export function tcpReleaseCb(sock: Socket, at: number, cpu: number): boolean {
  const tcp = sock.tcp!;
  if (!tcp.ackDeferred) return false;
  tcp.ackDeferred = false;
  // inet_csk_ack_scheduled(): whatever wanted it — new data, or a hole or a drop the sender must
  // hear of (a duplicate ACK with SACK) although rcv_nxt did not move.
  return tcpSendAck(sock, at, cpu);
}

/** Ethernet (14) + IPv4 (20) + TCP with the timestamp option (32): a pure ACK's skb->len. */
export const TCP_ACK_BYTES = 66;
/** TCPOLEN_SACK_BASE (2, padded to 4 with NOPs) and TCPOLEN_SACK_PERBLOCK (8); with timestamps at most 3 blocks fit. */
const SACK_BASE = 4;
const SACK_PERBLOCK = 8;
const MAX_SACK_BLOCKS_TS = 3;

/**
 * tcp_send_ack(): an ACK for rcv_nxt with the window tcp_select_window allows, sent from CPU
 * `cpu` (the ACK leaves through the NIC: tcp_transmit_skb → dev_queue_xmit).
 */
export function tcpSendAck(sock: Socket, at: number, cpu: number): boolean {
  const tcp = sock.tcp!;
  tcp.delack(Infinity);
  if (tcp.compressedAck > 0) {
    // tcp_event_ack_sent: the held SACKs are covered by this ACK.
    tcp.mib.TcpExtTCPAckCompressed += tcp.compressedAck;
    tcp.compressedAck = 0;
  }
  if (tcp.compressArmed) {
    tcp.compressArmed = false;
    tcp.compress(Infinity);
  }
  const adv = selectWindow(sock);
  tcp.lastAck = tcp.rcvNxt;
  tcp.lastWindow = adv;
  if (tcp.quick > 0) tcp.quick--; // tcp_dec_quickack_mode
  sock.counters.acksSent++;
  const sack = sackRanges(sock.pool, tcp.ofo);
  if (tcp.xmit) {
    const blocks = sack === null ? 0 : Math.min(sack.length / 2, MAX_SACK_BLOCKS_TS);
    tcp.xmit(cpu, TCP_ACK_BYTES + (blocks > 0 ? SACK_BASE + blocks * SACK_PERBLOCK : 0));
  }
  tcp.sink.ack(at, tcp.rcvNxt, adv, sack);
  return true;
}

/**
 * tcp_cleanup_rbuf() after a read: ACK now if a delayed ACK is pending for more than a segment,
 * or if the read opened the window to at least twice what the sender may still send
 * (rcv_window_now = what the last ACK advertised minus the data received since). This window
 * update is what restarts a sender stalled by a full receive buffer.
 */
export function tcpCleanupRbuf(sock: Socket, at: number, cpu: number): boolean {
  const tcp = sock.tcp!;
  const pending = tcp.rcvNxt - tcp.lastAck;
  if (pending > tcp.mss) return tcpSendAck(sock, at, cpu);
  // "Optimize, __tcp_select_window() is not cheap": only when the window left is at most half the clamp.
  const remaining = Math.max(0, tcp.lastWindow - pending); // tcp_receive_window
  if (2 * remaining > winFromSpace(sock, sock.rcvbuf)) return false;
  const win = tcpSelectWindowNow(sock);
  if (win > 0 && win >= 2 * remaining) return tcpSendAck(sock, at, cpu);
  return false;
}

/** An skb the application has consumed: uncharge its truesize and advance copied_seq. */
export function uncharge(sock: Socket, pool: PacketPool, row: number): void {
  sock.rmem -= pool.truesize[row]!;
  if (sock.tcp) sock.tcp.copiedSeq += pool.len[row]!;
}

/**
 * tcp_rcv_space_adjust() (dynamic right-sizing), after the application copied data at `now`:
 * once per receiver RTT, if it copied more than in the previous RTT, grow sk_rcvbuf so the
 * window covers twice that (plus 16 segments, plus the growth), up to tcp_rmem[2].
 */
export function tcpRcvSpaceAdjust(sock: Socket, now: number): void {
  const tcp = sock.tcp!;
  if (now - tcp.spaceTime < tcp.rttNs) return;
  const copied = tcp.copiedSeq - tcp.spaceSeq;
  if (copied > tcp.space) {
    let rcvwin = 2 * copied + 16 * tcp.mss;
    const grow = Math.floor((rcvwin * (copied - tcp.space)) / tcp.space);
    rcvwin += 2 * grow;
    const ratio = sock.scalingRatio || 128;
    const rcvbuf = Math.min(Math.floor((rcvwin * 256) / ratio), sock.rcvbufMax);
    if (rcvbuf > sock.rcvbuf) sock.rcvbuf = rcvbuf;
    tcp.space = copied;
  }
  tcp.spaceSeq = tcp.copiedSeq;
  tcp.spaceTime = now;
}
