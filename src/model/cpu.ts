import type { EventKind, Simulator, Timer } from '../engine/simulator.ts';
import { r2 } from '../metrics/round.ts';
import type { CostNoise } from './cost-noise.ts';
import type { CostTable } from './costs.ts';
import type { Jiffies } from './jiffies.ts';
import type { FairRunQueue } from './sched.ts';
import { Acct, COND_RESCHED, SLEEP, type Task } from './task.ts';
import { CPU_HARDIRQ, CPU_IDLE, CPU_SOFTIRQ, CPU_SWITCH, CPU_TASK, type TraceHooks } from './trace-hooks.ts';

/**
 * One CPU. What runs is decided by priority, as on Linux:
 *
 *   hardirq  >  softirq (run at irq_exit, "inline")  >  the current task (or idle)
 *
 * Every level runs "chunks" of CPU time produced by a generator: `yield ns` means "spend ns of
 * CPU", and the code after the yield runs once that time has been spent, so kernel functions read
 * like their C counterparts (see softirq.ts, napi.ts). A hardirq pauses whatever runs; the paused
 * chunk resumes where it was. Softirqs raised by a hardirq run at irq_exit unless the hardirq
 * interrupted softirq processing (in_interrupt()); a task runs only when no interrupt work is on
 * top. Time is accounted per class exactly (busy + idle = elapsed), like /proc/stat.
 */

/** A hardirq to run: its handler is a generator that yields the handler's cost, then acts. */
export interface HardirqRequest {
  /** Index into the kernel's IRQ descriptors (for /proc/interrupts). */
  desc: number;
  handler: (cpu: Cpu) => Generator<number, void, void>;
}

/** What a CPU needs from the rest of the machine (the kernel wires the modules that provide it). */
export interface CpuHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly trace: TraceHooks | null;
  readonly jiffies: Jiffies;
  /** C-state exit latency (kernel.idle_exit_us) and CONFIG_IRQ_TIME_ACCOUNTING. */
  readonly config: { readonly idleExitNs: number; readonly irqTimeAccounting: boolean };
  readonly irqs: { readonly LOC: number; count(desc: number, cpu: number): void };
  readonly softirq: {
    /** invoke_softirq() at irq_exit: the 4.9–6.4 rule may leave the pending softirqs to ksoftirqd. */
    leaveToKsoftirqd(cpu: number): boolean;
    /** handle_softirqs(). */
    handle(cpu: Cpu, ksirqd: boolean): Generator<number, void, void>;
  };
  readonly sched: {
    /** The local timer interrupt's handler (scheduler_tick). */
    tick(cpu: Cpu): Generator<number, void, void>;
    /** The stopper moves a task that lost this CPU from its affinity, or that an active balance pushes to `to`. */
    migrateTask(task: Task, to?: number): void;
    /** sched_balance_newidle(): nothing to run here; try to pull. Returns the CPU time it took. */
    newidleBalance(cpu: Cpu): number;
    /** An active balance's stopper preempted `prev`: the CPU it pushes `prev` to, or -1. */
    stopperPush(cpu: Cpu, prev: Task): number;
  };
  /** The running task changed: cgroup run counts and cpu.max timers. */
  readonly groups: { currChanged(prev: Task | null, next: Task | null): void };
}

/** The CPUs' event kinds: a chunk of CPU time is over, the tick, the end of a C-state exit. */
export interface CpuEvents {
  readonly chunk: EventKind;
  readonly tick: EventKind;
  readonly wake: EventKind;
}

/** Register the CPUs' event kinds; the argument of each event is the CPU number. */
export function registerCpuEvents(sim: Simulator, cpus: readonly Cpu[]): CpuEvents {
  return {
    chunk: sim.on((cpu) => cpus[cpu]!.onChunkEnd()),
    tick: sim.on((cpu) => cpus[cpu]!.onTick()),
    wake: sim.on((cpu) => cpus[cpu]!.onIdleExit()),
  };
}

/** A CPU in the result: mpstat's shares (percent of the window) and its ksoftirqd's share. */
export interface CpuResult {
  cpu: number;
  usr: number;
  sys: number;
  irq: number;
  soft: number;
  idle: number;
  /** Share of this CPU used by its ksoftirqd thread, percent. */
  ksoftirqd: number;
}

const LEVEL_IDLE = -1;
const LEVEL_TASK = 0;
const LEVEL_SOFT = 1;
const LEVEL_HARD = 2;

export class Cpu {
  readonly rq: FairRunQueue;
  /** NR_SOFTIRQS-bit pending mask (local_softirq_pending()). */
  softirqPending = 0;

  // Hardirq level.
  private readonly hardQueue: HardirqRequest[] = [];
  private hard: Generator<number, void, void> | null = null;
  private hardRemaining = 0;
  private hardDesc = 0;
  // Softirq level (handle_softirqs at irq_exit).
  private soft: Generator<number, void, void> | null = null;
  private softRemaining = 0;
  // Task level: the task's own remaining chunk lives in the Task; a context switch costs first.
  private switchRemaining = 0;

  /** Level whose chunk is in progress. */
  private level = LEVEL_IDLE;
  private chunkEnd = 0;
  private readonly chunkTimer: Timer;
  private readonly tickTimer: Timer;
  private readonly wakeTimer: Timer;
  /** Leaving a C-state: interrupts wait until the exit latency has passed. */
  private waking = false;
  private dispatching = false;
  private dirty = false;

  /** ns per Acct class. */
  readonly time = new Float64Array(5);
  /** Hardirq and inline softirq time so far (on top of whatever task ran). */
  interruptNs = 0;
  private lastAccount = 0;

  constructor(
    readonly id: number,
    private readonly k: CpuHost,
    rq: FairRunQueue,
    events: CpuEvents,
    /** How long each chunk of work really takes (variability.cost_cv). */
    private readonly noise: CostNoise,
  ) {
    this.rq = rq;
    this.chunkTimer = k.sim.timer(events.chunk, id);
    this.tickTimer = k.sim.timer(events.tick, id);
    this.wakeTimer = k.sim.timer(events.wake, id);
  }

  /** in_interrupt(): in a hardirq or serving softirqs (inline or in ksoftirqd). */
  inInterrupt(): boolean {
    return this.hard !== null || this.soft !== null || (this.rq.curr !== null && (this.rq.curr.inSoftirq || this.rq.curr.bhDisabled));
  }

  /** True while the CPU executes its idle task with nothing on top. */
  isIdle(): boolean {
    return this.level === LEVEL_IDLE;
  }

  /** need_resched() of the current task. */
  needResched(): boolean {
    return this.rq.needResched;
  }

  /**
   * A hardirq arrives (device vector, IPI, timer). It runs at once unless a hardirq is running —
   * or the CPU is idle in a C-state (kernel.idle_exit_us): then it runs once the CPU is awake,
   * the exit latency counted as idle time.
   */
  raiseHardirq(req: HardirqRequest): void {
    this.hardQueue.push(req);
    if (this.waking) return;
    const exit = this.k.config.idleExitNs;
    if (exit > 0 && this.level === LEVEL_IDLE && this.rq.curr === null && this.hard === null && this.soft === null) {
      this.waking = true;
      this.wakeTimer.arm(this.k.sim.now + exit);
      return;
    }
    this.kick();
  }

  /** The C-state exit is over: the pending interrupts run. */
  onIdleExit(): void {
    this.waking = false;
    this.kick();
  }

  /** Re-evaluate what should run (after a wakeup, a new hardirq, need_resched). */
  kick(): void {
    if (this.dispatching) {
      this.dirty = true;
      return;
    }
    this.dispatch();
  }

  /** The chunk timer fired: the running level's chunk is done. */
  onChunkEnd(): void {
    this.account();
    if (this.level === LEVEL_HARD) this.hardRemaining = 0;
    else if (this.level === LEVEL_SOFT) this.softRemaining = 0;
    else if (this.level === LEVEL_TASK) {
      if (this.switchRemaining > 0) this.switchRemaining = 0;
      else this.rq.curr!.remaining = 0;
    }
    this.level = LEVEL_IDLE; // nothing in progress until dispatch picks the next chunk
    this.dispatch();
  }

  /** Scheduler tick (LOC): runs as a hardirq. */
  onTick(): void {
    this.raiseHardirq({ desc: this.k.irqs.LOC, handler: (cpu) => this.k.sched.tick(cpu) });
    this.armTick();
  }

  /** Its part of the result (`ksoftirqd`: its ksoftirqd thread). */
  report(ksoftirqd: Task): CpuResult {
    const total = this.time.reduce((a, b) => a + b, 0) || 1;
    const pct = (cls: Acct): number => r2((100 * this.time[cls]!) / total);
    return {
      cpu: this.id,
      usr: pct(Acct.USR),
      sys: pct(Acct.SYS),
      irq: pct(Acct.IRQ),
      soft: pct(Acct.SOFT),
      idle: pct(Acct.IDLE),
      ksoftirqd: r2((100 * (ksoftirqd.time[Acct.SOFT]! + ksoftirqd.time[Acct.SYS]!)) / total),
    };
  }

  /** Start of the measurement window: /proc/stat restarts from here. */
  resetWindow(): void {
    this.account();
    this.time.fill(0);
  }

  /** Charge elapsed time to the class of whatever was running. */
  account(): void {
    const now = this.k.sim.now;
    const dt = now - this.lastAccount;
    if (dt <= 0) return;
    this.lastAccount = now;
    const curr = this.rq.curr;
    let cls: Acct;
    if (this.level === LEVEL_HARD) cls = Acct.IRQ;
    else if (this.level === LEVEL_SOFT) cls = Acct.SOFT;
    else if (this.level === LEVEL_TASK) cls = this.switchRemaining > 0 ? Acct.SYS : curr!.acct;
    else cls = curr ? curr.acct : Acct.IDLE; // between chunks of a task: rare, zero-length
    this.time[cls]! += dt;
    const trace = this.k.trace;
    if (trace?.cpuTime) {
      const what =
        this.level === LEVEL_HARD ? CPU_HARDIRQ : this.level === LEVEL_SOFT ? CPU_SOFTIRQ : this.level === LEVEL_TASK ? (this.switchRemaining > 0 ? CPU_SWITCH : CPU_TASK) : curr ? CPU_TASK : CPU_IDLE;
      trace.cpuTime(this.id, now - dt, now, what, curr);
    }
    if (this.level === LEVEL_HARD || this.level === LEVEL_SOFT) this.interruptNs += dt;
    // Interrupt time is charged to the task it interrupted, as the kernel does without
    // CONFIG_IRQ_TIME_ACCOUNTING (the "Iron" effect): it shows in the task's IRQ/SOFT time.
    if (curr && cls !== Acct.IDLE) curr.time[cls]! += dt;
  }

  private dispatch(): void {
    this.dispatching = true;
    try {
      do {
        this.dirty = false;
        this.dispatchOnce();
      } while (this.dirty && this.level === LEVEL_IDLE);
    } finally {
      this.dispatching = false;
    }
  }

  /** Make the highest-priority level run: resume its paused chunk or ask it for the next one. */
  private dispatchOnce(): void {
    for (;;) {
      let target: number;
      if (this.hard !== null || (this.hardQueue.length > 0 && !this.waking)) target = LEVEL_HARD;
      else if (this.soft !== null) target = LEVEL_SOFT;
      else {
        // An idle CPU with runnable tasks schedules (the idle loop sees need_resched).
        if (this.rq.curr === null && this.rq.queued.length > 0) this.schedule(false);
        target = this.rq.curr !== null ? LEVEL_TASK : LEVEL_IDLE;
      }
      if (target === this.level) return; // a chunk of that level is already in progress
      this.pause();
      if (target === LEVEL_IDLE) return;

      if (target === LEVEL_HARD) {
        if (this.hard === null) {
          const req = this.hardQueue.shift()!;
          this.hardDesc = req.desc;
          this.k.irqs.count(req.desc, this.id);
          this.k.trace?.irqEntry(this.id, req.desc);
          this.hard = req.handler(this);
          this.hardRemaining = 0;
        }
        if (this.hardRemaining > 0) return this.resume(LEVEL_HARD, this.hardRemaining);
        const r = this.hard.next();
        if (!r.done) {
          this.hardRemaining = this.noise.apply(r.value);
          if (this.hardRemaining > 0) return this.resume(LEVEL_HARD, this.hardRemaining);
          continue;
        }
        this.hard = null;
        this.k.trace?.irqExit?.(this.id, this.hardDesc);
        this.irqExit();
        continue;
      }

      if (target === LEVEL_SOFT) {
        if (this.softRemaining > 0) return this.resume(LEVEL_SOFT, this.softRemaining);
        const r = this.soft!.next();
        if (!r.done) {
          this.softRemaining = this.noise.apply(r.value);
          if (this.softRemaining > 0) return this.resume(LEVEL_SOFT, this.softRemaining);
          continue;
        }
        this.soft = null;
        continue;
      }

      // Task level. Returning from an interrupt, or between chunks: preempt if asked to
      // (a task inside handle_softirqs, with bottom halves off, or in preempt_disable(), is not preempted).
      const curr = this.rq.curr!;
      if (this.rq.needResched && !curr.inSoftirq && !curr.bhDisabled && !curr.preemptDisabled) {
        this.schedule(false);
        continue;
      }
      if (this.switchRemaining > 0) return this.resume(LEVEL_TASK, this.switchRemaining);
      if (curr.remaining > 0) return this.resume(LEVEL_TASK, curr.remaining);
      const r = curr.activity.next();
      const y = r.done ? SLEEP : r.value;
      if (y === SLEEP) {
        curr.state = 'sleeping';
        this.schedule(true);
        continue;
      }
      if (y === COND_RESCHED) {
        if (this.rq.needResched) this.schedule(false);
        continue;
      }
      curr.remaining = this.noise.apply(y);
      if (curr.remaining > 0) return this.resume(LEVEL_TASK, curr.remaining);
    }
  }

  /** irq_exit(): run pending softirqs unless we interrupted softirq processing (invoke_softirq). */
  private irqExit(): void {
    if (this.hardQueue.length > 0) return; // the next hardirq is taken first
    if (this.softirqPending === 0 || this.inInterrupt()) return;
    if (this.k.softirq.leaveToKsoftirqd(this.id)) return; // 4.9–6.4: ksoftirqd_running()
    this.soft = this.k.softirq.handle(this, false);
    this.softRemaining = 0;
  }

  /**
   * __schedule(): put the current task back (or leave it asleep), pick the next with EEVDF,
   * and switch to it (charging a context switch).
   */
  schedule(voluntary: boolean): void {
    this.account();
    const rq = this.rq;
    const prev = rq.curr;
    const now = this.k.sim.now;
    // The running task may have to leave this run queue although runnable: it lost this CPU
    // from its affinity (the stopper moves it), or its cgroup was throttled (cpu.max).
    let migrating = false;
    let throttled = false;
    let pushTo = -1;
    if (prev) {
      this.updateCurr();
      migrating = prev.state === 'runnable' && !prev.allowed.includes(this.id);
      throttled = prev.state === 'runnable' && !migrating && prev.group !== null && prev.group.throttledAncestor() !== null;
      if (prev.state === 'runnable' && !migrating && !throttled) {
        pushTo = this.k.sched.stopperPush(this, prev); // an active balance's stopper runs first
        migrating = pushTo >= 0;
      }
      if (prev.state === 'sleeping' || migrating || throttled) rq.saveLag(prev, this.k.jiffies.tickNs);
      if (migrating || throttled) rq.curr = null;
    }
    rq.needResched = false;
    let next = rq.pick();
    let newidleNs = 0;
    if (next === null) {
      newidleNs = this.k.sched.newidleBalance(this); // pick_next_task_fair found nothing: pull
      next = rq.pick();
      rq.needResched = false;
    }
    if (next === prev) return;
    if (migrating || throttled) {
      prev!.nivcsw++;
      this.k.trace?.sched(this.id, prev, next);
      if (migrating) {
        this.k.sched.migrateTask(prev!, pushTo);
      } else {
        prev!.waitStart = now; // runnable, waiting for its group's next period
        prev!.group!.throttledAncestor()!.throttledTasks.push(prev!);
      }
    } else if (prev) {
      if (prev.state === 'runnable') {
        rq.queued.push(prev);
        prev.waitStart = now;
        prev.nivcsw++;
      } else if (voluntary) {
        prev.nvcsw++;
      }
      this.k.trace?.sched(this.id, prev, next);
    } else {
      this.k.trace?.sched(this.id, null, next);
    }
    rq.setCurr(next);
    if (next) {
      next.waitNs += now - next.waitStart;
      next.execStart = now;
      next.execIrq = this.interruptNs;
      next.listStamp = now; // pick_next_task_fair moves it to the head of rq->cfs_tasks
      this.switchRemaining = this.k.costs.context_switch + newidleNs;
      if (next.cpu !== this.id) {
        next.migrations++;
        next.cpu = this.id;
        next.migrated = true;
      }
      if (next.migrated) {
        // Its cache lines are on the core it left: the first run here refetches them.
        next.migrated = false;
        this.switchRemaining += this.k.costs.task_migration;
      }
      this.armTick();
    } else {
      this.switchRemaining = 0;
      this.tickTimer.cancel(); // NOHZ idle: no tick while idle
    }
    this.k.groups.currChanged(prev, next);
  }

  /**
   * update_curr(): charge the running task (its vruntime, and its cgroup's cpu.max runtime) for
   * the time since it was last charged — interrupt time on top of it included, unless
   * kernel.irq_time_accounting (CONFIG_IRQ_TIME_ACCOUNTING) takes it out.
   */
  updateCurr(): void {
    const curr = this.rq.curr;
    if (!curr) return;
    this.account();
    const now = this.k.sim.now;
    let ns = now - curr.execStart;
    if (this.k.config.irqTimeAccounting) ns -= this.interruptNs - curr.execIrq;
    curr.execStart = now;
    curr.execIrq = this.interruptNs;
    this.rq.charge(ns);
    for (let g = curr.group; g; g = g.parent) g.used += Math.max(0, ns); // every level's cfs_rq runtime
  }

  private pause(): void {
    if (this.level === LEVEL_IDLE) return;
    this.account();
    const left = this.chunkEnd - this.k.sim.now;
    this.chunkTimer.cancel();
    if (this.level === LEVEL_HARD) this.hardRemaining = left;
    else if (this.level === LEVEL_SOFT) this.softRemaining = left;
    else if (this.switchRemaining > 0) this.switchRemaining = left;
    else this.rq.curr!.remaining = left;
    this.level = LEVEL_IDLE;
  }

  private resume(level: number, ns: number): void {
    this.account();
    this.level = level;
    this.chunkEnd = this.k.sim.now + ns;
    this.chunkTimer.arm(this.chunkEnd);
  }

  /** Arm the periodic tick at the next jiffy boundary if a task runs and it is not armed. */
  private armTick(): void {
    if (this.rq.curr === null) return;
    const next = this.k.jiffies.nextTickAt(this.k.sim.now);
    if (!this.tickTimer.armed || this.tickTimer.when !== next) this.tickTimer.arm(next);
  }
}
