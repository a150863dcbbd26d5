import type { Simulator } from '../engine/simulator.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import { CpuCapacity, SCHED_CAPACITY_SCALE } from './cpu-capacity.ts';
import type { Jiffies } from './jiffies.ts';
import { buildSchedDomains, CPU_IDLE_TYPES, CpuIdleType, MAX_PINNED_INTERVAL_MS, type SchedDomain } from './sched-domain.ts';
import type { SoftirqAction } from './softirq.ts';
import { SCHED_SOFTIRQ } from './softirq.ts';
import type { Task } from './task.ts';

export interface LoadBalanceHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly jiffies: Jiffies;
  readonly cpus: readonly Cpu[];
  readonly config: { readonly irqTimeAccounting: boolean; readonly migrationCostNs: number };
  readonly irqs: { readonly CAL: number };
  readonly smp: { register(onReceive: (cpu: Cpu) => void): number; send(cpu: number, kind: number): void };
  readonly softirq: { open(nr: number, action: SoftirqAction): void; raiseIrqoff(cpu: Cpu, nr: number): void };
  readonly sched: { resched(cpu: Cpu, fromCpu: number): void };
  /** The NUMA nodes (machine.numa_nodes): each is one LLC. */
  readonly topology: { readonly cpuNode: readonly number[]; readonly nodes: number };
}

/** enum group_type, in the kernel's order of who is pulled from first (the ones rxsim's machines can show). */
const GROUP_HAS_SPARE = 0;
const GROUP_FULLY_BUSY = 1;
const GROUP_MISFIT_TASK = 2;
const GROUP_OVERLOADED = 6;

/** enum migration_type. */
const MIGRATE_LOAD = 0;
const MIGRATE_TASK = 2;
const MIGRATE_MISFIT = 3;

/** NUMA_IMBALANCE_MIN: the imbalance adjust_numa_imbalance() tolerates toward a lightly loaded node. */
const NUMA_IMBALANCE_MIN = 2;

/** sysctl_sched_migration_cost's default: rq->avg_idle starts at twice it (sched_init). */
const DEFAULT_MIGRATION_COST_NS = 500_000;

/** sysctl_sched_nr_migrate: tasks looked at per pass (loop_max). */
const SCHED_NR_MIGRATE = 32;

/** A group's statistics (struct sg_lb_stats). */
interface GroupStats {
  /** Its CPUs still considered (a CPU whose tasks were all pinned is left out of a redo). */
  cpus: number[];
  /** sum_h_nr_running: runnable fair tasks, the running ones included. */
  nr: number;
  /** group_load: their weights (the kernel's PELT load average of them). */
  load: number;
  capacity: number;
  /** avg_load = load × SCHED_CAPACITY_SCALE / capacity (computed for overloaded groups only, as the kernel does). */
  avgLoad: number;
  idleCpus: number;
  /** group_weight: its CPUs. */
  weight: number;
  type: number;
  /** A CPU running one task on capacity that interrupts reduced (the misfit source), or -1. */
  misfitCpu: number;
}

/** /proc/<pid>/sched's migration counters of a task. */
export interface MigrationStats {
  nr_forced_migrations: number;
  nr_failed_migrations_affine: number;
  nr_failed_migrations_running: number;
  nr_failed_migrations_hot: number;
}

/** A CPU's scheduling domain in the result: /proc/schedstat's load-balancing counters. */
export interface SchedDomainResult {
  cpu: number;
  domain: string;
  span: number[];
  /** Per idle type: balance passes, passes that found it balanced, passes that moved nothing, tasks pulled. */
  lb: Record<(typeof CPU_IDLE_TYPES)[number], { count: number; balanced: number; failed: number; gained: number }>;
  alb_count: number;
  alb_pushed: number;
  /** This CPU's balance_interval at the end of the window (ms). */
  balance_interval_ms: number;
}

/**
 * Load balancing of the fair class (kernel/sched/fair.c), on the sched domains of
 * sched-domain.ts:
 *
 *  - periodic: the tick (sched_balance_trigger) raises SCHED_SOFTIRQ when rq->next_balance is
 *    due; sched_balance_softirq → sched_balance_domains() balances each domain whose interval
 *    (× busy_factor on a busy CPU) has passed;
 *  - nohz idle balancing: idle CPUs have no tick, so a busy CPU's tick (nohz_balancer_kick)
 *    kicks the first idle CPU (find_new_ilb) with a function-call IPI when the nohz balance is
 *    due and it has two runnable tasks, a task on reduced capacity, or other busy CPUs in its
 *    LLC; that CPU balances on behalf of every idle CPU whose balance is due (_nohz_idle_balance);
 *  - newidle: a CPU about to go idle pulls at once (sched_balance_newidle) when some CPU is
 *    overloaded (rd->overloaded) and its average idle time exceeds the cost of a pass;
 *  - sched_balance_rq(): the busiest group (sched_balance_find_src_group with
 *    update_sd_pick_busiest and calculate_imbalance: migrate_task toward an idle CPU,
 *    migrate_load between busy ones, imbalance_pct between overloaded ones, misfit for a task
 *    on a CPU whose capacity interrupts reduced), then detach_tasks() from the tail of the
 *    busiest CPU's task list with can_migrate_task(): per-CPU kthreads stay, affinity
 *    (cpusets included) is respected, the running task cannot be pulled, a task that ran within
 *    sysctl_sched_migration_cost is cache-hot until nr_balance_failed exceeds cache_nice_tries;
 *    the interval doubles while balanced and resets after an imbalance; redo without a CPU whose
 *    tasks were all pinned;
 *  - active balance: when nothing could be pulled and need_active_balance() holds (balancing
 *    failed more than cache_nice_tries + 2 times, or the source runs one task on reduced
 *    capacity), the stopper on the busiest CPU (migration/N) pushes its running task.
 *
 * Simplified: load is the weight of the runnable tasks, not their PELT average (so a task that
 * just slept counts for nothing); a group is overloaded with two runnable tasks and fully busy
 * with one (the kernel also compares PELT utilisation with capacity); the stopper's own context
 * switches are the preempted task's.
 */
export class LoadBalancer {
  /** Each CPU's domains, lowest level first. */
  readonly domains: SchedDomain[][];
  /** rq->next_balance (jiffies). */
  private readonly nextBalance: Float64Array;
  /** rq->avg_idle and rq->idle_stamp (ns; 0: not idle since the last wake-up). */
  private readonly avgIdle: Float64Array;
  private readonly idleStamp: Float64Array;
  /** nohz_flags(cpu): a kick is on its way to this CPU; rq->nohz_idle_balance once it arrived. */
  private readonly kickPending: Uint8Array;
  private readonly nohzIdleBalance: Uint8Array;
  /** rq->active_balance and rq->push_cpu: the stopper of this CPU is to push a task there (-1: none). */
  private readonly pushCpu: Int32Array;
  private readonly capacities: CpuCapacity[];
  /** rd->overloaded: some CPU had two runnable tasks since the top domain was last balanced. */
  private overloaded = false;
  /** nohz.next_balance (jiffies). */
  private nohzNextBalance = 0;
  private readonly kickIpi: number;
  private readonly hz: number;

  constructor(private readonly k: LoadBalanceHost) {
    const n = k.cpus.length;
    this.domains = buildSchedDomains(k.topology.cpuNode, k.topology.nodes);
    this.hz = k.jiffies.hz;
    this.nextBalance = new Float64Array(n);
    this.avgIdle = new Float64Array(n).fill(2 * DEFAULT_MIGRATION_COST_NS); // set at boot, before any tuning
    this.idleStamp = new Float64Array(n);
    this.kickPending = new Uint8Array(n);
    this.nohzIdleBalance = new Uint8Array(n);
    this.pushCpu = new Int32Array(n).fill(-1);
    this.capacities = Array.from({ length: n }, () => new CpuCapacity(k.config.irqTimeAccounting));
    k.softirq.open(SCHED_SOFTIRQ, (cpu) => this.schedBalanceSoftirq(cpu)); // init_sched_fair_class
    // nohz_csd_func(): the kicked CPU raises SCHED_SOFTIRQ if it is still idle.
    this.kickIpi = k.smp.register((cpu) => cpu.raiseHardirq({ desc: k.irqs.CAL, handler: (c) => this.nohzCsd(c) }));
  }

  // ---- called by the scheduler ----

  /** sched_balance_trigger() from sched_tick(). */
  trigger(cpu: Cpu): void {
    if (this.domains[cpu.id]!.length === 0) return;
    const j = this.k.jiffies.now();
    if (j >= this.nextBalance[cpu.id]!) this.k.softirq.raiseIrqoff(cpu, SCHED_SOFTIRQ);
    this.nohzBalancerKick(cpu, j);
  }

  /** add_nr_running(): a second runnable task on a CPU sets rd->overloaded. */
  enqueued(cpu: Cpu): void {
    if (cpu.rq.nrRunning >= 2) this.overloaded = true;
  }

  /** ttwu_do_activate(): a task woke onto a CPU that had gone idle — the idle period enters avg_idle. */
  wokeOnto(cpu: number): void {
    const stamp = this.idleStamp[cpu]!;
    if (stamp === 0) return;
    const max = 2 * Math.max(this.k.config.migrationCostNs, this.maxNewidleLbCost(cpu));
    let avg = this.avgIdle[cpu]!;
    avg += (this.k.sim.now - stamp - avg) / 8; // update_avg()
    this.avgIdle[cpu] = Math.min(avg, max);
    this.idleStamp[cpu] = 0;
  }

  /**
   * sched_balance_newidle(): `cpu` found nothing to run. Returns the CPU time the pass took
   * (0 if it did not run); a pulled task is on the CPU's run queue.
   */
  newidle(cpu: Cpu): number {
    const c = cpu.id;
    this.idleStamp[c] = Math.max(1, this.k.sim.now);
    const domains = this.domains[c]!;
    if (domains.length === 0) return 0;
    const n = this.k.cpus.length;
    // rq->next_balance comes in to the idle interval: an idle CPU is balanced by the nohz kick from then on.
    let next = this.k.jiffies.now() + this.hz;
    for (const sd of domains) next = Math.min(next, sd.lastBalance + sd.interval(false, this.hz, n));
    if (next < this.nextBalance[c]!) this.nextBalance[c] = next;
    for (const sd of domains) this.decayNewidleCost(sd);
    if (!this.overloaded || this.avgIdle[c]! < domains[0]!.maxNewidleLbCost) return 0;
    let cost = 0;
    for (const sd of domains) {
      if (this.avgIdle[c]! < cost + sd.maxNewidleLbCost) break;
      const moved = this.balanceRq(c, sd, CpuIdleType.NEWLY_IDLE);
      const domainCost = this.passCost(sd) + moved * this.k.costs.sched_migrate_task;
      cost += domainCost;
      if (moved > 0 || cpu.rq.nrRunning > 0) {
        this.updateNewidleCost(sd, domainCost);
        this.idleStamp[c] = 0;
        break;
      }
      // 6.18 (155213a2aed4): a pass that found nothing makes the next one look dearer, half as
      // much again — up to sysctl_sched_migration_cost + 200 ns: CPUs that idle for less stop
      // newidle balancing after a few fruitless passes.
      this.updateNewidleCost(sd, Math.max(domainCost, sd.maxNewidleLbCost + (sd.maxNewidleLbCost >> 1)));
    }
    return cost;
  }

  /**
   * The stopper (migration/N) preempts the running task `prev` of `cpu` for an active balance:
   * returns the CPU to push `prev` to, or -1. If `prev` cannot move, active_load_balance_cpu_stop
   * → detach_one_task() moves another task of the CPU.
   */
  stopperPush(cpu: Cpu, prev: Task): number {
    const to = this.pushCpu[cpu.id]!;
    if (to < 0) return -1;
    this.pushCpu[cpu.id] = -1;
    // The lowest domain of the target that spans the busiest CPU; a push resets its failures.
    const sd = this.domains[to]!.find((d) => d.span.includes(cpu.id))!;
    if (this.movable(prev, to)) {
      sd.albPushed++;
      sd.nrBalanceFailed = 0;
      return to;
    }
    const other = this.detachOrder(cpu).find((t) => t !== prev && this.movable(t, to));
    if (other) {
      sd.albPushed++;
      sd.nrBalanceFailed = 0;
      cpu.rq.saveLag(other, this.k.jiffies.tickNs);
      cpu.rq.remove(other);
      this.attach(other, to, cpu.id);
    }
    return -1;
  }

  /** Its part of the result: each CPU's domains with their schedstat counters. */
  report(): SchedDomainResult[] {
    const out: SchedDomainResult[] = [];
    this.domains.forEach((sds, cpu) => {
      for (const sd of sds) {
        const lb = Object.fromEntries(CPU_IDLE_TYPES.map((name, i) => [name, { ...sd.lb[i]! }])) as SchedDomainResult['lb'];
        out.push({ cpu, domain: sd.name, span: [...sd.span], lb, alb_count: sd.albCount, alb_pushed: sd.albPushed, balance_interval_ms: sd.balanceIntervalMs });
      }
    });
    return out;
  }

  resetWindow(): void {
    for (const sds of this.domains) for (const sd of sds) sd.resetStats();
  }

  // ---- the softirq and the nohz kick ----

  /** sched_balance_softirq(). */
  private *schedBalanceSoftirq(cpu: Cpu): Generator<number, void, void> {
    const idle = this.idleCpu(cpu.id);
    const flags = this.nohzIdleBalance[cpu.id]!;
    this.nohzIdleBalance[cpu.id] = 0;
    if (flags !== 0 && idle) {
      yield* this.nohzIdleBalanceAll(cpu);
      return;
    }
    yield* this.balanceDomains(cpu.id, idle ? CpuIdleType.IDLE : CpuIdleType.NOT_IDLE);
  }

  /** sched_balance_domains(): balance each domain of `c` whose interval has passed; set rq->next_balance. */
  private *balanceDomains(c: number, idle: CpuIdleType): Generator<number, void, void> {
    let busy = idle === CpuIdleType.NOT_IDLE;
    let next = this.k.jiffies.now() + 60 * this.hz;
    const n = this.k.cpus.length;
    for (const sd of this.domains[c]!) {
      let interval = sd.interval(busy, this.hz, n);
      if (this.k.jiffies.now() >= sd.lastBalance + interval) {
        yield this.passCost(sd);
        const moved = this.balanceRq(c, sd, idle);
        if (moved > 0) {
          yield moved * this.k.costs.sched_migrate_task; // detach_task + attach_task
          idle = this.idleCpu(c) ? CpuIdleType.IDLE : CpuIdleType.NOT_IDLE;
          busy = idle === CpuIdleType.NOT_IDLE;
        }
        sd.lastBalance = this.k.jiffies.now();
        interval = sd.interval(busy, this.hz, n);
      }
      next = Math.min(next, sd.lastBalance + interval);
    }
    this.nextBalance[c] = next;
  }

  /** nohz_balancer_kick(): a busy CPU's tick asks an idle CPU to balance for the idle ones. */
  private nohzBalancerKick(cpu: Cpu, j: number): void {
    const c = cpu.id;
    if (this.idleCpu(c)) return; // rq->idle_balance
    let idleCpus = 0;
    let busyCpus = 0; // sd_llc_shared->nr_busy_cpus: in this CPU's LLC
    const node = this.k.topology.cpuNode;
    for (const other of this.k.cpus) {
      if (this.idleCpu(other.id)) idleCpus++;
      else if (node[other.id] === node[c]) busyCpus++;
    }
    if (idleCpus === 0 || j < this.nohzNextBalance) return;
    const nr = cpu.rq.nrRunning;
    const sd = this.domains[c]![0]!;
    const kick = nr >= 2 || (nr >= 1 && this.reducedCapacity(c, sd)) || busyCpus > 1; // nr_busy_cpus of the LLC
    if (!kick) return;
    // kick_ilb(NOHZ_KICK_MASK)
    this.nohzNextBalance = j + 1;
    const ilb = this.findNewIlb(c);
    if (ilb < 0 || this.kickPending[ilb]) return;
    this.kickPending[ilb] = 1;
    this.k.smp.send(ilb, this.kickIpi);
  }

  /** find_new_ilb(): the first idle CPU other than this one. */
  private findNewIlb(self: number): number {
    for (const cpu of this.k.cpus) if (cpu.id !== self && this.idleCpu(cpu.id)) return cpu.id;
    return -1;
  }

  private *nohzCsd(cpu: Cpu): Generator<number, void, void> {
    yield this.k.costs.hardirq_entry_exit + this.k.costs.ipi_handler;
    this.kickPending[cpu.id] = 0;
    if (!this.idleCpu(cpu.id)) return;
    this.nohzIdleBalance[cpu.id] = 1;
    this.k.softirq.raiseIrqoff(cpu, SCHED_SOFTIRQ);
  }

  /** _nohz_idle_balance(): balance every idle CPU whose balance is due, this one last. */
  private *nohzIdleBalanceAll(cpu: Cpu): Generator<number, void, void> {
    const n = this.k.cpus.length;
    let next = this.k.jiffies.now() + 60 * this.hz;
    for (let i = 1; i <= n; i++) {
      const c = (cpu.id + i) % n; // for_each_cpu_wrap(…, this_cpu + 1)
      if (!this.idleCpu(c)) continue;
      // This CPU got work to do: stop; the next kick picks the rest up.
      if (c !== cpu.id && !this.idleCpu(cpu.id) && cpu.needResched()) return;
      if (this.k.jiffies.now() >= this.nextBalance[c]!) yield* this.balanceDomains(c, CpuIdleType.IDLE);
      next = Math.min(next, this.nextBalance[c]!);
    }
    this.nohzNextBalance = next;
  }

  // ---- sched_balance_rq ----

  /** sched_balance_rq() of `dst` over `sd`: returns the number of tasks pulled. */
  private balanceRq(dst: number, sd: SchedDomain, idle: CpuIdleType): number {
    const lb = sd.lb[idle]!;
    lb.count++;
    if (!this.shouldWeBalance(dst, sd, idle)) return this.balanced(sd, idle, false);
    const excluded = new Set<number>();
    for (;;) {
      const stats = this.groupStats(dst, sd, idle, excluded);
      const local = stats[0]!;
      const busiest = this.pickBusiest(stats);
      if (!busiest) return this.balanced(sd, idle, false);
      const plan = this.findImbalance(local, busiest, stats, sd, idle);
      if (!plan) return this.balanced(sd, idle, false);
      const srcId = this.findSrcRq(busiest, plan);
      if (srcId < 0) return this.balanced(sd, idle, false); // lb_nobusyq
      const src = this.k.cpus[srcId]!;
      const res = this.detachTasks(src, dst, sd, idle, plan.type, plan.imbalance);
      if (res.moved > 0) {
        lb.gained += res.moved;
        sd.nrBalanceFailed = 0;
        sd.balanceIntervalMs = sd.minIntervalMs;
        return res.moved;
      }
      if (res.allPinned) {
        excluded.add(srcId); // redo without it, while CPUs outside the local group remain
        if (stats.slice(1).some((g) => g.cpus.some((c) => !excluded.has(c)))) continue;
        return this.balanced(sd, idle, true);
      }
      lb.failed++;
      if (idle !== CpuIdleType.NEWLY_IDLE) sd.nrBalanceFailed++;
      if (this.needActiveBalance(sd, idle, src, dst, plan.type)) {
        const curr = src.rq.curr;
        if (curr && !curr.allowed.includes(dst)) return this.onePinned(sd, idle, false);
        if (this.pushCpu[src.id]! < 0) {
          this.pushCpu[src.id] = dst;
          sd.albCount++;
          this.k.sched.resched(src, dst); // stop_one_cpu_nowait(): the stopper preempts whatever runs
        }
      }
      sd.balanceIntervalMs = sd.minIntervalMs;
      return 0;
    }
  }

  /**
   * should_we_balance(): a newly idle CPU balances if it still has nothing to run; otherwise only
   * the first idle CPU of the local group balances for it, or its first CPU if none is idle.
   */
  private shouldWeBalance(dst: number, sd: SchedDomain, idle: CpuIdleType): boolean {
    if (idle === CpuIdleType.NEWLY_IDLE) return this.k.cpus[dst]!.rq.nrRunning === 0;
    const group = sd.groups[0]!;
    const firstIdle = group.find((c) => this.idleCpu(c));
    return (firstIdle ?? Math.min(...group)) === dst;
  }

  /** out_balanced: nothing to move; then out_one_pinned. */
  private balanced(sd: SchedDomain, idle: CpuIdleType, allPinned: boolean): number {
    sd.lb[idle]!.balanced++;
    sd.nrBalanceFailed = 0;
    return this.onePinned(sd, idle, allPinned);
  }

  /** out_one_pinned: tune the balancing interval up (not for a newly idle pass). */
  private onePinned(sd: SchedDomain, idle: CpuIdleType, allPinned: boolean): number {
    if (idle === CpuIdleType.NEWLY_IDLE) return 0;
    if ((allPinned && sd.balanceIntervalMs < MAX_PINNED_INTERVAL_MS) || sd.balanceIntervalMs < sd.maxIntervalMs) sd.balanceIntervalMs *= 2;
    return 0;
  }

  /** update_sd_lb_stats() → update_sg_lb_stats() for each group, the local one first. */
  private groupStats(dst: number, sd: SchedDomain, idle: CpuIdleType, excluded: Set<number>): GroupStats[] {
    const out: GroupStats[] = [];
    let overloaded = false;
    sd.groups.forEach((span, gi) => {
      const cpus = gi === 0 ? [...span] : span.filter((c) => !excluded.has(c));
      let nr = 0;
      let load = 0;
      let capacity = 0;
      let idleCpus = 0;
      let misfitCpu = -1;
      for (const c of cpus) {
        const rq = this.k.cpus[c]!.rq;
        const n = rq.nrRunning;
        nr += n;
        load += rq.load();
        capacity += this.capacityOf(c);
        if (this.idleCpu(c)) idleCpus++;
        if (n > 1) overloaded = true;
        // A task running alone on a CPU whose capacity interrupts reduced (sched_reduced_capacity).
        // (Unlike an asymmetric machine's misfit, it does not mark the system overloaded.)
        if (gi > 0 && n === 1 && idle !== CpuIdleType.NOT_IDLE && this.reducedCapacity(c, sd)) misfitCpu = c;
      }
      const weight = cpus.length;
      // group_classify(): more runnable tasks than CPUs is overloaded (group_is_overloaded with each
      // task always runnable); fewer, or enough idle CPUs that utilisation × imbalance_pct stays
      // under capacity (group_has_capacity: tasks stacked on some CPUs), has spare; else fully busy.
      const spare = nr < weight || (weight - idleCpus) * sd.imbalancePct < weight * 100;
      let type = nr > weight ? GROUP_OVERLOADED : spare ? GROUP_HAS_SPARE : GROUP_FULLY_BUSY;
      if (type !== GROUP_OVERLOADED && misfitCpu >= 0) type = GROUP_MISFIT_TASK;
      out.push({ cpus, nr, load, capacity, avgLoad: type === GROUP_OVERLOADED ? (load * SCHED_CAPACITY_SCALE) / capacity : 0, idleCpus, weight, type, misfitCpu });
    });
    // The top domain sets rd->overloaded from what it saw.
    if (this.domains[dst]![this.domains[dst]!.length - 1] === sd) this.overloaded = overloaded;
    return out;
  }

  /** update_sd_pick_busiest() over the non-local groups. */
  private pickBusiest(stats: GroupStats[]): GroupStats | null {
    let busiest: GroupStats | null = null;
    for (let i = 1; i < stats.length; i++) {
      const s = stats[i]!;
      if (s.nr === 0) continue; // no task to pull
      if (!busiest || s.type > busiest.type) {
        busiest = s;
        continue;
      }
      if (s.type < busiest.type) continue;
      if (s.type === GROUP_OVERLOADED && s.avgLoad <= busiest.avgLoad) continue;
      if (s.type === GROUP_FULLY_BUSY && s.avgLoad < busiest.avgLoad) continue;
      if (s.type === GROUP_HAS_SPARE && (s.idleCpus > busiest.idleCpus || (s.idleCpus === busiest.idleCpus && s.nr <= busiest.nr))) continue;
      busiest = s;
    }
    return busiest;
  }

  /** sibling_imbalance(): tasks to move so both groups run the same number per core (0 unless this CPU is idle). */
  private siblingImbalance(idle: CpuIdleType, local: GroupStats, busiest: GroupStats): number {
    if (idle === CpuIdleType.NOT_IDLE || busiest.nr === 0) return 0;
    const nl = local.weight;
    const nb = busiest.weight;
    if (nl === nb) return Math.max(0, busiest.nr - local.nr);
    let imbalance = Math.max(0, nl * busiest.nr - nb * local.nr);
    imbalance = Math.floor((2 * imbalance + nl + nb) / (nl + nb));
    if (imbalance <= 1 && local.nr === 0 && busiest.nr > 1) imbalance = 2; // use an empty group
    return imbalance;
  }

  /** sched_balance_find_src_group()'s decisions and calculate_imbalance(): what to move, or null if balanced. */
  private findImbalance(local: GroupStats, busiest: GroupStats, stats: GroupStats[], sd: SchedDomain, idle: CpuIdleType): { type: number; imbalance: number } | null {
    if (busiest.type === GROUP_MISFIT_TASK) return { type: MIGRATE_MISFIT, imbalance: 1 }; // force_balance
    if (local.type > busiest.type) return null;
    let totalLoad = 0;
    let totalCapacity = 0;
    for (const s of stats) {
      totalLoad += s.load;
      totalCapacity += s.capacity;
    }
    const sdsAvg = (totalLoad * SCHED_CAPACITY_SCALE) / totalCapacity;
    if (local.type === GROUP_OVERLOADED) {
      if (local.avgLoad >= busiest.avgLoad || local.avgLoad >= sdsAvg) return null;
      if (100 * busiest.avgLoad <= sd.imbalancePct * local.avgLoad) return null;
    }
    const spread = sd.preferSibling && local.type === GROUP_HAS_SPARE && this.siblingImbalance(idle, local, busiest) > 1;
    if (!spread && busiest.type !== GROUP_OVERLOADED) {
      if (idle === CpuIdleType.NOT_IDLE) return null; // let an idle CPU pull
      if (busiest.weight > 1 && local.idleCpus <= busiest.idleCpus + 1) return null; // no imbalance of idle CPUs
      if (busiest.nr === 1) return null; // nothing waiting to run
    }
    // calculate_imbalance()
    if (local.type === GROUP_HAS_SPARE) {
      let imbalance: number;
      if (busiest.type > GROUP_FULLY_BUSY && sd.numa) {
        // migrate_util toward a node's spare capacity: as many tasks as it has idle CPUs (a
        // runnable task counts as a full CPU of utilisation here); at least one if this CPU is idle.
        imbalance = local.idleCpus > 0 ? local.idleCpus : idle !== CpuIdleType.NOT_IDLE ? 1 : 0;
        return imbalance > 0 ? { type: MIGRATE_TASK, imbalance } : null;
      }
      if (busiest.weight === 1 || sd.preferSibling) imbalance = this.siblingImbalance(idle, local, busiest);
      else imbalance = Math.max(0, local.idleCpus - busiest.idleCpus);
      // adjust_numa_imbalance(): a small imbalance toward a lightly loaded node is allowed (communicating tasks stay together).
      if (sd.numa && local.nr + 1 <= sd.imbNumaNr && imbalance <= NUMA_IMBALANCE_MIN) imbalance = 0;
      imbalance >>= 1;
      return imbalance > 0 ? { type: MIGRATE_TASK, imbalance } : null;
    }
    if (local.type < GROUP_OVERLOADED) {
      const localAvg = (local.load * SCHED_CAPACITY_SCALE) / local.capacity;
      if (localAvg >= busiest.avgLoad || localAvg >= sdsAvg) return null;
      local.avgLoad = localAvg;
    }
    const imbalance = Math.min((busiest.avgLoad - sdsAvg) * busiest.capacity, (sdsAvg - local.avgLoad) * local.capacity) / SCHED_CAPACITY_SCALE;
    return imbalance > 0 ? { type: MIGRATE_LOAD, imbalance } : null;
  }

  /** sched_balance_find_src_rq(): the CPU of the busiest group to pull from, or -1. */
  private findSrcRq(busiest: GroupStats, plan: { type: number; imbalance: number }): number {
    if (plan.type === MIGRATE_MISFIT) return busiest.misfitCpu;
    let best = -1;
    let bestNr = 0;
    let bestLoad = -1;
    for (const c of busiest.cpus) {
      const rq = this.k.cpus[c]!.rq;
      const nr = rq.nrRunning;
      if (nr === 0) continue;
      if (plan.type === MIGRATE_TASK) {
        if (nr > bestNr) {
          bestNr = nr;
          best = c;
        }
        continue;
      }
      const load = rq.load();
      // A CPU running one task heavier than the imbalance, on full capacity, is not worth it.
      if (nr === 1 && load > plan.imbalance && !this.reducedCapacity(c, null)) continue;
      const scaled = (load * SCHED_CAPACITY_SCALE) / this.capacityOf(c);
      if (scaled > bestLoad) {
        bestLoad = scaled;
        best = c;
      }
    }
    return best;
  }

  /** detach_tasks() from `src` to `dst`, then attach_tasks(). */
  private detachTasks(src: Cpu, dst: number, sd: SchedDomain, idle: CpuIdleType, type: number, imbalance: number): { moved: number; allPinned: boolean } {
    let moved = 0;
    let allPinned = true;
    if (src.rq.nrRunning <= 1) return { moved, allPinned: false };
    const candidates = this.detachOrder(src);
    const loopMax = Math.min(SCHED_NR_MIGRATE, candidates.length);
    for (let loop = 0; loop < loopMax; loop++) {
      if (idle !== CpuIdleType.NOT_IDLE && src.rq.nrRunning <= 1) break; // never steal the last one
      const p = candidates[loop]!;
      const verdict = this.canMigrate(p, src, dst, sd);
      if (verdict !== CAN_MIGRATE_AFFINE) allPinned = false;
      if (verdict !== CAN_MIGRATE_YES) continue;
      if (type === MIGRATE_LOAD) {
        const load = Math.max(p.weight, 1);
        if (load >> Math.min(sd.nrBalanceFailed, 31) > imbalance) continue; // shr_bound
        imbalance -= load;
      } else {
        imbalance--;
      }
      src.rq.saveLag(p, this.k.jiffies.tickNs);
      src.rq.remove(p);
      this.attach(p, dst, src.id, idle === CpuIdleType.NEWLY_IDLE);
      moved++;
      if (idle === CpuIdleType.NEWLY_IDLE) break; // CONFIG_PREEMPTION: newidle stops after one task
      if (imbalance <= 0) break;
    }
    return { moved, allPinned };
  }

  /** The order detach_tasks() looks at a CPU's fair tasks: from the tail of rq->cfs_tasks (least recently queued or picked first). */
  private detachOrder(cpu: Cpu): Task[] {
    const rq = cpu.rq;
    const all = rq.curr && rq.curr.state === 'runnable' ? [...rq.queued, rq.curr] : [...rq.queued];
    return all.sort((a, b) => a.listStamp - b.listStamp || a.pid - b.pid);
  }

  /** can_migrate_task(), with the task's /proc/<pid>/sched counters. */
  private canMigrate(p: Task, src: Cpu, dst: number, sd: SchedDomain): number {
    if (p.kind === 'ksoftirqd') return CAN_MIGRATE_AFFINE; // kthread_is_per_cpu: before the affinity test, so it keeps LBF_ALL_PINNED
    if (!p.allowed.includes(dst)) {
      p.failedMigrationsAffine++;
      return CAN_MIGRATE_AFFINE;
    }
    if (src.rq.curr === p) {
      p.failedMigrationsRunning++;
      return CAN_MIGRATE_NO;
    }
    const hot = this.taskHot(p);
    if (!hot) return CAN_MIGRATE_YES;
    if (sd.nrBalanceFailed > sd.cacheNiceTries) {
      p.forcedMigrations++;
      return CAN_MIGRATE_YES;
    }
    p.failedMigrationsHot++;
    return CAN_MIGRATE_NO;
  }

  /** task_hot(): it ran within sysctl_sched_migration_cost. */
  private taskHot(p: Task): boolean {
    const cost = this.k.config.migrationCostNs;
    if (cost === 0) return false;
    return this.k.sim.now - p.execStart < cost;
  }

  /** Can the stopper move `p` to `dst` (LBF_ACTIVE_LB: cache-hot tasks may go)? */
  private movable(p: Task, dst: number): boolean {
    return p.state === 'runnable' && p.kind !== 'ksoftirqd' && p.allowed.includes(dst);
  }

  /** attach_task(): enqueue a detached task on `dst` and let it preempt there (not in a newidle pass: that CPU is in schedule()). */
  private attach(p: Task, dst: number, from: number, newidle = false): void {
    const cpu = this.k.cpus[dst]!;
    p.cpu = dst;
    p.migrations++;
    p.migrated = true;
    p.listStamp = this.k.sim.now;
    cpu.updateCurr();
    cpu.rq.enqueue(p);
    this.enqueued(cpu);
    if (newidle) return;
    if (cpu.rq.wouldPreempt(p)) this.k.sched.resched(cpu, from);
    else cpu.kick();
  }

  /**
   * need_active_balance(): voluntary_active_balance() — a lone task on reduced capacity, to a CPU
   * with more — or imbalanced_active_balance(): balancing by task count failed more than
   * cache_nice_tries + 2 times (since 5.13 only for migrate_task; a load imbalance waits for
   * shr_bound to let a waiting task go).
   */
  private needActiveBalance(sd: SchedDomain, idle: CpuIdleType, src: Cpu, dst: number, type: number): boolean {
    if (idle !== CpuIdleType.NOT_IDLE && src.rq.nrRunning === 1 && this.reducedCapacity(src.id, sd) && this.capacityOf(src.id) * sd.imbalancePct < this.capacityOf(dst) * 100) return true;
    return type === MIGRATE_TASK && sd.nrBalanceFailed > sd.cacheNiceTries + 2;
  }

  // ---- helpers ----

  /** available_idle_cpu(): running the idle task with nothing queued. */
  private idleCpu(c: number): boolean {
    const rq = this.k.cpus[c]!.rq;
    return rq.curr === null && rq.queued.length === 0;
  }

  private capacityOf(c: number): number {
    const cpu = this.k.cpus[c]!;
    return this.capacities[c]!.capacity(this.k.sim.now, cpu.interruptNs);
  }

  /** check_cpu_capacity(): interrupts took more than imbalance_pct allows (117 at every level here). */
  private reducedCapacity(c: number, sd: SchedDomain | null): boolean {
    return this.capacityOf(c) * (sd?.imbalancePct ?? 117) < SCHED_CAPACITY_SCALE * 100;
  }

  /** A pass over `sd`: the fixed part and one look per CPU. */
  private passCost(sd: SchedDomain): number {
    return this.k.costs.sched_balance + this.k.costs.sched_balance_cpu * sd.span.length;
  }

  /** rq->max_idle_balance_cost: the largest max_newidle_lb_cost of the CPU's domains. */
  private maxNewidleLbCost(c: number): number {
    let max = 0;
    for (const sd of this.domains[c]!) max = Math.max(max, sd.maxNewidleLbCost);
    return max;
  }

  /** update_newidle_cost(): raise sd->max_newidle_lb_cost to `cost`, at most sysctl_sched_migration_cost + 200. */
  private updateNewidleCost(sd: SchedDomain, cost: number): void {
    if (cost > sd.maxNewidleLbCost) sd.maxNewidleLbCost = Math.min(cost, this.k.config.migrationCostNs + 200);
  }

  /** update_newidle_cost(sd, 0) each second: max_newidle_lb_cost decays by 1 % (× 253/256). */
  private decayNewidleCost(sd: SchedDomain): void {
    const j = this.k.jiffies.now();
    if (j <= sd.lastDecayMaxLbCost + this.hz) return;
    sd.maxNewidleLbCost = (sd.maxNewidleLbCost * 253) / 256;
    sd.lastDecayMaxLbCost = j;
  }
}

const CAN_MIGRATE_YES = 0;
const CAN_MIGRATE_NO = 1;
/** Not allowed on the destination (or a per-CPU kthread): counts toward LBF_ALL_PINNED. */
const CAN_MIGRATE_AFFINE = 2;
