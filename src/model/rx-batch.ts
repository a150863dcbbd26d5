import type { Simulator } from '../engine/simulator.ts';
import { grown } from '../engine/typed.ts';
import type { Cpu } from './cpu.ts';
import type { Gro } from './gro.ts';
import type { Jiffies } from './jiffies.ts';
import type { RpsDevFlowTable, RxQueueRps } from './rps.ts';

/**
 * The skbs a poll hands up: each to a CPU's backlog (RPS) or to a pass here (-1), with its time.
 *
 * A poll computes its CPU cost when it starts (the stages' costs are fixed per flow and pass) and
 * commits the effects when that time has been spent: backlog enqueues, socket queueing, ACKs and
 * wakeups, whose own costs (an ACK, a wakeup) are then charged as a further chunk (`handUp`).
 */
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

/**
 * Where a poll hands its skbs: netif_receive_skb_list_internal() (steer: RPS or a pass here),
 * __netif_receive_skb() (planPass), and the commit of the batch once its time is spent.
 * Implemented by NetifReceive (netif-receive.ts); drivers, veth and the backlog depend on this.
 */
export interface RxPath {
  steer(batch: RxBatch, rps: RxQueueRps, row: number, t: number): void;
  planPass(batch: RxBatch, row: number, t: number): void;
  /** Make the batch's effects happen on `cpu`; returns the CPU time they cost beyond the plan. */
  commit(cpu: Cpu, batch: RxBatch): number;
}

/**
 * Spend a poll's planned CPU time plus what its batch plans, then commit the batch and spend
 * what that cost beyond the plan (ACKs sent, tasks woken). Every NAPI poller ends this way.
 */
export function* handUp(path: RxPath, cpu: Cpu, batch: RxBatch, planned: number): Generator<number, void, void> {
  yield planned + batch.cost;
  const extra = path.commit(cpu, batch);
  if (extra > 0) yield extra;
}

/**
 * gro_flush_normal(gro, flush_old) for a GRO-capable poller (a NIC queue, a veth queue): complete
 * the held aggregates (only those from before this jiffy if flushOld) and hand them up.
 */
export function* groFlushNormal(
  k: { readonly sim: Simulator; readonly jiffies: Jiffies; readonly path: RxPath },
  gro: Gro,
  batch: RxBatch,
  cpu: Cpu,
  flushOld: boolean,
): Generator<number, void, void> {
  const cost = gro.flush(flushOld, k.jiffies.now(), k.sim.now, flushOld ? 'old' : 'complete');
  if (batch.length === 0 && cost === 0) return;
  yield* handUp(k.path, cpu, batch, cost);
}

/**
 * gro_normal_list(gro) for a GRO-capable poller: hand up the skbs gro_normal_one() batched on
 * rx_list (below gro_normal_batch), without completing held aggregates — what napi_busy_loop
 * does after each of its polls.
 */
export function* groNormalList(k: { readonly sim: Simulator; readonly path: RxPath }, gro: Gro, batch: RxBatch, cpu: Cpu): Generator<number, void, void> {
  gro.deliverList(k.sim.now);
  if (batch.length === 0) return;
  yield* handUp(k.path, cpu, batch, 0);
}
