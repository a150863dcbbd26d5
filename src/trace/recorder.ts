import type { Kernel } from '../model/kernel.ts';
import type { DriverFunctions } from '../model/nic/drivers.ts';
import { XDP_ACTION_NAMES } from '../model/xdp.ts';
import type { Task } from '../model/task.ts';
import { CPU_IDLE, POLL_BUSY, POLL_EP_BUSY, POLL_SOFTIRQ, type TracedNapi } from '../model/trace-hooks.ts';
import type { Tracer } from '../model/simulate.ts';
import { EV, TraceBuffer } from './buffer.ts';
import type { PacketFollower } from './follow.ts';

/** How much to record: per poll (interrupts, softirqs, polls, scheduling, queues) or also per packet. */
export type TraceDetail = 'poll' | 'packet';

export interface TraceOptions {
  detail?: TraceDetail;
  /** Events kept (the newest); default 262144. */
  capacity?: number;
  /** Only events in [fromNs, toNs) are kept. */
  fromNs?: number;
  toNs?: number;
  /** At 'poll' detail, still record per-packet events in [packetFromNs, packetToNs) (step mode). */
  packetFromNs?: number;
  packetToNs?: number;
  /** Follow one packet (follow.ts): the model reports its stages to this probe. */
  follow?: PacketFollower;
}

export interface TraceTask {
  pid: number;
  comm: string;
  kind: Task['kind'];
}

export interface TraceCounter {
  /** `ens4f1/rx-4 ring`, `backlog/2`, `socket iperf3`. */
  name: string;
  kind: 'ring' | 'backlog' | 'socket';
  /** The limit drawn with it: ring size, netdev_max_backlog, sk_rcvbuf (bytes; read at the end, after autotuning). */
  limit: () => number;
  unit: 'packets' | 'bytes';
  read: () => number;
}

/** Static facts about the traced machine that the exporters need. */
export interface TraceMachine {
  cpus: number;
  irqs: { irq: number; label: string; name: string }[];
  /** NAPI id → device name (`backlog` for a CPU's backlog, `veth` for a veth NAPI). */
  napis: Map<number, string>;
  /** The ring counter a NIC NAPI id or device IRQ descriptor works on. */
  napiRing: Map<number, string>;
  irqRing: Map<number, string>;
  /** The driver functions of a NIC, by device name and by IRQ descriptor of its queue vectors (the sites step mode names). */
  devDriver: Map<string, DriverFunctions>;
  irqDriver: Map<number, DriverFunctions>;
}

/**
 * Records what the model reports (TraceHooks) into a bounded buffer. CPU time arrives as exact
 * slices from the CPU's accounting (so the timeline adds up to /proc/stat) and is coalesced while
 * the CPU stays in the same context; queue lengths are sampled when interrupts, polls and
 * context switches happen, and written only when they change. Recording adds no events to the
 * simulation: a traced run has the digest of an untraced one.
 */
export class TraceRecorder implements Tracer {
  readonly buf: TraceBuffer;
  readonly detail: TraceDetail;
  readonly tasks = new Map<number, TraceTask>();
  counters: TraceCounter[] = [];
  machine: TraceMachine = { cpus: 0, irqs: [], napis: new Map(), napiRing: new Map(), irqRing: new Map(), devDriver: new Map(), irqDriver: new Map() };
  private readonly from: number;
  private readonly to: number;
  private k: Kernel | null = null;
  private lastValue: Float64Array = new Float64Array(0);
  // The span being coalesced on each CPU.
  private spanStart: Float64Array = new Float64Array(0);
  private spanEnd: Float64Array = new Float64Array(0);
  private spanWhat: Int32Array = new Int32Array(0);
  private spanPid: Int32Array = new Int32Array(0);
  private ipiSeq = 0;
  private readonly packetFrom: number;
  private readonly packetTo: number;
  private ipiPending: number[][] = [];
  /** FollowProbe for the model (TraceHooks.follow), or null. */
  readonly follow: PacketFollower | null;

  constructor(opts: TraceOptions = {}) {
    this.follow = opts.follow ?? null;
    this.detail = opts.detail ?? 'poll';
    this.buf = new TraceBuffer(opts.capacity ?? 262144);
    this.from = opts.fromNs ?? 0;
    this.to = opts.toNs ?? Infinity;
    this.packetFrom = opts.packetFromNs ?? 0;
    this.packetTo = opts.packetToNs ?? (this.detail === 'packet' ? Infinity : 0);
  }

  /** Called by simulate() once the machine is built. */
  attach(k: Kernel): void {
    this.k = k;
    this.follow?.attach(k);
    const n = k.cpus.length;
    this.spanStart = new Float64Array(n).fill(-1);
    this.spanEnd = new Float64Array(n);
    this.spanWhat = new Int32Array(n);
    this.spanPid = new Int32Array(n);
    this.ipiPending = Array.from({ length: n }, () => []);
    this.machine = {
      cpus: n,
      irqs: k.irqs.descs.map((d) => ({ irq: d.irq, label: d.label, name: d.name })),
      napis: new Map(),
      napiRing: new Map(),
      irqRing: new Map(),
      devDriver: new Map(),
      irqDriver: new Map(),
    };
    const counters: TraceCounter[] = [];
    for (const nic of k.nics) {
      this.machine.devDriver.set(nic.cfg.name, nic.cfg.driver.functions);
      for (const desc of nic.irqDesc) this.machine.irqDriver.set(desc, nic.cfg.driver.functions);
      nic.queues.forEach((q, i) => {
        const name = `${nic.cfg.name}/rx-${i} ring`;
        counters.push({ name, kind: 'ring', limit: () => nic.cfg.ringSize, unit: 'packets', read: () => q.ring.length });
        if (nic.napis[i]) this.machine.napiRing.set(nic.napis[i].id, name);
        if (nic.irqDesc[i] !== undefined) this.machine.irqRing.set(nic.irqDesc[i], name);
      });
    }
    k.softnet.forEach((sd, cpu) =>
      counters.push({ name: `backlog/${cpu}`, kind: 'backlog', limit: () => k.sysctl['net.core.netdev_max_backlog'], unit: 'packets', read: () => sd.inputPktQueue.length }),
    );
    for (const sock of k.sockets.sockets) {
      const app = `socket ${k.scenario.apps[sock.app]!.name}${sock.proto === 'tcp' ? ` #${sock.index}` : ''}`;
      counters.push({ name: app, kind: 'socket', limit: () => sock.rcvbuf, unit: 'bytes', read: () => sock.rmem });
    }
    this.counters = counters;
    this.lastValue = new Float64Array(counters.length).fill(-1);
    for (const t of k.tasks.all) this.task(t);
  }

  private keep(t: number): boolean {
    return t >= this.from && t < this.to;
  }

  private task(t: Task): number {
    if (!this.tasks.has(t.pid)) this.tasks.set(t.pid, { pid: t.pid, comm: t.comm, kind: t.kind });
    return t.pid;
  }

  private event(type: number, cpu: number, t: number, a: number, b = 0, c = 0, dur = 0): void {
    if (this.keep(t)) this.buf.push(type, cpu, t, dur, a, b, c);
  }

  private sample(t: number): void {
    if (!this.keep(t)) return;
    const cs = this.counters;
    for (let i = 0; i < cs.length; i++) {
      const v = cs[i]!.read();
      if (v !== this.lastValue[i]) {
        this.lastValue[i] = v;
        this.buf.push(EV.COUNTER, 0, t, 0, i, v, 0);
      }
    }
  }

  private now(): number {
    return this.k!.sim.now;
  }

  // ---- TraceHooks ----

  cpuTime(cpu: number, start: number, end: number, what: number, task: Task | null): void {
    const pid = what === CPU_IDLE || task === null ? -1 : this.task(task);
    if (this.spanStart[cpu]! >= 0 && this.spanEnd[cpu] === start && this.spanWhat[cpu] === what && this.spanPid[cpu] === pid) {
      this.spanEnd[cpu] = end;
      return;
    }
    this.flushSpan(cpu);
    this.spanStart[cpu] = start;
    this.spanEnd[cpu] = end;
    this.spanWhat[cpu] = what;
    this.spanPid[cpu] = pid;
  }

  private flushSpan(cpu: number): void {
    const s = this.spanStart[cpu]!;
    if (s < 0) return;
    const e = this.spanEnd[cpu]!;
    // A span is kept if it overlaps the window, clipped to it.
    const from = Math.max(s, this.from);
    const to = Math.min(e, this.to);
    if (to > from) this.buf.push(EV.SPAN, cpu, from, to - from, this.spanWhat[cpu]!, this.spanPid[cpu]!, 0);
    this.spanStart[cpu] = -1;
  }

  irqRaise(): void {}

  irqEntry(cpu: number, desc: number): void {
    const t = this.now();
    this.sample(t);
    this.event(EV.IRQ_ENTRY, cpu, t, desc);
    if (this.follow) this.follow.irqEntry(cpu, this.machine.irqRing.get(desc), desc, t);
  }

  irqExit(cpu: number, desc: number): void {
    this.event(EV.IRQ_EXIT, cpu, this.now(), desc);
  }

  softirqFrame(): void {}

  softirqRaise(cpu: number, vec: number): void {
    this.event(EV.SOFTIRQ_RAISE, cpu, this.now(), vec);
  }

  softirqEntry(cpu: number, vec: number): void {
    this.event(EV.SOFTIRQ_ENTRY, cpu, this.now(), vec);
  }

  softirqExit(cpu: number, vec: number): void {
    this.event(EV.SOFTIRQ_EXIT, cpu, this.now(), vec);
  }

  napiPoll(cpu: number, napi: TracedNapi, work: number, budget: number, start: number, via = POLL_SOFTIRQ): void {
    const t = this.now();
    const s = start;
    if (!this.machine.napis.has(napi.id)) this.machine.napis.set(napi.id, napi.dev);
    const type = via === POLL_EP_BUSY ? EV.EP_BUSY_POLL : via === POLL_BUSY ? EV.BUSY_POLL : EV.NAPI_POLL;
    if (this.keep(s)) this.buf.push(type, cpu, s, t - s, napi.id, work, budget);
    this.sample(t);
  }

  /** Device names seen by netif_receive_skb, indexed by the event's c field. */
  readonly devs: string[] = [];

  netifReceiveSkb(cpu: number, len: number, segs: number, dev: string): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    let d = this.devs.indexOf(dev);
    if (d < 0) d = this.devs.push(dev) - 1;
    this.event(EV.NETIF_RECEIVE_SKB, cpu, t, len, segs, d);
  }

  /** trace_xdp_exception(): per packet, so only in the packet window, as netif_receive_skb. */
  xdpException(cpu: number, dev: string, action: string, generic = false): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    let d = this.devs.indexOf(dev);
    if (d < 0) d = this.devs.push(dev) - 1;
    this.event(EV.XDP_EXCEPTION, cpu, t, XDP_ACTION_NAMES.indexOf(action as (typeof XDP_ACTION_NAMES)[number]), generic ? 1 : 0, d);
  }

  /** trace_xdp_cpumap_enqueue(): per bulk queue flushed (up to 8 frames), in the packet window. */
  xdpCpumapEnqueue(cpu: number, mapId: number, processed: number, drops: number, toCpu: number): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    this.event(EV.XDP_CPUMAP_ENQUEUE, cpu, t, processed, drops, toCpu | (mapId << 16));
  }

  /** trace_xdp_cpumap_kthread(): per kthread round (up to 8 frames), in the packet window. */
  xdpCpumapKthread(cpu: number, mapId: number, processed: number, drops: number, sched: number): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    this.event(EV.XDP_CPUMAP_KTHREAD, cpu, t, processed, drops, sched | (mapId << 16));
  }

  /** trace_xdp_devmap_xmit(): per ndo_xdp_xmit (up to 16 frames), in the packet window. */
  xdpDevmapXmit(cpu: number, from: string, to: string, sent: number, drops: number): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    const index = (dev: string): number => {
      const d = this.devs.indexOf(dev);
      return d < 0 ? this.devs.push(dev) - 1 : d;
    };
    this.event(EV.XDP_DEVMAP_XMIT, cpu, t, sent, drops, index(to) | (index(from) << 16));
  }

  /** trace_xdp_redirect_map(_err) into an xskmap: per packet, in the packet window. */
  xdpRedirectXsk(cpu: number, dev: string, mapId: number, index: number, zeroCopy: boolean, err: number): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    let d = this.devs.indexOf(dev);
    if (d < 0) d = this.devs.push(dev) - 1;
    this.event(zeroCopy ? EV.XDP_REDIRECT_XSK_ZC : EV.XDP_REDIRECT_XSK, cpu, t, err, index, d | (mapId << 16));
  }

  private devIndex(dev: string): number {
    const d = this.devs.indexOf(dev);
    return d < 0 ? this.devs.push(dev) - 1 : d;
  }

  /** bpf_prog_run_xdp's verdicts of one poll (native) or skb (generic), in the packet window: step mode only. */
  xdpRun(cpu: number, dev: string, queue: number, actions: ArrayLike<number>, generic: boolean): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    let n = 0;
    for (let i = 0; i < actions.length; i++) n += actions[i]!;
    const packed = Math.min(actions[1]!, 127) | (Math.min(actions[2]!, 127) << 7) | (Math.min(actions[3]!, 127) << 14) | (Math.min(actions[4]!, 127) << 21);
    this.event(EV.XDP_RUN, cpu, t, n, packed, this.devIndex(dev) | (queue << 10) | ((generic ? 1 : 0) << 20));
  }

  /** trace_xdp_redirect / trace_xdp_redirect_err: per frame, in the packet window. */
  xdpRedirect(cpu: number, dev: string, to: string, mapId: number, index: number, err: number, generic: boolean): void {
    const t = this.now();
    if (t < this.packetFrom || t >= this.packetTo) return;
    const target = to === '' ? 0 : this.devIndex(to) + 1;
    this.event(EV.XDP_REDIRECT, cpu, t, index, err, this.devIndex(dev) | (target << 10) | ((generic ? 1 : 0) << 20) | (mapId << 21));
  }

  sched(cpu: number, prev: Task | null, next: Task | null): void {
    const t = this.now();
    const prevState = prev && prev.state === 'runnable' ? 0 : 1;
    this.event(EV.SCHED_SWITCH, cpu, t, prev ? this.task(prev) : -1, next ? this.task(next) : -1, prevState);
    this.sample(t);
  }

  wakeup(cpu: number, task: Task, from: number): void {
    this.event(EV.SCHED_WAKEUP, cpu, this.now(), this.task(task), from);
  }

  ipiSend(from: number, to: number): void {
    const id = ++this.ipiSeq;
    this.ipiPending[to]!.push(id);
    this.event(EV.IPI_SEND, from, this.now(), to, id);
  }

  ipiReceive(cpu: number): void {
    const id = this.ipiPending[cpu]!.shift() ?? 0;
    this.event(EV.IPI_RECEIVE, cpu, this.now(), 0, id);
  }

  /** The run is over: write the spans still open. */
  finish(): void {
    for (let cpu = 0; cpu < this.spanStart.length; cpu++) this.flushSpan(cpu);
    if (this.k) this.sample(this.k.sim.now);
  }
}
