import type { ResolvedApp } from '../../scenario/resolve.ts';
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
 *     recvfrom → sk_busy_loop(sk, 1), one napi_busy_loop pass (busy-poll.ts); with prefer-busy-poll
 *     xsk_no_wakeup skips the wakeup;
 *   - with `xsk_poll` (xdpsock -p) it calls poll() before each pass (xsk_poll: the wakeup if the flag
 *     is set, then sleeps until xsk_flush's sock_def_readable).
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
    if (xsk.poll) {
      task.acct = Acct.SYS;
      yield c.syscall;
      sock.syscalls++;
      // xsk_poll(): sk_busy_loop first if the socket can, then the wakeup the flag asks for.
      if (busy) yield* k.busyPoll.napiBusyLoop(task, k.xskNapi(sock), app.preferBusyPoll, app.busyPollBudget || 8, [], 0);
      if (sock.zeroCopy && sock.needWakeupFlag && !noWakeup && k.xskWakeup(sock)) sock.wakeups++;
      if (sock.rxVisible === 0) {
        sock.waiter = task;
        yield SLEEP;
        sock.waiter = null;
      }
    }
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
