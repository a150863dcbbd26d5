import type { EventKind, Simulator, Timer } from '../engine/simulator.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { Jiffies } from './jiffies.ts';
import { NET_RX_SOFTIRQ } from './softirq.ts';
import { Acct, COND_RESCHED, SLEEP, type Task, type TaskYield } from './task.ts';
import { POLL_BUSY, type TraceHooks } from './trace-hooks.ts';

/**
 * NAPI (net/core/dev.c): napi_struct, napi_schedule, net_rx_action, napi_poll,
 * napi_complete_done with IRQ deferral, the gro_flush_timeout hrtimer, threaded NAPI, and
 * napi_busy_loop() (a task polling a NAPI itself).
 */

/** The part of a CPU's softnet_data that NAPI uses (SoftnetData in softnet.ts). */
export interface NapiSoftnet {
  pollList: Napi[];
  inNetRxAction: boolean;
  inNapiThreadedPoll: boolean;
  timeSqueeze: number;
}

/** What NAPI needs from the rest of the machine. */
export interface NapiHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly trace: TraceHooks | null;
  readonly jiffies: Jiffies;
  readonly sysctl: Pick<SysctlValues, 'net.core.netdev_budget' | 'net.core.netdev_budget_usecs'>;
  readonly cpus: readonly Cpu[];
  readonly softnet: readonly NapiSoftnet[];
  readonly softirq: {
    raiseIrqoff(cpu: Cpu, nr: number): void;
    localBhEnable(task: Task): Generator<TaskYield, void, void>;
  };
  readonly sched: { wakeUp(task: Task, wakerCpu: number): boolean };
  readonly skbDefer: { flush(cpu: number): number };
  /** RPS IPIs this CPU owes (sd->rps_ipi_list), sent at the end of net_rx_action. */
  readonly rps: {
    ipiWaiting(cpu: Cpu): boolean;
    sendIpis(cpu: Cpu): Generator<number, void, void>;
  };
}

/** NAPI_POLL_WEIGHT (include/linux/netdevice.h): the weight of driver NAPIs. */
export const NAPI_POLL_WEIGHT = 64;

/** What a NAPI polls: a driver's RX rings, or a CPU's backlog (process_backlog). */
export interface NapiPoller {
  /** n->poll(n, budget): yields CPU chunks, returns the work done (<= budget). */
  poll(cpu: Cpu, budget: number, napi: Napi): Generator<number, number, void>;
  /** GRO holds packets (gro->bitmask != 0). */
  groHeld(): boolean;
  /**
   * gro_flush_normal(gro, flush_old): complete held GRO packets (only those from before this
   * jiffy if flushOld) and deliver the rx list; yields the CPU time that handing them up costs.
   */
  groFlush(cpu: Cpu, flushOld: boolean): Generator<number, void, void>;
  /** gro_normal_list(): hand up the rx list only (pollers with GRO; busy polling calls it after each poll). */
  groNormalList?(cpu: Cpu): Generator<number, void, void>;
}

/** For pollers without GRO. */
export function* noGroFlush(): Generator<number, void, void> {}

export class Napi {
  /** NAPI_STATE_SCHED: owned by a poll list (or its thread) until napi_complete_done. */
  sched = false;
  /** NAPI_STATE_MISSED: napi_schedule was called while SCHED was set. */
  missed = false;
  /** NAPI_STATE_SCHED_THREADED. */
  schedThreaded = false;
  /** NAPI_STATE_IN_BUSY_POLL: a task's napi_busy_loop owns it (SCHED is set too). */
  inBusyPoll = false;
  /** NAPI_STATE_PREFER_BUSY_POLL: a busy poller with SO_PREFER_BUSY_POLL found it owned and wants it (cleared by napi_complete_done and napi_watchdog). */
  preferBusyPoll = false;
  /**
   * napi->list_owner: the CPU whose poll list holds it (____napi_schedule), -1 once
   * napi_complete_done took it off (and for threaded NAPI, which no poll list holds). A
   * page_pool recycles directly into its alloc cache only there (page_pool_napi_local).
   */
  listOwner = -1;
  weight: number;
  /** napi_defer_hard_irqs and gro_flush_timeout (ns) copied from the device. */
  deferHardIrqs = 0;
  groFlushTimeout = 0;
  deferHardIrqsCount = 0;
  /**
   * irq_suspend_timeout (ns; 6.13+, per NAPI through netlink napi-set, 0: off): ep_poll re-arms the
   * hrtimer for this long each time it returns events (napi_suspend_irqs). Only that: in 6.18
   * napi_complete_done and busy_poll_stop read gro_flush_timeout, so the interrupt stays masked
   * between the loop's polls only with napi_defer_hard_irqs and gro_flush_timeout set too.
   */
  irqSuspendTimeout = 0;
  /** The hrtimer armed by napi_complete_done (fires napi_watchdog on `timerCpu`). */
  timer: Timer | null = null;
  timerCpu = 0;
  /** The napi/<dev>-<id> kthread when threaded. */
  thread: Task | null = null;
  /** NAPI_STATE_THREADED_BUSY_POLL (6.19, netlink napi-set threaded "busy-poll"): the kthread busy-polls. */
  threadedBusyPoll = false;

  /** Polls, and a histogram of work per poll (0..weight, last bucket = weight). */
  polls = 0;
  readonly workHist = new Float64Array(NAPI_POLL_WEIGHT + 1);

  /** Start of the measurement window. */
  resetWindow(): void {
    this.polls = 0;
    this.workHist.fill(0);
  }

  constructor(
    readonly id: number,
    /** Device name for traces (`eth0`) or `backlog`. */
    readonly dev: string,
    readonly poller: NapiPoller,
    weight = NAPI_POLL_WEIGHT,
  ) {
    this.weight = weight;
  }
}

/** napi_schedule_prep(): take ownership, or note that a schedule was missed. */
export function napiSchedulePrep(n: Napi): boolean {
  if (n.sched) {
    n.missed = true;
    return false;
  }
  n.sched = true;
  return true;
}

/**
 * ____napi_schedule(): hand the NAPI to its thread, or append it to this CPU's poll list and
 * raise NET_RX unless net_rx_action is already running here (it will see the new entry).
 */
export function napiScheduleOn(k: NapiHost, cpu: Cpu, n: Napi): void {
  if (n.thread) {
    n.schedThreaded = true;
    k.sched.wakeUp(n.thread, cpu.id);
    return;
  }
  const sd = k.softnet[cpu.id]!;
  sd.pollList.push(n);
  n.listOwner = cpu.id;
  if (!sd.inNetRxAction) k.softirq.raiseIrqoff(cpu, NET_RX_SOFTIRQ);
}

/** napi_schedule() from interrupt context. */
export function napiSchedule(k: NapiHost, cpu: Cpu, n: Napi): void {
  if (napiSchedulePrep(n)) napiScheduleOn(k, cpu, n);
}

/**
 * napi_complete_done(): flush GRO, release the NAPI. Returns true if the driver may re-enable
 * its interrupt; false if an event arrived during the poll (MISSED: polled again at once) or
 * if IRQ deferral armed the gro_flush_timeout hrtimer instead.
 */
export function* napiCompleteDone(k: NapiHost, cpu: Cpu, n: Napi, workDone: number): Generator<number, boolean, void> {
  // NAPIF_STATE_IN_BUSY_POLL: the busy poller keeps the NAPI (and the interrupt masked) until busy_poll_stop.
  if (n.inBusyPoll) return false;
  let timeout = 0;
  let ret = true;
  if (workDone > 0) {
    if (n.poller.groHeld()) timeout = n.groFlushTimeout;
    n.deferHardIrqsCount = n.deferHardIrqs;
  }
  // Only the deferral count keeps the IRQ masked: irq_suspend_timeout is napi_suspend_irqs' alone.
  if (n.deferHardIrqsCount > 0) {
    n.deferHardIrqsCount--;
    timeout = n.groFlushTimeout;
    if (timeout > 0) ret = false;
  }
  yield* n.poller.groFlush(cpu, timeout > 0);
  const missed = n.missed;
  n.missed = false;
  n.schedThreaded = false;
  n.preferBusyPoll = false;
  n.listOwner = -1; // WRITE_ONCE(n->list_owner, -1)
  if (missed) {
    // MISSED keeps SCHED set: poll again right away.
    napiScheduleOn(k, cpu, n);
    return false;
  }
  n.sched = false;
  if (timeout > 0) {
    n.timerCpu = cpu.id;
    n.timer!.arm(k.sim.now + timeout); // hrtimer_start(&n->timer, timeout, HRTIMER_MODE_REL_PINNED)
  }
  return ret;
}

/**
 * napi_watchdog(): the hrtimer callback, in hardirq context on the CPU that armed it. Takes the
 * NAPI if nobody owns it (without setting MISSED: no device IRQ came), clears PREFER_BUSY_POLL and
 * schedules it — the softirq's poll then ends an IRQ suspension the application did not renew.
 */
export function* napiWatchdog(k: NapiHost, cpu: Cpu, n: Napi): Generator<number, void, void> {
  yield k.costs.hardirq_entry_exit + k.costs.hrtimer_handler;
  if (!n.sched) {
    n.sched = true;
    n.preferBusyPoll = false;
    napiScheduleOn(k, cpu, n);
  }
}

/**
 * napi_poll() + __napi_poll(): poll with the NAPI's weight. Work below the weight means the
 * driver completed; work equal to the weight means the core keeps the NAPI: flush GRO packets
 * older than this jiffy (HZ >= 1000; all of them below) and put it on `repoll`.
 */
export function* napiPoll(k: NapiHost, cpu: Cpu, n: Napi, repoll: Napi[]): Generator<number, number, void> {
  const weight = n.weight;
  const start = k.sim.now;
  let work = 0;
  if (n.sched) work = yield* n.poller.poll(cpu, weight, n);
  n.polls++;
  n.workHist[Math.min(work, NAPI_POLL_WEIGHT)]! += 1;
  k.trace?.napiPoll(cpu.id, n, work, weight, start);
  if (work < weight) return work;
  if (n.preferBusyPoll) {
    // A busy poller with SO_PREFER_BUSY_POLL wants the NAPI: complete it (IRQ deferral applies)
    // instead of repolling, so the task can take it; reschedule only if the IRQ would be re-enabled.
    if (yield* napiCompleteDone(k, cpu, n, work)) napiSchedule(k, cpu, n);
    return work;
  }
  yield* n.poller.groFlush(cpu, k.jiffies.hz >= 1000);
  repoll.push(n);
  return work;
}

/**
 * net_rx_action() as in 6.18: splice the poll list, poll each NAPI, subtract its work from
 * netdev_budget, and stop when the budget is used up or netdev_budget_usecs (in jiffies) has
 * passed — checked after each poll, so one NAPI can overshoot by up to its weight, and
 * time_squeeze counts every stop on a limit even if no work is left. NAPIs scheduled meanwhile
 * (in_net_rx_action set) are picked up by going back to the start. Leftovers go back in the
 * order: unpolled, newly scheduled, repolled; NET_RX is raised again if any remain. Batched RPS
 * IPIs are sent at the end.
 */
export function* netRxAction(k: NapiHost, cpu: Cpu): Generator<number, void, void> {
  const sd = k.softnet[cpu.id]!;
  const timeLimit = k.jiffies.now() + k.jiffies.fromUsecs(k.sysctl['net.core.netdev_budget_usecs']);
  let budget = k.sysctl['net.core.netdev_budget'];
  const repoll: Napi[] = [];
  let list: Napi[] = [];
  yield k.costs.net_rx_action;
  outer: for (;;) {
    sd.inNetRxAction = true;
    list = sd.pollList;
    sd.pollList = [];
    for (;;) {
      const freed = k.skbDefer.flush(cpu.id); // skb_defer_free_flush(), each time round
      if (freed > 0) yield freed;
      if (list.length === 0) {
        if (repoll.length === 0) {
          sd.inNetRxAction = false;
          if (sd.pollList.length > 0) continue outer;
          if (!k.rps.ipiWaiting(cpu)) return;
        }
        break outer;
      }
      const n = list.shift()!;
      budget -= yield* napiPoll(k, cpu, n, repoll);
      if (budget <= 0 || k.jiffies.now() >= timeLimit) {
        sd.timeSqueeze++;
        break outer;
      }
    }
  }
  sd.pollList = [...list, ...sd.pollList, ...repoll];
  if (sd.pollList.length > 0) k.softirq.raiseIrqoff(cpu, NET_RX_SOFTIRQ);
  else sd.inNetRxAction = false;
  yield* k.rps.sendIpis(cpu); // net_rps_action_and_irq_enable
}

/**
 * napi_threaded_poll(): the napi/<dev>-<id> kthread. Polls with BH disabled (system time of
 * the thread, not softirq time; not preempted, and an interrupt meanwhile runs no softirq at its
 * irq_exit), sends RPS IPIs, then local_bh_enable() runs whatever softirqs became pending, in
 * this task; repolls after cond_resched() while the NAPI keeps its weight's worth of work,
 * sleeps when napi_complete_done released it.
 *
 * Threaded busy polling (6.19, commit c18d4b190a46: NAPI_STATE_THREADED_BUSY_POLL): once an
 * interrupt has scheduled the NAPI, the kthread sets NAPI_STATE_IN_BUSY_POLL, so the driver's
 * napi_complete_done() returns false — the interrupt stays masked and SCHED_THREADED stays set —
 * and napi_thread_wait() never sleeps again: the thread polls on and on, flushing GRO's old
 * packets after each poll (gro_flush_normal(HZ >= 1000), since napi_complete_done no longer
 * does) and calling cond_resched() after every poll. Its CPU is 100 % busy.
 */
export function* napiThreadActivity(k: NapiHost, n: Napi, task: Task): Generator<TaskYield, void, void> {
  for (;;) {
    if (!n.schedThreaded) {
      task.acct = Acct.SYS;
      yield SLEEP;
      continue;
    }
    // napi_threaded_poll(): want_busy_poll from NAPI_STATE_THREADED_BUSY_POLL, into IN_BUSY_POLL.
    const busyPoll = n.threadedBusyPoll;
    n.inBusyPoll = busyPoll;
    for (;;) {
      task.acct = Acct.SYS;
      yield k.costs.kthread_loop;
      const cpu = k.cpus[task.cpu]!; // after the yield: the thread may have moved
      // napi_threaded_poll_loop(): local_bh_disable(), then the poll with in_napi_threaded_poll
      // set — no preemption and no softirqs at irq_exit until local_bh_enable().
      const sd = k.softnet[cpu.id]!;
      task.bhDisabled = true;
      sd.inNapiThreadedPoll = true;
      const repoll: Napi[] = [];
      yield* napiPoll(k, cpu, n, repoll);
      sd.inNapiThreadedPoll = false;
      yield* k.rps.sendIpis(cpu);
      const freed = k.skbDefer.flush(cpu.id); // skb_defer_free_flush before local_bh_enable
      if (freed > 0) yield freed;
      // napi_complete_done returned early under IN_BUSY_POLL: flush GRO's old packets here.
      if (busyPoll) yield* n.poller.groFlush(cpu, k.jiffies.hz >= 1000);
      task.bhDisabled = false;
      yield* k.softirq.localBhEnable(task);
      if (repoll.length > 0 || busyPoll) yield COND_RESCHED; // rcu_softirq_qs_periodic, cond_resched
      if (repoll.length === 0) break;
    }
  }
}

/**
 * The machine's NAPI instances (the napi_hash of net/core/dev.c, looked up by napi_by_id), each
 * with its hrtimer; the timer's event runs napi_watchdog in hardirq context on the CPU that armed it.
 */
export class NapiTable {
  readonly all: Napi[] = [];
  private readonly watchdogEvent: EventKind;

  constructor(private readonly k: NapiHost & { readonly irqs: { readonly LOC: number } }) {
    this.watchdogEvent = k.sim.on((i) => {
      const n = this.all[i]!;
      k.cpus[n.timerCpu]!.raiseHardirq({ desc: k.irqs.LOC, handler: (c) => napiWatchdog(k, c, n) });
    });
  }

  /** netif_napi_add(): register, with its gro_flush_timeout hrtimer. */
  add(n: Napi): Napi {
    n.timer = this.k.sim.timer(this.watchdogEvent, this.all.length);
    this.all.push(n);
    return n;
  }

  /** napi_by_id(). */
  byId(id: number): Napi | undefined {
    return this.all.find((n) => n.id === id);
  }

  /** Start of the measurement window: poll counts restart. */
  resetWindow(): void {
    for (const n of this.all) n.resetWindow();
  }
}

/**
 * napi_busy_loop()'s ownership test (net/core/dev.c: __napi_busy_loop): a task takes a NAPI only
 * when neither the softirq, its thread nor another busy poller holds it (SCHED and IN_BUSY_POLL
 * clear). Otherwise it leaves it alone; with SO_PREFER_BUSY_POLL it sets PREFER_BUSY_POLL (the
 * `goto count` paths) so the owner's next full poll completes the NAPI (__napi_poll) instead of
 * repolling it. Taking it sets only IN_BUSY_POLL and SCHED (the cmpxchg): PREFER_BUSY_POLL is left
 * as it was, so a NAPI that busy_poll_stop reschedules is repolled by the softirq like any other.
 */
export function napiBusyPollStart(n: Napi, prefer: boolean): boolean {
  if (n.sched || n.inBusyPoll) {
    if (prefer) n.preferBusyPoll = true;
    return false;
  }
  n.sched = true;
  n.inBusyPoll = true;
  return true;
}

/**
 * One pass of __napi_busy_loop() on a NAPI the task owns: local_bh_disable(), napi->poll(napi,
 * budget) in the task's context and system time (napi_complete_done() returns false under
 * IN_BUSY_POLL, so the driver leaves its interrupt masked), gro_normal_list() (the batch is handed
 * up at the end of the poll), skb_defer_free_flush() and local_bh_enable(). Returns the work done.
 */
export function* napiBusyPollOnce(k: NapiHost, task: Task, n: Napi, budget: number, via = POLL_BUSY): Generator<TaskYield, number, void> {
  const cpu = k.cpus[task.cpu]!;
  task.inSoftirq = true; // local_bh_disable
  const start = k.sim.now;
  const work = yield* n.poller.poll(cpu, budget, n);
  n.polls++;
  n.workHist[Math.min(work, NAPI_POLL_WEIGHT)]! += 1;
  k.trace?.napiPoll(cpu.id, n, work, budget, start, via);
  if (n.poller.groNormalList) yield* n.poller.groNormalList(cpu);
  task.inSoftirq = false;
  yield* k.rps.sendIpis(cpu);
  const freed = k.skbDefer.flush(cpu.id);
  if (freed > 0) yield freed;
  yield* k.softirq.localBhEnable(task);
  return work;
}

/**
 * busy_poll_stop() (net/core/dev.c, 6.18): give the NAPI back. MISSED and IN_BUSY_POLL are
 * cleared, then one more napi->poll whose napi_complete_done() now works as usual ("all we really
 * want here is to re-enable device interrupts"). With prefer-busy-poll, napi_defer_hard_irqs and
 * gro_flush_timeout set, defer_hard_irqs_count is refilled and the hrtimer armed for
 * gro_flush_timeout first, so that poll's napi_complete_done() keeps the interrupt masked;
 * irq_suspend_timeout plays no part here (only napi_suspend_irqs reads it). A poll that used its
 * whole budget is rescheduled (__busy_poll_stop) — or, with the timer armed, released with old GRO
 * packets flushed, for the timer to pick up.
 */
export function* busyPollStop(k: NapiHost, task: Task, n: Napi, prefer: boolean, budget: number, via = POLL_BUSY): Generator<TaskYield, void, void> {
  const cpu = k.cpus[task.cpu]!;
  n.missed = false;
  n.inBusyPoll = false;
  task.inSoftirq = true; // local_bh_disable
  let skipSchedule = false;
  if (prefer) {
    n.deferHardIrqsCount = n.deferHardIrqs;
    const timeout = n.groFlushTimeout;
    if (n.deferHardIrqsCount > 0 && timeout > 0) {
      n.timerCpu = cpu.id;
      n.timer!.arm(k.sim.now + timeout); // hrtimer_start(&napi->timer, timeout, HRTIMER_MODE_REL_PINNED)
      skipSchedule = true;
    }
  }
  const start = k.sim.now;
  const rc = yield* n.poller.poll(cpu, budget, n);
  k.trace?.napiPoll(cpu.id, n, rc, budget, start, via);
  if (rc === budget) {
    // __busy_poll_stop()
    if (!skipSchedule) {
      if (n.poller.groNormalList) yield* n.poller.groNormalList(cpu);
      napiScheduleOn(k, cpu, n);
    } else {
      yield* n.poller.groFlush(cpu, k.jiffies.hz >= 1000);
      n.sched = false;
    }
  }
  task.inSoftirq = false;
  yield* k.softirq.localBhEnable(task);
}

/**
 * One pass of napi_busy_loop() followed by busy_poll_stop() (net/core/dev.c), as a non-blocking
 * sk_busy_loop() or a poll()/select() pass (sock_poll) makes it: a task polls a NAPI itself, with
 * bottom halves off, when it can take ownership (napiBusyPollStart). Runs in the task's context
 * and system time; returns the work done (0 if the NAPI was busy).
 */
export function* napiBusyPoll(k: NapiHost, task: Task, n: Napi, budget: number, prefer = false): Generator<TaskYield, number, void> {
  if (!napiBusyPollStart(n, prefer)) return 0; // owned by the softirq or its thread: left alone
  const acct = task.acct;
  task.acct = Acct.SYS;
  const work = yield* napiBusyPollOnce(k, task, n, budget);
  yield* busyPollStop(k, task, n, prefer, budget);
  task.acct = acct;
  return work;
}

/**
 * napi_suspend_irqs() (net/core/dev.c, 6.13+), from ep_poll when it returns events with
 * prefer_busy_poll (ep_suspend_napi_irqs): push the NAPI's hrtimer out to irq_suspend_timeout, so
 * neither the device interrupt (masked since busy_poll_stop) nor the watchdog's softirq poll comes
 * while the application works on what it got. Nothing without irq_suspend_timeout.
 */
export function napiSuspendIrqs(k: NapiHost, cpu: Cpu, n: Napi): void {
  const timeout = n.irqSuspendTimeout;
  if (timeout === 0) return;
  n.timerCpu = cpu.id;
  n.timer!.arm(k.sim.now + timeout); // hrtimer_start(&napi->timer, ns_to_ktime(timeout), HRTIMER_MODE_REL_PINNED)
}

/**
 * napi_resume_irqs() (net/core/dev.c, 6.13+), from ep_busy_loop when busy polling found nothing:
 * with irq_suspend_timeout set, napi_schedule() inside local_bh_disable/enable — the softirq polls
 * the NAPI at once, in this task's local_bh_enable, and its napi_complete_done hands the
 * interrupt back to napi_defer_hard_irqs / gro_flush_timeout. The hrtimer stays
 * armed and finds the NAPI idle or owned when it fires.
 */
export function* napiResumeIrqs(k: NapiHost, task: Task, n: Napi): Generator<TaskYield, void, void> {
  if (n.irqSuspendTimeout === 0) return;
  task.inSoftirq = true; // local_bh_disable
  napiSchedule(k, k.cpus[task.cpu]!, n);
  task.inSoftirq = false;
  yield* k.softirq.localBhEnable(task);
}
