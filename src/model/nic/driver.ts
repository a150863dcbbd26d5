import type { SysctlValues } from '../../scenario/sysctl.ts';
import type { Cpu } from '../cpu.ts';
import type { Ddio } from '../ddio.ts';
import { Gro } from '../gro.ts';
import { napiCompleteDone, type Napi, type NapiHost, type NapiPoller } from '../napi.ts';
import { NIL, type PacketPool } from '../packet.ts';
import type { RpsChoice, RpsDevFlowTable, RxQueueRps } from '../rps.ts';
import type { RxBuffers, RxPages } from '../rx-pages.ts';
import { groFlushNormal, groNormalList, handUp, RxBatch, type RxPath } from '../rx-batch.ts';
import { FOLLOW } from '../trace-hooks.ts';
import type { MsixVector } from './msix.ts';
import type { RxQueue } from './rx-queue.ts';
import type { TxRing } from './tx-ring.ts';

/** What a driver's poll needs from the rest of the machine. */
export interface DriverHost extends NapiHost {
  readonly pool: PacketPool;
  readonly sysctl: NapiHost['sysctl'] & Pick<SysctlValues, 'net.core.gro_normal_batch'>;
  readonly path: RxPath;
  readonly rps: NapiHost['rps'] & {
    choice(rps: RxQueueRps, row: number): RpsChoice;
    enqueueBacklog(from: Cpu, target: number, row: number, flows: RpsDevFlowTable | null, slot: number, now: number): void;
  };
  readonly ddio: Pick<Ddio, 'nodeOf'>;
  readonly pages: Pick<RxPages, 'put'>;
}

/**
 * A hook in the driver's RX clean loop, before the skb is built (where native XDP runs on the
 * xdp_buff): it sees each cleaned frame and either passes it on (to GRO and the stack) or consumes
 * it (drop: its rows freed; TX or redirect: queued elsewhere). `cost` is its CPU time for the frame.
 */
export interface RxHook {
  /** `exit`: the frame was not consumed and must stay on the ring, and the clean loop stop (an AF_XDP zero-copy driver's IXGBE_XDP_EXIT). */
  run(cpu: Cpu, row: number, t: number): { consumed: boolean; cost: number; exit?: boolean };
  /** The end of the clean loop (native XDP's TX tail write, xdp_do_flush): its cost. */
  endPoll?(cpu: Cpu): number;
  /** After the poll's time is spent, before napi_complete_done (xdp_do_flush's effects: frames to the cpumap rings, kthreads woken). */
  afterPoll?(cpu: Cpu): void;
}

/** FCS bytes: stripped by the NIC, so not in skb->len (rx_bytes) nor DMA'd. */
export const FCS = 4;

/**
 * The driver side of one queue vector: its NAPI poll function, modelled on ixgbe_poll() and
 * ixgbe_clean_rx_irq() (ice_napi_poll and the generic driver share the structure):
 *
 *   first clean the TX ring of the pair (ixgbe_clean_tx_irq): free the completions written back
 *   so far, at most q_vector->tx.work_limit (256) of them whatever the NAPI budget — TX work
 *   does not count against it — and if that limit was reached, the poll is not complete;
 *   then clean up to `budget` RX frames; at the top of each iteration give descriptors back once
 *   IXGBE_RX_BUFFER_WRITE (16) have been cleaned; stop at the first descriptor whose write-back
 *   is not done; hand each frame up (napi_gro_receive → netif_receive_skb). If the budget was
 *   used or TX cleaning was cut short, return the budget (stay on the poll list). Otherwise
 *   napi_complete_done(); if that returns true, update the adaptive ITR (both ring containers)
 *   and unmask the vector; return min(work, budget - 1).
 *
 * The poll reads the ring as it goes: a frame whose write-back completes while the loop runs is
 * cleaned in the same poll, as on hardware. CPU cost accrues per poll, per frame and per refill.
 */
export class RxRingPoller implements NapiPoller {
  private outRows = new Int32Array(64);
  private outTimes = new Float64Array(64);
  readonly gro: Gro;
  private readonly batch = new RxBatch();
  /** Hooks run on each cleaned frame before the skb exists (XDP's place), in order. */
  readonly rxHooks: RxHook[] = [];
  /**
   * The part of rx_descriptor a hook charges itself: with an XDP program attached the driver
   * builds the skb (build_skb) only for XDP_PASS, after the program ran (ixgbe_clean_rx_irq).
   */
  skbBuiltByHook = false;
  /** The ring's RX buffers and their pages (set by the device once its NAPI exists: a page_pool knows its NAPI). */
  buffers!: RxBuffers;

  constructor(
    private readonly k: DriverHost,
    private readonly queue: RxQueue,
    private readonly vector: MsixVector,
    /** The TX ring of the queue pair, cleaned first in each poll. */
    readonly txRing: TxRing,
    /** q_vector->tx.work_limit. */
    private readonly txWorkLimit: number,
    private readonly linkGbps: number,
    /** This RX queue's rps_cpus / rps_flow_cnt. */
    readonly rps: RxQueueRps,
    groEnabled: boolean,
    groTcpFlows: Uint8Array,
  ) {
    this.gro = new Gro(k.pool, k.costs, groTcpFlows, groEnabled, k.sysctl['net.core.gro_normal_batch'], (rows, t) => {
      for (const row of rows) k.path.steer(this.batch, this.rps, row, t);
    });
    this.gro.follow = k.trace?.follow ?? null;
  }

  /**
   * Clean up to `limit` frames on `cpu` starting at now + `cost0`; returns the count, the frames
   * in outRows/outTimes, and the cost.
   */
  private cleanRxIrq(cpu: Cpu, limit: number, cost0: number, perFrame: number): { cleaned: number; bytes: number; cost: number } {
    const k = this.k;
    const q = this.queue;
    const t0 = k.sim.now;
    if (this.outRows.length < limit) {
      this.outRows = new Int32Array(limit);
      this.outTimes = new Float64Array(limit);
    }
    let cost = cost0;
    let cleaned = 0;
    let bytes = 0;
    const refillBatch = q.refillBatch;
    while (cleaned < limit) {
      if (q.unrefilled >= refillBatch) {
        const buffers = this.buffers;
        if (buffers.limit === undefined) {
          const n = q.refill(t0 + cost);
          // ixgbe_alloc_rx_buffers: the buffers just posted are pages of this CPU's node.
          q.bufferNode = k.ddio.nodeOf(cpu.id);
          // Each descriptor's write, and the pages the driver had to find for the buffers it did not reuse.
          cost += k.costs.refill_batch + n * k.costs.refill_buffer + this.buffers.refill(n, cpu.id);
        } else cost += this.refillZc(q, t0 + cost, buffers.limit(q.unrefilled));
      }
      const row = q.clean(t0 + cost);
      if (row === NIL) break;
      this.buffers.clean(row, cpu.id); // ixgbe_get_rx_buffer … ixgbe_put_rx_buffer
      cost += perFrame;
      this.outRows[cleaned] = row;
      this.outTimes[cleaned] = t0 + cost;
      const len = k.pool.size[row]! - FCS;
      bytes += len;
      cleaned++;
    }
    q.packets += cleaned;
    q.bytes += bytes;
    return { cleaned, bytes, cost };
  }

  /**
   * ixgbe_alloc_rx_buffers_zc: descriptors posted with the UMEM buffers xsk_buff_alloc found
   * (rx-xsk-pool.ts); one tail write if any were. The UMEM's node does not change.
   */
  private refillZc(q: RxQueue, t: number, got: number): number {
    const c = this.k.costs;
    if (got === 0) return c.xsk_buff_alloc; // the one xsk_buff_alloc that found nothing
    q.refill(t, got);
    return c.refill_batch + got * (c.refill_buffer + c.xsk_buff_alloc);
  }

  *poll(cpu: Cpu, budget: number, napi: Napi): Generator<number, number, void> {
    const k = this.k;
    const c = k.costs;
    // ixgbe_poll(): ixgbe_clean_tx_irq() for the TX ring first, then the RX ring.
    const txCleaned = this.txRing.clean(k.sim.now + c.napi_poll, c.tx_clean, this.txWorkLimit);
    this.returnXdpTxPages(cpu.id, true);
    const txCost = txCleaned * c.tx_clean;
    if (txCleaned > 0) this.vector.moderation.countTxCleaned(txCleaned, this.txRing.lastBytes);
    // ixgbe_clean_tx_irq() returns !!budget: work left when the work limit ran out.
    const txComplete = txCleaned < this.txWorkLimit;
    const perFrame = this.skbBuiltByHook ? c.rx_descriptor - c.build_skb : c.rx_descriptor;
    const jiffies = k.jiffies.now();
    const hooks = this.rxHooks;
    let r: { cleaned: number; bytes: number; cost: number };
    let groCost = 0;
    if (this.buffers.limit !== undefined && hooks.length > 0) {
      r = this.cleanRxIrqZc(cpu, budget, c.napi_poll + txCost, perFrame, napi, jiffies);
      groCost = this.zcGroCost;
    } else {
      r = this.cleanRxIrq(cpu, budget, c.napi_poll + txCost, perFrame);
      // napi_gro_receive() for each frame, at the time the clean loop handed it up (after the
      // hooks that run on the raw buffer, if any).
      for (let i = 0; i < r.cleaned; i++) groCost += this.receiveFrame(cpu, napi, this.outRows[i]!, i, this.outTimes[i]! + groCost, jiffies);
    }
    for (let h = 0; h < hooks.length; h++) groCost += hooks[h]!.endPoll?.(cpu) ?? 0;
    this.vector.moderation.countCleaned(r.cleaned, r.bytes);
    // ixgbe_clean_rx_irq_zc: without need_wakeup a failed refill returns the budget (poll again).
    const zcRepoll = this.buffers.endClean?.(this.queue.posted === 0 && this.queue.filled === 0) ?? false;
    const complete = r.cleaned < budget && txComplete && !zcRepoll;
    yield* handUp(k.path, cpu, this.batch, r.cost + groCost + (complete ? c.napi_complete : 0));
    for (let h = 0; h < hooks.length; h++) hooks[h]!.afterPoll?.(cpu);
    if (!complete) return budget;
    if (yield* napiCompleteDone(k, cpu, napi, r.cleaned)) {
      this.vector.moderation.afterCompletion(k.jiffies.now(), k.sim.now, this.linkGbps, cpu.id);
      this.vector.enable();
    }
    return Math.min(r.cleaned, budget - 1);
  }

  /**
   * One cleaned frame handed up at `t` (the `i`-th of the poll): the hooks that run on the raw
   * buffer (native XDP), then napi_gro_receive unless a hook consumed it. Its cost; `hookExit` set
   * when a hook left it on the ring.
   */
  private receiveFrame(cpu: Cpu, napi: Napi, row: number, i: number, t: number, jiffies: number): number {
    const k = this.k;
    k.pool.tPoll[row] = t;
    k.pool.allocCpu[row] = cpu.id; // napi_build_skb: skb->alloc_cpu
    k.pool.napiId[row] = napi.id; // napi_gro_receive → skb_mark_napi_id
    const follow = k.trace?.follow;
    if (follow && follow.skb === row) follow.stage(FOLLOW.POLL, t, cpu.id, napi.id, i);
    this.hookExit = false;
    if (this.rxHooks.length > 0) {
      const cost = this.runHooks(cpu, row, t);
      if (cost < 0 || this.hookExit) return cost < 0 ? -1 - cost : cost; // consumed before the skb existed, or left on the ring
      return cost + this.gro.receive(row, t, jiffies);
    }
    return this.gro.receive(row, t, jiffies);
  }

  /** The last receiveFrame() left its frame on the ring (IXGBE_XDP_EXIT). */
  private hookExit = false;
  /** cleanRxIrqZc's hook and GRO time. */
  private zcGroCost = 0;

  /**
   * ixgbe_clean_rx_irq_zc (ice_clean_rx_irq_zc alike): on a ring of AF_XDP zero-copy buffers the
   * program runs on each frame inside the clean loop, so the refill at the top of an iteration
   * finds in the pool's free list only the buffers of the frames before it that XDP dropped or
   * passed (xsk_buff_free), not those on their way to the socket. A frame the socket leaves to
   * the driver (IXGBE_XDP_EXIT: RX ring full with need_wakeup) ends the loop: `failure` is set,
   * the frame stays at next_to_clean and is not counted. The clean loop's own times are those of
   * cleanRxIrq; the hooks' and GRO's time is in zcGroCost.
   */
  private cleanRxIrqZc(cpu: Cpu, budget: number, cost0: number, perFrame: number, napi: Napi, jiffies: number): { cleaned: number; bytes: number; cost: number } {
    const q = this.queue;
    let cost = cost0;
    let groCost = 0;
    let cleaned = 0;
    let bytes = 0;
    while (cleaned < budget) {
      const one = this.cleanRxIrq(cpu, 1, cost, perFrame); // the refill at the top of the iteration, one descriptor
      cost = one.cost;
      if (one.cleaned === 0) break;
      const row = this.outRows[0]!;
      groCost += this.receiveFrame(cpu, napi, row, cleaned, this.outTimes[0]! + groCost, jiffies);
      if (this.hookExit) {
        q.unclean(row);
        q.packets--;
        q.bytes -= one.bytes;
        this.buffers.keep!();
        break;
      }
      cleaned++;
      bytes += one.bytes;
    }
    this.zcGroCost = groCost;
    return { cleaned, bytes, cost };
  }

  /** The XDP_TX frames whose completions were just cleaned give their pages back (xdp_return_frame). */
  private returnXdpTxPages(cpu: number, bh: boolean): void {
    const tx = this.txRing;
    for (let i = 0; i < tx.freedPageCount; i++) this.k.pages.put(tx.freedPages[i]!, cpu, bh, false);
    tx.freedPageCount = 0;
  }

  groHeld(): boolean {
    return this.gro.holding;
  }

  /** gro_normal_list(): hand up the rx list (busy polling, after each poll). */
  groNormalList(cpu: Cpu): Generator<number, void, void> {
    return groNormalList(this.k, this.gro, this.batch, cpu);
  }

  /** gro_flush_normal(): hand up what GRO held, and pay for it. */
  groFlush(cpu: Cpu, flushOld: boolean): Generator<number, void, void> {
    return groFlushNormal(this.k, this.gro, this.batch, cpu, flushOld);
  }

  /** Run the RX hooks on a frame: their cost, or -1 - cost if one consumed it (no closure on the per-frame path). */
  private runHooks(cpu: Cpu, row: number, t: number): number {
    let cost = 0;
    for (const hook of this.rxHooks) {
      const v = hook.run(cpu, row, t);
      cost += v.cost;
      if (v.consumed) return -1 - cost;
      if (v.exit === true) {
        this.hookExit = true;
        return cost;
      }
    }
    return cost;
  }

  /**
   * A pre-NAPI driver's interrupt handler (rx_mode "netif_rx"): clean the whole ring in hard IRQ
   * context (old ISRs looped until it was empty, e.g. e1000's E1000_MAX_INTR loop), netif_rx()
   * each frame into a backlog (this CPU's, or the RPS CPU: netif_rx_internal), and unmask the
   * interrupt before returning. Protocol work waits for NET_RX, which a steady stream of
   * interrupts can starve: receive livelock.
   */
  *legacyInterrupt(cpu: Cpu): Generator<number, void, void> {
    const k = this.k;
    const c = k.costs;
    // Old ISRs cleaned the TX ring in the same handler (e1000_intr → e1000_clean_tx_irq).
    const t0 = k.sim.now + c.hardirq_entry_exit + c.irq_handler;
    const txCost = this.txRing.clean(t0, c.tx_clean, this.txRing.pending) * c.tx_clean;
    this.returnXdpTxPages(cpu.id, false);
    const r = this.cleanRxIrq(cpu, this.queue.size, c.hardirq_entry_exit + c.irq_handler + txCost, c.rx_descriptor + c.netif_rx);
    yield r.cost;
    for (let i = 0; i < r.cleaned; i++) {
      const row = this.outRows[i]!;
      k.pool.tPoll[row] = this.outTimes[i]!;
      k.pool.allocCpu[row] = cpu.id;
      const follow = k.trace?.follow;
      if (follow && follow.skb === row) follow.stage(FOLLOW.POLL, this.outTimes[i]!, cpu.id, 0, i);
      // netif_rx_internal(): the RPS CPU's backlog, or this CPU's.
      const choice = k.rps.choice(this.rps, row);
      k.rps.enqueueBacklog(cpu, choice.cpu >= 0 ? choice.cpu : cpu.id, row, choice.flows, choice.slot, k.sim.now);
    }
    this.vector.enable();
  }
}
