import type { Kernel } from '../model/kernel.ts';
import type { DriverFunctions } from '../model/nic/drivers.ts';
import { DROP_SITES, type DropSite } from '../model/rx-accounting.ts';
import { FOLLOW, type FollowProbe } from '../model/trace-hooks.ts';

/**
 * Follow one packet: the probe the model reports a chosen packet's stages to (FollowProbe in
 * src/model/trace-hooks.ts), and the stage list the browser shows — each stage with the kernel
 * function that does it, the CPU and the time, and where the packet waited before it and why.
 * Bounded: one packet, at most MAX_STAGES stages (a packet passes about a dozen).
 */
const MAX_STAGES = 64;
const NIL = -1;

export type FollowStageName =
  'wire' | 'dma' | 'irq' | 'poll' | 'gro-hold' | 'gro-merge' | 'gro-list' | 'backlog' | 'process_backlog' | 'netif' | 'socket' | 'coalesce' | 'copy' | 'drop' | 'cpumap-enqueue' | 'cpumap-kthread';

/** FOLLOW kinds in order, by name. */
const NAMES: FollowStageName[] = [
  'wire',
  'dma',
  'irq',
  'poll',
  'gro-hold',
  'gro-merge',
  'gro-list',
  'backlog',
  'process_backlog',
  'netif',
  'socket',
  'coalesce',
  'copy',
  'drop',
  'cpumap-enqueue',
  'cpumap-kthread',
];

/** The path-diagram stage (`stage-<id>`) each followed stage lights up. */
export const FOLLOW_PATH_STAGE: Record<FollowStageName, string> = {
  wire: 'wire',
  dma: 'nic',
  irq: 'irq',
  poll: 'napi',
  'gro-hold': 'gro',
  'gro-merge': 'gro',
  'gro-list': 'gro',
  backlog: 'backlog',
  process_backlog: 'backlog',
  netif: 'ip',
  socket: 'socket',
  coalesce: 'socket',
  copy: 'app',
  drop: 'app',
  'cpumap-enqueue': 'xdp',
  'cpumap-kthread': 'cpumap',
};

export interface FollowStage {
  stage: FollowStageName;
  /** Simulated ns. */
  t: number;
  /** The CPU it ran on (-1: hardware). */
  cpu: number;
  fn: string;
  file: string;
  /** What happened, with the numbers of this packet (frames ahead, the aggregate, the pass…). */
  detail: string;
}

export interface FollowedPacket {
  flow: number;
  flowName: string;
  afterNs: number;
  /** False: no frame of the flow arrived after `afterNs` in the run. */
  picked: boolean;
  /** How the path ended: copied to the reader, dropped, or still in flight when the run ended. */
  end: 'copy' | 'drop' | 'in flight';
  stages: FollowStage[];
}

export class PacketFollower implements FollowProbe {
  armed = true;
  skb = NIL;
  private k: Kernel | null = null;
  private readonly kinds = new Int8Array(MAX_STAGES);
  private readonly times = new Float64Array(MAX_STAGES);
  private readonly cpus = new Int16Array(MAX_STAGES);
  private readonly as = new Float64Array(MAX_STAGES);
  private readonly bs = new Float64Array(MAX_STAGES);
  /** For a merge: when the skb it joined arrived (its head's wire time). */
  private readonly heads = new Float64Array(MAX_STAGES);
  private readonly whats: string[] = [];
  private n = 0;
  private ended: FollowedPacket['end'] = 'in flight';
  /** The ring the frame waits in (`<dev>/rx-<q> ring`) until an interrupt or a poll takes it, or ''. */
  private waitingRing = '';

  constructor(
    readonly flow: number,
    readonly afterNs: number,
  ) {}

  attach(k: Kernel): void {
    this.k = k;
  }

  pick(row: number, t: number): void {
    this.armed = false;
    this.skb = row;
    this.record(FOLLOW.WIRE, t, -1, this.k!.pool.len[row]!, 0, '');
  }

  stage(kind: number, t: number, cpu: number, a: number, b: number, what = ''): void {
    // A site without a time of its own reports now; a poll plans its packets ahead of now, so not before the last stage.
    const when = Number.isNaN(t) ? Math.max(this.k!.sim.now, this.n > 0 ? this.times[this.n - 1]! : 0) : t;
    if (kind === FOLLOW.DMA) this.waitingRing = `${this.k!.nicName(this.k!.flows[this.flow]!.nic)}/rx-${b} ring`; // the recorder names rings so
    if (kind === FOLLOW.POLL) this.waitingRing = '';
    // GRO and the socket backlog's coalescing run on the CPU of the stage before (the poll's, the protocol pass's).
    const on = cpu < 0 && kind !== FOLLOW.DMA && this.n > 0 ? this.cpus[this.n - 1]! : cpu;
    this.record(kind, when, on, a, b, what);
    if (kind === FOLLOW.GRO_MERGE || kind === FOLLOW.COALESCE) this.heads[this.n - 1] = this.k!.pool.arrival[a]!;
    if (kind === FOLLOW.GRO_MERGE || kind === FOLLOW.COALESCE) this.skb = a; // it rides in that skb now
    if (kind === FOLLOW.COPY || kind === FOLLOW.DROP) {
      this.ended = kind === FOLLOW.COPY ? 'copy' : 'drop';
      this.skb = NIL; // its rows are free: another packet may take them
    }
  }

  /** The recorder's irq_handler_entry: the first one of the vector of the ring the frame waits in. */
  irqEntry(cpu: number, ring: string | undefined, desc: number, t: number): void {
    if (this.waitingRing === '' || ring !== this.waitingRing) return;
    this.waitingRing = '';
    this.record(FOLLOW.IRQ, t, cpu, desc, 0, '');
  }

  private record(kind: number, t: number, cpu: number, a: number, b: number, what: string): void {
    if (this.n >= MAX_STAGES) return;
    const i = this.n++;
    this.kinds[i] = kind;
    this.times[i] = t;
    this.cpus[i] = cpu;
    this.as[i] = a;
    this.bs[i] = b;
    this.whats[i] = what;
  }

  result(): FollowedPacket {
    const k = this.k;
    const flow = k?.flows[this.flow];
    const stages: FollowStage[] = [];
    for (let i = 0; i < this.n; i++) stages.push(this.describe(i));
    // Stages are recorded when the model decides them; a poll plans its packets' times ahead, so
    // list them in time order (a stable sort keeps path order on equal times).
    stages.sort((x, y) => x.t - y.t);
    return { flow: this.flow, flowName: flow?.name ?? `flow ${this.flow}`, afterNs: this.afterNs, picked: !this.armed, end: this.ended, stages };
  }

  private describe(i: number): FollowStage {
    const k = this.k!;
    const kind = this.kinds[i]!;
    const a = this.as[i]!;
    const b = this.bs[i]!;
    const base = { stage: NAMES[kind]!, t: this.times[i]!, cpu: this.cpus[i]! };
    const flow = k.flows[this.flow]!;
    switch (kind) {
      case FOLLOW.WIRE:
        return flow.path === 'veth-local'
          ? { ...base, fn: 'tcp_sendmsg', file: 'net/ipv4/tcp.c', detail: `the writer built a ${fmtBytes(a)} skb and sent it to the pod's veth (veth_xmit → netif_rx)` }
          : { ...base, fn: '(wire)', file: '', detail: `the frame's last bit reached ${k.nicName(flow.nic)}` };
      case FOLLOW.DMA:
        return { ...base, fn: 'DMA write-back', file: 'NIC hardware', detail: `DMA into a posted descriptor of rx-${b}: ${a} frame${a === 1 ? '' : 's'} ahead of it in the ring` };
      case FOLLOW.IRQ:
        return { ...base, ...this.driver().msixHandler, detail: `irq_handler_entry of IRQ descriptor ${a}: the handler schedules the vector's NAPI, which raises NET_RX` };
      case FOLLOW.POLL:
        return { ...base, ...this.driver().cleanRx, detail: `cleaned as frame ${b + 1} of the poll (NAPI id ${a})` };
      case FOLLOW.GRO_HOLD:
        return { ...base, fn: 'dev_gro_receive', file: 'net/core/gro.c', detail: 'held as the head of a new GRO aggregate' };
      case FOLLOW.GRO_MERGE:
        return { ...base, fn: 'skb_gro_receive', file: 'net/core/gro.c', detail: `merged into the skb GRO holds, whose head arrived ${fmtAgo(this.times[0]! - this.heads[i]!)} (now ${b} segments)` };
      case FOLLOW.GRO_LIST:
        return { ...base, fn: 'gro_normal_one', file: 'include/net/gro.h', detail: `its skb (${a} segment${a === 1 ? '' : 's'}) joins the rx_list (gro_normal_list hands it up)` };
      case FOLLOW.BACKLOG:
        return {
          ...base,
          fn: 'enqueue_to_backlog',
          file: 'net/core/dev.c',
          detail: `onto CPU ${base.cpu}'s backlog from CPU ${b}${b === base.cpu ? '' : ' (RPS)'}: ${a} skb${a === 1 ? '' : 's'} ahead`,
        };
      case FOLLOW.BACKLOG_POLL:
        return { ...base, fn: 'process_backlog', file: 'net/core/dev.c', detail: `taken off the backlog (skb ${a + 1} of the poll)` };
      case FOLLOW.NETIF:
        return { ...base, fn: '__netif_receive_skb_core', file: 'net/core/dev.c', detail: `pass ${a + 1} through the stack, on ${this.whats[i]}` };
      case FOLLOW.SOCKET:
        return {
          ...base,
          fn: flow.proto === 'tcp' ? 'tcp_v4_rcv' : 'udp_rcv',
          file: flow.proto === 'tcp' ? 'net/ipv4/tcp_ipv4.c' : 'net/ipv4/udp.c',
          detail: `into the socket: ${fmtBytes(a)} already queued (sk_rmem_alloc)${b ? '; the reader owns the socket, so onto its backlog (tcp_add_backlog)' : ''}`,
        };
      case FOLLOW.COALESCE:
        return {
          ...base,
          fn: 'skb_try_coalesce',
          file: 'net/core/skbuff.c',
          detail: `coalesced into the socket backlog's tail skb, whose head arrived ${fmtAgo(this.times[0]! - this.heads[i]!)} (now ${b} segments)`,
        };
      case FOLLOW.COPY:
        return {
          ...base,
          fn: 'skb_copy_datagram_iter',
          file: 'net/core/datagram.c',
          detail: `${flow.proto === 'tcp' ? 'tcp_recvmsg' : 'udp_recvmsg'} copied its skb (${a} segment${a === 1 ? '' : 's'}) to the reader`,
        };
      case FOLLOW.CPUMAP_ENQUEUE:
        return {
          ...base,
          fn: 'bq_enqueue',
          file: 'kernel/bpf/cpumap.c',
          detail: `XDP_REDIRECT (xdp_do_redirect → cpu_map_enqueue): onto this CPU's bulk queue for CPU ${a} (${b} of CPU_MAP_BULK_SIZE 8); xdp_do_flush moves it to the ptr_ring at the end of the poll`,
        };
      case FOLLOW.CPUMAP_KTHREAD:
        return {
          ...base,
          fn: 'cpu_map_kthread_run',
          file: 'kernel/bpf/cpumap.c',
          detail: `the cpumap kthread took it off the ptr_ring (frame ${a + 1} of its batch) and built its skb here (__xdp_build_skb_from_frame)`,
        };
      default:
        return { ...base, ...this.dropSite(this.whats[i]!, a) };
    }
  }

  /** The functions of NIC `nic`'s driver (each profile names its own, src/model/nic/drivers.ts); by default the followed flow's NIC. */
  private driver(nic = this.k!.flows[this.flow]!.nic): DriverFunctions {
    return this.k!.nics[nic]!.cfg.driver.functions;
  }

  /**
   * Where a drop site frees the packet: XDP verdicts in the driver (no skb), a frame sent out of
   * NIC `nic` (XDP_TX or a devmap redirect: that NIC's XDP TX ring, or generic_xdp_tx from generic
   * XDP), else kfree_skb_reason with the site's reason.
   */
  private dropSite(site: string, nic: number): Pick<FollowStage, 'fn' | 'file' | 'detail'> {
    if (site === 'xdp_native') return { ...this.driver().runXdp, detail: 'the XDP program returned XDP_DROP (or XDP_ABORTED): the page is recycled, no skb was built' };
    const out = `XDP sent the frame out of ${this.k!.nicName(nic)} (XDP_TX, or a devmap redirect): it leaves the receive path`;
    if (site === 'xdp_tx') return { ...this.driver(nic).xdpTx, detail: out };
    if (site === 'xdp_tx_generic') return { fn: 'generic_xdp_tx', file: 'net/core/dev.c', detail: out };
    const noSkb = NO_SKB_DROPS[site];
    if (noSkb) return noSkb(this.k!.nics[this.k!.flows[this.flow]!.nic]!.cfg.driver.noDescriptorCounter);
    const d = DROP_SITES[site as DropSite];
    return { fn: 'kfree_skb_reason', file: 'net/core/skbuff.c', detail: `dropped: ${d?.reason ?? site} (${d?.location ?? site})` };
  }
}

/**
 * Drops of a frame that never became an skb, so no kfree_skb_reason: the NIC's (the frame stays in
 * its buffer: ethtool -S only) and the XDP redirect targets' (the frame goes back to its page pool
 * or UMEM). `counter`: the driver's ethtool counter for a frame without a free descriptor.
 */
const NO_SKB_DROPS: Partial<Record<string, (counter: string) => Pick<FollowStage, 'fn' | 'file' | 'detail'>>> = {
  nic_ring: (counter) => ({ fn: '(NIC hardware)', file: '', detail: `dropped by the NIC: no free descriptor in the RX ring, no skb was built (ethtool -S ${counter})` }),
  nic_missed: () => ({ fn: '(NIC hardware)', file: '', detail: 'dropped by the NIC: its packet buffer was full, no skb was built (ethtool -S rx_missed_errors)' }),
  cpumap: () => ({ fn: 'bq_flush_to_queue', file: 'kernel/bpf/cpumap.c', detail: "dropped: the cpumap entry's ptr_ring was full, the frame went back to its page pool (xdp_return_frame_rx_napi)" }),
  devmap: () => ({ fn: 'bq_xmit_all', file: 'kernel/bpf/devmap.c', detail: 'dropped: the target device refused the frames (ndo_xdp_xmit), the frame went back to its page pool' }),
  xsk: () => ({ fn: 'xsk_rcv', file: 'net/xdp/xsk.c', detail: "dropped: the AF_XDP socket's RX ring was full or its fill ring empty, the driver recycled the buffer" }),
};

/** `12.3 µs before it` for a head that arrived before the followed frame. */
function fmtAgo(ns: number): string {
  return ns <= 0 ? 'with it' : `${ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`} before it`;
}

function fmtBytes(n: number): string {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}
