import type { Simulator } from '../engine/simulator.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { Jiffies } from './jiffies.ts';
import { Acct, COND_RESCHED, SLEEP, type Task, type TaskTable, type TaskYield } from './task.ts';
import type { TraceHooks } from './trace-hooks.ts';

/**
 * Softirqs (kernel/softirq.c): vectors in the kernel's order, open_softirq() actions,
 * __raise_softirq_irqoff(), handle_softirqs() with its restart and time limits, local_bh_enable()
 * and the per-CPU ksoftirqd thread.
 */

/** softirq_to_name[] in enum order (include/linux/interrupt.h). */
export const SOFTIRQ_NAMES = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'] as const;
export const NET_RX_SOFTIRQ = 3;
export const SCHED_SOFTIRQ = 7;
/** The vectors rxsim models (the others never become pending). */
export const MODELLED_SOFTIRQS = [NET_RX_SOFTIRQ, SCHED_SOFTIRQ];

/** MAX_SOFTIRQ_RESTART. */
export const MAX_SOFTIRQ_RESTART = 10;

/** MAX_SOFTIRQ_TIME = msecs_to_jiffies(2): 2 jiffies at HZ=1000, 1 at HZ=100/250/300 (rounded up). */
export function maxSoftirqJiffies(hz: number): number {
  return Math.ceil((2 * hz) / 1000);
}

/** A softirq action (struct softirq_action's handler), run on `cpu`. */
export type SoftirqAction = (cpu: Cpu) => Generator<number, void, void>;

export interface SoftirqHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly trace: TraceHooks | null;
  readonly jiffies: Jiffies;
  readonly cpus: readonly Cpu[];
  readonly sched: { wakeUp(task: Task, wakerCpu: number): boolean };
}

export class Softirq {
  /** /proc/softirqs: per vector, per CPU. */
  readonly counts: Float64Array[];
  /** ksoftirqd/N. */
  readonly ksoftirqd: Task[] = [];
  private readonly actions: (SoftirqAction | null)[] = SOFTIRQ_NAMES.map(() => null);

  constructor(
    private readonly k: SoftirqHost,
    ncpus: number,
    /** The 4.9–6.4 rule "softirq: Let ksoftirqd do its job" (kernel.softirq_mode defer-to-ksoftirqd). */
    readonly defersToKsoftirqd: boolean,
  ) {
    this.counts = SOFTIRQ_NAMES.map(() => new Float64Array(ncpus));
  }

  /** open_softirq(): the action run for vector `nr`. */
  open(nr: number, action: SoftirqAction): void {
    this.actions[nr] = action;
  }

  /** spawn_ksoftirqd(): one thread per CPU, bound to it. */
  spawnKsoftirqd(tasks: TaskTable, cpu: Cpu): Task {
    const t = tasks.spawn(`ksoftirqd/${cpu.id}`, [cpu.id], 0, 'ksoftirqd', null);
    t.activity = this.ksoftirqdActivity(cpu, t);
    this.ksoftirqd.push(t);
    return t;
  }

  /** __raise_softirq_irqoff(): mark pending; it runs at the next irq_exit, restart or bh-enable. */
  raiseIrqoff(cpu: Cpu, nr: number): void {
    this.k.trace?.softirqRaise?.(cpu.id, nr); // trace_softirq_raise: on every raise, pending or not
    cpu.softirqPending |= 1 << nr;
  }

  /** wakeup_softirqd(). */
  wakeupSoftirqd(cpu: number): void {
    this.k.sched.wakeUp(this.ksoftirqd[cpu]!, cpu);
  }

  /** ksoftirqd_running(): the 4.9–6.4 check (runnable counts as running). */
  ksoftirqdRunnable(cpu: number): boolean {
    return this.ksoftirqd[cpu]!.state === 'runnable';
  }

  /** invoke_softirq() / do_softirq(): under the 4.9–6.4 rule, pending softirqs wait for a runnable ksoftirqd. */
  leaveToKsoftirqd(cpu: number): boolean {
    return this.defersToKsoftirqd && this.ksoftirqdRunnable(cpu);
  }

  /** Start of the measurement window: /proc/softirqs restarts. */
  resetWindow(): void {
    for (const row of this.counts) row.fill(0);
  }

  /**
   * handle_softirqs(ksirqd): run every pending vector, lowest bit first, then restart while
   * vectors were raised again — at most MAX_SOFTIRQ_RESTART times, only while jiffies are before
   * `end` (2 ms) and need_resched() is false. Past a limit, hand the rest to ksoftirqd.
   */
  *handle(cpu: Cpu, ksirqd: boolean): Generator<number, void, void> {
    const k = this.k;
    const end = k.jiffies.now() + maxSoftirqJiffies(k.jiffies.hz);
    let maxRestart = MAX_SOFTIRQ_RESTART;
    let pending = cpu.softirqPending;
    k.trace?.softirqFrame(cpu.id, true, ksirqd);
    for (;;) {
      cpu.softirqPending = 0; // set_softirq_pending(0)
      for (let vec = 0; pending !== 0; vec++, pending >>>= 1) {
        if ((pending & 1) === 0) continue;
        this.counts[vec]![cpu.id]! += 1; // kstat_incr_softirqs_this_cpu
        k.trace?.softirqEntry(cpu.id, vec);
        yield k.costs.softirq_entry;
        const action = this.actions[vec];
        if (action) yield* action(cpu);
        k.trace?.softirqExit(cpu.id, vec);
      }
      pending = cpu.softirqPending;
      if (pending === 0) break;
      if (k.jiffies.now() < end && !cpu.needResched() && --maxRestart > 0) continue;
      this.wakeupSoftirqd(cpu.id);
      break;
    }
    k.trace?.softirqFrame(cpu.id, false, ksirqd);
  }

  /**
   * local_bh_enable() in a task (__local_bh_enable_ip → do_softirq): softirqs that became pending
   * while bottom halves were off run here, synchronously, as softirq time charged to the task —
   * unless we are already in interrupt context, or (4.9–6.4) the CPU's ksoftirqd is runnable.
   */
  *localBhEnable(task: Task): Generator<TaskYield, void, void> {
    const cpu = this.k.cpus[task.cpu]!;
    if (cpu.softirqPending === 0 || cpu.inInterrupt()) return;
    if (this.leaveToKsoftirqd(cpu.id)) return;
    const acct = task.acct;
    task.inSoftirq = true;
    task.acct = Acct.SOFT;
    yield* this.handle(cpu, false);
    task.inSoftirq = false;
    task.acct = acct;
  }

  /**
   * run_ksoftirqd() in smpboot's thread loop: while softirqs are pending, run handle_softirqs
   * (as softirq time, preemption disabled), then cond_resched(); sleep when nothing is pending.
   */
  private *ksoftirqdActivity(cpu: Cpu, task: Task): Generator<TaskYield, void, void> {
    for (;;) {
      if (cpu.softirqPending === 0) {
        task.acct = Acct.SYS;
        yield SLEEP;
        continue;
      }
      task.acct = Acct.SOFT;
      task.inSoftirq = true;
      yield this.k.costs.kthread_loop;
      yield* this.handle(cpu, true);
      task.inSoftirq = false;
      task.acct = Acct.SYS;
      yield COND_RESCHED;
    }
  }
}
