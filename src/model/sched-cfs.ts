import { FairRunQueue, tunableFactor } from './sched.ts';
import type { Task } from './task.ts';

/**
 * CFS as before Linux 6.6 (kernel/sched/fair.c of 4.x-6.5), for scenarios of that era
 * (`kernel.sched: "cfs"`).
 *
 * Modelled: the leftmost (smallest vruntime) task runs; sched_slice() shares the period
 * (sched_latency, or nr × min_granularity beyond sched_nr_latency tasks) by weight;
 * check_preempt_tick at each tick (past its ideal runtime, or past min_granularity and ahead of
 * the leftmost by more than the ideal runtime); check_preempt_wakeup (the woken task preempts
 * if curr's vruntime is ahead by more than wakeup_granularity in the woken task's virtual
 * time); place_entity with START_DEBIT for new tasks and GENTLE_FAIR_SLEEPERS for wakeups (a
 * sleeper is credited at most half a latency period); vruntime kept relative to min_vruntime
 * across sleep and migration. The tunables scale with the CPU count (factor 1 + ilog2(min(n,8))):
 * sched_latency 6 ms, min_granularity 0.75 ms, wakeup_granularity 1 ms, each × factor.
 *
 * Not modelled: the next/last/skip buddies (LAST_BUDDY prefers the task preempted by a wakeup).
 */
export class CfsRunQueue extends FairRunQueue {
  private readonly latencyNs: number;
  private readonly minGranularityNs: number;
  private readonly wakeupGranularityNs: number;
  /** sched_nr_latency = latency / min_granularity (8). */
  private readonly nrLatency: number;

  constructor(cpu: number, ncpus: number) {
    super(cpu);
    const f = tunableFactor(ncpus);
    this.latencyNs = 6_000_000 * f;
    this.minGranularityNs = 750_000 * f;
    this.wakeupGranularityNs = 1_000_000 * f;
    this.nrLatency = Math.round(this.latencyNs / this.minGranularityNs);
  }

  /** __sched_period(). */
  private period(nr: number): number {
    return nr > this.nrLatency ? nr * this.minGranularityNs : this.latencyNs;
  }

  /** sched_slice(): the task's share of the period by weight (counting it as runnable). */
  private slice(t: Task): number {
    const onRq = this.curr === t || this.queued.includes(t);
    const load = this.load() + (onRq ? 0 : t.weight);
    return (this.period(this.nrRunning + (onRq ? 0 : 1)) * t.weight) / load;
  }

  private leftmost(): Task | null {
    let best: Task | null = null;
    for (const t of this.queued) if (!best || t.vruntime < best.vruntime) best = t;
    return best;
  }

  /** pick_next_entity(): the leftmost, or curr if it is further left. */
  pick(): Task | null {
    const curr = this.curr && this.curr.state === 'runnable' ? this.curr : null;
    const left = this.leftmost();
    if (!left || (curr && curr.vruntime <= left.vruntime)) return curr ?? left;
    return left;
  }

  /** check_preempt_tick(). */
  override tick(): void {
    const c = this.curr;
    if (!c || this.queued.length === 0) return;
    const ideal = this.slice(c);
    const ran = c.sumExec - c.prevSumExec;
    if (ran > ideal) {
      this.needResched = true;
      return;
    }
    if (ran < this.minGranularityNs) return;
    const left = this.leftmost()!;
    if (c.vruntime - left.vruntime > ideal) this.needResched = true;
  }

  /**
   * place_entity() at enqueue: a new task starts a virtual slice after min_vruntime
   * (START_DEBIT); a waking one keeps its vruntime (kept relative to min_vruntime while it
   * slept) but no further back than half a latency period (GENTLE_FAIR_SLEEPERS).
   */
  enqueue(t: Task): void {
    if (t.fresh) {
      t.vruntime = this.minVruntime + FairRunQueue.vdelta(this.slice(t), t);
      t.fresh = false;
    } else {
      t.vruntime = Math.max(this.minVruntime + t.vlag, this.minVruntime - this.latencyNs / 2);
    }
    this.queued.push(t);
  }

  /** dequeue_entity(): keep the vruntime relative to min_vruntime (for a migration or a wakeup). */
  saveLag(t: Task, tickNs: number): void {
    void tickNs;
    t.vlag = t.vruntime - this.minVruntime;
  }

  /** check_preempt_wakeup() → wakeup_preempt_entity(curr, woken). */
  wouldPreempt(t: Task): boolean {
    const c = this.curr;
    if (!c) return true;
    if (this.needResched) return false;
    const vdiff = c.vruntime - t.vruntime;
    return vdiff > FairRunQueue.vdelta(this.wakeupGranularityNs, t);
  }

  /** reweight_entity(): vruntime stays; the new weight applies from now on. */
  reweight(t: Task, weight: number): void {
    t.weight = weight;
  }
}
