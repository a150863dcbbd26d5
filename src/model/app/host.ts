import type { Simulator } from '../../engine/simulator.ts';
import type { ResolvedApp } from '../../scenario/resolve.ts';
import type { CostTable } from '../costs.ts';
import type { Cpu } from '../cpu.ts';
import type { Ddio } from '../ddio.ts';
import type { LocalTcpSender } from '../local-sender.ts';
import type { PacketPool } from '../packet.ts';
import type { RpsSockFlowTable } from '../rps.ts';
import type { RxAccounting } from '../rx-accounting.ts';
import type { Snmp } from '../snmp.ts';
import type { EpollParams, EventPoll } from '../eventpoll.ts';
import type { Napi } from '../napi.ts';
import type { Socket } from '../socket.ts';
import type { SocketTable } from '../socket-table.ts';
import type { Task, TaskYield } from '../task.ts';

/** What applications use of the machine: system calls reach these parts. */
export interface AppHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly pool: PacketPool;
  readonly cpus: readonly Cpu[];
  /** Start of the measurement window. */
  readonly warmupNs: number;
  readonly snmp: Snmp;
  readonly accounting: Pick<RxAccounting, 'consumed' | 'xskConsumed'>;
  readonly sockets: Pick<SocketTable, 'sockets' | 'rrClients' | 'localSenders'>;
  readonly sched: { sleepUntil(task: Task, atNs: number): void };
  readonly softirq: { localBhEnable(task: Task): Generator<TaskYield, void, void> };
  readonly rps: { readonly sockFlow: RpsSockFlowTable | null };
  readonly l4: {
    ackCost(sock: Socket): number;
    backlogRcv(sock: Socket, cpu: number, now: number): number;
    releaseCb(sock: Socket, now: number, cpu: number): number;
  };
  readonly ddio: Pick<Ddio, 'locate' | 'cpuWritten'>;
  /** dev_queue_xmit() of `len` bytes on flow `flow`'s NIC from CPU `cpu` (a response). */
  xmit(flow: number, cpu: number, len: number): void;
  readonly veth: { localXmit(cpu: Cpu, conn: LocalTcpSender, bytes: number, endOfWrite: boolean): void };
  /** sk_busy_loop and do_select's busy loop (busy-poll.ts); sock_init_data's and setsockopt's busy-poll fields. */
  readonly busyPoll: {
    beforeSleep(task: Task, socks: readonly Socket[]): Generator<TaskYield, void, void>;
    skBusyLoop(task: Task, sock: Socket): Generator<TaskYield, void, void>;
    initSocket(sock: Socket, app: ResolvedApp): void;
    napiBusyLoop(task: Task, n: Napi, prefer: boolean, budget: number, socks: readonly Socket[], usec: number): Generator<TaskYield, void, void>;
  };
  /** epoll_create1, EPOLL_CTL_ADD of each socket, EPIOCSPARAMS (eventpoll.ts). */
  epollCreate(socks: readonly Socket[], params: EpollParams): EventPoll;
  /** skb_attempt_defer_free(): the reader's cost of freeing an skb (deferred to the CPU that built it, or freed here). */
  readonly skbDefer: { free(cpu: number, allocCpu: number, row: number): number };
}
