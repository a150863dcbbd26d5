import type { EventKind, Simulator, Timer } from '../engine/simulator.ts';
import type { GroupScheduler } from './cgroup-sched.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { Task, TaskTable } from './task.ts';
import type { TraceHooks } from './trace-hooks.ts';

export interface SchedHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly trace: TraceHooks | null;
  readonly cpus: readonly Cpu[];
  readonly tasks: TaskTable;
  readonly groups: GroupScheduler;
  readonly irqs: { readonly LOC: number; readonly RES: number };
  readonly smp: { register(onReceive: (cpu: Cpu) => void): number; send(cpu: number, kind: number): void };
  /** NUMA node (one LLC each) of every CPU: wake-ups look for idle CPUs within the target's LLC. */
  readonly topology: { readonly cpuNode: readonly number[] };
  readonly balance: {
    trigger(cpu: Cpu): void;
    enqueued(cpu: Cpu): void;
    wokeOnto(cpu: number): void;
    newidle(cpu: Cpu): number;
    stopperPush(cpu: Cpu, prev: Task): number;
  };
}

/**
 * The scheduler core (kernel/sched/core.c, fair.c): try_to_wake_up with select_task_rq,
 * resched_curr and the reschedule IPI, sched_setaffinity and the stopper's move, the tick's
 * handler, and hrtimer sleeps of tasks. Each CPU's run queue and its policy are in sched.ts,
 * sched-eevdf.ts and sched-cfs.ts; context switches in cpu.ts.
 */
export class Scheduler {
  /** hrtimers of sleeping tasks (nanosleep), by task index. */
  private readonly taskTimers: (Timer | undefined)[] = [];
  private readonly taskTimerEvent: EventKind;
  private readonly reschedIpi: number;
  /** An idle CPU polls need_resched in its idle loop: no interrupt, just a look. */
  private readonly kickIpi: number;

  constructor(private readonly k: SchedHost) {
    this.taskTimerEvent = k.sim.on((i) => this.onTaskTimer(k.tasks.all[i]!));
    // scheduler_ipi(): nothing to do but return from the interrupt with need_resched set.
    this.reschedIpi = k.smp.register((cpu) => cpu.raiseHardirq({ desc: k.irqs.RES, handler: () => this.schedulerIpi() }));
    this.kickIpi = k.smp.register((cpu) => cpu.kick());
  }

  private *schedulerIpi(): Generator<number, void, void> {
    yield this.k.costs.hardirq_entry_exit + this.k.costs.ipi_handler;
  }

  /** The local timer interrupt: scheduler_tick() → task_tick_fair() (may set need_resched). */
  *tick(cpu: Cpu): Generator<number, void, void> {
    yield this.k.costs.hardirq_entry_exit + this.k.costs.timer_tick;
    cpu.updateCurr();
    cpu.rq.tick(); // task_tick_fair: CFS checks its slice here (EEVDF did in update_curr)
    this.k.balance.trigger(cpu); // sched_balance_trigger
  }

  /** sched_balance_newidle() from pick_next_task_fair(): returns the CPU time it took. */
  newidleBalance(cpu: Cpu): number {
    return this.k.balance.newidle(cpu);
  }

  /** The stopper of an active balance: where the preempted `prev` goes, or -1. */
  stopperPush(cpu: Cpu, prev: Task): number {
    return this.k.balance.stopperPush(cpu, prev);
  }

  /**
   * try_to_wake_up(): pick a CPU (select_task_rq), enqueue with place_entity(), and preempt the
   * running task if the woken one should run first (check_preempt_wakeup_fair). Returns false
   * if the task was already runnable.
   */
  wakeUp(task: Task, wakerCpu: number): boolean {
    if (task.state === 'runnable') return false;
    const target = this.selectTaskRq(task, wakerCpu);
    const cpu = this.k.cpus[target]!;
    task.state = 'runnable';
    task.wakeups++;
    task.waitStart = this.k.sim.now;
    if (task.cpu !== target) {
      task.migrations++;
      task.cpu = target;
      task.migrated = true;
    }
    this.k.trace?.wakeup(target, task, wakerCpu);
    const g = task.group;
    const held = g?.throttledAncestor();
    if (held) {
      held.throttledTasks.push(task); // runnable, but a group of its path is throttled
      return true;
    }
    this.k.balance.wokeOnto(target);
    cpu.updateCurr();
    if (g) task.weight = g.effectiveWeight(task);
    task.listStamp = this.k.sim.now;
    cpu.rq.enqueue(task);
    this.k.balance.enqueued(cpu);
    if (g) this.k.groups.reweight(g);
    if (cpu.rq.wouldPreempt(task)) this.resched(cpu, wakerCpu);
    return true;
  }

  /**
   * resched_curr(): set need_resched; a remote CPU running a task gets a reschedule IPI, an idle
   * one notices by itself (it polls need_resched in its idle loop), the local one at its next
   * return from interrupt or preemption point.
   */
  resched(cpu: Cpu, fromCpu: number): void {
    cpu.rq.needResched = true;
    if (cpu.id === fromCpu) {
      cpu.kick();
      return;
    }
    this.k.smp.send(cpu.id, cpu.rq.curr === null ? this.kickIpi : this.reschedIpi);
  }

  /**
   * select_task_rq_fair() for a wake-up (each NUMA node is one LLC):
   *
   *  - wake_affine_idle() (kernel/sched/fair.c, since 4.16): if the waker's CPU is idle — a
   *    wake-up from an interrupt — the task goes to its previous CPU when that one is idle too
   *    (no migration for cache-hot data of an interrupt), else to the waker's CPU; if the waker's
   *    CPU is busy, to the previous CPU when idle. Neither idle: the previous CPU (rxsim keeps it
   *    where wake_affine_weight() would compare loads; wake_wide(), which turns affine wake-ups
   *    off for many-to-many wakers, is not modelled).
   *    Across LLCs, an idle waker's CPU wins wake_affine_weight() over a busy previous CPU.
   *  - select_idle_sibling(): the target if idle; the previous CPU if idle and in the target's
   *    LLC (cpus_share_cache); the task's recent_used_cpu likewise; the first idle allowed CPU of
   *    the target's LLC scanning from target + 1 (select_idle_cpu over sd_llc, for_each_cpu_wrap);
   *    else the target. A task on another node is brought over by NUMA load balancing.
   *
   * A task bound to one CPU goes there.
   */
  selectTaskRq(task: Task, wakerCpu: number): number {
    const allowed = task.allowed;
    if (allowed.length === 1) return allowed[0]!;
    const node = this.k.topology.cpuNode;
    const prev = allowed.includes(task.cpu) ? task.cpu : allowed[0]!;
    let target = prev;
    // wake_affine_idle(), and wake_affine_weight() across LLCs (an idle waker's CPU has the lighter load).
    if (allowed.includes(wakerCpu) && this.idleCpu(wakerCpu)) target = this.idleCpu(prev) ? prev : wakerCpu;
    if (this.idleCpu(target)) return target;
    if (prev !== target && node[prev] === node[target] && this.idleCpu(prev)) return prev;
    const recent = task.recentUsedCpu;
    task.recentUsedCpu = prev;
    if (recent !== prev && recent !== target && recent >= 0 && node[recent] === node[target] && allowed.includes(recent) && this.idleCpu(recent)) return recent;
    // select_idle_cpu(): the target's LLC (sd_llc), from target + 1 around.
    const n = this.k.cpus.length;
    for (let i = 1; i < n; i++) {
      const c = (target + i) % n;
      if (node[c] === node[target] && allowed.includes(c) && this.idleCpu(c)) return c;
    }
    return target;
  }

  /** available_idle_cpu(): running the idle task with nothing queued. */
  private idleCpu(c: number): boolean {
    const rq = this.k.cpus[c]!.rq;
    return rq.curr === null && rq.queued.length === 0;
  }

  /**
   * sched_setaffinity(): a sleeping task is placed within the new mask when it wakes; a queued
   * one moves now; the running one is preempted and moved by the stopper (migration/N), here a
   * reschedule IPI after which schedule() migrates it (see Cpu.schedule).
   */
  setAffinity(task: Task, cpus: number[]): void {
    task.allowed = cpus;
    if (task.state === 'sleeping' || cpus.includes(task.cpu)) return;
    if (task.group?.holds(task)) {
      task.cpu = cpus[0]!; // off every run queue until unthrottled: placed then
      return;
    }
    const cpu = this.k.cpus[task.cpu]!;
    if (cpu.rq.curr === task) {
      this.resched(cpu, -1);
      return;
    }
    cpu.rq.remove(task);
    this.migrateTask(task);
  }

  /** move_queued_task(): enqueue a runnable task on a CPU it is allowed on (`to`, or one select_task_rq picks). */
  migrateTask(task: Task, to = -1): void {
    const target = to >= 0 ? to : this.selectTaskRq(task, task.allowed[0]!);
    const cpu = this.k.cpus[target]!;
    task.migrations++;
    task.cpu = target;
    task.migrated = true;
    task.waitStart = this.k.sim.now;
    const held = task.group?.throttledAncestor();
    if (held) {
      held.throttledTasks.push(task);
      return;
    }
    cpu.updateCurr();
    task.listStamp = this.k.sim.now;
    cpu.rq.enqueue(task);
    this.k.balance.enqueued(cpu);
    if (cpu.rq.wouldPreempt(task)) this.resched(cpu, -1);
    else cpu.kick();
  }

  /** hrtimer_nanosleep(): wake `task` at `atNs` (the hrtimer interrupt on its CPU wakes it). */
  sleepUntil(task: Task, atNs: number): void {
    const i = this.k.tasks.all.indexOf(task);
    let timer = this.taskTimers[i];
    if (!timer) timer = this.taskTimers[i] = this.k.sim.timer(this.taskTimerEvent, i);
    timer.arm(atNs);
  }

  private onTaskTimer(task: Task): void {
    const k = this.k;
    k.cpus[task.cpu]!.raiseHardirq({
      desc: k.irqs.LOC,
      handler: function* (this: Scheduler, c: Cpu) {
        yield k.costs.hardirq_entry_exit + k.costs.hrtimer_handler;
        this.wakeUp(task, c.id);
      }.bind(this),
    });
  }
}
