import type { Timer } from '../engine/simulator.ts';
import type { ResolvedCgroup } from '../scenario/resolve.ts';

/**
 * A cgroup v2 of the cpu and cpuset controllers (kernel/sched/fair.c, core.c; Documentation/
 * admin-guide/cgroup-v2.rst). `cpuset.cpus` narrows its tasks' affinity (at resolve time).
 *
 * cpu.weight: the group competes as one entity with the weight cpu.weight × 1024 / 100
 * (sched_weight_from_cgroup), its share on a CPU being weight × (its load there) / (its load
 * everywhere) (calc_group_shares). rxsim's run queues are flat, so a member task runs with the
 * weight that hierarchy would give it: group weight × task weight / the group's runnable load —
 * what calc_group_shares yields when load is the weight of runnable tasks (the kernel uses the
 * PELT average, which also remembers tasks that slept recently). Weights are recomputed
 * (reweight_entity) whenever a member wakes, sleeps or is throttled.
 *
 * cpu.max: at most `quota` of CPU time per `period`, summed over CPUs. The time is what
 * update_curr charges: all of it, interrupt and softirq time on top of a member task included,
 * unless kernel.irq_time_accounting (then interrupts are not charged; the Iron effect is gone).
 * When the quota is used up the group is throttled: its tasks leave the run queues until the
 * period timer refills it (unthrottle). The kernel hands out runtime in 5 ms slices per CPU and
 * notices exhaustion at the next update_curr; here one global pool is checked exactly (a timer
 * fires when the pool runs out), so a throttled group has used exactly its quota.
 * cpu.stat: usage, nr_periods, nr_throttled, throttled_usec (per CPU with throttled tasks).
 */
/** What a group needs of its member tasks (Task satisfies it). */
export interface GroupMember {
  readonly baseWeight: number;
  state: 'runnable' | 'sleeping';
}

export class Cgroup<T extends GroupMember = GroupMember> {
  readonly tasks: T[] = [];
  /** Runnable members held off the run queues while throttled. */
  readonly throttledTasks: T[] = [];
  /** sched_weight_from_cgroup(cpu.weight). */
  readonly shares: number;
  readonly quotaNs: number;
  readonly periodNs: number;

  /** Runtime used in this period (what update_curr charged), and the CPUs running a member now. */
  used = 0;
  running = 0;
  throttled = false;
  private throttledSince = 0;
  private throttledCpus = 0;

  // cpu.stat
  nrPeriods = 0;
  nrThrottled = 0;
  throttledNs = 0;

  /** Fires when the quota would run out, and at each period's end. */
  quotaTimer: Timer | null = null;
  periodTimer: Timer | null = null;

  constructor(
    readonly index: number,
    readonly cfg: ResolvedCgroup,
  ) {
    this.shares = Math.round((cfg.weight * 1024) / 100);
    this.quotaNs = cfg.quotaUs === null ? Infinity : cfg.quotaUs * 1000;
    this.periodNs = cfg.periodUs * 1000;
  }

  get limited(): boolean {
    return this.quotaNs !== Infinity;
  }

  /** The weight a member runs with (see above); MIN_SHARES 2 as a floor. */
  effectiveWeight(t: T): number {
    let load = 0;
    for (const m of this.tasks) if (m.state === 'runnable' && !this.throttledTasks.includes(m)) load += m.baseWeight;
    if (load === 0) load = t.baseWeight;
    return Math.max(2, (this.shares * t.baseWeight) / load);
  }

  /** The group is out of runtime for this period. */
  exhausted(): boolean {
    return this.used >= this.quotaNs;
  }

  /** When the quota runs out if the running members keep running (Infinity if none runs). */
  exhaustionAt(now: number): number {
    if (!this.limited || this.running === 0 || this.throttled) return Infinity;
    return now + Math.ceil((this.quotaNs - this.used) / this.running);
  }

  throttle(now: number, cpusWithMembers: number): void {
    this.throttled = true;
    this.nrThrottled++;
    this.throttledSince = now;
    this.throttledCpus = cpusWithMembers;
  }

  /** The period timer refilled the quota: members may run again. */
  unthrottle(now: number): void {
    this.throttledNs += (now - this.throttledSince) * this.throttledCpus;
    this.throttled = false;
  }

  /** Start of the measurement window: cpu.stat counters restart. */
  resetStats(now: number): void {
    this.nrPeriods = this.nrThrottled = this.throttledNs = 0;
    if (this.throttled) this.throttledSince = now;
  }

  /** Start of a period: the quota is refilled (sched_cfs_period_timer). */
  newPeriod(active: boolean): void {
    this.used = 0;
    if (active) this.nrPeriods++;
  }
}
