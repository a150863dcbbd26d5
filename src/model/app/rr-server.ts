import type { ResolvedApp } from '../../scenario/resolve.ts';
import type { EventPoll } from '../eventpoll.ts';
import type { Socket } from '../socket.ts';
import { Acct, type Task, type TaskYield } from '../task.ts';
import type { AppHost } from './host.ts';
import { copyToUser, SocketSet, waitForData } from './recv.ts';

/** Ethernet (14) + IPv4 (20) + UDP (8) headers in front of a response's payload (skb->len). */
const UDP_IP_ETH_HEADERS = 42;

/**
 * rr-server: a request/response server (netperf's UDP_RR netserver, a memcached-like loop). It
 * reads one request (udp_recvmsg), spends `service_us` in user space on it, and sends the
 * response (sendmsg: udp_sendmsg, ip_output, the driver's transmit). The response then reaches
 * the request's client (rr-client.ts), which answers with its next request.
 */
export function* rrServer(k: AppHost, task: Task, app: ResolvedApp, socks: Socket[], ep: EventPoll | null = null): Generator<TaskYield, void, void> {
  const set = new SocketSet(socks, ep);
  const pool = k.pool;
  const c = k.costs;
  for (;;) {
    task.acct = Acct.SYS;
    yield c.syscall;
    const sock = yield* waitForData(k, task, set);
    const row = sock.queue.head;
    const flow = pool.flow[row]!;
    const request = pool.len[row]!;
    yield c.udp_recvmsg + copyToUser(k, sock, row, request, task.cpu) + c.skb_consume + k.skbDefer.free(task.cpu, k.pool.allocCpu[row]!, row);
    sock.queue.shift(k.sim.now);
    k.snmp.UdpInDatagrams++;
    k.accounting.consumed(sock, row, k.sim.now, task.cpu);
    if (app.serviceNs > 0) {
      task.acct = Acct.USR;
      yield app.serviceNs;
    }
    task.acct = Acct.SYS;
    const client = k.sockets.rrClients[flow];
    // The response is as long as the request unless the flow says otherwise (netperf -r req,rsp).
    const bytes = client?.flow.rr!.responseBytes ?? request;
    // copy_from_user of the response: the server's own buffer, cache-hot (the LLC figure).
    yield c.syscall + c.udp_sendmsg + Math.round((bytes * c.copy_kb_llc) / 1024);
    k.snmp.UdpOutDatagrams++;
    // ip_output → dev_queue_xmit on the request's NIC; its completion is cleaned by that queue's poll.
    k.xmit(flow, task.cpu, bytes + UDP_IP_ETH_HEADERS);
    client?.respond(k.sim.now, k.sim.now >= k.warmupNs);
  }
}
