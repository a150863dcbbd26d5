import type { Cpu } from '../cpu.ts';
import { Gro } from '../gro.ts';
import type { Kernel } from '../kernel.ts';
import { napiCompleteDone, type Napi, type NapiPoller } from '../napi.ts';
import { NIL } from '../packet.ts';
import type { RxQueueRps } from '../rps.ts';
import { RxBatch } from '../stack.ts';
import type { MsixVector } from './msix.ts';
import type { RxQueue } from './rx-queue.ts';

/** FCS bytes: stripped by the NIC, so not in skb->len (rx_bytes). */
const FCS = 4;

/**
 * The driver side of one queue vector: its NAPI poll function, modelled on ixgbe_poll() and
 * ixgbe_clean_rx_irq() (ice and the generic driver share the structure):
 *
 *   clean up to `budget` frames; at the top of each iteration give descriptors back once
 *   IXGBE_RX_BUFFER_WRITE (16) have been cleaned; stop at the first descriptor whose write-back
 *   is not done; hand each frame up (napi_gro_receive → netif_receive_skb). If the budget was
 *   used, return it (stay on the poll list). Otherwise napi_complete_done(); if that returns
 *   true, update the adaptive ITR and unmask the vector; return min(work, budget - 1).
 *
 * The poll reads the ring as it goes: a frame whose write-back completes while the loop runs is
 * cleaned in the same poll, as on hardware. CPU cost accrues per poll, per frame and per refill.
 */
export class RxRingPoller implements NapiPoller {
  private outRows = new Int32Array(64);
  private outTimes = new Float64Array(64);
  readonly gro: Gro;
  private readonly batch = new RxBatch();

  constructor(
    private readonly k: Kernel,
    private readonly queue: RxQueue,
    private readonly vector: MsixVector,
    private readonly linkGbps: number,
    /** This RX queue's rps_cpus / rps_flow_cnt. */
    readonly rps: RxQueueRps,
    groEnabled: boolean,
  ) {
    this.gro = new Gro(k.pool, k.costs, k.groTcpFlows, groEnabled, k.groNormalBatch, (rows, t) => {
      for (const row of rows) k.stack.steer(this.batch, this.rps, row, t);
    });
  }

  /** Clean up to `limit` frames starting at now + `cost0`; returns the count, the frames in outRows/outTimes, and the cost. */
  private cleanRxIrq(limit: number, cost0: number, perFrame: number): { cleaned: number; bytes: number; cost: number } {
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
        const n = q.refill(t0 + cost);
        cost += k.costs.refill_batch + n * k.costs.refill_buffer;
      }
      const row = q.clean(t0 + cost);
      if (row === NIL) break;
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

  *poll(cpu: Cpu, budget: number, napi: Napi): Generator<number, number, void> {
    const k = this.k;
    const c = k.costs;
    const r = this.cleanRxIrq(budget, c.napi_poll, c.rx_descriptor);
    // napi_gro_receive() for each frame, at the time the clean loop handed it up.
    const jiffies = k.jiffies();
    let groCost = 0;
    for (let i = 0; i < r.cleaned; i++) {
      const row = this.outRows[i]!;
      const t = this.outTimes[i]! + groCost;
      k.pool.tPoll[row] = t;
      groCost += this.gro.receive(row, t, jiffies);
    }
    this.vector.moderation.countCleaned(r.cleaned, r.bytes);
    const complete = r.cleaned < budget;
    yield r.cost + groCost + this.batch.cost + (complete ? c.napi_complete : 0);
    const extra = k.stack.commit(cpu, this.batch);
    if (extra > 0) yield extra;
    if (!complete) return budget;
    if (yield* napiCompleteDone(k, cpu, napi, r.cleaned)) {
      this.vector.moderation.afterCompletion(k.jiffies(), k.sim.now, this.linkGbps);
      this.vector.enable();
    }
    return Math.min(r.cleaned, budget - 1);
  }

  groHeld(): boolean {
    return this.gro.holding;
  }

  /** gro_flush_normal(): hand up what GRO held, and pay for it. */
  *groFlush(cpu: Cpu, flushOld: boolean): Generator<number, void, void> {
    const k = this.k;
    const cost = this.gro.flush(flushOld, k.jiffies(), k.sim.now, flushOld ? 'old' : 'complete');
    if (this.batch.length === 0 && cost === 0) return;
    yield cost + this.batch.cost;
    const extra = k.stack.commit(cpu, this.batch);
    if (extra > 0) yield extra;
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
    const r = this.cleanRxIrq(this.queue.size, c.hardirq_entry_exit + c.irq_handler, c.rx_descriptor + c.netif_rx);
    yield r.cost;
    for (let i = 0; i < r.cleaned; i++) {
      const row = this.outRows[i]!;
      k.pool.tPoll[row] = this.outTimes[i]!;
      // netif_rx_internal(): the RPS CPU's backlog, or this CPU's.
      const choice = k.stack.rpsChoice(this.rps, row);
      k.stack.enqueueBacklog(cpu, choice.cpu >= 0 ? choice.cpu : cpu.id, row, choice.flows, choice.slot, k.sim.now);
    }
    this.vector.enable();
  }
}
