import type { Timer } from '../engine/simulator.ts';
import type { ResolvedCgroup } from '../scenario/resolve.ts';

/**
 * A cgroup v2 of the cpu and cpuset controllers (kernel/sched/fair.c, core.c; Documentation/
 * admin-guide/cgroup-v2.rst). `cpuset.cpus` narrows its tasks' affinity (at resolve time).
 *
 * cpu.weight: the group competes as one entity with the weight cpu.weight × 1024 / 100
 * (sched_weight_from_cgroup) among the tasks and groups of its parent, its share on a CPU being
 * weight × (its load there) / (its load everywhere) (calc_group_shares). rxsim's run queues are
 * flat, so a member task runs with the weight the hierarchy would give it on the root run queue:
 * its own weight × Π over the groups of its path of shares(G) / load(G), where load(G) is the
 * weight of G's runnable tasks plus the shares of its child groups that have runnable tasks —
 * what calc_group_shares yields level by level when load is the weight of runnable entities (the
 * kernel uses the PELT average, which also remembers tasks that slept recently). A pod two levels
 * down (kubepods/pod/container) thus gets its pod's share of kubepods' share. Weights are
 * recomputed (reweight_entity) whenever a member wakes, sleeps or is throttled.
 *
 * cpu.max: at most `quota` of CPU time per `period`, summed over CPUs. The time is what
 * update_curr charges: all of it, interrupt and softirq time on top of a member task included,
 * unless kernel.irq_time_accounting (then interrupts are not charged; the Iron effect is gone).
 * When the quota is used up the group is throttled: its tasks leave the run queues until the
 * period timer refills it (unthrottle). Runtime and throttling are hierarchical: time a task runs
 * is charged to every group of its path (account_cfs_rq_runtime at each level), and a task runs
 * only while no group of its path is throttled (throttled_hierarchy). The kernel hands out runtime in 5 ms slices per CPU and
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
  /** Every task of its subtree (cpu.stat and cpu.max count them all). */
  readonly tasks: T[] = [];
  /** The tasks attached to this group itself (cgroup.procs). */
  readonly direct: T[] = [];
  readonly children: Cgroup<T>[] = [];
  parent: Cgroup<T> | null = null;
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

  /** The group and its ancestors, nearest first (the levels a task's time is charged to). */
  lineage(): Cgroup<T>[] {
    return this.parent ? [this, ...this.parent.lineage()] : [this];
  }

  /** Attach a task here (echo pid > cgroup.procs): it is in the subtree of every ancestor too. */
  attach(t: T & { group: Cgroup<T> | null }): void {
    t.group = this;
    this.direct.push(t);
    for (const g of this.lineage()) g.tasks.push(t);
  }

  /** The group itself or an ancestor, whichever is throttled nearest to it (throttled_hierarchy), or null. */
  throttledAncestor(): Cgroup<T> | null {
    if (this.throttled) return this;
    return this.parent ? this.parent.throttledAncestor() : null;
  }

  /** Is `t` (a member of this group) held off the run queues by a throttled group of its path? */
  holds(t: T): boolean {
    return this.top().holdsBelow(t);
  }

  /** The topmost group of its path (below the root). */
  top(): Cgroup<T> {
    return this.parent ? this.parent.top() : this;
  }

  /** Is `t` in this group's subtree? */
  contains(t: T): boolean {
    return this.tasks.includes(t);
  }

  /** Held by this group or a descendant (the tasks of a subtree are held in the lists of its groups). */
  private holdsBelow(t: T): boolean {
    if (this.throttledTasks.includes(t)) return true;
    for (const c of this.children) if (c.tasks.includes(t) && c.holdsBelow(t)) return true;
    return false;
  }

  /** Does the subtree have a runnable member on a run queue? */
  private hasLoad(): boolean {
    const top = this.top();
    for (const t of this.tasks) if (t.state === 'runnable' && !top.holdsBelow(t)) return true;
    return false;
  }

  /** load(G): the weights of its runnable tasks and the shares of its child groups with runnable tasks. */
  private load(): number {
    let load = 0;
    for (const t of this.direct) if (t.state === 'runnable' && !this.holds(t)) load += t.baseWeight;
    for (const c of this.children) if (c.hasLoad()) load += c.shares;
    return load;
  }

  /**
   * The weight a member runs with on the flat run queue (see above); MIN_SHARES 2 as a floor.
   * A level where nothing else is runnable counts the member's own branch alone.
   */
  effectiveWeight(t: T): number {
    let w = t.baseWeight;
    let branch = t.baseWeight; // the weight of the entity through which t sits in this level
    for (const g of this.lineage()) {
      const load = g.load() || branch;
      w = (w * g.shares) / load;
      branch = g.shares;
    }
    return Math.max(2, w);
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
