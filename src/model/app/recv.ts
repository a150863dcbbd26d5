import type { AppHost } from './host.ts';
import { FROM_DRAM, FROM_LLC } from '../ddio.ts';
import { COLLAPSED } from '../packet.ts';
import type { EventPoll } from '../eventpoll.ts';
import type { Socket } from '../socket.ts';
import { Acct, SLEEP, type Task, type TaskYield } from '../task.ts';

/**
 * What every reading application shares: the sockets it reads (one, or several behind a
 * select loop as iperf3 has), the cost of copying data to user space, RFS's record of where the
 * reader runs, and an optional pace and user-space work per KiB.
 */
export class SocketSet {
  private rr = 0;

  constructor(
    readonly socks: Socket[],
    /** The epoll instance of an event loop (the app's `epoll`), or null: blocking reads / select. */
    readonly ep: EventPoll | null = null,
  ) {}

  /** The next socket with data, round robin (a select/epoll loop over the sockets). */
  next(): Socket | null {
    const n = this.socks.length;
    for (let i = 0; i < n; i++) {
      const s = this.socks[(this.rr + i) % n]!;
      if (s.queue.length > 0) {
        this.rr = (this.rr + i + 1) % n;
        return s;
      }
    }
    return null;
  }

  /** Sleep on every socket's wait queue (sk_wait_data, or poll_wait for several). */
  wait(task: Task): void {
    for (const s of this.socks) s.waiter = task;
  }

  /** Woken: off every wait queue. */
  woken(task: Task): void {
    for (const s of this.socks) if (s.waiter === task) s.waiter = null;
  }
}

/**
 * sock_rps_record_flow(): inet_recvmsg records the CPU the reader runs on in the global
 * rps_sock_flow_table under the socket's sk_rxhash, for RFS. Only connected sockets record
 * (sk_state == TCP_ESTABLISHED): a TCP connection does, an unconnected UDP sink does not.
 */
export function recordSockFlow(k: AppHost, sock: Socket, cpu: number): void {
  const table = k.rps.sockFlow;
  if (table && sock.proto === 'tcp' && sock.rxhash !== 0) table.record(sock.rxhash, cpu);
}

/**
 * skb_copy_datagram_iter → copy_to_user of `bytes` of an skb on `cpu`: its cost depends on where
 * the payload is (ddio.ts). Nothing on the receive path read it since the NIC's DMA (GRO and
 * tcp_v4_rcv touch headers only), so the CPU that ran the protocol pass does not matter: the
 * payload is in the LLC of the NIC's node while DDIO's ways still hold it, else in the DRAM of the
 * buffer's node; a reader on another node reads it across the interconnect. An skb tcp_collapse
 * rewrote was written by the CPU of its protocol pass. Counted per socket; returns the cost.
 */
export function copyToUser(k: AppHost, sock: Socket, row: number, bytes: number, cpu: number): number {
  const pool = k.pool;
  const from = (pool.flags[row]! & COLLAPSED) === 0 ? k.ddio.locate(row, cpu) : k.ddio.cpuWritten(pool.l4cpu[row]!, cpu);
  sock.copiedFrom[from] = sock.copiedFrom[from]! + bytes;
  const c = k.costs;
  return Math.round((bytes * (from === FROM_LLC ? c.copy_kb_llc : from === FROM_DRAM ? c.copy_kb_dram : c.copy_kb_remote)) / 1024);
}

/**
 * Sleep until some socket of the set has data. Before each sleep the reader busy-polls if its
 * sockets ask for it (__skb_recv_udp's sk_busy_loop, do_select's busy loop: busy-poll.ts). An
 * event loop calls epoll_wait instead (a system call of its own), which busy-polls as its
 * instance says (eventpoll.ts).
 */
export function* waitForData(k: AppHost, task: Task, set: SocketSet): Generator<TaskYield, Socket, void> {
  if (set.ep) {
    task.acct = Acct.SYS;
    yield k.costs.syscall; // epoll_wait
    return yield* set.ep.wait(task, set);
  }
  let polled = false;
  for (;;) {
    const sock = set.next();
    if (sock) return sock;
    if (!polled) {
      polled = true;
      yield* k.busyPoll.beforeSleep(task, set.socks);
      continue;
    }
    set.wait(task);
    yield SLEEP;
    set.woken(task);
    polled = false;
  }
}

/**
 * After a read of `bytes`: the application's own work on the data (user time), then, for a
 * paced reader, a sleep until its byte budget allows the next read (an hrtimer wakes it).
 */
export class Pace {
  private bytes = 0;
  private start = -1;

  constructor(
    private readonly rateBps: number,
    private readonly userNsPerKb: number,
  ) {}

  *after(k: AppHost, task: Task, bytes: number): Generator<TaskYield, void, void> {
    if (this.userNsPerKb > 0 && bytes > 0) {
      task.acct = Acct.USR;
      yield Math.round((bytes * this.userNsPerKb) / 1024);
    }
    if (this.rateBps === Infinity) return;
    if (this.start < 0) this.start = k.sim.now;
    this.bytes += bytes;
    const due = this.start + Math.ceil((this.bytes * 8 * 1e9) / this.rateBps);
    if (due > k.sim.now) {
      task.acct = Acct.SYS;
      k.sched.sleepUntil(task, due);
      yield SLEEP;
    }
  }
}
