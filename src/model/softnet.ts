import type { Simulator } from '../engine/simulator.ts';
import type { SoftnetRow } from '../metrics/procfs.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import { Napi, noGroFlush, type NapiPoller } from './napi.ts';
import { PacketQueue, type PacketPool } from './packet.ts';
import type { FlowLimit } from './rps.ts';
import { handUp, RxBatch, type RxPath } from './rx-batch.ts';
import { FOLLOW, type TraceHooks } from './trace-hooks.ts';

/** The backlog NAPIs are not in the napi_hash (no id there); rxsim numbers them -1 - cpu for traces. */
const BACKLOG_NAPI_ID_BASE = -1;

/** What a CPU's backlog needs from the rest of the machine. */
export interface SoftnetHost {
  readonly sim: Simulator;
  readonly trace: TraceHooks | null;
  readonly costs: CostTable;
  readonly sysctl: Pick<SysctlValues, 'net.core.netdev_max_backlog' | 'net.core.dev_weight' | 'net.core.dev_weight_rx_bias'>;
  readonly softnet: readonly SoftnetData[];
  readonly path: RxPath;
  readonly rps: {
    /** skb_get_hash(). */
    hashOf(row: number): number;
    /** napi_schedule_rps(): schedule a backlog NAPI, here or by IPI. */
    scheduleBacklog(from: Cpu, sd: SoftnetData): void;
    ipiWaiting(cpu: Cpu): boolean;
    sendIpis(cpu: Cpu): Generator<number, void, void>;
  };
}

/**
 * struct softnet_data: one per CPU. Its poll list, its counters (/proc/net/softnet_stat), and
 * its backlog — the queue that netif_rx() and RPS feed, drained by the backlog NAPI
 * (process_backlog in net/core/dev.c).
 */
export class SoftnetData implements NapiPoller {
  pollList: Napi[] = [];
  inNetRxAction = false;
  /** sd->in_napi_threaded_poll: a napi/<dev> thread is polling on this CPU (BH off). */
  inNapiThreadedPoll = false;

  // /proc/net/softnet_stat columns.
  processed = 0;
  dropped = 0;
  timeSqueeze = 0;
  receivedRps = 0;

  readonly inputPktQueue: PacketQueue;
  readonly processQueue: PacketQueue;
  /** input_queue_head / input_queue_tail (RFS in-order check). */
  inputQueueHead = 0;
  inputQueueTail = 0;
  readonly backlog: Napi;
  /** This CPU's flow-limit table (net.core.flow_limit_cpu_bitmap), or null. */
  flowLimit: FlowLimit | null = null;
  /** RPS IPIs this CPU sent. */
  ipiSent = 0;
  private readonly batch = new RxBatch();

  constructor(
    readonly cpu: number,
    private readonly k: SoftnetHost,
    pool: PacketPool,
  ) {
    this.inputPktQueue = new PacketQueue(pool);
    this.processQueue = new PacketQueue(pool);
    this.backlog = new Napi(BACKLOG_NAPI_ID_BASE - cpu, 'backlog', this);
  }

  /** Its /proc/net/softnet_stat row. */
  stat(): SoftnetRow {
    return {
      processed: this.processed,
      dropped: this.dropped,
      timeSqueeze: this.timeSqueeze,
      receivedRps: this.receivedRps,
      flowLimitCount: this.flowLimit?.count ?? 0,
      inputQlen: this.inputPktQueue.length,
      processQlen: this.processQueue.length,
      cpu: this.cpu,
    };
  }

  /** Start of the measurement window: the softnet_stat columns restart. */
  resetWindow(): void {
    this.processed = this.dropped = this.timeSqueeze = this.receivedRps = this.ipiSent = 0;
    if (this.flowLimit) this.flowLimit.count = 0;
    this.backlog.resetWindow();
  }

  /**
   * enqueue_to_backlog() on this (target) CPU's softnet_data, called from `from`: drop if
   * input_pkt_queue already holds more than netdev_max_backlog (so up to max+1 queue), or if the
   * enqueuing CPU's flow limit (skb_flow_limit, on `from`'s table, once the queue is half full)
   * says this flow has more than half of its recent packets; otherwise queue it and, if the queue
   * was empty and the backlog NAPI not yet scheduled, schedule it. Drops count here (column 2).
   */
  enqueue(from: Cpu, row: number, t: number): 'queued' | 'backlog' | 'flow_limit' {
    const k = this.k;
    const qlen = this.inputPktQueue.length;
    const max = k.sysctl['net.core.netdev_max_backlog'];
    if (qlen > max) {
      this.dropped++;
      return 'backlog';
    }
    const fl = k.softnet[from.id]!.flowLimit;
    if (fl && qlen >= max >> 1 && fl.limit(k.rps.hashOf(row))) {
      this.dropped++;
      return 'flow_limit';
    }
    if (qlen === 0 && !this.backlog.sched) {
      this.backlog.sched = true;
      k.rps.scheduleBacklog(from, this);
    }
    const f = k.trace?.follow;
    if (f && f.skb === row) f.stage(FOLLOW.BACKLOG, t, this.cpu, qlen + this.processQueue.length, from.id);
    this.inputPktQueue.push(row, t);
    this.inputQueueTail++;
    return 'queued';
  }

  /**
   * process_backlog(): first send RPS IPIs this CPU owes; then take from process_queue, and
   * when it is empty splice input_pkt_queue onto it under the lock, or complete (clear SCHED)
   * if that is empty too. The quota is dev_rx_weight, re-read on every call. Each packet then
   * takes one pass through the stack (__netif_receive_skb: no RPS step, it is already on its CPU).
   * Packets leave the queues when the poll starts (their sojourn ends there).
   */
  *poll(cpu: Cpu, quota: number, napi: Napi): Generator<number, number, void> {
    const k = this.k;
    if (k.rps.ipiWaiting(cpu)) yield* k.rps.sendIpis(cpu);
    napi.weight = k.sysctl['net.core.dev_weight'] * k.sysctl['net.core.dev_weight_rx_bias']; // dev_rx_weight
    const t = k.sim.now;
    const batch = this.batch;
    let cost = k.costs.process_backlog;
    let work = 0;
    const follow = k.trace?.follow;
    for (;;) {
      while (this.processQueue.length > 0 && work < quota) {
        const row = this.processQueue.shift(t);
        cost += k.costs.backlog_packet;
        if (follow && follow.skb === row) follow.stage(FOLLOW.BACKLOG_POLL, t + cost, cpu.id, work, 0);
        k.path.planPass(batch, row, t + cost + batch.cost);
        work++;
      }
      if (work >= quota) break;
      if (this.inputPktQueue.length === 0) {
        napi.sched = false; // napi->state &= NAPIF_STATE_THREADED
        break;
      }
      this.processQueue.spliceFrom(this.inputPktQueue, t);
    }
    this.inputQueueHead += work;
    yield* handUp(k.path, cpu, batch, cost);
    return work;
  }

  groHeld(): boolean {
    return false; // the backlog NAPI does no GRO
  }

  groFlush(): Generator<number, void, void> {
    return noGroFlush();
  }
}
