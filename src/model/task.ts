import { ms3 } from '../metrics/round.ts';
import type { Cgroup } from './cgroup.ts';

/**
 * A schedulable task (struct task_struct): ksoftirqd/N, napi/<dev>-<id> threads, kworker/N:1, cpumap/<cpu>/map:<id>, applications.
 * Its behaviour is a generator (its "activity") that yields CPU chunks: a positive number is a
 * chunk of that many ns, the special values below ask the scheduler for something.
 */

/** Accounting class of CPU time, in /proc/stat order of interest. */
export const enum Acct {
  USR = 0,
  SYS = 1,
  IRQ = 2,
  SOFT = 3,
  IDLE = 4,
}
export const ACCT_COUNT = 5;

/** Block until woken (schedule() with the task not runnable). */
export const SLEEP = -1;
/** cond_resched(): give up the CPU if need_resched is set, else continue. */
export const COND_RESCHED = -2;

/** What a task's activity yields: a chunk length in ns (>= 0) or SLEEP / COND_RESCHED. */
export type TaskYield = number;

export interface TaskActivity {
  /** Resumed when the previous chunk has run; returns the next chunk (or SLEEP/COND_RESCHED). */
  next(): IteratorResult<TaskYield, void>;
}

/** sched_prio_to_weight[] (kernel/sched/core.c): weight of nice -20..19. */
export const SCHED_PRIO_TO_WEIGHT = [
  88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56,
  45, 36, 29, 23, 18, 15,
];
export const NICE_0_LOAD = 1024;

/** A task in the result: CPU time by class (ms; soft/irq = interrupt time charged to it) and scheduler statistics. */
export interface TaskResult {
  pid: number;
  comm: string;
  cpu: number;
  usr_ms: number;
  sys_ms: number;
  soft_ms: number;
  irq_ms: number;
  wait_ms: number;
  wakeups: number;
  nvcsw: number;
  nivcsw: number;
  migrations: number;
  /** /proc/<pid>/sched: cache-hot tasks moved anyway, and why load balancing could not move it. */
  nr_forced_migrations: number;
  nr_failed_migrations_affine: number;
  nr_failed_migrations_running: number;
  nr_failed_migrations_hot: number;
}

export class Task {
  /** Where the task is in its life. */
  state: 'runnable' | 'sleeping' = 'sleeping';
  /** The CPU it runs on, or last ran on. */
  cpu: number;
  /** CPU time accounting class of the chunk in progress (USR, SYS or SOFT). */
  acct: Acct = Acct.SYS;
  /** ns left of a chunk that was preempted. */
  remaining = 0;
  /** Inside handle_softirqs (preemption disabled, in_interrupt() true). */
  inSoftirq = false;
  /**
   * Between local_bh_disable() and local_bh_enable() in task context (the threaded NAPI poll):
   * softirq_count() is non-zero, so in_interrupt() is true — irq_exit runs no softirqs — and
   * preemption is off; the time is still the task's system time.
   */
  bhDisabled = false;
  /** preempt_disable() in task context (napi_busy_loop between its polls): not preempted; it checks need_resched itself. */
  preemptDisabled = false;
  /** p->recent_used_cpu: the CPU select_idle_sibling() tries after the target and the previous one (-1: none yet). */
  recentUsedCpu = -1;
  /** Moved to another CPU since it last ran: its next run there pays task_migration. */
  migrated = false;
  /** Weight from nice (sched_prio_to_weight), and the weight it runs with (its cgroup's share applied). */
  readonly baseWeight: number;
  weight: number;
  /** Its cgroup (cpu and cpuset controllers), or null for the root group. */
  group: Cgroup<Task> | null = null;
  /** Interrupt time of its CPU when it was last charged (for kernel.irq_time_accounting). */
  execIrq = 0;

  // Fair-class state (struct sched_entity). EEVDF uses deadline/vlag/pickedDeadline; CFS keeps
  // its vruntime relative to min_vruntime in vlag while the task is off a run queue.
  vruntime = 0;
  deadline = 0;
  vlag = 0;
  /** sum_exec_runtime, and its value when the task was last picked (prev_sum_exec_runtime). */
  sumExec = 0;
  prevSumExec = 0;
  /** RUN_TO_PARITY: the deadline at the time the task was picked. */
  pickedDeadline = -1;
  execStart = 0;
  /** Never ran yet: placed with half a slice (EEVDF PLACE_DEADLINE_INITIAL) or after a slice (CFS START_DEBIT). */
  fresh = true;

  // Statistics (like /proc/<pid>/sched and schedstat).
  readonly time = new Float64Array(5); // ns per Acct class
  /** ns spent runnable but not running (run-queue wait). */
  waitNs = 0;
  waitStart = 0;
  wakeups = 0;
  /** Voluntary and involuntary context switches (nvcsw, nivcsw). */
  nvcsw = 0;
  nivcsw = 0;
  migrations = 0;
  forcedMigrations = 0;
  failedMigrationsAffine = 0;
  failedMigrationsRunning = 0;
  failedMigrationsHot = 0;
  /** When it was last put on, or picked from, its CPU's task list (its place in rq->cfs_tasks: load balancing takes the oldest first). */
  listStamp = 0;

  activity!: TaskActivity;

  /** Its part of the result. */
  report(): TaskResult {
    return {
      pid: this.pid,
      comm: this.comm,
      cpu: this.cpu,
      usr_ms: ms3(this.time[Acct.USR]!),
      sys_ms: ms3(this.time[Acct.SYS]!),
      soft_ms: ms3(this.time[Acct.SOFT]!),
      irq_ms: ms3(this.time[Acct.IRQ]!),
      wait_ms: ms3(this.waitNs),
      wakeups: this.wakeups,
      nvcsw: this.nvcsw,
      nivcsw: this.nivcsw,
      migrations: this.migrations,
      nr_forced_migrations: this.forcedMigrations,
      nr_failed_migrations_affine: this.failedMigrationsAffine,
      nr_failed_migrations_running: this.failedMigrationsRunning,
      nr_failed_migrations_hot: this.failedMigrationsHot,
    };
  }

  constructor(
    readonly pid: number,
    readonly comm: string,
    /** CPUs it may run on (sched_setaffinity / cpuset), sorted. */
    public allowed: number[],
    readonly nice: number,
    readonly kind: 'ksoftirqd' | 'napi' | 'kworker' | 'cpumap' | 'app',
    /** cgroup name or null for the root group. */
    readonly cgroup: string | null,
  ) {
    this.cpu = allowed[0]!;
    this.baseWeight = SCHED_PRIO_TO_WEIGHT[nice + 20]!;
    this.weight = this.baseWeight;
  }
}

/**
 * The machine's tasks in creation order, with the pid allocator (alloc_pid): ksoftirqd/N first,
 * then napi threads, then the applications, as a boot would create them.
 */
export class TaskTable {
  readonly all: Task[] = [];
  private nextPid = 2;

  /** copy_process() for a kernel thread or an application, asleep until woken. */
  spawn(comm: string, allowed: number[], nice: number, kind: Task['kind'], cgroup: string | null): Task {
    const t = new Task(this.nextPid++, comm, allowed, nice, kind, cgroup);
    this.all.push(t);
    return t;
  }

  /** Start of the measurement window: per-task statistics restart (state is kept). */
  resetWindow(now: number, running: (t: Task) => boolean): void {
    for (const t of this.all) {
      t.time.fill(0);
      t.waitNs = 0;
      if (t.state === 'runnable' && !running(t)) t.waitStart = now;
      t.wakeups = t.nvcsw = t.nivcsw = t.migrations = 0;
      t.forcedMigrations = t.failedMigrationsAffine = t.failedMigrationsRunning = t.failedMigrationsHot = 0;
    }
  }
}
