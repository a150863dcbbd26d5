import type { ResolvedDevMap } from '../scenario/resolve.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import { FCS } from './nic/driver.ts';
import type { PacketPool } from './packet.ts';
import type { RxAccounting } from './rx-accounting.ts';
import type { TraceHooks } from './trace-hooks.ts';
import { genericXdpTxDropped, XDP_ACTION_NAMES, XDP_REDIRECT, type XdpRedirectMap } from './xdp.ts';

/**
 * The devmap (kernel/bpf/devmap.c, BPF_MAP_TYPE_DEVMAP): XDP_REDIRECT of raw frames out of
 * another device.
 *
 *   bpf_redirect_map(&tx_port, key, 0) → xdp_do_redirect → dev_map_enqueue → bq_enqueue: the frame
 *   joins this CPU's bulk queue for the device (DEV_MAP_BULK_SIZE 16; a full one is sent first);
 *   xdp_do_flush → __dev_flush → bq_xmit_all: one ndo_xdp_xmit(dev, n, frames, XDP_XMIT_FLUSH) per
 *   bulk queue, trace_xdp_devmap_xmit(sent, drops). ixgbe_xdp_xmit / ice_xdp_xmit post the frames
 *   on the XDP TX ring of this CPU (ixgbe_determine_xdp_ring: smp_processor_id() modulo the
 *   rings; here the TX ring of that queue pair) and write the tail once. A device without an
 *   XDP program does not advertise NETDEV_XDP_ACT_NDO_XMIT: __xdp_enqueue refuses each frame
 *   (-EOPNOTSUPP) and the driver drops it as any failed redirect (no bulk queue, no
 *   ndo_xdp_xmit; ixgbe_xdp_xmit's own -ENXIO for a missing ring is then never reached).
 *
 * An XDP TX ring holds the TX ring's size less one descriptor (ixgbe_xmit_xdp_ring refuses when
 * !ixgbe_desc_unused): ndo_xdp_xmit sends what fits and bq_xmit_all frees the rest as drops.
 * Sent frames leave the receive path as XDP_TX's do (packets.xdp_tx); until their bulk queue is
 * sent they are in packets.xdp_redirect.
 *
 * From generic XDP (xdp_do_generic_redirect → dev_map_generic_redirect) there is no bulk queue
 * and no ndo_xdp_xmit: xdp_ok_fwd_dev (the device is up, the frame fits its MTU), skb->dev set to
 * the target and generic_xdp_tx() — netdev_core_pick_tx and netdev_start_xmit of this one skb on
 * the device's ordinary TX queues, which every device has (no XDP program needed on the target).
 * trace_xdp_devmap_xmit does not fire (bq_xmit_all is not called), so the entry's xmit sums stay 0.
 */

/** EOPNOTSUPP (include/uapi/asm-generic/errno.h). */
const EOPNOTSUPP = 95;

/** DEV_MAP_BULK_SIZE (include/net/xdp.h: XDP_BULK_QUEUE_SIZE). */
export const DEV_MAP_BULK_SIZE = 16;

/** A device a devmap transmits on: its name, TX rings, whether an XDP program is loaded, ndo_xdp_xmit's posting. */
export interface XdpXmitDevice {
  readonly name: string;
  readonly txQueues: number;
  /** ixgbe/ice allocate XDP TX rings only with a program attached (adapter->xdp_prog). */
  hasXdpRings(): boolean;
  /** ndo_xdp_xmit of the frame in `row`: its page goes with it to the TX ring until the completion. False: the XDP TX ring is full, nothing posted. */
  xmitXdp(queue: number, len: number, t: number, row: number): boolean;
  /** generic_xdp_tx() of the skb in `row` sent from `cpu` (skb->hash `hash`, recorded RX queue `rxQueue`): netdev_core_pick_tx, then the TX ring; its page goes with it. False: the queue is stopped, nothing posted. */
  xmitGenericXdp(cpu: number, hash: number, rxQueue: number, len: number, t: number, row: number): boolean;
}

export interface DevMapHost {
  readonly sim: { readonly now: number };
  readonly pool: PacketPool;
  readonly costs: CostTable;
  readonly accounting: RxAccounting;
  readonly trace: TraceHooks | null;
  /** The machine's devices, by NIC index (looked up at transmit time). */
  xmitDevice(nic: number): XdpXmitDevice;
  /** The device a frame was received on (bq->dev_rx). */
  rxDeviceName(row: number): string;
  /** The RX queue the driver recorded on the skb of `row` (skb_record_rx_queue). */
  recordedRxQueue(row: number): number;
}

/** An entry in the result: the device and trace_xdp_devmap_xmit's sums. */
export interface DevMapEntryResult {
  dev: string;
  xmit: { calls: number; sent: number; drops: number };
}

export class DevMap implements XdpRedirectMap {
  readonly keys: readonly number[];
  private readonly ncpus: number;
  /** Per entry × source CPU: frames in this poll's bulk queues, the current one's fill, on the flush list. */
  private readonly pending: number[][];
  private readonly bqCount: Int32Array;
  private readonly onFlushList: Uint8Array;
  /** Per source CPU: entries with frames (the per-CPU flush list). */
  private readonly flushList: number[][];
  private readonly calls: Float64Array;
  private readonly sent: Float64Array;
  private readonly drops: Float64Array;
  /** The error of the last enqueue(): 0, or -EOPNOTSUPP for a target that cannot take XDP frames. */
  lastErr = 0;

  constructor(
    private readonly k: DevMapHost,
    readonly map: ResolvedDevMap,
    ncpus: number,
  ) {
    const n = map.entries.length;
    this.ncpus = ncpus;
    this.keys = map.entries.map((_, i) => i);
    this.pending = Array.from({ length: n * ncpus }, () => []);
    this.bqCount = new Int32Array(n * ncpus);
    this.onFlushList = new Uint8Array(n * ncpus);
    this.flushList = Array.from({ length: ncpus }, () => []);
    this.calls = new Float64Array(n);
    this.sent = new Float64Array(n);
    this.drops = new Float64Array(n);
  }

  get id(): number {
    return this.map.id;
  }

  /** The entry's device (xdp_redirect's to_ifindex). */
  targetName(entry: number): string {
    return this.k.xmitDevice(this.map.entries[entry]!.nic).name;
  }

  /** __dev_map_lookup_elem(): the entry at index `key`, or -1. */
  lookup(key: number): number {
    return key >= 0 && key < this.keys.length ? key : -1;
  }

  /**
   * __xdp_enqueue() (kernel/bpf/devmap.c): a device without NETDEV_XDP_ACT_NDO_XMIT refuses the
   * frame (-EOPNOTSUPP) before bq_enqueue — ixgbe and ice set it only while a program is
   * attached (xdp_features_set_redirect_target in ixgbe_xdp_setup, ice_xdp_setup_prog) — and
   * xdp_do_redirect fails in the driver's loop: out_failure, trace_xdp_exception, the page
   * recycled at once (returns -1 - cost, as a refused redirect does; the error in lastErr).
   * Else bq_enqueue(): a bulk queue already holding DEV_MAP_BULK_SIZE frames is sent first (its
   * cost here; its frames leave at the end of the poll).
   */
  enqueue(cpu: Cpu, entry: number, row: number): number {
    if (!this.k.xmitDevice(this.map.entries[entry]!.nic).hasXdpRings()) return this.refuse(cpu, row);
    this.lastErr = 0;
    const slot = entry * this.ncpus + cpu.id;
    let cost = 0;
    if (this.bqCount[slot] === DEV_MAP_BULK_SIZE) {
      // bq_xmit_all(bq, 0): without XDP_XMIT_FLUSH the driver posts the descriptors and leaves
      // the tail for __dev_flush (ixgbe_xdp_xmit, ice_xdp_xmit: `if (unlikely(flags & XDP_XMIT_FLUSH))`).
      cost = this.xmitCost(DEV_MAP_BULK_SIZE, false);
      this.bqCount[slot] = 0;
    }
    if (this.onFlushList[slot] === 0) {
      this.onFlushList[slot] = 1;
      this.flushList[cpu.id]!.push(entry);
    }
    this.pending[slot]!.push(row);
    this.bqCount[slot]!++;
    this.k.accounting.xdpRedirectHold(row);
    return cost;
  }

  /** ixgbe_run_xdp's out_failure for a redirect __xdp_enqueue refused: trace_xdp_exception and the frame dropped, no bulk queue. */
  private refuse(cpu: Cpu, row: number): number {
    const k = this.k;
    this.lastErr = -EOPNOTSUPP;
    k.trace?.xdpException?.(cpu.id, k.rxDeviceName(row), XDP_ACTION_NAMES[XDP_REDIRECT]);
    k.accounting.drop(row, 'devmap', cpu.id);
    return -1;
  }

  /** One ndo_xdp_xmit of `n` frames: a descriptor each, and the tail write only with XDP_XMIT_FLUSH. */
  private xmitCost(n: number, flush: boolean): number {
    return (flush ? this.k.costs.xdp_tx_tail : 0) + n * this.k.costs.xdp_tx;
  }

  /** __dev_flush(): bq_xmit_all(bq, XDP_XMIT_FLUSH) per bulk queue on this CPU's flush list — its frames and one tail write. */
  flushCost(cpu: Cpu): number {
    let cost = 0;
    for (const e of this.flushList[cpu.id]!) cost += this.xmitCost(this.bqCount[e * this.ncpus + cpu.id]!, true);
    return cost;
  }

  /** __dev_flush(): every bulk queue of this CPU's flush list sent, DEV_MAP_BULK_SIZE frames per ndo_xdp_xmit. */
  flush(cpu: Cpu): void {
    const list = this.flushList[cpu.id]!;
    for (const e of list) {
      const slot = e * this.ncpus + cpu.id;
      const rows = this.pending[slot]!;
      for (let at = 0; at < rows.length; at += DEV_MAP_BULK_SIZE) this.bqXmitAll(e, cpu, rows, at, Math.min(rows.length, at + DEV_MAP_BULK_SIZE));
      rows.length = 0;
      this.bqCount[slot] = 0;
      this.onFlushList[slot] = 0;
    }
    list.length = 0;
  }

  /**
   * bq_xmit_all(): ndo_xdp_xmit on the entry's device. ixgbe_xdp_xmit / ice_xdp_xmit stop at the
   * first frame the XDP TX ring has no room for and return how many they sent; bq_xmit_all frees
   * the rest (xdp_return_frame_rx_napi) and reports them as drops in trace_xdp_devmap_xmit.
   */
  private bqXmitAll(e: number, cpu: Cpu, rows: number[], from: number, to: number): void {
    const k = this.k;
    const nic = this.map.entries[e]!.nic;
    const dev = k.xmitDevice(nic);
    const queue = cpu.id % dev.txQueues;
    const now = k.sim.now;
    const from0 = k.trace?.xdpDevmapXmit ? k.rxDeviceName(rows[from]!) : ''; // before the rows are freed
    let sent = 0;
    for (let i = from; i < to; i++) {
      const row = rows[i]!;
      k.accounting.xdpRedirectRelease(row);
      // The ring only fills within one call (nothing is cleaned meanwhile): after a refusal every later frame is refused too.
      if (sent === i - from && dev.xmitXdp(queue, k.pool.size[row]! - FCS, now, row)) {
        k.accounting.xdpTxed(row, nic, false);
        sent++;
      } else k.accounting.drop(row, 'devmap', cpu.id);
    }
    const n = to - from;
    this.calls[e]!++;
    this.sent[e]! += sent;
    this.drops[e]! += n - sent;
    if (k.trace?.xdpDevmapXmit) k.trace.xdpDevmapXmit(cpu.id, from0, dev.name, sent, n - sent);
  }

  /** dev_map_generic_redirect's cost besides xdp_redirect: generic_xdp_tx, one netdev_start_xmit per skb (a descriptor and its own tail write, as generic XDP_TX). */
  genericCost(): number {
    return this.xmitCost(1, true);
  }

  /**
   * dev_map_generic_redirect() (kernel/bpf/devmap.c): xdp_ok_fwd_dev passes (devices are up, no
   * frame exceeds an MTU here), skb->dev = the entry's device, generic_xdp_tx(): the skb leaves
   * on the queue netdev_core_pick_tx gives, or — that queue stopped — generic_xdp_tx drops it
   * itself (trace_xdp_exception, tx_dropped, kfree_skb). The redirect succeeded either way
   * (generic_xdp_tx returns nothing): true.
   */
  genericRedirect(cpu: Cpu, entry: number, row: number, t: number): boolean {
    const k = this.k;
    const pool = k.pool;
    const nic = this.map.entries[entry]!.nic;
    const dev = k.xmitDevice(nic);
    if (dev.xmitGenericXdp(cpu.id, pool.hash[row]!, k.recordedRxQueue(row), pool.size[row]! - FCS, t, row)) k.accounting.xdpTxed(row, nic, true);
    else genericXdpTxDropped(k, cpu, dev.name, row);
    return true;
  }

  resetWindow(): void {
    this.calls.fill(0);
    this.sent.fill(0);
    this.drops.fill(0);
  }

  report(): { name: string; id: number; type: 'devmap'; entries: DevMapEntryResult[] } {
    return {
      name: this.map.name,
      id: this.map.id,
      type: 'devmap',
      entries: this.map.entries.map((en, i) => ({ dev: this.k.xmitDevice(en.nic).name, xmit: { calls: this.calls[i]!, sent: this.sent[i]!, drops: this.drops[i]! } })),
    };
  }
}
