import type { LocalTcpSender } from '../local-sender.ts';
import { Acct, SLEEP, type Task, type TaskYield } from '../task.ts';
import type { AppHost } from './host.ts';

/**
 * stream-writer: iperf3 -c in another network namespace of this host, sending over a veth pair
 * (flows with path "veth-local" name it as their sender). A loop of blocking writes of the
 * flow's write_size, each a tcp_sendmsg: copy the data into skbs of up to 64 KB (TSO over veth),
 * and transmit each one (tcp_transmit_skb → ip_output → dev_queue_xmit → veth_xmit →
 * __netif_rx into this CPU's backlog, or the RPS CPU of the peer's RX queue). dev_queue_xmit
 * runs with bottom halves off, so NET_RX is only marked pending; it runs at the
 * local_bh_enable that ends it — in this task, as softirq time: the sending CPU receives
 * (net/core/dev.c: __dev_queue_xmit → veth_xmit → __netif_rx; do_softirq at local_bh_enable). With several flows it writes to each in
 * turn. After a flow's stop time it writes nothing new but still repairs what was lost.
 */
export function* streamWriter(k: AppHost, task: Task, conns: LocalTcpSender[]): Generator<TaskYield, void, void> {
  const c = k.costs;
  for (let i = 0; ; i++) {
    const now = k.sim.now;
    // New data until the flow's stop time; after it, only what must be sent again (a rewind).
    // A connection reset by the peer (no socket there) is done.
    const active = conns.filter((s) => !s.closed && ((now >= s.flow.startNs && now < s.flow.stopNs) || s.sndNxt < s.sndMax));
    if (active.length === 0) {
      const next = Math.min(...conns.filter((s) => s.flow.startNs > now).map((s) => s.flow.startNs));
      if (next < Infinity) k.sched.sleepUntil(task, next);
      for (const s of conns) s.waiter = task; // an RTO or a rewind wakes it to repair
      task.acct = Acct.SYS;
      yield SLEEP;
      continue;
    }
    const conn = active[i % active.length]!;
    task.acct = Acct.SYS;
    yield c.syscall + c.tcp_sendmsg;
    let left = k.sim.now < conn.flow.stopNs ? conn.flow.writeSize : 0;
    while (left > 0 || conn.sndNxt < conn.sndMax) {
      // Bytes below snd_max go again (go-back-N) before the write's new data.
      const again = conn.sndMax - conn.sndNxt;
      const bytes = conn.nextSkbBytes(again + left);
      if (conn.closed) break;
      if (bytes === 0) {
        conn.waiter = task; // sk_stream_wait_memory
        yield SLEEP;
        continue;
      }
      // Copy from user space (the buffer is hot in this CPU's cache: the LLC figure), build and send the skb.
      yield Math.round((bytes * c.copy_kb_llc) / 1024) + c.tcp_transmit_skb + c.veth_xmit + c.netif_rx;
      const fresh = Math.max(0, bytes - Math.max(0, conn.sndMax - conn.sndNxt));
      task.inSoftirq = true; // local_bh_disable in __dev_queue_xmit
      k.veth.localXmit(k.cpus[task.cpu]!, conn, bytes, fresh > 0 && fresh === left);
      task.inSoftirq = false;
      left -= fresh;
      yield* k.softirq.localBhEnable(task); // rcu_read_unlock_bh: the receive side runs here
      if (k.sim.now >= conn.flow.stopNs) left = 0;
    }
  }
}
