import type { Cpu } from './cpu.ts';
import type { Kernel } from './kernel.ts';
import { Acct, COND_RESCHED, SLEEP, type Task, type TaskYield } from './task.ts';

/**
 * Softirqs (kernel/softirq.c): vectors in the kernel's order, handle_softirqs() with its restart
 * and time limits, and the per-CPU ksoftirqd thread.
 */

/** softirq_to_name[] in enum order (include/linux/interrupt.h). */
export const SOFTIRQ_NAMES = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'] as const;
export const NET_RX_SOFTIRQ = 3;
/** The vectors rxsim models (the others never become pending). */
export const MODELLED_SOFTIRQS = [NET_RX_SOFTIRQ];

/** MAX_SOFTIRQ_RESTART. */
export const MAX_SOFTIRQ_RESTART = 10;

/** MAX_SOFTIRQ_TIME = msecs_to_jiffies(2): 2 jiffies at HZ=1000, 1 at HZ=100/250/300 (rounded up). */
export function maxSoftirqJiffies(hz: number): number {
  return Math.ceil((2 * hz) / 1000);
}

/**
 * handle_softirqs(ksirqd): run every pending vector, lowest bit first, then restart while
 * vectors were raised again — at most MAX_SOFTIRQ_RESTART times, only while jiffies are before
 * `end` (2 ms) and need_resched() is false. Past a limit, hand the rest to ksoftirqd.
 */
export function* handleSoftirqs(k: Kernel, cpu: Cpu, ksirqd: boolean): Generator<number, void, void> {
  const end = k.jiffies() + maxSoftirqJiffies(k.hz);
  let maxRestart = MAX_SOFTIRQ_RESTART;
  let pending = cpu.softirqPending;
  k.trace?.softirqFrame(cpu.id, true, ksirqd);
  for (;;) {
    cpu.softirqPending = 0; // set_softirq_pending(0)
    for (let vec = 0; pending !== 0; vec++, pending >>>= 1) {
      if ((pending & 1) === 0) continue;
      k.softirqCounts[vec]![cpu.id]++; // kstat_incr_softirqs_this_cpu
      k.trace?.softirqEntry(cpu.id, vec);
      yield k.costs.softirq_entry;
      if (vec === NET_RX_SOFTIRQ) yield* k.netRxAction(cpu);
      k.trace?.softirqExit(cpu.id, vec);
    }
    pending = cpu.softirqPending;
    if (pending === 0) break;
    if (k.jiffies() < end && !cpu.needResched() && --maxRestart > 0) continue;
    k.wakeupSoftirqd(cpu.id);
    break;
  }
  k.trace?.softirqFrame(cpu.id, false, ksirqd);
}

/**
 * local_bh_enable() in a task (__local_bh_enable_ip → do_softirq): softirqs that became pending
 * while bottom halves were off run here, synchronously, as softirq time charged to the task —
 * unless we are already in interrupt context, or (4.9–6.4) the CPU's ksoftirqd is runnable.
 */
export function* localBhEnable(k: Kernel, task: Task): Generator<TaskYield, void, void> {
  const cpu = k.cpus[task.cpu]!;
  if (cpu.softirqPending === 0 || cpu.inInterrupt()) return;
  if (k.softirqDefersToKsoftirqd && k.ksoftirqdRunnable(cpu.id)) return;
  const acct = task.acct;
  task.inSoftirq = true;
  task.acct = Acct.SOFT;
  yield* handleSoftirqs(k, cpu, false);
  task.inSoftirq = false;
  task.acct = acct;
}

/**
 * run_ksoftirqd() in smpboot's thread loop: while softirqs are pending, run handle_softirqs
 * (as softirq time, preemption disabled), then cond_resched(); sleep when nothing is pending.
 */
export function* ksoftirqdActivity(k: Kernel, cpu: Cpu, task: Task): Generator<TaskYield, void, void> {
  for (;;) {
    if (cpu.softirqPending === 0) {
      task.acct = Acct.SYS;
      yield SLEEP;
      continue;
    }
    task.acct = Acct.SOFT;
    task.inSoftirq = true;
    yield k.costs.kthread_loop;
    yield* handleSoftirqs(k, cpu, true);
    task.inSoftirq = false;
    task.acct = Acct.SYS;
    yield COND_RESCHED;
  }
}
