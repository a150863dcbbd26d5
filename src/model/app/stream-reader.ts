import type { ResolvedApp } from '../../scenario/resolve.ts';
import { tcpCleanupRbuf, tcpRcvSpaceAdjust, type Socket } from '../socket.ts';
import { Acct, SLEEP, type Task, type TaskYield } from '../task.ts';
import type { AppHost } from './host.ts';
import { copyToUser, Pace, recordSockFlow, SocketSet, waitForData } from './recv.ts';

/**
 * stream-reader: iperf3 -s. A loop of blocking reads of `recv_size` bytes (128 KiB by default)
 * from its TCP sockets — one, or several behind a select loop — each a tcp_recvmsg: lock the
 * socket, copy what the receive queue holds, process the backlog that softirq built up meanwhile,
 * return once something was copied (SO_RCVLOWAT 1), send the window update, release the socket.
 */
export function* streamReader(k: AppHost, task: Task, app: ResolvedApp, socks: Socket[]): Generator<TaskYield, void, void> {
  const set = new SocketSet(socks);
  const pace = new Pace(app.rateBps, app.userNsPerKb);
  for (;;) {
    task.acct = Acct.SYS;
    yield k.costs.syscall;
    const sock = socks.length === 1 ? socks[0]! : yield* waitForData(k, task, set);
    const copied = yield* tcpRecvmsg(k, task, sock, app.recvSize);
    yield* pace.after(k, task, copied);
  }
}

/**
 * tcp_recvmsg() → tcp_recvmsg_locked(), blocking, without MSG_WAITALL. While the task owns the
 * socket, softirq queues arriving segments on the socket backlog (tcp_add_backlog); the reader
 * processes them when its receive queue runs dry (sk_flush_backlog) and at release_sock().
 * Returns the bytes copied.
 */
function* tcpRecvmsg(k: AppHost, task: Task, sock: Socket, len: number): Generator<TaskYield, number, void> {
  const pool = k.pool;
  // tcp_recvmsg: an empty receive queue is busy-polled before lock_sock (sk_can_busy_loop).
  if (sock.queue.length === 0) yield* k.busyPoll.skBusyLoop(task, sock);
  task.acct = Acct.SYS;
  recordSockFlow(k, sock, task.cpu); // inet_recvmsg → sock_rps_record_flow
  sock.owned = true; // lock_sock
  yield k.costs.tcp_recvmsg;
  let copied = 0;
  for (;;) {
    while (copied < len && sock.queue.length > 0) {
      const row = sock.queue.head;
      const avail = pool.len[row]! - sock.readOffset;
      const n = Math.min(avail, len - copied);
      const done = n === avail;
      // tcp_eat_recv_skb → skb_attempt_defer_free once the skb is used up.
      yield copyToUser(k, sock, row, n, task.cpu) + (done ? k.costs.skb_consume + k.skbDefer.free(task.cpu, pool.allocCpu[row]!, row) : 0);
      copied += n;
      if (done) {
        sock.queue.shift(k.sim.now);
        sock.readOffset = 0;
        k.accounting.consumed(sock, row, k.sim.now, task.cpu);
      } else {
        sock.readOffset += n;
      }
    }
    if (copied >= len) break;
    if (sock.backlog.length > 0) {
      yield* processBacklog(k, task, sock);
      continue;
    }
    if (copied > 0) break;
    // sk_wait_data(): release the socket (its backlog is processed first) and sleep.
    yield* releaseSock(k, task, sock);
    if (sock.queue.length === 0) {
      sock.waiter = task;
      yield SLEEP;
      sock.waiter = null;
    }
    recordSockFlow(k, sock, task.cpu); // it may wake up on another CPU
    sock.owned = true;
  }
  tcpRcvSpaceAdjust(sock, k.sim.now);
  if (tcpCleanupRbuf(sock, k.sim.now, task.cpu)) {
    k.snmp.TcpOutSegs++;
    yield k.l4.ackCost(sock);
  }
  yield* releaseSock(k, task, sock);
  return copied;
}

/** __release_sock(): process the backlog until it stays empty; then the lock is free. */
function* releaseSock(k: AppHost, task: Task, sock: Socket): Generator<TaskYield, void, void> {
  yield* processBacklog(k, task, sock);
  sock.owned = false;
  // spin_unlock_bh(&sk->sk_lock.slock) → local_bh_enable: pending softirqs run here.
  yield* k.softirq.localBhEnable(task);
}

/**
 * The socket backlog, skb by skb, in process context (system time of the reader), then
 * tcp_release_cb (__release_sock and __sk_flush_backlog both call it): a deferred ACK goes out.
 */
function* processBacklog(k: AppHost, task: Task, sock: Socket): Generator<TaskYield, void, void> {
  const c = k.costs;
  do {
    while (sock.backlog.length > 0) {
      yield c.tcp_v4_rcv + c.sock_enqueue;
      // Its ACK (and any collapse) cost more.
      const extra = k.l4.backlogRcv(sock, task.cpu, k.sim.now);
      if (extra > 0) yield extra;
    }
    const ack = k.l4.releaseCb(sock, k.sim.now, task.cpu);
    if (ack > 0) yield ack;
    // The kernel sends it with the socket spinlock held and BH off, so nothing reaches the
    // backlog meanwhile; here softirq may run during the ACK's cost: take what it queued, so
    // the socket is never released with skbs left behind (they would be overtaken).
  } while (sock.backlog.length > 0);
}
