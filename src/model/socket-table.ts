import { RngStream } from '../engine/rng.ts';
import type { EventKind, Simulator } from '../engine/simulator.ts';
import type { ResolvedFlow, ResolvedScenario } from '../scenario/resolve.ts';
import { LocalTcpSender } from './local-sender.ts';
import { VXLAN_OVERHEAD } from './netif-receive.ts';
import type { PacketPool } from './packet.ts';
import { RrClient } from './rr-client.ts';
import { Socket, TcpReceiver, type AckSink } from './socket.ts';
import { listenerOf } from './socket-lookup.ts';
import type { Task } from './task.ts';
import { TCP_FRAME_OVERHEAD, TcpSender } from './tcp-sender.ts';
import type { FrameSource } from './wire.ts';
import { VETH_MTU } from './veth.ts';

/** A local writer's start phase spans this much (no RTT over veth). */
const LOCAL_PHASE_NS = 10_000;

/** IPv4 header 20 + TCP header with timestamps 32: MSS = MTU - 52. */
const TCP_IP_HEADERS = 52;

export interface SocketTableHost {
  readonly sim: Simulator;
  readonly seed: number;
  readonly variability: { readonly randomPhase: boolean };
  readonly pool: PacketPool;
  readonly snmp: { TcpExtTCPAckCompressed: number };
  readonly sched: { wakeUp(task: Task, wakerCpu: number): boolean };
  /** A blocked wire sender can send again (its NIC re-sorts the wire). */
  wakeSource(nic: number, source: FrameSource): void;
  /** tcp_delack_timer fired on a socket. */
  delayedAck(sock: Socket): void;
  /** compressed_ack_timer fired on a socket. */
  compressedAck(sock: Socket): void;
  /** dev_queue_xmit() of `len` bytes on flow `flow`'s NIC from CPU `cpu`. */
  xmit(flow: number, cpu: number, len: number): void;
}

/**
 * The sockets of the machine and the peers at the other end of each flow (the socket lookup of
 * net/ipv4/inet_hashtables.c __inet_lookup_established and udp.c __udp4_lib_lookup, resolved
 * once per flow by listenerOf): a TCP flow to a listening app is its own connection; UDP flows to
 * one bound app share its socket. A flow to a destination with no socket gets none (its packets
 * end in __udp4_lib_rcv's or tcp_v4_rcv's no-socket path). A TCP flow also gets its sender (on
 * the wire, or a local writer over veth) — even to a closed port, where its first segments draw
 * RSTs — and a request/response flow its client.
 */
export class SocketTable {
  readonly sockets: Socket[] = [];
  /** Socket of each flow; -1 when no socket is bound to its destination. */
  readonly flowSocket: number[] = [];
  /** The remote TCP senders, by flow index. */
  readonly senders: (TcpSender | undefined)[] = [];
  /** Request/response clients, by flow index. */
  readonly rrClients: (RrClient | undefined)[] = [];
  /** The local (veth-local) TCP senders, by flow index. */
  readonly localSenders: (LocalTcpSender | undefined)[] = [];
  private readonly rtoEvent: EventKind;
  private readonly delackEvent: EventKind;
  private readonly compressEvent: EventKind;

  constructor(
    private readonly k: SocketTableHost,
    s: Pick<ResolvedScenario, 'flows' | 'apps' | 'nics' | 'sysctl'>,
  ) {
    this.rtoEvent = k.sim.on((flow) => (this.senders[flow] ?? this.localSenders[flow])!.onRto(k.sim.now));
    this.delackEvent = k.sim.on((sock) => k.delayedAck(this.sockets[sock]!));
    this.compressEvent = k.sim.on((sock) => k.compressedAck(this.sockets[sock]!));
    this.create(s);
    for (const f of s.flows) if (f.rr) this.rrClients[f.index] = new RrClient(this.phased(f), (src) => k.wakeSource(f.nic, src));
  }

  /**
   * A closed-loop peer (a TCP sender, an RR client) starts a random part of its RTT after the
   * flow's start_ms (variability.random_phase): connections are not opened in step with the
   * receiver's clocks. Open-loop sources draw their own phase (wire.ts).
   */
  private phased(f: ResolvedFlow): ResolvedFlow {
    if (!this.k.variability.randomPhase) return f;
    const span = f.path === 'veth-local' ? LOCAL_PHASE_NS : f.rttNs;
    return { ...f, startNs: f.startNs + Math.floor(new RngStream(this.k.seed, `start-phase:${f.name}`).uniform() * span) };
  }

  /** The socket a flow's packets are delivered to, or null: no socket is bound to its destination. */
  forFlow(flow: number): Socket | null {
    const i = this.flowSocket[flow]!;
    return i < 0 ? null : this.sockets[i]!;
  }

  /** The TCP peer of a flow, which a RST from this host resets (tcp_reset at its end). */
  tcpPeer(flow: number): { reset(atNs: number): void } | undefined {
    return this.senders[flow] ?? this.localSenders[flow];
  }

  /** The wire's source of a flow: its TCP sender, request/response client, or null (open loop). */
  wireSource(flow: number): FrameSource | undefined {
    return this.senders[flow] ?? this.rrClients[flow];
  }

  /** Start of the measurement window: socket counters and senders' retransmission counts restart. */
  resetWindow(): void {
    for (const sock of this.sockets) sock.resetWindow();
    for (const s of [...this.senders, ...this.localSenders]) if (s) s.retransmits = s.rtos = 0;
    for (const s of this.senders) s?.resetChrono(this.k.sim.now);
  }

  private create(s: Pick<ResolvedScenario, 'flows' | 'apps' | 'nics' | 'sysctl'>): void {
    const k = this.k;
    const udpByKey = new Map<number, Socket>();
    for (const flow of s.flows) {
      const app = listenerOf(flow, s.apps);
      const f = flow.proto === 'tcp' ? this.phased(flow) : flow;
      if (f.proto === 'tcp') {
        const nic = s.nics[f.nic]!;
        const timer = k.sim.timer(this.rtoEvent, f.index);
        const armRto = (at: number) => (at === Infinity ? timer.cancel() : timer.arm(Math.max(at, k.sim.now)));
        let sender: AckSink;
        let mss: number;
        if (f.path === 'veth-local') {
          mss = VETH_MTU - TCP_IP_HEADERS;
          const local = new LocalTcpSender(f, mss, (t) => k.sched.wakeUp(t, t.cpu), armRto);
          this.localSenders[f.index] = local;
          sender = local;
        } else {
          const vxlan = f.path === 'vxlan-overlay';
          mss = nic.mtu - TCP_IP_HEADERS - (vxlan ? VXLAN_OVERHEAD : 0);
          const wire = new TcpSender(f, mss, TCP_FRAME_OVERHEAD + (vxlan ? VXLAN_OVERHEAD : 0), f.writeSize, f.rttNs, nic.speedGbps, (src) => k.wakeSource(f.nic, src), armRto);
          this.senders[f.index] = wire;
          sender = wire;
        }
        if (app === null) {
          this.flowSocket[f.index] = -1;
          continue;
        }
        const tcpRmem = s.sysctl['net.ipv4.tcp_rmem'];
        const sock = new Socket(this.sockets.length, 'tcp', app, tcpRmem[1], tcpRmem[2], new TcpReceiver(sender, mss, f.rttNs), k.pool);
        sock.tcp!.shrinkWindow = s.sysctl['net.ipv4.tcp_shrink_window'] === 1;
        sock.tcp!.backlogAckDefer = s.sysctl['net.ipv4.tcp_backlog_ack_defer'] === 1;
        if (f.path !== 'veth-local') {
          // The ACKs go back through the NIC (VXLAN-encapsulated on an overlay).
          const encap = f.path === 'vxlan-overlay' ? VXLAN_OVERHEAD : 0;
          sock.tcp!.xmit = (cpu, len) => k.xmit(f.index, cpu, len + encap);
        }
        const delack = k.sim.timer(this.delackEvent, sock.index);
        sock.tcp!.delack = (at) => (at === Infinity ? delack.cancel() : delack.armNoLaterThan(at));
        const compress = k.sim.timer(this.compressEvent, sock.index);
        sock.tcp!.compress = (at) => (at === Infinity ? compress.cancel() : compress.arm(at));
        sock.tcp!.compSackNr = s.sysctl['net.ipv4.tcp_comp_sack_nr'];
        sock.tcp!.mib = k.snmp;
        sock.tcp!.compSackDelayNs = s.sysctl['net.ipv4.tcp_comp_sack_delay_ns'];
        this.sockets.push(sock);
        this.flowSocket[f.index] = sock.index;
      } else if (app === null) {
        this.flowSocket[f.index] = -1;
      } else {
        let sock = udpByKey.get(app);
        if (!sock) {
          sock = new Socket(this.sockets.length, 'udp', app, s.sysctl['net.core.rmem_default'], s.sysctl['net.core.rmem_max'], null, k.pool);
          this.sockets.push(sock);
          udpByKey.set(app, sock);
        }
        this.flowSocket[f.index] = sock.index;
      }
    }
  }
}
