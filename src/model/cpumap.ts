import type { ResolvedCpuMap } from '../scenario/resolve.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import type { Cpu } from './cpu.ts';
import { Gro } from './gro.ts';
import { NAPI_POLL_WEIGHT, type NapiHost } from './napi.ts';
import { PacketQueue, SKB_REDIRECTED, type PacketPool } from './packet.ts';
import type { RxQueueRps } from './rps.ts';
import type { RxAccounting } from './rx-accounting.ts';
import { handUp, RxBatch, type RxPath } from './rx-batch.ts';
import { Acct, COND_RESCHED, SLEEP, type Task, type TaskTable, type TaskYield } from './task.ts';
import { FOLLOW } from './trace-hooks.ts';
import type { XdpRedirectMap } from './xdp.ts';

/**
 * The cpumap (kernel/bpf/cpumap.c, BPF_MAP_TYPE_CPUMAP): XDP_REDIRECT of raw frames to another
 * CPU, which builds the skbs and runs the stack there.
 *
 *   driver poll, source CPU:  bpf_redirect_map(&cpu_map, cpu, 0) → xdp_do_redirect →
 *                             cpu_map_enqueue → bq_enqueue: the frame joins this CPU's bulk queue
 *                             of the entry (CPU_MAP_BULK_SIZE 8); at the end of the poll
 *                             xdp_do_flush → __cpu_map_flush → bq_flush_to_queue: each frame
 *                             __ptr_ring_produce'd onto the entry's ring of qsize (full: the frame
 *                             is returned, a drop), trace_xdp_cpumap_enqueue(processed, drops),
 *                             then wake_up_process(the entry's kthread).
 *   kthread cpumap/<cpu>/map:<id>, bound to the entry's CPU, SCHED_OTHER (cpu_map_kthread_run):
 *                             sleeps while the ring is empty; else takes up to CPUMAP_BATCH 8
 *                             frames, builds their skbs (__xdp_build_skb_from_frame) under
 *                             local_bh_disable, trace_xdp_cpumap_kthread, gro_receive_skb each
 *                             into the entry's own GRO (6.14+), cpu_map_gro_flush every
 *                             NAPI_POLL_WEIGHT frames or when the ring is empty (only old
 *                             packets while it is not, HZ >= 1000), local_bh_enable.
 *
 *   generic XDP, source CPU:  xdp_do_generic_redirect → cpu_map_generic_redirect: no bulk queue —
 *                             the skb itself (marked skb->redirected, and bit 0 of its pointer)
 *                             ptr_ring_produce'd onto the ring at once (full: -ENOSPC, freed by
 *                             do_xdp_generic), trace_xdp_cpumap_enqueue(!ret, !!ret) and
 *                             wake_up_process(kthread) for every skb. The kthread takes it with the
 *                             frames, builds nothing for it and hands it to the same GRO.
 *
 * A redirected frame leaves the driver's accounting for a term of its own (packets.xdp_redirect:
 * held in a bulk queue or a ring) until its kthread builds the skb; a full ring drops it at
 * `cpumap` (no skb, no drop reason: xdp_return_frame_rx_napi; a generic skb with
 * SKB_DROP_REASON_XDP).
 */

/** CPU_MAP_BULK_SIZE: frames a bulk queue holds before bq_flush_to_queue. */
export const CPU_MAP_BULK_SIZE = 8;
/** CPUMAP_BATCH: frames cpu_map_kthread_run takes from the ring per round. */
export const CPUMAP_BATCH = 8;

/** What the cpumap needs from the machine. */
export interface CpuMapHost extends NapiHost {
  readonly pool: PacketPool;
  readonly tasks: TaskTable;
  readonly path: RxPath;
  readonly sysctl: NapiHost['sysctl'] & Pick<SysctlValues, 'net.core.gro_normal_batch'>;
  readonly accounting: RxAccounting;
  /**
   * The RPS map get_rps_cpu() sees for a frame's skb: __xdp_build_skb_from_frame records no RX
   * queue, so netif_get_rxqueue() gives the device's first (dev->_rx).
   */
  deviceRps(row: number): RxQueueRps;
}

/** One entry (struct bpf_cpu_map_entry): its ring, kthread, GRO and counters. */
export class CpuMapEntry {
  /** The ptr_ring of qsize frames. */
  readonly ring: PacketQueue;
  readonly gro: Gro;
  readonly batch = new RxBatch();
  kthread!: Task;
  /** Frames since the last GRO flush (cpu_map_kthread_run's `packets`). */
  packets = 0;
  /** xdp_cpumap_enqueue's processed and drops (summed over the source CPUs), xdp_cpumap_kthread's processed and sched. */
  enqueued = 0;
  enqueueDrops = 0;
  kthreadProcessed = 0;
  kthreadSched = 0;
  kthreadRounds = 0;
  /**
   * Per source CPU, its bulk queue's fill (xdp_bulk_queue.count, 0..CPU_MAP_BULK_SIZE) and the
   * frames of this poll not yet on the ring: the bulk queues this poll filled and flushed
   * (produced onto the ring at the end of the poll, see NativeXdp.afterPoll) and the last one.
   */
  readonly bqCount: Int32Array;
  readonly pending: number[][];
  /** Per source CPU: the bulk queue is on that CPU's flush list (bq->flush_node.prev). */
  readonly onFlushList: Uint8Array;

  constructor(
    k: CpuMapHost,
    readonly cpu: number,
    readonly qsize: number,
    ncpus: number,
    gro: boolean,
    groTcpFlows: Uint8Array,
  ) {
    this.ring = new PacketQueue(k.pool);
    this.bqCount = new Int32Array(ncpus);
    this.pending = Array.from({ length: ncpus }, () => []);
    this.onFlushList = new Uint8Array(ncpus);
    this.gro = new Gro(k.pool, k.costs, groTcpFlows, gro, k.sysctl['net.core.gro_normal_batch'], (rows, t) => {
      for (const row of rows) k.path.steer(this.batch, k.deviceRps(row), row, t);
    });
    this.gro.follow = k.trace?.follow ?? null;
  }

  resetWindow(): void {
    this.enqueued = this.enqueueDrops = this.kthreadProcessed = this.kthreadSched = this.kthreadRounds = 0;
    this.gro.resetWindow();
  }
}

/** An entry in the result: xdp_redirect_cpu's cpumap-enqueue and cpumap-kthread lines. */
export interface CpuMapEntryResult {
  cpu: number;
  qsize: number;
  kthread: string;
  enqueue: { processed: number; drops: number };
  kthread_stats: { processed: number; sched: number; rounds: number };
  ring: { length: number; peak: number };
}

export class CpuMap implements XdpRedirectMap {
  /** By CPU key: the entry's index in `entries`, or -1. */
  private readonly byCpu: Int32Array;
  readonly entries: CpuMapEntry[];
  readonly keys: readonly number[];
  /** Per source CPU: the entries whose bulk queue holds frames (the per-CPU flush list). */
  private readonly flushList: number[][];
  private readonly batch: Int32Array;

  constructor(
    private readonly k: CpuMapHost,
    readonly map: ResolvedCpuMap,
    gro: boolean,
    groTcpFlows: Uint8Array,
  ) {
    const ncpus = k.cpus.length;
    this.byCpu = new Int32Array(ncpus).fill(-1);
    this.flushList = Array.from({ length: ncpus }, () => []);
    this.batch = new Int32Array(CPUMAP_BATCH);
    this.keys = map.entries.map((e) => e.cpu);
    // cpu_map_update_elem → __cpu_map_entry_alloc: the ring, then the kthread created on the
    // entry's node and bound to its CPU (kthread_bind), woken once to reach its sleep.
    this.entries = map.entries.map((e, i) => {
      const entry = new CpuMapEntry(k, e.cpu, e.qsize, ncpus, gro, groTcpFlows);
      this.byCpu[e.cpu] = i;
      const task = k.tasks.spawn(`cpumap/${e.cpu}/map:${map.id}`, [e.cpu], 0, 'cpumap', null);
      task.activity = cpuMapKthread(k, this, entry, task);
      entry.kthread = task;
      return entry;
    });
  }

  lookup(key: number): number {
    return key >= 0 && key < this.byCpu.length ? this.byCpu[key]! : -1;
  }

  get id(): number {
    return this.map.id;
  }

  /** A cpumap entry is a CPU, not a device. */
  targetName(): string {
    return '';
  }

  /**
   * bq_enqueue(): the frame joins `cpu`'s bulk queue of the entry, which goes on this CPU's flush
   * list; a bulk queue already holding CPU_MAP_BULK_SIZE frames is flushed first
   * (bq_flush_to_queue: its cost here; its frames reach the ring at the end of the poll).
   */
  enqueue(cpu: Cpu, entry: number, row: number): number {
    const e = this.entries[entry]!;
    const c = cpu.id;
    let cost = 0;
    if (e.bqCount[c] === CPU_MAP_BULK_SIZE) {
      cost = this.k.costs.cpumap_flush + CPU_MAP_BULK_SIZE * this.k.costs.cpumap_produce;
      e.bqCount[c] = 0;
    }
    if (e.onFlushList[c] === 0) {
      e.onFlushList[c] = 1;
      this.flushList[c]!.push(entry);
    }
    e.pending[c]!.push(row);
    e.bqCount[c]!++;
    const follow = this.k.trace?.follow;
    if (follow && follow.skb === row) follow.stage(FOLLOW.CPUMAP_ENQUEUE, NaN, c, e.cpu, e.bqCount[c]!);
    this.k.accounting.xdpRedirectHold(row);
    return cost;
  }

  /** The cost of __cpu_map_flush() on `cpu`: the last bulk queue of each entry on its flush list, and the wake-ups. */
  flushCost(cpu: Cpu): number {
    const c = this.k.costs;
    let cost = 0;
    for (const i of this.flushList[cpu.id]!) {
      const e = this.entries[i]!;
      cost += c.cpumap_flush + e.bqCount[cpu.id]! * c.cpumap_produce;
      if (e.kthread.state !== 'runnable') cost += c.wakeup;
    }
    return cost;
  }

  /**
   * __cpu_map_flush() at the end of `cpu`'s poll: every bulk queue of the poll to its ring (in
   * chunks of CPU_MAP_BULK_SIZE, one bq_flush_to_queue each), then wake_up_process(kthread).
   */
  flush(cpu: Cpu): void {
    const c = cpu.id;
    const list = this.flushList[c]!;
    for (const i of list) {
      const e = this.entries[i]!;
      const rows = e.pending[c]!;
      for (let at = 0; at < rows.length; at += CPU_MAP_BULK_SIZE) this.bqFlushToQueue(e, c, rows, at, Math.min(rows.length, at + CPU_MAP_BULK_SIZE));
      rows.length = 0;
      e.bqCount[c] = 0;
      e.onFlushList[c] = 0;
      this.k.sched.wakeUp(e.kthread, c);
    }
    list.length = 0;
  }

  /**
   * bq_flush_to_queue(): __ptr_ring_produce each frame of one bulk queue onto the entry's ring;
   * a full ring returns the frame (xdp_return_frame_rx_napi: a drop, no skb).
   * trace_xdp_cpumap_enqueue(map_id, processed, drops, to_cpu).
   */
  private bqFlushToQueue(e: CpuMapEntry, c: number, rows: number[], from: number, to: number): void {
    const k = this.k;
    const now = k.sim.now;
    let drops = 0;
    for (let i = from; i < to; i++) {
      const row = rows[i]!;
      if (e.ring.length >= e.qsize) {
        drops++;
        k.accounting.xdpRedirectRelease(row);
        k.accounting.drop(row, 'cpumap', c); // xdp_return_frame_rx_napi on the flushing CPU
      } else e.ring.push(row, now);
    }
    e.enqueued += to - from;
    e.enqueueDrops += drops;
    k.trace?.xdpCpumapEnqueue?.(c, this.map.id, to - from, drops, e.cpu);
  }

  /** cpu_map_generic_redirect's cost besides xdp_redirect: ptr_ring_produce under the ring's producer_lock, the tracepoint and wake_up_process — per skb, as one bulk queue's flush of one frame. */
  genericCost(entry: number): number {
    const c = this.k.costs;
    const e = this.entries[entry]!;
    return c.cpumap_flush + c.cpumap_produce + (e.kthread.state !== 'runnable' ? c.wakeup : 0);
  }

  /**
   * cpu_map_generic_redirect() on `cpu` (kernel/bpf/cpumap.c): __skb_pull of the MAC header,
   * skb_set_redirected(skb, false), __ptr_set_bit(0, &skb), ptr_ring_produce onto the entry's
   * ring — -ENOSPC when it is full — then wake_up_process(kthread) on success and
   * trace_xdp_cpumap_enqueue(map_id, !ret, !!ret, cpu) either way.
   */
  genericRedirect(cpu: Cpu, entry: number, row: number): boolean {
    const k = this.k;
    const e = this.entries[entry]!;
    const ok = e.ring.length < e.qsize;
    if (ok) {
      k.pool.flags[row] = k.pool.flags[row]! | SKB_REDIRECTED;
      e.ring.push(row, k.sim.now);
      k.accounting.xdpRedirectHold(row);
      e.enqueued++;
      k.sched.wakeUp(e.kthread, cpu.id);
    } else e.enqueueDrops++;
    k.trace?.xdpCpumapEnqueue?.(cpu.id, this.map.id, ok ? 1 : 0, ok ? 0 : 1, e.cpu);
    return ok;
  }

  /** Frames the kthread round takes (__ptr_ring_consume_batched), into the shared batch array; they are back in the stack's accounting. */
  consume(e: CpuMapEntry): Int32Array {
    const n = Math.min(CPUMAP_BATCH, e.ring.length);
    const now = this.k.sim.now;
    for (let i = 0; i < n; i++) {
      const row = e.ring.shift(now);
      this.k.accounting.xdpRedirectRelease(row);
      this.batch[i] = row;
    }
    return this.batch.subarray(0, n);
  }

  resetWindow(): void {
    for (const e of this.entries) e.resetWindow();
  }

  report(): { name: string; id: number; type: 'cpumap'; entries: CpuMapEntryResult[] } {
    return {
      name: this.map.name,
      id: this.map.id,
      type: 'cpumap',
      entries: this.entries.map((e) => ({
        cpu: e.cpu,
        qsize: e.qsize,
        kthread: e.kthread.comm,
        enqueue: { processed: e.enqueued, drops: e.enqueueDrops },
        kthread_stats: { processed: e.kthreadProcessed, sched: e.kthreadSched, rounds: e.kthreadRounds },
        ring: { length: e.ring.length, peak: e.ring.peak },
      })),
    };
  }
}

/**
 * cpu_map_kthread_run(): the entry's kthread. Sleeps (TASK_INTERRUPTIBLE, schedule()) while the
 * ring is empty, else cond_resched(); takes up to CPUMAP_BATCH frames; with bottom halves off
 * (system time of the thread; no preemption, no softirq at an irq_exit meanwhile) builds each
 * skb, hands it to the entry's GRO, flushes GRO every NAPI_POLL_WEIGHT frames or when the ring is
 * empty (gro_flush(gro, !empty && HZ >= 1000) + gro_normal_list: netif_receive_skb_list_internal,
 * with RPS), sends the RPS IPIs it queued, and local_bh_enable() runs the softirqs raised meanwhile.
 */
export function* cpuMapKthread(k: CpuMapHost, map: CpuMap, e: CpuMapEntry, task: Task): Generator<TaskYield, void, void> {
  const c = k.costs;
  for (;;) {
    task.acct = Acct.SYS;
    let sched = 0;
    if (e.ring.length === 0) {
      yield SLEEP;
      sched = 1;
      if (e.ring.length === 0) continue;
    } else {
      yield COND_RESCHED;
    }
    const cpu = k.cpus[task.cpu]!;
    const now = k.sim.now;
    const jiffies = k.jiffies.now();
    const rows = map.consume(e);
    const n = rows.length;
    // kthread loop bookkeeping, rcu_softirq_qs_periodic and kmem_cache_alloc_bulk for the batch.
    let cost = c.kthread_loop;
    task.bhDisabled = true; // local_bh_disable()
    const follow = k.trace?.follow;
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      // An skb from generic XDP (__ptr_test_bit(0)) is only unmarked and listed: built on its
      // own CPU, it keeps the NAPI id its driver gave it (__skb_mark_napi_id keeps a valid one).
      if ((k.pool.flags[row]! & SKB_REDIRECTED) !== 0) continue;
      cost += c.cpumap_skb; // __xdp_build_skb_from_frame on this CPU
      if (follow && follow.skb === row) follow.stage(FOLLOW.CPUMAP_KTHREAD, now + cost, cpu.id, i, 0);
      k.pool.allocCpu[row] = cpu.id;
      k.pool.napiId[row] = 0; // gro_receive_skb() marks no NAPI id: the entry's gro_node has no napi
    }
    e.kthreadProcessed += n;
    e.kthreadSched += sched;
    e.kthreadRounds++;
    k.trace?.xdpCpumapKthread?.(cpu.id, map.map.id, n, 0, sched);
    for (let i = 0; i < n; i++) cost += e.gro.receive(rows[i]!, now + cost, jiffies);
    e.packets += n;
    const empty = e.ring.length === 0;
    if (e.packets >= NAPI_POLL_WEIGHT || empty) {
      // cpu_map_gro_flush(): gro_flush(gro, !empty && HZ >= 1000) and gro_normal_list().
      const old = !empty && k.jiffies.hz >= 1000;
      cost += e.gro.flush(old, jiffies, now + cost, old ? 'old' : 'complete');
      e.packets = 0;
    }
    yield* handUp(k.path, cpu, e.batch, cost);
    yield* k.rps.sendIpis(cpu);
    task.bhDisabled = false;
    yield* k.softirq.localBhEnable(task); // the resched point; may run do_softirq()
  }
}
