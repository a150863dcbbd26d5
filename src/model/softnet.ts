import type { Cpu } from './cpu.ts';
import type { Kernel } from './kernel.ts';
import { Napi, napiScheduleOn, type NapiPoller } from './napi.ts';
import { PacketQueue, type PacketPool } from './packet.ts';

/**
 * struct softnet_data: one per CPU. Its poll list, its counters (/proc/net/softnet_stat), and
 * its backlog — the queue that netif_rx() and RPS feed, drained by the backlog NAPI
 * (process_backlog). Reference: ../shared/reference/kernel-receive-path.md §3, §4.3, §4.5.
 */
export class SoftnetData implements NapiPoller {
  pollList: Napi[] = [];
  inNetRxAction = false;

  // /proc/net/softnet_stat columns.
  processed = 0;
  dropped = 0;
  timeSqueeze = 0;
  receivedRps = 0;
  flowLimitCount = 0;

  readonly inputPktQueue: PacketQueue;
  readonly processQueue: PacketQueue;
  /** input_queue_head / input_queue_tail (RFS in-order check). */
  inputQueueHead = 0;
  inputQueueTail = 0;
  readonly backlog: Napi;
  private outRows = new Int32Array(64);
  private outTimes = new Float64Array(64);

  constructor(
    readonly cpu: number,
    private readonly k: Kernel,
    pool: PacketPool,
  ) {
    this.inputPktQueue = new PacketQueue(pool);
    this.processQueue = new PacketQueue(pool);
    this.backlog = new Napi(-1 - cpu, 'backlog', this);
  }

  /** Packets in the backlog (column 12: input_pkt_queue + process_queue). */
  get backlogLength(): number {
    return this.inputPktQueue.length + this.processQueue.length;
  }

  /**
   * enqueue_to_backlog() on this (target) CPU's softnet_data, called from `from`: drop if
   * input_pkt_queue already holds more than netdev_max_backlog (so up to max+1 queue), else
   * queue and, if the queue was empty and the backlog NAPI not yet scheduled, schedule it.
   * Returns false if dropped (counted here, on the target CPU).
   */
  enqueue(from: Cpu, row: number, t: number): boolean {
    const qlen = this.inputPktQueue.length;
    if (qlen > this.k.netdevMaxBacklog) {
      this.dropped++;
      return false;
    }
    if (qlen === 0 && !this.backlog.sched) {
      this.backlog.sched = true;
      this.k.napiScheduleRps(from, this);
    }
    this.inputPktQueue.push(row, t);
    this.inputQueueTail++;
    return true;
  }

  /**
   * process_backlog(): first send RPS IPIs this CPU owes; then deliver from process_queue, and
   * when it is empty splice input_pkt_queue onto it under the lock, or complete (clear SCHED)
   * if that is empty too. The quota is dev_rx_weight, re-read on every call. Packets leave the
   * queues when the poll starts (their sojourn ends there) and are handed up as it proceeds.
   */
  *poll(cpu: Cpu, quota: number, napi: Napi): Generator<number, number, void> {
    const k = this.k;
    if (k.rpsIpiWaiting(cpu)) yield* k.rpsSendIpis(cpu);
    napi.weight = k.devRxWeight;
    if (this.outRows.length < quota) {
      this.outRows = new Int32Array(quota);
      this.outTimes = new Float64Array(quota);
    }
    const t = k.sim.now;
    const perPacket = k.costs.backlog_packet + k.costs.stack_deliver;
    let cost = k.costs.process_backlog;
    let work = 0;
    for (;;) {
      while (this.processQueue.length > 0 && work < quota) {
        this.outRows[work] = this.processQueue.shift(t);
        cost += perPacket;
        this.outTimes[work++] = t + cost;
      }
      if (work >= quota) break;
      if (this.inputPktQueue.length === 0) {
        napi.sched = false; // napi->state &= NAPIF_STATE_THREADED
        break;
      }
      this.processQueue.spliceFrom(this.inputPktQueue, t);
    }
    this.inputQueueHead += work;
    yield cost;
    for (let i = 0; i < work; i++) k.stack.netifReceiveSkbCore(cpu, this.outRows[i]!, this.outTimes[i]!);
    return work;
  }

  groHeld(): boolean {
    return false; // the backlog NAPI does no GRO
  }

  groFlush(): void {}
}

/** napi_schedule_rps() for the local CPU: __napi_schedule_irqoff(&sd->backlog). */
export function scheduleLocalBacklog(k: Kernel, cpu: Cpu, sd: SoftnetData): void {
  napiScheduleOn(k, cpu, sd.backlog);
}
