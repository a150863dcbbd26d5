import type { ResolvedXsk } from '../scenario/resolve.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import { FROM_DRAM, FROM_LLC, type Ddio } from './ddio.ts';
import { FCS } from './nic/driver.ts';
import { RowFifo, type PacketPool } from './packet.ts';
import type { RxAccounting } from './rx-accounting.ts';
import type { RxPages } from './rx-pages.ts';
import type { Task } from './task.ts';
import type { TraceHooks } from './trace-hooks.ts';

/**
 * An AF_XDP socket (net/xdp/xsk.c: struct xdp_sock) bound to one RX queue of a device, with its
 * UMEM (net/xdp/xdp_umem.c) and buffer pool (net/xdp/xsk_buff_pool.c). Only the receive side is
 * modelled: the fill ring (the application hands UMEM frames to the kernel), the RX ring (the
 * kernel hands received frames to the application); the TX and completion rings carry nothing here.
 *
 * Rings hold counts and, for the RX ring, the packet rows (for the delivery accounting); each UMEM
 * frame is in exactly one place: the fill ring, the driver's RX descriptors (zero-copy), the pool's
 * free list (zero-copy: xsk_buff_free'd buffers, reused before the fill ring), the RX ring, or the
 * application (read and not yet given back).
 *
 *   copy mode (XDP_COPY, xsk_rcv → __xsk_rcv): a UMEM frame is taken from the fill ring
 *     (xsk_buff_alloc; none: rx_dropped, and the fill ring's queue_empty_descs), the frame is
 *     copied into it and its descriptor reserved on the RX ring (full: rx_queue_full), the
 *     driver's buffer is returned (xdp_return_buff);
 *   zero-copy (XDP_ZEROCOPY, xsk_rcv_zc): the frame is already in a UMEM frame the driver took from
 *     the fill ring when it refilled its ring (rx-xsk-pool.ts); only the descriptor is posted (RX
 *     ring full: rx_queue_full, and the buffer goes to the pool's free list: xsk_buff_free — or,
 *     with need_wakeup, the driver stops its clean loop and leaves the frame on its descriptor:
 *     IXGBE_XDP_EXIT, xskmap.ts).
 *
 * Descriptors are published to the application at xsk_flush (xdp_do_flush at the end of the poll:
 * xskq_prod_submit, sock_def_readable).
 */

/** struct sockaddr_xdp sxdp_flags (include/uapi/linux/if_xdp.h). */
export const XDP_COPY = 1 << 1;
export const XDP_ZEROCOPY = 1 << 2;
export const XDP_USE_NEED_WAKEUP = 1 << 3;
/** The ring flag the driver sets for the application (struct xdp_ring.flags). */
export const XDP_RING_NEED_WAKEUP = 1 << 0;

/** getsockopt(XDP_STATISTICS): struct xdp_statistics (include/uapi/linux/if_xdp.h), and the socket in the result. */
export interface XskResult {
  app: string;
  dev: string;
  queue: number;
  mode: 'copy' | 'zerocopy';
  need_wakeup: boolean;
  /** struct xdp_statistics, as xsk_getsockopt(XDP_STATISTICS) fills it. */
  stats: {
    rx_dropped: number;
    rx_invalid_descs: number;
    tx_invalid_descs: number;
    rx_ring_full: number;
    rx_fill_ring_empty_descs: number;
    tx_ring_empty_descs: number;
  };
  /** Frames the kernel posted on the RX ring, and the application read (per second over the window). */
  rx_packets: number;
  app_packets: number;
  app_pps: number;
  /** The application's system calls (recvfrom/poll: xsk_recvmsg, xsk_poll) and those that woke the driver (ndo_xsk_wakeup). */
  syscalls: number;
  wakeups: number;
}

/** What a socket needs from the machine. */
export interface XskHost {
  readonly sim: { readonly now: number };
  readonly pool: PacketPool;
  readonly costs: CostTable;
  readonly accounting: Pick<RxAccounting, 'drop' | 'xskHold'>;
  readonly pages: Pick<RxPages, 'putRow'>;
  readonly ddio: Pick<Ddio, 'locate'>;
  readonly trace: TraceHooks | null;
  readonly sched: { wakeUp(task: Task, wakerCpu: number): boolean };
}

export class XskSocket {
  /** Fill ring entries the application produced and the kernel has not consumed. */
  fq = 0;
  /** Zero-copy: UMEM frames on the driver's RX descriptors, and xsk_buff_free'd ones on the pool's free list. */
  driverPosted = 0;
  freeList = 0;
  /** UMEM frames the application holds (read, or never put in the fill ring). */
  appHeld: number;
  /** The RX ring's frames (rows), of which `rxVisible` are published (xskq_prod_submit). */
  readonly rx: RowFifo;
  rxVisible = 0;
  /** The fill ring's XDP_RING_NEED_WAKEUP flag (zero-copy with XDP_USE_NEED_WAKEUP). */
  needWakeupFlag = false;
  /** On this poll's flush list (__xsk_map_redirect: xs->flush_node). */
  onFlushList = false;
  /** The application asleep in poll() on the socket. */
  waiter: Task | null = null;
  /** struct xdp_sock's counters and the fill ring's queue_empty_descs (since the window). */
  rxDropped = 0;
  rxQueueFull = 0;
  fqEmptyDescs = 0;
  rxPackets = 0;
  appPackets = 0;
  syscalls = 0;
  wakeups = 0;
  readonly zeroCopy: boolean;
  readonly needWakeup: boolean;
  /** The NAPI id of the RX queue the socket is bound to (set at bind): one per (device, queue), so it names xs->dev and xs->queue_id. */
  rxqNapiId = -1;

  constructor(
    private readonly k: XskHost,
    readonly cfg: ResolvedXsk,
    readonly app: string,
    readonly dev: string,
  ) {
    this.rx = new RowFifo(k.pool);
    this.zeroCopy = cfg.zeroCopy;
    this.needWakeup = cfg.needWakeup;
    // xsk_populate_fill_ring (xdpsock): as many frames as the fill ring takes.
    this.fq = Math.min(cfg.frames, cfg.fillSize);
    this.appHeld = cfg.frames - this.fq;
  }

  /**
   * xsk_rcv_check: a frame longer than a UMEM chunk cannot be received (no multi-buffer here):
   * rx_dropped, -ENOSPC.
   */
  private fits(row: number): boolean {
    return this.k.pool.size[row]! - FCS <= this.cfg.frameSize - XDP_PACKET_HEADROOM;
  }

  /**
   * xsk_rcv_check: a frame received on another device or queue than the socket's
   * (xs->dev != xdp->rxq->dev || xs->queue_id != xdp->rxq->queue_index) is refused with -EINVAL,
   * no counter moved. The frame's rxq is the NAPI of the ring it was cleaned from (pool.napiId,
   * set by the poller before XDP runs).
   */
  private boundTo(row: number): boolean {
    return this.k.pool.napiId[row] === this.rxqNapiId;
  }

  /** The error of the last refused rcv (-EINVAL, -ENOBUFS, -ENOMEM, -ENOSPC), for the tracepoint. */
  lastErr = 0;

  /**
   * __xsk_map_redirect → xsk_rcv for the frame in `row` on `cpu`: its cost, or -1 - cost when the
   * socket refused it (the caller drops it as the driver does on a failed xdp_do_redirect).
   */
  rcv(cpu: Cpu, row: number): number {
    const k = this.k;
    const c = k.costs;
    if (!this.boundTo(row)) {
      // Before any pool accounting: the buffer stays the driver's, which recycles it (out_failure).
      this.lastErr = -EINVAL;
      return -1;
    }
    if (!this.fits(row)) {
      this.lastErr = -ENOSPC;
      this.rxDropped++;
      return -1 - c.xsk_rcv_zc;
    }
    if (this.zeroCopy) {
      // xsk_rcv_zc → __xsk_rcv_zc: xskq_prod_reserve_desc, or rx_queue_full and xsk_buff_free.
      if (this.rx.length >= this.cfg.rxSize) {
        this.lastErr = -ENOBUFS;
        this.rxQueueFull++;
        return -1 - c.xsk_rcv_zc;
      }
      this.freeList--; // the buffer the driver took (xsk-pool.ts) goes to the RX ring, not back to the pool
      this.post(row);
      return c.xsk_rcv_zc;
    }
    // __xsk_rcv: xsk_buff_alloc from the fill ring (xp_alloc: queue_empty_descs when there is none).
    if (this.fq === 0) {
      this.lastErr = -ENOMEM;
      this.fqEmptyDescs++;
      this.rxDropped++;
      return -1 - c.xsk_rcv;
    }
    const len = k.pool.size[row]! - FCS;
    const from = k.ddio.locate(row, cpu.id);
    const copy = Math.round((len * (from === FROM_LLC ? c.copy_kb_llc : from === FROM_DRAM ? c.copy_kb_dram : c.copy_kb_remote)) / 1024);
    if (this.rx.length >= this.cfg.rxSize) {
      // __xsk_rcv_zc fails after the copy: rx_queue_full, the UMEM frame freed back (xsk_buff_free).
      this.lastErr = -ENOBUFS;
      this.rxQueueFull++;
      return -1 - (c.xsk_rcv + copy);
    }
    this.fq--;
    // xdp_return_buff(): the driver's page goes back now; the frame lives on in the UMEM.
    k.pages.putRow(row, cpu.id, true, true);
    this.post(row);
    return c.xsk_rcv + copy;
  }

  private post(row: number): void {
    const k = this.k;
    // Posted within the poll, after the clean loop reached the frame (its tPoll).
    k.pool.tSocket[row] = Math.max(k.sim.now, k.pool.tPoll[row]!);
    this.rx.push(row);
    this.rxPackets++;
    k.accounting.xskHold(row);
  }

  /** xsk_flush(): the RX ring's new descriptors published, the fill ring released, sock_def_readable (wakes a poll() sleeper). */
  flush(cpu: Cpu): void {
    this.onFlushList = false;
    this.rxVisible = this.rx.length;
    const w = this.waiter;
    if (w !== null && this.rxVisible > 0) {
      this.waiter = null;
      this.k.sched.wakeUp(w, cpu.id);
    }
  }

  resetWindow(): void {
    this.rxDropped = this.rxQueueFull = this.fqEmptyDescs = this.rxPackets = this.appPackets = this.syscalls = this.wakeups = 0;
  }

  report(windowNs: number): XskResult {
    return {
      app: this.app,
      dev: this.dev,
      queue: this.cfg.queue,
      mode: this.zeroCopy ? 'zerocopy' : 'copy',
      need_wakeup: this.needWakeup,
      stats: {
        rx_dropped: this.rxDropped,
        rx_invalid_descs: 0,
        tx_invalid_descs: 0,
        rx_ring_full: this.rxQueueFull,
        rx_fill_ring_empty_descs: this.fqEmptyDescs,
        tx_ring_empty_descs: 0,
      },
      rx_packets: this.rxPackets,
      app_packets: this.appPackets,
      app_pps: windowNs > 0 ? Math.round((this.appPackets * 1e9) / windowNs) : 0,
      syscalls: this.syscalls,
      wakeups: this.wakeups,
    };
  }
}

/** errno values xsk_rcv returns (include/uapi/asm-generic/errno-base.h, errno.h). */
const ENOMEM = 12;
const EINVAL = 22;
const ENOSPC = 28;
export const ENOBUFS = 105;

/** XDP_PACKET_HEADROOM (include/uapi/linux/bpf.h): the UMEM frame's headroom before the packet. */
export const XDP_PACKET_HEADROOM = 256;
