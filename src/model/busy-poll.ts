import type { ResolvedApp } from '../scenario/resolve.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import { MIN_NAPI_ID } from './nic/napi-ids.ts';
import { busyPollStop, napiBusyPoll, napiBusyPollOnce, napiBusyPollStart, type Napi, type NapiHost } from './napi.ts';
import type { Snmp } from './snmp.ts';
import { POLL_BUSY } from './trace-hooks.ts';
import type { Socket } from './socket.ts';
import { Acct, COND_RESCHED, type Task, type TaskYield } from './task.ts';

/**
 * Busy polling (net/core/dev.c: napi_busy_loop; include/net/busy_poll.h; fs/select.c): a reader
 * that finds its socket empty polls the socket's NAPI itself — the one whose id the socket took
 * from its skbs (sk_mark_napi_id) — from its own context and in its own system time, instead of
 * sleeping until the interrupt, the softirq and a wake-up bring the data.
 *
 * Modelled: sk_busy_loop from a blocking recvmsg (tcp_recvmsg, __skb_recv_udp) for
 * SO_BUSY_POLL / net.core.busy_read µs, and a select()/poll() reader of several sockets
 * (do_select, sock_poll) for net.core.busy_poll µs; the NAPI ownership rules, busy_poll_stop and
 * prefer-busy-poll are in napi.ts; epoll_wait's busy loop (ep_busy_loop) and IRQ suspension in
 * eventpoll.ts, on napiBusyLoop here. Threaded NAPI in busy-poll mode (6.19:
 * NAPI_STATE_THREADED_BUSY_POLL, commit c18d4b190a46) is the NAPI kthread's, in napi.ts
 * (napiThreadActivity), not a socket's: it moves no TcpExtBusyPollRxPackets.
 */

/** BUSY_POLL_BUDGET (include/net/busy_poll.h): the budget of each busy-poll napi->poll. */
export const BUSY_POLL_BUDGET = 8;

/** busy_loop_current_time(): local_clock() >> 10, the loop's µs-like clock. */
function busyLoopTime(ns: number): number {
  return Math.floor(ns / 1024);
}

/** napi_id_valid() (include/net/busy_poll.h): ids below MIN_NAPI_ID are sender_cpu values, not NAPIs. */
export function napiIdValid(id: number): boolean {
  return id >= MIN_NAPI_ID;
}

/** A socket of `socks` has data (readable: EPOLLIN, a non-empty receive queue). */
export function anyReadable(socks: readonly Socket[]): boolean {
  for (let i = 0; i < socks.length; i++) if (socks[i]!.queue.length > 0) return true;
  return false;
}

/**
 * The loop_end of sk_busy_loop and ep_busy_loop: data arrived, or the time is up
 * (sk_busy_loop_timeout, busy_loop_ep_timeout: time_after(now, start + usec); with no time set
 * busy_loop_timeout returns true at once).
 */
function busyLoopEnd(now: number, socks: readonly Socket[], startUs: number, usec: number): boolean {
  return anyReadable(socks) || usec === 0 || busyLoopTime(now) > startUs + usec;
}

/** What busy polling needs from the rest of the machine. */
export interface BusyPollHost extends NapiHost {
  readonly napis: { byId(id: number): Napi | undefined };
  readonly snmp: Pick<Snmp, 'TcpExtBusyPollRxPackets'>;
  readonly sysctl: Pick<SysctlValues, 'net.core.netdev_budget' | 'net.core.netdev_budget_usecs' | 'net.core.busy_read' | 'net.core.busy_poll'>;
}

export class BusyPoll {
  constructor(private readonly k: BusyPollHost) {}

  /**
   * sock_init_data() (sk_ll_usec = net.core.busy_read) and the app's setsockopt calls:
   * SO_BUSY_POLL, SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET.
   */
  initSocket(sock: Socket, app: ResolvedApp): void {
    sock.llUsec = app.busyPollUs >= 0 ? app.busyPollUs : this.k.sysctl['net.core.busy_read'];
    sock.preferBusyPoll = app.preferBusyPoll;
    sock.busyPollBudget = app.busyPollBudget;
  }

  /**
   * Before a reader sleeps on empty sockets: sk_busy_loop for one socket (a blocking recvmsg),
   * the do_select busy loop for several. Returns when data arrived, the time ran out, or (select)
   * need_resched; nothing happens without busy polling configured.
   */
  *beforeSleep(task: Task, socks: readonly Socket[]): Generator<TaskYield, void, void> {
    if (socks.length === 1) yield* this.skBusyLoop(task, socks[0]!, socks);
    else if (socks.length > 1) yield* this.selectBusyLoop(task, socks);
  }

  /**
   * sk_busy_loop(sk, nonblock = 0) → napi_busy_loop(sk_napi_id, sk_busy_loop_end, sk,
   * sk_prefer_busy_poll, sk_busy_poll_budget ?: BUSY_POLL_BUDGET) until the socket has data or
   * sk_ll_usec has passed (sk_busy_loop_end).
   */
  *skBusyLoop(task: Task, sock: Socket, socks: readonly Socket[] = [sock]): Generator<TaskYield, void, void> {
    if (sock.llUsec === 0) return; // sk_can_busy_loop
    const n = this.k.napis.byId(sock.napiId); // napi_id >= MIN_NAPI_ID and napi_by_id()
    if (!n) return;
    yield* this.napiBusyLoop(task, n, sock.preferBusyPoll, sock.busyPollBudget || BUSY_POLL_BUDGET, socks, sock.llUsec);
  }

  /**
   * napi_busy_loop() with a loop_end (net/core/dev.c: __napi_busy_loop), for sk_busy_loop and
   * ep_busy_loop: each pass takes the NAPI if nobody owns it (and keeps it across passes), polls
   * it with the budget, adds the work to LINUX_MIB_BUSYPOLLRXPACKETS, and ends when one of `socks`
   * has data or `usec` µs of busy_loop_current_time have passed since the start (0: after the
   * first pass, as busy_loop_timeout with no time set). On need_resched it gives the NAPI back
   * (busy_poll_stop), calls cond_resched() and goes on unless the loop end is reached. Runs with
   * preemption off, as the task's system time. `via` names the caller in the trace (napi_busy_loop
   * or ep_busy_loop).
   */
  *napiBusyLoop(task: Task, n: Napi, prefer: boolean, budget: number, socks: readonly Socket[], usec: number, via = POLL_BUSY): Generator<TaskYield, void, void> {
    const k = this.k;
    const start = busyLoopTime(k.sim.now);
    task.acct = Acct.SYS;
    task.preemptDisabled = true; // __napi_busy_loop: preempt_disable() (not on PREEMPT_RT)
    let owned = false;
    for (;;) {
      yield k.costs.busy_poll_loop;
      if (!owned) owned = napiBusyPollStart(n, prefer);
      const work = owned ? yield* napiBusyPollOnce(k, task, n, budget, via) : 0;
      if (work > 0) k.snmp.TcpExtBusyPollRxPackets += work;
      if (busyLoopEnd(k.sim.now, socks, start, usec)) break;
      if (k.cpus[task.cpu]!.needResched()) {
        if (owned) yield* busyPollStop(k, task, n, prefer, budget, via);
        owned = false;
        task.preemptDisabled = false;
        yield COND_RESCHED;
        task.acct = Acct.SYS;
        if (busyLoopEnd(k.sim.now, socks, start, usec)) return;
        task.preemptDisabled = true;
      }
    }
    if (owned) yield* busyPollStop(k, task, n, prefer, budget, via);
    task.preemptDisabled = false;
  }

  /**
   * do_select() with net.core.busy_poll: each pass polls every socket (sock_poll →
   * sk_busy_loop(sk, 1): one napi_busy_loop pass and busy_poll_stop, for sockets with
   * sk_ll_usec) until one has data, busy_poll µs have passed since the first empty pass, or
   * need_resched.
   */
  *selectBusyLoop(task: Task, socks: readonly Socket[]): Generator<TaskYield, void, void> {
    const k = this.k;
    const usec = k.sysctl['net.core.busy_poll'];
    if (usec === 0 || !socks.some((s) => s.llUsec > 0)) return; // net_busy_loop_on, POLL_BUSY_LOOP
    task.acct = Acct.SYS;
    let end = -1;
    for (;;) {
      yield k.costs.busy_poll_loop;
      for (const s of socks) {
        const n = s.llUsec > 0 ? k.napis.byId(s.napiId) : undefined;
        if (!n) continue;
        const work = yield* napiBusyPoll(k, task, n, s.busyPollBudget || BUSY_POLL_BUDGET, s.preferBusyPoll);
        if (work > 0) k.snmp.TcpExtBusyPollRxPackets += work;
        task.acct = Acct.SYS;
      }
      if (socks.some((s) => s.queue.length > 0) || k.cpus[task.cpu]!.needResched()) return;
      const now = busyLoopTime(k.sim.now);
      if (end < 0) end = now + usec;
      else if (now > end) return;
    }
  }
}
