import { FairRunQueue } from './sched.ts';
import type { Task } from './task.ts';

/**
 * EEVDF as in Linux 6.6+ (kernel/sched/fair.c).
 *
 * Modelled: virtual runtime weighted by nice (sched_prio_to_weight), the weighted average
 * vruntime V and eligibility (vruntime <= V), earliest-eligible-virtual-deadline pick,
 * RUN_TO_PARITY (the running task keeps the CPU until it used its slice, while eligible),
 * place_entity with PLACE_LAG and PLACE_DEADLINE_INITIAL, lag kept over sleep
 * (update_entity_lag, clamped), the base slice scaled by CPU count, wakeup preemption
 * (check_preempt_wakeup_fair: preempt if the woken task is what pick_eevdf would choose),
 * slice expiry detected at update_curr (update_deadline → resched), and reweight_eevdf when a
 * cgroup's share changes a task's weight.
 *
 * Not modelled: DELAY_DEQUEUE and DELAY_ZERO (defaults since 6.12), under which a task that
 * sleeps with negative lag stays queued until it is eligible and comes back with its lag
 * clipped at zero; sleepers here keep their lag as 6.6–6.11 did.
 */
export class EevdfRunQueue extends FairRunQueue {
  constructor(
    cpu: number,
    private readonly baseSliceNs: number,
  ) {
    super(cpu);
  }

  /**
   * avg_vruntime(): the weighted mean vruntime of all runnable entities, curr included — and
   * `leaving`, a task being dequeued that still counts (it is on the run queue until
   * dequeue_entity has taken its lag).
   */
  avgVruntime(leaving: Task | null = null): number {
    let avg = 0;
    let load = 0;
    for (const t of this.queued) {
      avg += (t.vruntime - this.minVruntime) * t.weight;
      load += t.weight;
    }
    const c = this.curr;
    if (c && (c.state === 'runnable' || c === leaving)) {
      avg += (c.vruntime - this.minVruntime) * c.weight;
      load += c.weight;
    }
    return load === 0 ? this.minVruntime : this.minVruntime + avg / load;
  }

  /** entity_eligible(): lag >= 0, i.e. vruntime <= V. */
  eligible(t: Task): boolean {
    return t.vruntime <= this.avgVruntime();
  }

  /** update_deadline(): past its deadline, a task gets a new slice; others waiting → resched. */
  protected override afterCharge(c: Task): void {
    if (c.vruntime >= c.deadline) {
      c.deadline = c.vruntime + FairRunQueue.vdelta(this.baseSliceNs, c);
      if (this.nrRunning > 1) this.needResched = true;
    }
  }

  protected override onPicked(t: Task): void {
    t.pickedDeadline = t.deadline;
    t.fresh = false;
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
      const load = this.load();
      lag = (t.vlag * (load + t.weight)) / Math.max(load, 1);
    }
    t.vruntime = v - lag;
    let vslice = FairRunQueue.vdelta(this.baseSliceNs, t);
    if (t.fresh) vslice /= 2;
    t.deadline = t.vruntime + vslice;
    this.queued.push(t);
  }

  /**
   * dequeue_entity() for a task going to sleep or leaving: remember its lag (update_entity_lag),
   * measured against V with the task still counted — dequeue_entity takes the lag before it
   * clears se->on_rq. (Measured without it, a task that sleeps often is owed its own weight's
   * share again at every wake-up and places itself ever further back: it starves a busy
   * neighbour.) Sleeping and waking at once thus puts a task back where it was.
   */
  saveLag(t: Task, tickNs: number): void {
    const limit = FairRunQueue.vdelta(Math.max(2 * this.baseSliceNs, tickNs), t);
    const lag = this.avgVruntime(t) - t.vruntime;
    t.vlag = Math.max(-limit, Math.min(limit, lag));
  }

  /** check_preempt_wakeup_fair(): preempt if pick_eevdf would choose the woken task. */
  wouldPreempt(t: Task): boolean {
    if (!this.curr) return true; // the idle task is always preempted
    if (this.needResched) return false;
    return this.pick() === t;
  }

  /**
   * reweight_eevdf(): the task's lag in real time is kept (v' = V - (V - v)·w/w') and so is
   * the real time left of its slice (d' = v' + (d - v)·w/w').
   */
  reweight(t: Task, weight: number): void {
    if (weight === t.weight) return;
    const v = this.avgVruntime();
    const ratio = t.weight / weight;
    const parity = t.pickedDeadline === t.deadline;
    const vruntime = v - (v - t.vruntime) * ratio;
    t.deadline = vruntime + (t.deadline - t.vruntime) * ratio;
    if (parity) t.pickedDeadline = t.deadline;
    t.vruntime = vruntime;
    t.weight = weight;
  }
}
