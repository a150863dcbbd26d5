import type { CostTable } from './costs.ts';
import { Acct, COND_RESCHED, SLEEP, type Task, type TaskTable, type TaskYield } from './task.ts';

/** What the workqueue needs from the machine. */
export interface WorkqueueHost {
  readonly costs: CostTable;
  readonly tasks: TaskTable;
  readonly sched: { wakeUp(task: Task, wakerCpu: number): boolean };
}

/**
 * The system workqueue (kernel/workqueue.c): schedule_work() queues a work item on the
 * calling CPU's worker pool (system_wq is per-CPU: __queue_work picks raw_smp_processor_id()
 * for WORK_CPU_UNBOUND) and wakes that pool's worker, a kworker/N:1 kthread bound to the CPU
 * and scheduled like any task at nice 0; process_one_work runs the items in order.
 *
 * Workers are created when a CPU first gets an item (the boot's kworkers exist from the
 * start; creating them lazily keeps the pids of every other task as they were, and a machine
 * that queues no work has none to show).
 */
export class Workqueue {
  private readonly workers: (Task | undefined)[] = [];
  private readonly items: (() => void)[][] = [];

  constructor(private readonly k: WorkqueueHost) {}

  /** schedule_work() from CPU `cpu`: `run` is the work function, called when the kworker has run it. */
  scheduleWork(cpu: number, run: () => void): void {
    (this.items[cpu] ??= []).push(run);
    const worker = (this.workers[cpu] ??= this.spawn(cpu));
    this.k.sched.wakeUp(worker, cpu);
  }

  /** Work items queued and not yet run on CPU `cpu`. */
  pending(cpu: number): number {
    return this.items[cpu]?.length ?? 0;
  }

  private spawn(cpu: number): Task {
    const t = this.k.tasks.spawn(`kworker/${cpu}:1`, [cpu], 0, 'kworker', null);
    t.activity = this.worker(cpu, t);
    return t;
  }

  /** worker_thread(): run the pool's items (process_one_work), then sleep. */
  private *worker(cpu: number, task: Task): Generator<TaskYield, void, void> {
    const items = (this.items[cpu] ??= []);
    for (;;) {
      task.acct = Acct.SYS;
      if (items.length === 0) {
        yield SLEEP;
        continue;
      }
      yield this.k.costs.kthread_loop + this.k.costs.dim_work;
      items.shift()!();
      yield COND_RESCHED;
    }
  }
}
