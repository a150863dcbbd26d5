import type { SysctlValues } from '../scenario/sysctl.ts';
import { anyReadable, BUSY_POLL_BUDGET, napiIdValid } from './busy-poll.ts';
import { napiResumeIrqs, napiSuspendIrqs, type Napi, type NapiHost } from './napi.ts';
import type { Socket } from './socket.ts';
import { SLEEP, type Task, type TaskYield } from './task.ts';
import { POLL_EP_BUSY } from './trace-hooks.ts';

/**
 * An epoll instance and epoll_wait (fs/eventpoll.c): struct eventpoll with the busy-poll fields
 * EPIOCSPARAMS sets (6.9+: busy_poll_usecs, busy_poll_budget, prefer_busy_poll) and the NAPI id
 * it busy-polls, taken from its sockets (ep_set_busy_poll_napi_id); ep_poll with ep_busy_loop
 * before it sleeps, and with prefer_busy_poll the IRQ suspension of 6.13+ (ep_suspend_napi_irqs
 * when it returns events, napi_resume_irqs when busy polling found none).
 *
 * Modelled: level-triggered EPOLLIN on sockets only; one event loop thread per instance. Not
 * modelled: edge-triggered and one-shot items, maxevents, timeouts (epoll_wait(-1) only), nested
 * epoll instances, EPOLLEXCLUSIVE.
 */

/** What an epoll instance needs from the rest of the machine. */
export interface EventPollHost extends NapiHost {
  readonly napis: { byId(id: number): Napi | undefined };
  readonly sysctl: Pick<SysctlValues, 'net.core.netdev_budget' | 'net.core.netdev_budget_usecs' | 'net.core.busy_poll'>;
  /** napi_busy_loop() with a loop end (busy-poll.ts). */
  readonly busyPoll: {
    napiBusyLoop(task: Task, n: Napi, prefer: boolean, budget: number, socks: readonly Socket[], usec: number, via: number): Generator<TaskYield, void, void>;
  };
}

/** The instance's sockets as the event loop sees them (app/recv.ts: SocketSet). */
export interface ReadyList {
  /** The next socket with data (ep_send_events of a level-triggered item), or null. */
  next(): Socket | null;
  /** Sleep on the wait queues (ep->wq, reached through each item's ep_poll_callback). */
  wait(task: Task): void;
  woken(task: Task): void;
}

/** EPIOCSPARAMS (struct epoll_params), as the application set it. */
export interface EpollParams {
  /** busy_poll_usecs (0: net.core.busy_poll). */
  busyPollUsecs: number;
  /** busy_poll_budget (0: BUSY_POLL_BUDGET). */
  busyPollBudget: number;
  preferBusyPoll: boolean;
}

export class EventPoll {
  /** ep->napi_id: the NAPI ep_busy_loop polls; 0 after a busy loop that found nothing. */
  napiId = 0;

  constructor(
    private readonly k: EventPollHost,
    /** The sockets added with EPOLL_CTL_ADD (EPOLLIN, level-triggered). */
    readonly socks: readonly Socket[],
    readonly params: EpollParams,
  ) {
    // ep_insert: record the NAPI id of each new item, if it already has one.
    for (const s of socks) this.pollCallback(s);
  }

  /** ep_busy_loop_on(): EPIOCSPARAMS asked for busy polling, or net.core.busy_poll is set. */
  busyLoopOn(): boolean {
    return this.params.busyPollUsecs > 0 || this.params.preferBusyPoll || this.k.sysctl['net.core.busy_poll'] > 0;
  }

  /**
   * ep_poll_callback → ep_set_busy_poll_napi_id(): a socket's sk_data_ready reached the epoll
   * item; with busy polling on, the instance takes that socket's sk_napi_id (already marked from
   * the skb just queued), so the next ep_busy_loop polls the NAPI the data came from.
   */
  pollCallback(sock: Socket): void {
    if (!this.busyLoopOn()) return;
    const id = sock.napiId;
    if (napiIdValid(id) && id !== this.napiId) this.napiId = id;
  }

  /**
   * ep_poll() with no timeout: events available → ep_send_events, and with events sent
   * ep_suspend_napi_irqs; none → ep_busy_loop, and if that found none either, sleep until an
   * item's callback wakes the task. Returns the first ready socket (round robin).
   */
  *wait(task: Task, ready: ReadyList): Generator<TaskYield, Socket, void> {
    for (;;) {
      const sock = ready.next();
      if (sock) {
        this.suspendNapiIrqs(task);
        return sock;
      }
      if (yield* this.busyLoop(task)) continue;
      ready.wait(task);
      yield SLEEP;
      ready.woken(task);
    }
  }

  /**
   * ep_busy_loop(): with a valid ep->napi_id and busy polling on, napi_busy_loop() on it with the
   * instance's budget and prefer flag until an event is available or busy_poll_usecs (else
   * net.core.busy_poll) µs have passed. Without events: napi_resume_irqs() if prefer_busy_poll
   * (the softirq takes the NAPI back and the interrupt comes back under napi_defer_hard_irqs /
   * gro_flush_timeout), and ep->napi_id = 0 until a socket's callback sets it again.
   */
  *busyLoop(task: Task): Generator<TaskYield, boolean, void> {
    const k = this.k;
    const id = this.napiId;
    if (!napiIdValid(id) || !this.busyLoopOn()) return false;
    const p = this.params;
    const n = k.napis.byId(id);
    const usec = p.busyPollUsecs > 0 ? p.busyPollUsecs : k.sysctl['net.core.busy_poll'];
    if (n) yield* k.busyPoll.napiBusyLoop(task, n, p.preferBusyPoll, p.busyPollBudget || BUSY_POLL_BUDGET, this.socks, usec, POLL_EP_BUSY);
    if (anyReadable(this.socks)) return true;
    if (p.preferBusyPoll && n) yield* napiResumeIrqs(k, task, n);
    this.napiId = 0;
    return false;
  }

  /** ep_suspend_napi_irqs(): after ep_send_events returned events, with prefer_busy_poll → napi_suspend_irqs(). */
  private suspendNapiIrqs(task: Task): void {
    const id = this.napiId;
    if (!napiIdValid(id) || !this.params.preferBusyPoll) return;
    const n = this.k.napis.byId(id);
    if (n) napiSuspendIrqs(this.k, this.k.cpus[task.cpu]!, n);
  }
}
