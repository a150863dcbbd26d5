import { NICE_0_LOAD, type Task } from './task.ts';

/**
 * The fair scheduling class, EEVDF as in Linux 6.6+ (kernel/sched/fair.c), per CPU.
 *
 * Modelled: virtual runtime weighted by nice (sched_prio_to_weight), the weighted average
 * vruntime V and eligibility (vruntime <= V), earliest-eligible-virtual-deadline pick,
 * RUN_TO_PARITY (the running task keeps the CPU until it used its slice, while eligible),
 * place_entity with PLACE_LAG and PLACE_DEADLINE_INITIAL, lag kept over sleep
 * (update_entity_lag, clamped), the base slice scaled by CPU count
 * (sysctl_sched_base_slice = 0.75 ms × (1 + ilog2(min(ncpus, 8))), SCHED_TUNABLESCALING_LOG),
 * wakeup preemption (check_preempt_wakeup_fair: preempt if the woken task is what pick_eevdf
 * would choose), and slice expiry detected at update_curr (update_deadline → resched).
 *
 * Simplified: a flat run queue per CPU (no group scheduling entities; cgroups are handled
 * by the caller), plain arrays instead of the augmented rbtree (run queues here hold a
 * handful of tasks), and vruntime in floating-point ns instead of fixed-point (same
 * operations in the same order, so still deterministic).
 */
export class RunQueue {
  /** Runnable tasks not currently running (the rbtree; curr is kept out of it as in the kernel). */
  readonly queued: Task[] = [];
  /** The running task, or null when the CPU runs its idle task. */
  curr: Task | null = null;
  /** TIF_NEED_RESCHED of the current task. */
  needResched = false;
  /** min_vruntime: the reference point of avg_vruntime. */
  minVruntime = 0;

  constructor(
    readonly cpu: number,
    private readonly baseSliceNs: number,
  ) {}

  /** Runnable tasks including the running one (rq->nr_running for this class). */
  get nrRunning(): number {
    return this.queued.length + (this.curr && this.curr.state === 'runnable' ? 1 : 0);
  }

  /** avg_vruntime(): the weighted mean vruntime of all runnable entities, curr included. */
  avgVruntime(): number {
    let avg = 0;
    let load = 0;
    for (const t of this.queued) {
      avg += (t.vruntime - this.minVruntime) * t.weight;
      load += t.weight;
    }
    const c = this.curr;
    if (c && c.state === 'runnable') {
      avg += (c.vruntime - this.minVruntime) * c.weight;
      load += c.weight;
    }
    return load === 0 ? this.minVruntime : this.minVruntime + avg / load;
  }

  /** entity_eligible(): lag >= 0, i.e. vruntime <= V. */
  eligible(t: Task): boolean {
    return t.vruntime <= this.avgVruntime();
  }

  /** calc_delta_fair(): ns of CPU → ns of virtual time for this weight. */
  static vdelta(ns: number, t: Task): number {
    return t.weight === NICE_0_LOAD ? ns : (ns * NICE_0_LOAD) / t.weight;
  }

  /**
   * update_curr(): charge `ns` of execution to the running task; update_deadline() asks for a
   * reschedule when the task has run past its deadline and others are waiting.
   */
  charge(ns: number): void {
    const c = this.curr;
    if (!c || ns <= 0) return;
    c.vruntime += RunQueue.vdelta(ns, c);
    if (c.vruntime >= c.deadline) {
      c.deadline = c.vruntime + RunQueue.vdelta(this.baseSliceNs, c);
      if (this.nrRunning > 1) this.needResched = true;
    }
    this.updateMinVruntime();
  }

  /** pick_eevdf(): earliest virtual deadline among eligible entities, with RUN_TO_PARITY. */
  pick(): Task | null {
    let curr = this.curr && this.curr.state === 'runnable' ? this.curr : null;
    if (this.queued.length === 0) return curr;
    if (curr && !this.eligible(curr)) curr = null;
    if (curr && curr.pickedDeadline === curr.deadline) return curr; // RUN_TO_PARITY
    const v = this.avgVruntime();
    let best: Task | null = null;
    for (const t of this.queued) {
      if (t.vruntime <= v && (!best || t.deadline < best.deadline)) best = t;
    }
    if (!best && !curr) {
      // Nothing eligible (rounding): the smallest vruntime, as pick_first_entity.
      for (const t of this.queued) if (!best || t.vruntime < best.vruntime) best = t;
    }
    if (!curr || (best && best.deadline < curr.deadline)) return best;
    return curr;
  }

  /**
   * enqueue_entity() for a task becoming runnable: place_entity() sets its vruntime from V and
   * its saved lag (scaled as PLACE_LAG does) and its deadline one virtual slice later (half
   * a slice for a task that never ran: PLACE_DEADLINE_INITIAL).
   */
  enqueue(t: Task): void {
    const v = this.avgVruntime();
    let lag = 0;
    if (this.nrRunning > 0) {
      let load = 0;
      for (const q of this.queued) load += q.weight;
      if (this.curr && this.curr.state === 'runnable') load += this.curr.weight;
      lag = (t.vlag * (load + t.weight)) / Math.max(load, 1);
    }
    t.vruntime = v - lag;
    let vslice = RunQueue.vdelta(this.baseSliceNs, t);
    if (t.fresh) vslice /= 2;
    t.deadline = t.vruntime + vslice;
    this.queued.push(t);
  }

  /** dequeue_entity() for a task going to sleep: remember its lag (update_entity_lag). */
  saveLag(t: Task, tickNs: number): void {
    const limit = RunQueue.vdelta(Math.max(2 * this.baseSliceNs, tickNs), t);
    const lag = this.avgVruntime() - t.vruntime;
    t.vlag = Math.max(-limit, Math.min(limit, lag));
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
      t.pickedDeadline = t.deadline;
      t.fresh = false;
    }
    this.curr = t;
    this.updateMinVruntime();
  }

  /** Would a newly woken `t` preempt the running task? (check_preempt_wakeup_fair) */
  wouldPreempt(t: Task): boolean {
    if (!this.curr) return true; // the idle task is always preempted
    if (this.needResched) return false;
    return this.pick() === t;
  }

  private updateMinVruntime(): void {
    // min_vruntime only moves forward; it is just the reference point of the average.
    let m = Infinity;
    if (this.curr && this.curr.state === 'runnable') m = this.curr.vruntime;
    for (const t of this.queued) if (t.vruntime < m) m = t.vruntime;
    if (m !== Infinity && m > this.minVruntime) this.minVruntime = m;
  }
}

/** sysctl_sched_base_slice scaled as SCHED_TUNABLESCALING_LOG does: 0.75 ms × (1 + ilog2(min(ncpus, 8))). */
export function baseSliceNs(ncpus: number): number {
  const factor = 1 + Math.floor(Math.log2(Math.min(ncpus, 8)));
  return 750_000 * factor;
}
