import { IpForward, type EgressDevice } from './ip-forward.ts';
import { RngStream } from '../engine/rng.ts';
import { Simulator } from '../engine/simulator.ts';
import type { ResolvedFlow, ResolvedScenario } from '../scenario/resolve.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import { createAppTask } from './app/index.ts';
import { GroupScheduler } from './cgroup-sched.ts';
import { CostNoise } from './cost-noise.ts';
import { CpuMap } from './cpumap.ts';
import { DevMap, type XdpXmitDevice } from './devmap.ts';
import { XskMap } from './xskmap.ts';
import { XskSocket } from './xsk.ts';
import { XskPoolBuffers } from './nic/rx-xsk-pool.ts';
import type { Napi } from './napi.ts';
import { Ddio } from './ddio.ts';
import type { CostTable } from './costs.ts';
import { Cpu, registerCpuEvents } from './cpu.ts';
import { Icmp } from './icmp.ts';
import { IrqTable } from './irq.ts';
import { Jiffies } from './jiffies.ts';
import { LoadBalancer } from './load-balance.ts';
import { SkbDefer } from './skb-defer.ts';
import { NapiTable, netRxAction } from './napi.ts';
import { NetifReceive } from './netif-receive.ts';
import { VectorTable } from './nic/msix.ts';
import { MIN_NAPI_ID, Nic } from './nic/nic.ts';
import { PacketPool, SKB_REDIRECTED, type PacketQueue } from './packet.ts';
import { FlowLimit, type RxQueueRps } from './rps.ts';
import { RpsSteering } from './rps-steering.ts';
import { RxAccounting } from './rx-accounting.ts';
import { RxPages } from './rx-pages.ts';
import { baseSliceNs } from './sched.ts';
import { CfsRunQueue } from './sched-cfs.ts';
import { Scheduler } from './sched-core.ts';
import { EevdfRunQueue } from './sched-eevdf.ts';
import { Smp } from './smp.ts';
import { Snmp } from './snmp.ts';
import { BusyPoll } from './busy-poll.ts';
import { EventPoll, type EpollParams } from './eventpoll.ts';
import type { Socket } from './socket.ts';
import { SocketTable } from './socket-table.ts';
import { NET_RX_SOFTIRQ, Softirq } from './softirq.ts';
import { SoftnetData } from './softnet.ts';
import { TaskTable, type Task } from './task.ts';
import { scheduleTimeline } from './timeline.ts';
import type { TraceHooks } from './trace-hooks.ts';
import { TransportRcv } from './transport-rcv.ts';
import { Veth } from './veth.ts';
import { Workqueue } from './workqueue.ts';
import { OpenLoopSource, type FrameSource } from './wire.ts';

/**
 * The simulated machine: a registry of its parts, built from a resolved scenario. Each part is a
 * module named after its kernel concept and depends only on the narrow interface it declares
 * (CpuHost, NapiHost, SoftnetHost, …), which this class satisfies by handing out its parts; the
 * kernel rules live in those modules. Construction order follows a boot: CPUs with their
 * softnet_data and ksoftirqd, sockets, devices (their NAPIs and threads), then applications.
 */
export class Kernel {
  readonly sim = new Simulator();
  readonly costs: CostTable;
  readonly jiffies: Jiffies;
  readonly config: { readonly idleExitNs: number; readonly irqTimeAccounting: boolean; readonly migrationCostNs: number };
  readonly sysctl: SysctlValues;
  readonly seed: number;
  /** Run-to-run variation drawn from the seed. */
  readonly variability: ResolvedScenario['variability'];
  /** End of the warm-up: packets that arrive later are counted. */
  readonly warmupNs: number;
  readonly flows: readonly ResolvedFlow[];
  readonly pool = new PacketPool();
  /** The NICs' RX pages and their references (rx-pages.ts). */
  readonly pages = new RxPages(this.pool);
  readonly cpus: Cpu[] = [];
  readonly softnet: SoftnetData[] = [];
  readonly tasks = new TaskTable();
  readonly irqs: IrqTable;
  readonly smp: Smp;
  readonly groups: GroupScheduler;
  readonly sched: Scheduler;
  readonly balance: LoadBalancer;
  readonly skbDefer: SkbDefer;
  readonly softirq: Softirq;
  readonly napis: NapiTable;
  /** napi_busy_loop from readers' recvmsg and select (busy-poll.ts). */
  readonly busyPoll: BusyPoll;
  readonly vectors: VectorTable;
  /** The system workqueue (kworker/N:1): ice's DIM work items. */
  readonly workqueue: Workqueue;
  readonly accounting: RxAccounting;
  readonly snmp = new Snmp();
  /** DDIO and the NUMA nodes: where DMA leaves each frame's payload. */
  readonly ddio: Ddio;
  /** NUMA nodes and their LLCs (machine.numa_nodes). */
  readonly topology: ResolvedScenario['machine'];
  readonly rps: RpsSteering;
  /** icmp_send's rate limits (the replies to datagrams that found no socket). */
  readonly icmp: Icmp;
  readonly l4: TransportRcv;
  /** ip_forward and ip_error: the route of skbs not for this host. */
  readonly forwarding: IpForward;
  /** netif_receive_skb and the stack's passes: where pollers hand their skbs. */
  readonly path: NetifReceive;
  readonly veth: Veth;
  readonly sockets: SocketTable;
  readonly nics: Nic[] = [];
  /** xdp_maps: the cpumaps and devmaps XDP_REDIRECT rules name, by index. */
  readonly xdpMaps: (CpuMap | DevMap | XskMap)[];
  /** The AF_XDP sockets of af-xdp-reader apps, by app index. */
  readonly xsks: (XskSocket | undefined)[] = [];
  /** The task of each app, by app index. */
  readonly appTasks: Task[] = [];
  /** Start of the measurement window (end of warm-up), ns. */
  windowStart = 0;

  constructor(
    readonly scenario: ResolvedScenario,
    /** The tracer the parts report to, if any (set before the run starts). */
    public trace: TraceHooks | null = null,
  ) {
    const s = scenario;
    this.costs = s.costs;
    this.jiffies = new Jiffies(this.sim, s.hz, s.variability.randomPhase ? new RngStream(s.seed, 'boot-phase').uniform() : 0);
    this.config = { idleExitNs: s.idleExitNs, irqTimeAccounting: s.irqTimeAccounting, migrationCostNs: s.migrationCostNs };
    this.sysctl = s.sysctl;
    this.seed = s.seed;
    this.variability = s.variability;
    this.warmupNs = s.warmupNs;
    this.flows = s.flows;
    this.irqs = new IrqTable(s.cpus);
    this.smp = new Smp(this.sim, this.cpus);
    this.accounting = new RxAccounting(this.pool, s.flows.length, this.pages);
    this.accounting.follow = trace?.follow ?? null;
    this.topology = s.machine;
    this.ddio = new Ddio(this.pool, s.machine);
    this.softirq = new Softirq(this, s.cpus, s.softirqMode === 'defer-to-ksoftirqd');
    this.groups = new GroupScheduler(this, s.cgroups);
    this.sched = new Scheduler(this);
    this.napis = new NapiTable(this);
    this.busyPoll = new BusyPoll(this);
    this.vectors = new VectorTable(this.sim);
    this.workqueue = new Workqueue(this);
    this.rps = new RpsSteering(this, s.cpus, s.sysctl['net.core.rps_sock_flow_entries']);
    this.icmp = new Icmp(this, s.flows);
    this.l4 = new TransportRcv(this);
    this.forwarding = new IpForward(this, s.netfilter.host);
    this.path = new NetifReceive(this, s);
    // The flows whose frames GRO may merge (TCP), by flow index.
    const groTcpFlows = Uint8Array.from(s.flows, (f) => (f.proto === 'tcp' ? 1 : 0));
    this.veth = new Veth(this, s.veth.gro, groTcpFlows, { map: s.veth.rpsCpus, flows: null });

    const cpuEvents = registerCpuEvents(this.sim, this.cpus);
    const slice = baseSliceNs(s.cpus);
    for (let c = 0; c < s.cpus; c++) {
      const rq = s.sched === 'cfs' ? new CfsRunQueue(c, s.cpus) : new EevdfRunQueue(c, slice);
      const cpu = new Cpu(c, this, rq, cpuEvents, new CostNoise(s.seed, `cpu${c}`, s.variability.costCv));
      this.cpus.push(cpu);
      this.softnet.push(new SoftnetData(c, this, this.pool));
      this.softirq.spawnKsoftirqd(this.tasks, cpu);
    }
    this.balance = new LoadBalancer(this); // sched_init_domains, init_sched_fair_class
    this.skbDefer = new SkbDefer(this);
    for (const c of s.sysctl['net.core.flow_limit_cpu_bitmap']) this.softnet[c]!.flowLimit = new FlowLimit(s.sysctl['net.core.flow_limit_table_len']);
    this.softirq.open(NET_RX_SOFTIRQ, (cpu) => netRxAction(this, cpu)); // net_dev_init

    this.sockets = new SocketTable(this, s);
    // The loader creates and fills its maps before attaching the program (their kthreads first).
    // One GRO per entry: on unless a device that redirects has GRO off, or a generic program
    // (dev->xdp_prog: netif_elide_gro in dev_gro_receive, for the skb->dev of its skbs).
    const redirectGro = s.nics.filter((n) => n.xdp?.rules.some((r) => r.redirect !== null)).every((n) => n.gro && n.xdp?.mode !== 'generic');
    this.xdpMaps = s.xdpMaps.map((m) =>
      m.type === 'cpumap' ? new CpuMap(this, m, redirectGro, groTcpFlows) : m.type === 'devmap' ? new DevMap(this, m, s.cpus) : new XskMap(this, m, s.cpus, (row) => this.rxDeviceName(row)),
    );
    let napiId = MIN_NAPI_ID;
    for (const nicCfg of s.nics) {
      const source = (f: ResolvedFlow): FrameSource => this.sockets.wireSource(f.index) ?? new OpenLoopSource(f, nicCfg.speedGbps, this.seed);
      this.nics.push(new Nic(this, nicCfg, s.flows, napiId, source, groTcpFlows));
      napiId += nicCfg.queues;
      if (nicCfg.driver.otherVectorName !== null) this.irqs.reserve();
    }
    for (const app of s.apps) if (app.xsk) this.bindXsk(app.index, app.name, app.xsk);
    for (const app of s.apps) {
      const task = createAppTask(this, app);
      if (app.cgroup !== null) this.groups.byName(app.cgroup)!.attach(task);
      this.appTasks.push(task);
    }
    scheduleTimeline(this, s.timeline);
    this.vectors.enableAll(); // every NIC vector watches for its first frame
  }

  /**
   * The af-xdp-reader's socket (xsk_socket__create): bind(2) to its queue (xsk_bind: in zero-copy
   * the driver re-sets the ring up from the socket's pool, ixgbe_xsk_pool_enable — the pages it
   * held are freed and the descriptors posted from the fill ring), then the xskmap update at key =
   * queue (xsk_socket__update_xskmap).
   */
  private bindXsk(app: number, name: string, cfg: NonNullable<ResolvedScenario['apps'][number]['xsk']>): void {
    const nic = this.nics[cfg.nic]!;
    const sock = new XskSocket(this, cfg, name, nic.cfg.name);
    sock.rxqNapiId = nic.napis[cfg.queue]!.id; // xs->dev, xs->queue_id
    if (cfg.zeroCopy) {
      const poller = nic.pollers[cfg.queue]!;
      const q = nic.queues[cfg.queue]!;
      poller.buffers.forEachHeld((page) => this.pages.disown(page)); // ixgbe_clean_rx_ring
      const buffers = new XskPoolBuffers(sock, q.size - 1);
      poller.buffers = buffers;
      q.unrefilled = q.posted + q.unrefilled - buffers.initialPosted;
      q.posted = buffers.initialPosted;
    }
    (this.xdpMaps[cfg.map] as XskMap).insert(cfg.queue, sock);
    this.xsks[app] = sock;
  }

  /** An af-xdp-reader's socket (AppHost). */
  xskOf(app: number): XskSocket | undefined {
    return this.xsks[app];
  }

  /** ndo_xsk_wakeup of the socket's device and queue (AppHost). */
  xskWakeup(sock: XskSocket): boolean {
    return this.nics[sock.cfg.nic]!.xskWakeup(sock.cfg.queue);
  }

  /** The NAPI of the socket's queue (AppHost). */
  xskNapi(sock: XskSocket): Napi {
    return this.nics[sock.cfg.nic]!.napis[sock.cfg.queue]!;
  }

  /** Start the machine: applications become runnable (as if just exec'd). */
  start(): void {
    this.groups.start();
    for (const t of this.appTasks) this.sched.wakeUp(t, t.allowed[0]!);
    for (const cpu of this.cpus) cpu.kick();
  }

  /**
   * Start of the measurement window: every part restarts the counters it owns (state is kept),
   * and every queue's occupancy integral starts from its current length.
   */
  resetWindow(): void {
    const now = this.sim.now;
    for (const cpu of this.cpus) cpu.resetWindow();
    this.tasks.resetWindow(now, (t) => this.cpus[t.cpu]!.rq.curr === t);
    for (const sd of this.softnet) sd.resetWindow();
    this.snmp.resetWindow();
    this.ddio.resetWindow();
    this.sockets.resetWindow();
    this.veth.resetWindow();
    this.groups.resetWindow(now);
    this.balance.resetWindow();
    this.skbDefer.resetWindow();
    this.accounting.resetWindow();
    this.irqs.resetWindow();
    this.softirq.resetWindow();
    this.napis.resetWindow();
    for (const m of this.xdpMaps) m.resetWindow();
    for (const x of this.xsks) x?.resetWindow();
    for (const nic of this.nics) nic.resetWindow();
    for (const q of this.queues()) q.resetWindow(now);
    this.windowStart = now;
  }

  /**
   * Every queue whose occupancy is integrated: rings, NIC packet buffers, backlogs, veth rings,
   * socket receive queues and socket backlogs. (A queue's `arrivals` only stages frames the wire
   * generated ahead of time; it is not a queue of the path.)
   */
  queues(): PacketQueue[] {
    const out: PacketQueue[] = [];
    for (const nic of this.nics) for (const q of nic.queues) out.push(q.ring, q.pktbuf);
    for (const sd of this.softnet) out.push(sd.inputPktQueue, sd.processQueue);
    for (const q of this.veth.queues()) out.push(q.ring);
    for (const m of this.xdpMaps) if (m instanceof CpuMap) for (const e of m.entries) out.push(e.ring);
    for (const sock of this.sockets.sockets) out.push(sock.queue, sock.backlog);
    return out;
  }

  // ---- what the parts ask of the machine as a whole ----

  /** The flow dissector's hash of a flow's tuple (RpsHost). */
  softwareHash(flow: number, tuple: number): number {
    return this.nics[this.flows[flow]!.nic]!.softwareHash(flow, tuple);
  }

  /**
   * The RPS map get_rps_cpu() uses for an skb a cpumap kthread hands up (CpuMapHost): a frame's
   * skb has no recorded RX queue (the device's first); a generic XDP skb keeps the one its driver
   * recorded (cpu_map_generic_redirect leaves queue_mapping alone).
   */
  deviceRps(row: number): RxQueueRps {
    const nic = this.nics[this.flows[this.pool.flow[row]!]!.nic]!;
    return nic.pollers[(this.pool.flags[row]! & SKB_REDIRECTED) !== 0 ? this.recordedRxQueue(row) : 0]!.rps;
  }

  /** The device a devmap entry transmits on (DevMapHost). */
  xmitDevice(nic: number): XdpXmitDevice {
    return this.nics[nic]!;
  }

  /** The RX queue the driver recorded on a frame's skb (DevMapHost, CpuMapHost, IpForwardHost). */
  recordedRxQueue(row: number): number {
    const f = this.flows[this.pool.flow[row]!]!;
    return this.nics[f.nic]!.rxQueueOf(f.index, this.pool.tuple[row]!);
  }

  /** The device a route leaves by (IpForwardHost). */
  egressDevice(nic: number): EgressDevice {
    return this.nics[nic]!;
  }

  /** The device a frame was received on (DevMapHost). */
  rxDeviceName(row: number): string {
    return this.nics[this.flows[this.pool.flow[row]!]!.nic]!.cfg.name;
  }

  /** The name of NIC `nic` (NetifHost). */
  nicName(nic: number): string {
    return this.nics[nic]!.cfg.name;
  }

  /** A blocked wire sender can send again (SocketTableHost). */
  wakeSource(nic: number, source: FrameSource): void {
    this.nics[nic]!.wakeSource(source);
  }

  /** compressed_ack_timer (SocketTableHost). */
  compressedAck(sock: Socket): void {
    this.l4.compressedAck(sock);
  }

  /** dev_queue_xmit() of a frame the host sends on flow `flow`'s NIC from CPU `cpu` (SocketTableHost, AppHost). */
  xmit(flow: number, cpu: number, len: number): void {
    this.nics[this.flows[flow]!.nic]!.xmit(cpu, flow, len, this.sim.now);
  }

  /** epoll_create1 + EPOLL_CTL_ADD of `socks` + EPIOCSPARAMS (AppHost). */
  epollCreate(socks: readonly Socket[], params: EpollParams): EventPoll {
    const ep = new EventPoll(this, socks, params);
    for (const s of socks) s.ep = ep;
    return ep;
  }

  /** tcp_delack_timer (SocketTableHost). */
  delayedAck(sock: Socket): void {
    this.l4.delayedAck(sock);
  }

  /** The task of app `app` (TimelineHost). */
  appTask(app: number): Task {
    return this.appTasks[app]!;
  }

  /** Re-pin a NIC queue's vector (TimelineHost). */
  setIrqAffinity(nic: number, queue: number, cpus: number[]): void {
    this.nics[nic]!.setIrqAffinity(queue, cpus);
  }
}
