import type { ResolvedApp } from '../../scenario/resolve.ts';
import type { EventPoll } from '../eventpoll.ts';
import type { Socket } from '../socket.ts';
import { Acct, type Task, type TaskYield } from '../task.ts';
import type { AppHost } from './host.ts';
import { copyToUser, Pace, SocketSet, waitForData } from './recv.ts';

/**
 * udp-sink: a loop of recvmmsg(MSG_WAITFORONE) calls of up to `batch` datagrams (1: plain
 * recvmsg). Each blocks until one datagram is there, then takes what is queued up to the batch.
 * UDP has no socket lock on this path (the queue's spinlock only), so softirq keeps queueing
 * while the sink copies; each datagram costs udp_recvmsg, the copy and freeing the skb, and
 * counts in UdpInDatagrams when read.
 */
export function* udpSink(k: AppHost, task: Task, app: ResolvedApp, socks: Socket[], ep: EventPoll | null = null): Generator<TaskYield, void, void> {
  const set = new SocketSet(socks, ep);
  const pace = new Pace(app.rateBps, app.userNsPerKb);
  const pool = k.pool;
  const c = k.costs;
  for (;;) {
    task.acct = Acct.SYS;
    yield c.syscall;
    let bytes = 0;
    for (let n = 0; n < app.batch; n++) {
      let sock = set.next();
      if (!sock) {
        if (n > 0) break;
        sock = yield* waitForData(k, task, set);
      }
      const row = sock.queue.head;
      // skb_consume_udp → skb_attempt_defer_free (6.18).
      yield c.udp_recvmsg + copyToUser(k, sock, row, pool.len[row]!, task.cpu) + c.skb_consume + k.skbDefer.free(task.cpu, pool.allocCpu[row]!, row);
      sock.queue.shift(k.sim.now);
      bytes += pool.len[row]!;
      k.snmp.UdpInDatagrams++;
      k.accounting.consumed(sock, row, k.sim.now, task.cpu);
    }
    yield* pace.after(k, task, bytes);
  }
}
