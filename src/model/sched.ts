import { NICE_0_LOAD, type Task } from './task.ts';

/**
 * The fair scheduling class of one CPU (kernel/sched/fair.c): what both policies share — the
 * running task, the queue of runnable ones, need_resched, min_vruntime, calc_delta_fair — and
 * the choice between them (`kernel.sched`):
 *
 *  - EEVDF (Linux 6.6+, the default): sched-eevdf.ts;
 *  - CFS (before 6.6): sched-cfs.ts.
 *
 * Simplified for both: a flat run queue per CPU (cgroups act through task weights, see
 * cgroup.ts), plain arrays instead of rbtrees (run queues here hold a handful of tasks), and
 * vruntime in floating-point ns instead of fixed point (same operations in the same order, so
 * still deterministic).
 */
export abstract class FairRunQueue {
  /** Runnable tasks not currently running (the rbtree; curr is kept out of it as in the kernel). */
  readonly queued: Task[] = [];
  /** The running task, or null when the CPU runs its idle task. */
  curr: Task | null = null;
  /** TIF_NEED_RESCHED of the current task. */
  needResched = false;
  /** min_vruntime: only moves forward. */
  minVruntime = 0;

  constructor(readonly cpu: number) {}

  /** Runnable tasks including the running one (rq->nr_running for this class). */
  get nrRunning(): number {
    return this.queued.length + (this.curr && this.curr.state === 'runnable' ? 1 : 0);
  }

  /** Sum of the weights of the runnable tasks, curr included (cfs_rq->load.weight). */
  load(): number {
    let w = 0;
    for (const t of this.queued) w += t.weight;
    if (this.curr && this.curr.state === 'runnable') w += this.curr.weight;
    return w;
  }

  /** calc_delta_fair(): ns of CPU → ns of virtual time for this weight. */
  static vdelta(ns: number, t: Task): number {
    return t.weight === NICE_0_LOAD ? ns : (ns * NICE_0_LOAD) / t.weight;
  }

  /** update_curr(): charge `ns` of execution to the running task. */
  charge(ns: number): void {
    const c = this.curr;
    if (!c || ns <= 0) return;
    c.sumExec += ns;
    c.vruntime += FairRunQueue.vdelta(ns, c);
    this.afterCharge(c);
    this.updateMinVruntime();
  }

  /** Remove a queued (not running) task, e.g. to migrate it. */
  remove(t: Task): void {
    const i = this.queued.indexOf(t);
    if (i >= 0) this.queued.splice(i, 1);
  }

  /** set_next_entity(): `t` becomes curr (taken out of the queue). */
  setCurr(t: Task | null): void {
    if (t) {
      this.remove(t);
      t.prevSumExec = t.sumExec;
      this.onPicked(t);
    }
    this.curr = t;
    this.updateMinVruntime();
  }

  /** The policy's bookkeeping after update_curr (EEVDF: deadline and slice expiry). */
  protected afterCharge(t: Task): void {
    void t;
  }

  /** The policy's bookkeeping at set_next_entity. */
  protected onPicked(t: Task): void {
    void t;
  }

  /** The scheduler tick (entity_tick): after update_curr, the policy may ask for a reschedule. */
  tick(): void {}

  /** Pick the task to run next (curr included if still runnable). */
  abstract pick(): Task | null;

  /** enqueue_entity() for a task becoming runnable on this CPU (place_entity). */
  abstract enqueue(t: Task): void;

  /** dequeue_entity() for a task going to sleep or leaving this CPU: keep what it needs for later. */
  abstract saveLag(t: Task, tickNs: number): void;

  /** Would a newly woken `t` preempt the running task? (check_preempt_wakeup) */
  abstract wouldPreempt(t: Task): boolean;

  /** reweight_entity(): a runnable task's weight changes (its cgroup's share moved). */
  abstract reweight(t: Task, weight: number): void;

  protected updateMinVruntime(): void {
    let m = Infinity;
    if (this.curr && this.curr.state === 'runnable') m = this.curr.vruntime;
    for (const t of this.queued) if (t.vruntime < m) m = t.vruntime;
    if (m !== Infinity && m > this.minVruntime) this.minVruntime = m;
  }
}

/**
 * The scaling of the scheduler's tunables with the CPU count (SCHED_TUNABLESCALING_LOG,
 * sched_update_scaling): 1 + ilog2(min(ncpus, 8)).
 */
export function tunableFactor(ncpus: number): number {
  return 1 + Math.floor(Math.log2(Math.min(ncpus, 8)));
}

/** sysctl_sched_base_slice (EEVDF): 0.75 ms × the tunable factor. */
export function baseSliceNs(ncpus: number): number {
  return 750_000 * tunableFactor(ncpus);
}
