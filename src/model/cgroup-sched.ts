import type { EventKind, Simulator } from '../engine/simulator.ts';
import type { ResolvedCgroup } from '../scenario/resolve.ts';
import { Cgroup } from './cgroup.ts';
import type { Cpu } from './cpu.ts';
import type { Jiffies } from './jiffies.ts';
import { ms3 } from '../metrics/round.ts';
import { Acct, type Task } from './task.ts';

export interface GroupSchedHost {
  readonly sim: Simulator;
  readonly cpus: readonly Cpu[];
  readonly jiffies: Jiffies;
  readonly sched: {
    resched(cpu: Cpu, fromCpu: number): void;
    selectTaskRq(task: Task, wakerCpu: number): number;
  };
}

/** A cgroup in the result: CPU time of its tasks (interrupt time charged to them included) and cpu.stat. */
export interface CgroupResult {
  name: string;
  cpus: number[] | null;
  weight: number;
  /** cpu.max as "quota period" (µs) or "max period". */
  max: string;
  usage_ms: number;
  user_ms: number;
  /** System time, and within it the softirq and hardirq time that hit its tasks. */
  system_ms: number;
  softirq_ms: number;
  irq_ms: number;
  nr_periods: number;
  nr_throttled: number;
  throttled_ms: number;
}

/**
 * Group scheduling of the cpu controller (kernel/sched/fair.c): the shares a member runs with
 * (reweight_entity after calc_group_shares) and cpu.max bandwidth control — the quota timer
 * that throttles a group on every CPU (throttle_cfs_rq) and the period timer that refills it
 * (sched_cfs_period_timer → distribute_cfs_runtime → unthrottle_cfs_rq). The group's own state
 * is in cgroup.ts.
 */
export class GroupScheduler {
  /** cgroups (cpu and cpuset controllers), by index. */
  readonly groups: Cgroup<Task>[];
  private readonly quotaEvent: EventKind;
  private readonly periodEvent: EventKind;

  constructor(
    private readonly k: GroupSchedHost,
    cfgs: ResolvedCgroup[],
  ) {
    this.quotaEvent = k.sim.on((g) => this.onQuota(this.groups[g]!));
    this.periodEvent = k.sim.on((g) => this.onPeriod(this.groups[g]!));
    this.groups = cfgs.map((cfg, i) => {
      const g = new Cgroup<Task>(i, cfg);
      if (g.limited) {
        g.quotaTimer = k.sim.timer(this.quotaEvent, i);
        g.periodTimer = k.sim.timer(this.periodEvent, i);
      }
      return g;
    });
    // The hierarchy: resolve lists parents before children.
    for (const g of this.groups) {
      if (g.cfg.parent === null) continue;
      g.parent = this.byName(g.cfg.parent)!;
      g.parent.children.push(g);
    }
  }

  byName(name: string): Cgroup<Task> | undefined {
    return this.groups.find((g) => g.cfg.name === name);
  }

  /** The machine starts: the period timers run. */
  start(): void {
    for (const g of this.groups) g.periodTimer?.arm(g.periodNs);
  }

  /** The groups' part of the result. */
  report(): CgroupResult[] {
    return this.groups.map((g) => {
      const t = new Float64Array(5);
      for (const task of g.tasks) for (let c = 0; c < 5; c++) t[c]! += task.time[c]!;
      return {
        name: g.cfg.name,
        cpus: g.cfg.cpus,
        weight: g.cfg.weight,
        max: `${g.cfg.quotaUs ?? 'max'} ${g.cfg.periodUs}`,
        usage_ms: ms3(t[Acct.USR]! + t[Acct.SYS]! + t[Acct.IRQ]! + t[Acct.SOFT]!),
        user_ms: ms3(t[Acct.USR]!),
        system_ms: ms3(t[Acct.SYS]! + t[Acct.IRQ]! + t[Acct.SOFT]!),
        softirq_ms: ms3(t[Acct.SOFT]!),
        irq_ms: ms3(t[Acct.IRQ]!),
        nr_periods: g.nrPeriods,
        nr_throttled: g.nrThrottled,
        throttled_ms: ms3(g.throttledNs),
      };
    });
  }

  /** Start of the measurement window: cpu.stat restarts. */
  resetWindow(now: number): void {
    for (const g of this.groups) g.resetStats(now);
  }

  /** A CPU switched tasks: run counts and cpu.max timers of both paths, and shares when a member slept. */
  currChanged(prev: Task | null, next: Task | null): void {
    if (prev === next) return;
    const pg = prev?.group ?? null;
    const ng = next?.group ?? null;
    for (let g = pg; g; g = g.parent) g.running--;
    for (let g = ng; g; g = g.parent) g.running++;
    if (pg && prev!.state === 'sleeping') this.reweight(pg);
    for (let g = pg; g; g = g.parent) this.armQuota(g);
    for (let g = ng; g; g = g.parent) this.armQuota(g); // a group on both paths is armed twice: harmless
  }

  /** reweight_entity() for every runnable task under the top group of `g`'s path: the shares are split anew at every level. */
  reweight(g: Cgroup<Task>): void {
    const top = g.top();
    for (const t of top.tasks) {
      const own = t.group!;
      const w = own.effectiveWeight(t);
      if (t.state !== 'runnable' || own.holds(t)) {
        t.weight = w;
        continue;
      }
      const cpu = this.k.cpus[t.cpu]!;
      if (cpu.rq.curr === t) cpu.updateCurr();
      if (cpu.rq.curr === t || cpu.rq.queued.includes(t)) cpu.rq.reweight(t, w);
      else t.weight = w;
    }
  }

  /** Arm the group's cpu.max timer for when its running members would use up the quota. */
  private armQuota(g: Cgroup<Task>): void {
    if (!g.limited) return;
    for (const cpu of this.k.cpus) if (cpu.rq.curr && g.contains(cpu.rq.curr)) cpu.updateCurr();
    const at = g.exhaustionAt(this.k.sim.now);
    if (at === Infinity) g.quotaTimer!.cancel();
    else g.quotaTimer!.arm(at);
  }

  /** The quota timer: if the runtime is used up, throttle the group on every CPU. */
  private onQuota(g: Cgroup<Task>): void {
    const k = this.k;
    for (const cpu of k.cpus) if (cpu.rq.curr && g.contains(cpu.rq.curr)) cpu.updateCurr();
    if (!g.exhausted()) {
      this.armQuota(g); // interrupt time was not charged (irq_time_accounting): not yet
      return;
    }
    let cpusWithMembers = 0;
    for (const cpu of k.cpus) {
      let has = false;
      for (const t of [...cpu.rq.queued]) {
        if (!g.contains(t)) continue;
        cpu.rq.saveLag(t, k.jiffies.tickNs);
        cpu.rq.remove(t);
        g.throttledTasks.push(t);
        has = true;
      }
      if (cpu.rq.curr && g.contains(cpu.rq.curr)) {
        k.sched.resched(cpu, -1); // it leaves at its next schedule()
        has = true;
      }
      if (has) cpusWithMembers++;
    }
    g.throttle(k.sim.now, cpusWithMembers);
  }

  /** sched_cfs_period_timer: refill the quota; a throttled group's tasks go back on their run queues. */
  private onPeriod(g: Cgroup<Task>): void {
    const k = this.k;
    for (const cpu of k.cpus) if (cpu.rq.curr && g.contains(cpu.rq.curr)) cpu.updateCurr();
    g.newPeriod(g.used > 0 || g.throttled || g.running > 0);
    if (g.throttled) {
      g.unthrottle(k.sim.now);
      for (const t of g.throttledTasks.splice(0)) {
        const still = t.group!.throttledAncestor();
        if (still) {
          still.throttledTasks.push(t); // another group of its path is throttled too
          continue;
        }
        const cpu = k.cpus[t.allowed.includes(t.cpu) ? t.cpu : k.sched.selectTaskRq(t, t.allowed[0]!)]!;
        t.cpu = cpu.id;
        cpu.updateCurr();
        t.listStamp = k.sim.now;
        cpu.rq.enqueue(t);
        if (cpu.rq.wouldPreempt(t)) k.sched.resched(cpu, -1);
        else cpu.kick();
      }
      this.reweight(g);
    }
    this.armQuota(g);
    g.periodTimer!.arm(k.sim.now + g.periodNs);
  }
}
