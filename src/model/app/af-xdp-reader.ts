import type { ResolvedApp } from '../../scenario/resolve.ts';
import type { SysctlValues } from '../../scenario/sysctl.ts';
import type { Napi } from '../napi.ts';
import { Acct, SLEEP, type Task, type TaskYield } from '../task.ts';
import type { XskSocket } from '../xsk.ts';
import type { AppHost } from './host.ts';

/**
 * The step of the user-space busy loop on an empty RX ring (xsk_ring_cons__peek returning 0 and
 * the loop going round): a bookkeeping granularity, not a kernel constant — a frame published
 * during a step is seen at its end, at most this late.
 */
export const XSK_SPIN_NS = 1000;

/** What the reader needs beyond an AppHost: its socket's device side. */
export interface XskAppHost extends AppHost {
  /** ndo_xsk_wakeup (ixgbe_xsk_wakeup): schedule the queue's NAPI (a software interrupt), or mark it missed if it is scheduled; true if it raised one. */
  xskWakeup(sock: XskSocket): boolean;
  /** The NAPI of the socket's queue (its busy polling). */
  xskNapi(sock: XskSocket): Napi;
  /** net.core.busy_poll: poll()'s busy loop (net_busy_loop_on). */
  readonly sysctl: Pick<SysctlValues, 'net.core.busy_poll'>;
}

/**
 * af-xdp-reader: samples/bpf xdpsock --rxdrop (xdp-tools' xdpsock -r). A pass takes up to `batch`
 * descriptors from the RX ring (xsk_ring_cons__peek), gives the same number of frames back to the
 * fill ring (xsk_ring_prod__reserve/submit) and releases the RX entries; its work is user time.
 * On an empty ring it goes round again, unless it must enter the kernel:
 *   - need_wakeup: the fill ring's XDP_RING_NEED_WAKEUP flag is set (zero-copy, the driver ran out
 *     of buffers or found its ring empty and stopped polling): recvfrom(MSG_DONTWAIT) →
 *     xsk_recvmsg → xsk_wakeup → ndo_xsk_wakeup;
 *   - busy polling (SO_BUSY_POLL, SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET: xdpsock -B):
 *     recvfrom → __xsk_recvmsg → sk_busy_loop(sk, 1), one napi_busy_loop pass (busy-poll.ts); with
 *     prefer-busy-poll xsk_no_wakeup skips the wakeup;
 *   - with `xsk_poll` (xdpsock -p) it calls poll() before each pass instead (xskPoll below).
 * Without any of them (copy mode, or zero-copy without need_wakeup) it never makes a system call.
 */
export function* afXdpReader(k: XskAppHost, task: Task, app: ResolvedApp, sock: XskSocket): Generator<TaskYield, void, void> {
  const c = k.costs;
  const xsk = app.xsk!;
  const llUsec = app.busyPollUs >= 0 ? app.busyPollUs : 0;
  const busy = llUsec > 0;
  // xsk_no_wakeup(): prefer-busy-poll with SO_BUSY_POLL set: recvfrom does not wake the driver.
  const noWakeup = busy && app.preferBusyPoll;
  for (;;) {
    if (xsk.poll) yield* xskPoll(k, task, app, sock, busy);
    const n = Math.min(app.batch, sock.rxVisible);
    if (n === 0) {
      if (busy || (sock.zeroCopy && sock.needWakeupFlag)) {
        // recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) → xsk_recvmsg.
        task.acct = Acct.SYS;
        yield c.syscall;
        sock.syscalls++;
        if (busy) yield* k.busyPoll.napiBusyLoop(task, k.xskNapi(sock), app.preferBusyPoll, app.busyPollBudget || 8, [], 0);
        if (sock.zeroCopy && sock.needWakeupFlag && !noWakeup && k.xskWakeup(sock)) sock.wakeups++;
      } else if (!xsk.poll) {
        task.acct = Acct.USR;
        yield XSK_SPIN_NS;
      }
      continue;
    }
    task.acct = Acct.USR;
    yield c.xsk_ring_batch + n * (c.xsk_ring_frame + xsk.workNs);
    readFrames(k, sock, n);
  }
}

/**
 * poll(2) on the socket (xdpsock -p): do_poll → sock_poll → xsk_poll. sock_poll busy-polls
 * (sk_busy_loop(sk, 1)) only when do_poll asks for it with POLL_BUSY_LOOP, which it does only with
 * net.core.busy_poll set (net_busy_loop_on) — SO_BUSY_POLL alone makes the socket able to, not
 * poll() do it; do_poll then goes round until the ring has frames, need_resched, or busy_poll µs
 * have passed. xsk_poll wakes the driver whenever the flag is set in zero-copy
 * (pool->cached_need_wakeup: xsk_wakeup): it has no xsk_no_wakeup check, that is recvmsg's. With
 * nothing to read the task sleeps until xsk_flush's sock_def_readable.
 */
function* xskPoll(k: XskAppHost, task: Task, app: ResolvedApp, sock: XskSocket, canBusyLoop: boolean): Generator<TaskYield, void, void> {
  task.acct = Acct.SYS;
  yield k.costs.syscall;
  sock.syscalls++;
  const usec = k.sysctl['net.core.busy_poll'];
  const busyLoop = canBusyLoop && usec > 0;
  let end = -1;
  for (;;) {
    if (busyLoop) yield* k.busyPoll.napiBusyLoop(task, k.xskNapi(sock), app.preferBusyPoll, app.busyPollBudget || 8, [], 0);
    if (sock.zeroCopy && sock.needWakeupFlag && k.xskWakeup(sock)) sock.wakeups++;
    if (!busyLoop || sock.rxVisible > 0 || k.cpus[task.cpu]!.needResched()) break;
    // busy_loop_timeout(busy_start): busy_loop_current_time() is local_clock() >> 10.
    const now = Math.floor(k.sim.now / 1024);
    if (end < 0) end = now + usec;
    else if (now > end) break;
  }
  if (sock.rxVisible === 0) {
    sock.waiter = task;
    yield SLEEP;
    sock.waiter = null;
  }
}

/** The pass's frames: each read (delivered) and its UMEM frame given back to the fill ring, with any frames the app still held. */
function readFrames(k: XskAppHost, sock: XskSocket, n: number): void {
  const now = k.sim.now;
  for (let i = 0; i < n; i++) k.accounting.xskConsumed(sock.rx.shift(), now);
  sock.rxVisible -= n;
  sock.appPackets += n;
  // xsk_ring_prod__reserve/submit on the fill ring: as many as it has room for.
  const held = sock.appHeld + n;
  const room = sock.cfg.fillSize - sock.fq;
  const put = Math.min(held, room);
  sock.fq += put;
  sock.appHeld = held - put;
}
