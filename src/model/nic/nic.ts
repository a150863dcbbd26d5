import { psToNsCeil, US } from '../../engine/time.ts';
import { r3 } from '../../metrics/round.ts';
import { RngStream } from '../../engine/rng.ts';
import type { ResolvedFlow, ResolvedNic } from '../../scenario/resolve.ts';
import type { Cpu } from '../cpu.ts';
import type { IrqTable } from '../irq.ts';
import { Napi, napiSchedule, napiThreadActivity, type NapiHost, type NapiTable } from '../napi.ts';
import { NetifReceive } from '../netif-receive.ts';
import { NIL, PSH } from '../packet.ts';
import { SITE_INDEX, type RxAccounting } from '../rx-accounting.ts';
import { RpsSteering } from '../rps-steering.ts';
import { frameTruesize } from '../socket.ts';
import type { TaskTable } from '../task.ts';
import { TcpSender } from '../tcp-sender.ts';
import { Wire, type FrameSource, type WireSink } from '../wire.ts';
import type { Ddio } from '../ddio.ts';
import { FCS, RxRingPoller, type DriverHost } from './driver.ts';
import { Moderation, type ModerationHost } from './moderation.ts';
import { type MsixVector, type VectorHost, type VectorTable } from './msix.ts';
import { FlowHashes } from './flow-hashes.ts';
import { FlowControl, currentMode, dropEnable, pauseReactionNs, sendsPause } from './flow-control.ts';
import { ToeplitzTable } from './rss.ts';
import { RxQueue } from './rx-queue.ts';
import { HalfPageReuse } from './rx-page-reuse.ts';
import { PagePoolRx } from './rx-page-pool.ts';
import { PagePool } from '../page-pool.ts';
import type { RxPages } from '../rx-pages.ts';
import { TxRing } from './tx-ring.ts';
import { PfifoFast } from '../qdisc.ts';
import { pciAddress } from './pci.ts';
import type { CoreHook } from '../netif-receive.ts';
import { GenericXdp, NativeXdp, XdpProgram, type XdpRedirectMap, type XdpRxqReport, type XdpTxDevice } from '../xdp.ts';

/** PAGE_SIZE on x86-64. */
const PAGE_SIZE = 4096;

/** ETH_ZLEN: the driver pads shorter frames (ixgbe: skb_put_padto to 17 bytes; the MAC pads to 60). */
const ETH_ZLEN = 60;
/** Per frame on the wire besides the frame: FCS (4) and preamble, SFD and inter-frame gap (20). */
const FCS_PREAMBLE_IFG = 24;

export { MIN_NAPI_ID } from './napi-ids.ts';

/** A NIC in the result: per queue its IRQ and CPU, ring, interrupts, ITR, packets and drops. */
export interface NicResult {
  name: string;
  driver: string;
  /** Accelerated RFS: flows moved to another RX queue by ndo_rx_flow_steer. */
  arfs_steered: number;
  queues: {
    queue: number;
    irq: number;
    irq_cpu: number;
    ring_size: number;
    interrupts: number;
    itr_usecs: number;
    itr_updates: number;
    packets: number;
    /** TX completions the queue's poll cleaned (frames the host sent on this TX queue). */
    tx_packets: number;
    drops: number;
    refills: number;
    ring_peak: number;
    /** With an XDP program attached: the queue's per-action counts, as xdp_rxq_info prints them. */
    xdp?: XdpRxqReport;
    /**
     * Where the ring's buffers' pages came from: a half-page reuse driver's pages allocated
     * (ixgbe's rx_stats.alloc_rx_page) and buffers reused (ixgbe_reuse_rx_page); a page_pool
     * driver's page_pool_get_stats() under the rx_pp_* names.
     */
    pages: Record<string, number>;
  }[];
  /** With an XDP program attached: its mode (xdpdrv or xdpgeneric) and name. */
  xdp?: { mode: 'native' | 'generic'; prog: string | null };
  /** A NIC that forwarded flows leave by: its mq root's pfifo_fast children summed, as `tc -s qdisc` shows them (the backlog: its peak, packets). */
  qdisc?: { kind: 'mq/pfifo_fast'; limit: number; sent_pkts: number; sent_bytes: number; dropped: number; backlog_peak: number };
  /** `ethtool -a` (the current mode, as ixgbe_get_pauseparam reports it) and SRRCTL.DROP_EN. */
  pause: { autoneg: string; rx: string; tx: string; drop_en: boolean };
}

/** What a NIC needs from the rest of the machine. */
export interface NicHost extends DriverHost {
  readonly seed: number;
  readonly variability: { readonly wireJitterPs: number };
  /** Start of the measurement window: frames arriving after it count. */
  readonly warmupNs: number;
  readonly irqs: IrqTable;
  readonly tasks: TaskTable;
  readonly napis: NapiTable;
  readonly vectors: VectorTable;
  readonly accounting: RxAccounting;
  readonly ddio: Pick<Ddio, 'dmaWrite' | 'nodeOf'>;
  /** The workqueue (ice's DIM work items). */
  readonly workqueue: ModerationHost;
  readonly pages: RxPages;
  readonly topology: { readonly cpuNode: readonly number[] };
  /** xdp_maps by index (XDP_REDIRECT's targets). */
  readonly xdpMaps: readonly XdpRedirectMap[];
  /** The flow dissector's hash of a flow's tuple (an XDP redirect rule's "hash" key). */
  softwareHash(flow: number, tuple: number): number;
  /** __netif_receive_skb_core's hooks (generic XDP). */
  readonly path: DriverHost['path'] & { readonly coreHooks: CoreHook[] };
}

/**
 * One network interface: its wire, RSS, RX queues, MSI-X vectors and NAPI instances
 * ("NAPI instances most often correspond 1:1:1 to interrupts and queue pairs", napi.rst).
 */
export class Nic implements WireSink, VectorHost, XdpTxDevice {
  readonly wire: Wire;
  readonly queues: RxQueue[] = [];
  /** The TX ring of each queue pair. */
  readonly txRings: TxRing[] = [];
  /** The mq root's pfifo_fast child of each TX ring (only a NIC that forwarded flows leave by reports them). */
  readonly qdiscs: PfifoFast[] = [];
  /** Some "forward" flow's route leaves by this NIC. */
  private readonly egress: boolean;
  /** The XPS map (xps_cpus) of each CPU: the TX queues it transmits on, or none (skb_tx_hash). */
  private readonly xps: number[][] = [];
  /** The TX side of the link is busy until then (ns): frames leave one after the other. */
  private txWireFree = 0;
  readonly vectors: MsixVector[] = [];
  readonly pollers: RxRingPoller[] = [];
  readonly napis: Napi[] = [];
  /** IRQ descriptor index of each vector. */
  readonly irqDesc: number[] = [];
  /** aRFS filters installed (ndo_rx_flow_steer calls that moved a flow). */
  arfsSteered = 0;
  /** Per flow index (flows of this NIC only): the RSS hash, RX queue and dissector hash of each of its 5-tuples. */
  readonly rss: (FlowHashes | undefined)[] = [];
  readonly sources: FrameSource[] = [];
  upstreamDrops = 0;
  /** The RX packet buffer and 802.3x flow control. */
  readonly fc: FlowControl;
  /** SRRCTL.DROP_EN of the queues (ixgbe_set_rx_drop_en). */
  readonly dropEn: boolean;
  /** Native XDP per RX queue (xdpdrv), or generic XDP on the device (xdpgeneric), if attached. */
  readonly nativeXdp: NativeXdp[] = [];
  readonly genericXdp: GenericXdp | null = null;

  constructor(
    private readonly k: NicHost,
    readonly cfg: ResolvedNic,
    flows: ResolvedFlow[],
    firstNapiId: number,
    makeSource: (f: ResolvedFlow) => FrameSource,
    groTcpFlows: Uint8Array,
  ) {
    // A TCP sender's window can open, and a request/response client send, no sooner than its
    // RTT after an ACK or a response leaves: frames may be generated up to now + the smallest
    // RTT on this wire and no further.
    const rtts = flows.filter((f) => f.nic === cfg.index && (f.proto === 'tcp' || f.rr !== null) && f.path !== 'veth-local').map((f) => f.rttNs);
    const minRtt = rtts.length ? Math.min(...rtts) : Infinity;
    // A partner that honours PAUSE stops within its reaction time of an XOFF the NIC sends on
    // landing a frame: the wire looks no further ahead than that, or frames generated before the
    // XOFF was known would be sent through the pause.
    const pauseAhead = cfg.partnerHonoursPause && sendsPause(currentMode(cfg.pause, true)) ? pauseReactionNs(cfg.speedGbps) : Infinity;
    const ahead = Math.min(minRtt, pauseAhead);
    this.wire = new Wire(cfg.speedGbps, cfg.upstreamBufferBytes, this, ahead === Infinity ? undefined : () => k.sim.now + ahead, k.variability.wireJitterPs, k.seed);
    this.egress = flows.some((f) => f.egress === cfg.index);
    const dissectorTable = new ToeplitzTable(new RngStream(k.seed, 'flow_dissector_key').bytes(40));
    const rssTable = new ToeplitzTable(cfg.rssKey);
    for (const f of flows) {
      if (f.nic !== cfg.index) continue;
      const rssPorts = f.proto === 'tcp' || (f.src.family === 4 ? cfg.udpHashPorts.v4 : cfg.udpHashPorts.v6);
      this.rss[f.index] = FlowHashes.of({ family: f.src.family, src: f.src, dst: f.dst, tuples: f.tuples }, { rss: rssTable, rssPorts, dissector: dissectorTable, indir: cfg.indir });
      if (f.path === 'veth-local') continue; // sent by a local writer, not on this wire
      const source = makeSource(f);
      this.sources.push(source);
      this.wire.add(source);
    }
    this.fc = new FlowControl(
      { now: () => k.sim.now, pausePartner: (t) => this.wire.pause(t * 1000), resumePartner: (t) => this.resumePartner(t) },
      cfg.driver,
      cfg.pause,
      cfg.partnerHonoursPause,
      cfg.mtu,
      cfg.speedGbps,
    );
    // ixgbe_watchdog_update_link: fc_enable, then ixgbe_set_rx_drop_en with the current mode.
    const dropEn = (this.dropEn = dropEnable(cfg.driver, this.fc.mode, cfg.queues));
    for (let q = 0; q < cfg.queues; q++) {
      const moderation = new Moderation(cfg.driver.moderation.kind, cfg.adaptiveRx, cfg.rxUsecs, cfg.rxFrames, k.workqueue);
      const vector = k.vectors.create(q, moderation, this);
      const queue = new RxQueue(
        q,
        k.pool,
        cfg.ringSize,
        cfg.dmaLatencyNs,
        dropEn,
        this.fc,
        cfg.driver.refillBatch,
        vector,
        (row, missed) => k.accounting.dropAt(row, missed ? SITE_INDEX.nic_missed : SITE_INDEX.nic_ring),
        (t) => this.generateUntil(t),
        (row) => k.accounting.offer(row, k.pool.arrival[row]! >= k.warmupNs),
        (row, bufferNode) => k.ddio.dmaWrite(row, k.pool.size[row]! - FCS, cfg.numaNode, bufferNode),
        cfg.numaNode,
      );
      vector.queue = queue;
      queue.onDropArriving = (flow, size, arrival, missed) => k.accounting.arriveDropped(flow, size, arrival >= k.warmupNs, missed ? SITE_INDEX.nic_missed : SITE_INDEX.nic_ring);
      queue.follow = k.trace?.follow ?? null;
      const arfs = cfg.ntuple && cfg.driver.rxFlowSteer ? (row: number, cpu: number) => this.rxFlowSteer(row, cpu) : undefined;
      const rps = RpsSteering.queueRps(cfg.rxQueues[q]!.rpsCpus, cfg.rxQueues[q]!.rpsFlowCnt, arfs);
      const txRing = new TxRing(q);
      // netif_elide_gro(): no GRO on a device with a generic XDP program (dev->xdp_prog).
      const gro = cfg.gro && cfg.xdp?.mode !== 'generic';
      const poller = new RxRingPoller(k, queue, vector, txRing, cfg.txWorkLimit, cfg.speedGbps, rps, gro, groTcpFlows);
      const napi = k.napis.add(new Napi(firstNapiId + q, cfg.name, poller));
      poller.buffers = this.rxBuffers(napi);
      napi.deferHardIrqs = cfg.napiDeferHardIrqs;
      napi.groFlushTimeout = cfg.groFlushTimeoutNs;
      napi.irqSuspendTimeout = cfg.rxQueues[q]!.irqSuspendTimeoutNs; // napi_config of the queue's NAPI (netlink napi-set)
      // napi_set_threaded: the queue's NAPI as netlink set it, else as the device's sysfs file did.
      const threaded = cfg.rxQueues[q]!.threaded;
      napi.threadedBusyPoll = threaded === 'busy-poll';
      if (threaded !== 'disabled') {
        const task = k.tasks.spawn(
          `napi/${cfg.name}-${napi.id}`,
          k.cpus.map((c) => c.id),
          0,
          'napi',
          null,
        );
        task.activity = napiThreadActivity(k, napi, task);
        napi.thread = task;
      }
      this.queues.push(queue);
      this.txRings.push(txRing);
      this.qdiscs.push(new PfifoFast(txRing, cfg.driver.ring.txDefault - cfg.driver.ring.txStopBelow));
      this.vectors.push(vector);
      this.pollers.push(poller);
      this.napis.push(napi);
      this.irqDesc.push(k.irqs.addDevice(cfg.driver.vectorName(cfg.name, q), `IR-PCI-MSIX-${pciAddress(cfg.index)}`, q, cfg.irqAffinity[q]!));
    }
    if (cfg.xdp) {
      const prog = new XdpProgram(cfg.xdp, flows);
      if (cfg.xdp.mode === 'native') {
        // ixgbe_xdp_setup / ice_xdp_setup_prog: the program on every RX ring, each ring's verdicts its own.
        this.pollers.forEach((p, q) => {
          const hook = new NativeXdp(k, this, prog, q);
          p.rxHooks.push(hook);
          p.skbBuiltByHook = true;
          this.nativeXdp.push(hook);
        });
      } else {
        // dev_xdp_attach with XDP_FLAGS_SKB_MODE: generic_xdp_install sets dev->xdp_prog.
        this.genericXdp = new GenericXdp(k, this, prog, flows, cfg.queues);
        k.path.coreHooks.push(this.genericXdp);
      }
    }
    // Without DROP_EN the queues share one packet buffer: they land in one arrival order.
    this.landHeads = new Float64Array(this.queues.length);
    if (!dropEn && this.queues.length > 1) for (const q of this.queues) q.shared = (t) => this.landAll(t);
    // The drivers' default XPS map: each TX queue on the CPU its queue vector was spread to at
    // allocation (ixgbe_alloc_q_vector with ATR and more than one queue: cpumask_local_spread(v_idx),
    // then netif_set_xps_queue in ixgbe_configure_tx_ring; ice_vsi_alloc_q_vector and
    // ice_cfg_xps_tx_ring likewise). With one queue there is no map; every frame takes queue 0.
    for (let c = 0; c < k.cpus.length; c++) this.xps.push([]);
    if (cfg.queues > 1) for (let q = 0; q < cfg.queues; q++) this.xps[q % k.cpus.length]!.push(q);
  }

  /**
   * The RX buffers of one ring as the driver sets them up at open: ixgbe and ice post half pages
   * of their own (ixgbe_configure_rx_ring); a page_pool driver creates the queue's pool with
   * pool_size = the ring size and fills the ring from it.
   */
  private rxBuffers(napi: Napi): HalfPageReuse | PagePoolRx {
    const k = this.k;
    const cfg = this.cfg;
    const cpuNode = k.topology.cpuNode;
    if (cfg.driver.rxPages.kind === 'half-page-reuse') return new HalfPageReuse(k.pages, cfg.ringSize, cpuNode, k.costs.page_alloc, cfg.numaNode);
    const costs = { fast: k.costs.page_pool_fast, ring: k.costs.page_pool_ring, alloc: k.costs.page_alloc };
    // libeth_rx_page_pool_params: two 2 KiB buffers per 4 KiB page; XDP's headroom makes each buffer a page.
    const fragsPerPage = cfg.xdp?.mode === 'native' ? 1 : Math.max(1, Math.floor(PAGE_SIZE / cfg.driver.rxBufferBytes));
    const pool = new PagePool(k.pages, napi, cpuNode, costs, cfg.ringSize, fragsPerPage);
    const openCpu = Math.max(0, cpuNode.indexOf(cfg.numaNode));
    return new PagePoolRx(k.pages, pool, cfg.ringSize, openCpu);
  }

  /** Every queue's frames that arrived by `t`, landed in arrival order (the packet buffer is one FIFO of the port). */
  private landAll(t: number): void {
    if (t > this.landedTo) {
      this.generateUntil(t);
      this.landedTo = t;
    }
    // A merge of the queues' arrivals (earliest first, ties to the lower queue). Landing a frame
    // changes only its own queue's head: the wire was already asked for everything up to `t`.
    const queues = this.queues;
    const n = queues.length;
    const heads = this.landHeads;
    for (let i = 0; i < n; i++) heads[i] = queues[i]!.headArrival;
    for (;;) {
      let first = -1;
      let at = t;
      for (let i = 0; i < n; i++) {
        const a = heads[i]!;
        if (a <= at) {
          if (first < 0 || a < at) first = i;
          at = a;
        }
      }
      if (first < 0) return;
      const q = queues[first]!;
      q.landHead();
      heads[first] = q.headArrival;
    }
  }
  private landHeads = new Float64Array(0);
  private landedTo = -1;

  /** An XON reaches the partner at `t`: it sends again, and idle vectors look for their next frame. */
  private resumePartner(t: number): void {
    this.wire.resume(t * 1000);
    for (const v of this.vectors) v.poke();
  }

  /**
   * dev_queue_xmit() of a frame of `len` bytes (skb->len) that the host sends at `at` from CPU
   * `cpu` on flow `flow`: netdev_pick_tx chooses the TX queue — the CPU's XPS queue
   * (get_xps_queue), else skb_tx_hash; pure ACKs and datagrams have no packets in flight, so
   * ooo_okay lets the choice follow the sending CPU — and the driver posts it on that ring. The
   * NIC fetches it (the DMA latency), sends it when the TX side of the link is free, and writes
   * the completion back when it has left; the completion raises the queue vector's interrupt
   * cause like an RX write-back. The qdisc, BQL and a stopped queue are not modelled, nor is
   * ixgbe's ATR (ixgbe_atr: every 20th TCP frame sent adds a Flow Director filter that steers the
   * flow's received frames to this TX queue's RX queue), which is on by default on 82599.
   */
  xmit(cpu: number, flow: number, len: number, at: number): void {
    this.post(this.pickTx(cpu, flow, -1), len, at);
  }

  /**
   * dev_queue_xmit() of a forwarded skb of `len` bytes (skb->len, no FCS) from CPU `cpu` at `at`,
   * whose hash is `hash` (the RX hash it arrived with) and recorded RX queue `rxQueue`:
   * netdev_pick_tx (XPS, else skb_tx_hash on the recorded queue: pickRecordedTx),
   * then the TX queue's pfifo_fast (qdisc.ts): dropped when the driver has stopped the queue and
   * the qdisc is at its limit (false), else posted, holding the skb's RX page until the completion
   * is cleaned (napi_consume_skb → the page back to its ring's owner).
   */
  forwardXmit(cpu: number, hash: number, rxQueue: number, len: number, at: number, row: number): boolean {
    const q = this.pickRecordedTx(cpu, hash, rxQueue);
    if (!this.qdiscs[q]!.enqueue(len)) return false;
    this.post(q, len, at, this.k.pages.take(row));
    return true;
  }

  /**
   * netdev_pick_tx(): get_xps_queue() for the sending CPU, else skb_tx_hash(): reciprocal_scale of
   * the skb's hash — `hash`, or (-1) flow `flow`'s own.
   */
  private pickTx(cpu: number, flow: number, skbHash: number): number {
    const n = this.cfg.queues;
    if (n === 1) return 0;
    const map = this.xps[cpu]!;
    if (map.length === 1) return map[0]!;
    // skb_get_hash: for a TCP socket sk_txhash (random per connection); the flow's dissector hash here.
    const hash = skbHash >= 0 ? skbHash : this.rss[flow]!.sw(0) >>> 0;
    if (map.length > 1) return map[Math.floor((hash * map.length) / 2 ** 32)]!;
    return Math.floor((hash * n) / 2 ** 32);
  }

  get name(): string {
    return this.cfg.name;
  }

  get index(): number {
    return this.cfg.index;
  }

  /** The TX rings ndo_xdp_xmit may use (a devmap redirect's target). */
  get txQueues(): number {
    return this.txRings.length;
  }

  /**
   * ndo_xsk_wakeup (ixgbe_xsk_wakeup, ice_xsk_wakeup) for RX queue `q`: if the queue's NAPI is
   * scheduled, napi_if_scheduled_mark_missed marks it to be polled again; otherwise a software
   * interrupt on its vector (ixgbe_irq_rearm_queues) gets it polled. True if an interrupt was raised.
   */
  xskWakeup(q: number): boolean {
    const napi = this.napis[q]!;
    if (napi.sched) {
      napi.missed = true;
      return false;
    }
    this.vectors[q]!.softwareInterrupt();
    return true;
  }

  /** NETDEV_XDP_ACT_NDO_XMIT: ixgbe and ice set it, and have XDP TX rings, only while a native program is attached (xdp_features_set_redirect_target). */
  hasXdpRings(): boolean {
    return this.nativeXdp.length > 0;
  }

  /** The RX queue a frame of `flow`'s tuple `tuple` lands in (skb_record_rx_queue). */
  rxQueueOf(flow: number, tuple: number): number {
    return this.rss[flow]!.queue(tuple);
  }

  /**
   * XDP_TX of a frame of `len` bytes received on `queue`, at `t`: posted on the TX ring of the
   * queue pair (the driver's XDP TX ring: ixgbe_xmit_xdp_ring, __ice_xmit_xdp_ring — a ring of its
   * own on hardware, the pair's here), sent when the link's TX side is free, its completion
   * cleaned by that queue's poll. False when the ring has no free descriptor: ixgbe_xmit_xdp_ring
   * returns IXGBE_XDP_CONSUMED when `!ixgbe_desc_unused(ring)` (ring size − 1 in use; the XDP
   * ring has the TX ring's size, tx_ring_count); the frame is not posted.
   */
  xmitXdp(queue: number, len: number, t: number, row: number): boolean {
    if (this.txRings[queue]!.xdpPending >= this.cfg.driver.ring.txDefault - 1) return false;
    this.post(queue, len, t, this.k.pages.take(row), true);
    return true;
  }

  /**
   * generic_xdp_tx() of a redirected skb (dev_map_generic_redirect) from `cpu`: netdev_core_pick_tx
   * with no socket — the CPU's XPS queue (get_xps_queue; several: reciprocal_scale of skb->hash),
   * else skb_tx_hash, which takes a forwarded skb's recorded RX queue modulo the TX queues — and
   * netdev_start_xmit; the page goes to the TX ring until the completion. False when the queue
   * is stopped (netif_xmit_frozen_or_drv_stopped: the driver stopped it when fewer than
   * DESC_NEEDED descriptors were free, as the qdisc sees it): not posted, the caller drops it.
   */
  xmitGenericXdp(cpu: number, hash: number, rxQueue: number, len: number, t: number, row: number): boolean {
    const q = this.pickRecordedTx(cpu, hash, rxQueue);
    const ring = this.cfg.driver.ring;
    if (this.txRings[q]!.skbPending >= ring.txDefault - ring.txStopBelow) return false;
    this.post(q, len, t, this.k.pages.take(row));
    return true;
  }

  /**
   * netdev_pick_tx() for an skb the driver received (skb_record_rx_queue): the CPU's XPS queue
   * (get_xps_queue), else skb_tx_hash(), which takes the recorded RX queue — folded into the TX
   * queues (`while (hash >= qcount) hash -= qcount`) — rather than the flow hash
   * (net/core/dev.c: skb_tx_hash, skb_rx_queue_recorded).
   */
  private pickRecordedTx(cpu: number, hash: number, rxQueue: number): number {
    const map = this.xps[cpu]!;
    if (map.length === 1) return map[0]!;
    if (map.length > 1) return map[Math.floor(((hash >>> 0) * map.length) / 2 ** 32)]!;
    return rxQueue % this.cfg.queues;
  }

  /** The NIC fetches a posted frame (the DMA latency), sends it when the link's TX side is free and writes the completion back once it has left. */
  private post(q: number, len: number, at: number, page = -1, xdp = false): void {
    const start = Math.max(at + this.cfg.dmaLatencyNs, this.txWireFree);
    const done = start + Math.ceil(((Math.max(len, ETH_ZLEN) + FCS_PREAMBLE_IFG) * 8) / this.cfg.speedGbps);
    this.txWireFree = done;
    this.txRings[q]!.post(done, len, page, xdp);
    this.vectors[q]!.onTxCompletion(done);
  }

  /**
   * ndo_rx_flow_steer (aRFS): RFS moved a flow to `cpu`; install an ntuple filter sending the
   * flow's 5-tuple to the RX queue whose interrupt goes to that CPU (the dev->rx_cpu_rmap lookup;
   * here an exact match of the effective affinity, no filter if no queue's IRQ is on that CPU).
   * Frames already on the wire keep their queue; filters are not expired (rps_may_expire_flow).
   */
  private rxFlowSteer(row: number, cpu: number): void {
    const pool = this.k.pool;
    const rxq = this.irqDesc.findIndex((d) => this.k.irqs.descs[d]!.effective === cpu);
    if (rxq < 0) return;
    if (this.rss[pool.flow[row]!]!.steer(pool.tuple[row]!, rxq)) this.arfsSteered++;
  }

  /** echo LIST > /proc/irq/N/smp_affinity_list for queue `q`: its next interrupt goes to the new CPU. */
  setIrqAffinity(q: number, cpus: number[]): void {
    this.k.irqs.setAffinity(this.irqDesc[q]!, cpus);
  }

  /** The flow dissector's hash of a flow's tuple (skb_get_hash without a NIC hash). */
  softwareHash(flow: number, tuple: number): number {
    return this.rss[flow]!.sw(tuple);
  }

  /** A blocked sender can send again: re-sort the wire and let idle vectors look for frames. */
  wakeSource(source: FrameSource): void {
    this.wire.reschedule(source);
    for (const v of this.vectors) v.poke();
  }

  // ---- WireSink ----

  frame(source: FrameSource, size: number, tuple: number, arrivalNs: number): void {
    const k = this.k;
    const pool = k.pool;
    const rss = this.rss[source.flow.index]!;
    const queue = this.queues[rss.queue(tuple)]!;
    // Its queue is landing every frame up to this one's arrival: one its ring refuses is dropped now, without a row.
    if (queue.landingTo >= arrivalNs && queue.dropOnArrival(source.flow.index, size, arrivalNs)) return;
    const row = pool.alloc();
    pool.flow[row] = source.flow.index;
    pool.size[row] = size;
    pool.arrival[row] = arrivalNs;
    pool.tuple[row] = tuple;
    pool.truesize[row] = frameTruesize(size, this.cfg.driver.rxBufferBytes);
    pool.allocCpu[row] = -1; // a buffer on the ring; the skb is built in the poll
    pool.napiId[row] = 0;
    if (source instanceof TcpSender) {
      pool.seq[row] = source.nextSeq;
      pool.payload[row] = source.nextPayload;
      pool.len[row] = source.nextPayload;
      pool.flags[row] = source.nextPsh ? PSH : 0;
      pool.tsval[row] = source.nextTsval;
    } else {
      pool.seq[row] = 0;
      pool.payload[row] = NetifReceive.udpPayload(size, source.flow.path);
      pool.len[row] = pool.payload[row]!;
      pool.tsval[row] = 0;
    }
    // skb->hash: the NIC's hash when rxhash is on (ixgbe_rx_hash), else unset until skb_get_hash().
    pool.hash[row] = this.cfg.rxhash ? rss.hash(tuple) : 0;
    queue.arrivals.push(row);
    const f = k.trace?.follow;
    if (f && f.armed && f.flow === source.flow.index && arrivalNs >= f.afterNs) f.pick(row, arrivalNs);
  }

  /**
   * The wire runs ahead of simulated time, so an upstream drop is decided before it happens:
   * it is counted once its send time has passed (or at the end of the run, if it has by then).
   */
  upstreamDrop(source: FrameSource, size: number, desiredPs: number): void {
    this.pendingDrops.push({ flow: source.flow.index, size, atNs: psToNsCeil(desiredPs) });
    this.countDropsUntil(this.k.sim.now);
  }

  private readonly pendingDrops: { flow: number; size: number; atNs: number }[] = [];

  private countDropsUntil(t: number): void {
    if (this.pendingDrops.length === 0) return;
    let i = 0;
    while (i < this.pendingDrops.length && this.pendingDrops[i]!.atNs <= t) {
      const d = this.pendingDrops[i++]!;
      this.upstreamDrops++;
      this.k.accounting.upstreamDrop(d.flow, d.size, d.atNs >= this.k.warmupNs);
    }
    if (i > 0) this.pendingDrops.splice(0, i);
  }

  /** Lazy wire generation up to `t` (frames go to their queue's arrivals, drops to pendingDrops). */
  private generateUntil(t: number): boolean {
    const more = this.wire.generateUntil(t);
    this.countDropsUntil(this.k.sim.now);
    return more;
  }

  /** End of a run: land every frame that has arrived and count the drops that have happened. */
  settleAt(t: number): void {
    for (const q of this.queues) q.advanceTo(t);
    this.countDropsUntil(t);
  }

  // ---- VectorHost ----

  now(): number {
    return this.k.sim.now;
  }

  nextArrival(queue: { arrivals: { head: number } }, horizon: number): number {
    const pool = this.k.pool;
    if (queue.arrivals.head === NIL) {
      const more = this.wire.generateUntil(horizon, () => queue.arrivals.head !== NIL);
      this.countDropsUntil(this.k.sim.now);
      // Nothing yet: look again where generation had to stop (a sender's RTT ahead, or the horizon).
      if (queue.arrivals.head === NIL) return more ? Math.min(horizon, Math.max(this.wire.generatedUntil, this.k.sim.now)) : Infinity;
    }
    return pool.arrival[queue.arrivals.head]!;
  }

  raise(vector: MsixVector): void {
    const k = this.k;
    const desc = this.irqDesc[vector.index]!;
    const cpu = k.cpus[k.irqs.descs[desc]!.effective]!;
    const napi = this.napis[vector.index]!;
    const poller = this.pollers[vector.index]!;
    k.trace?.irqRaise(cpu.id, desc);
    if (this.cfg.rxMode === 'netif_rx') {
      cpu.raiseHardirq({ desc, handler: (c) => poller.legacyInterrupt(c) });
    } else {
      cpu.raiseHardirq({ desc, handler: (c) => msixCleanRings(k, c, napi) });
    }
  }

  /** Start of the measurement window: the device's counters restart (its queues' integrals are reset with all queues). */
  resetWindow(): void {
    this.upstreamDrops = this.arfsSteered = 0;
    this.fc.resetWindow();
    this.wire.frames = 0;
    this.wire.bits = 0;
    for (const q of this.queues) q.resetWindow();
    for (const t of this.txRings) t.resetWindow();
    for (const qd of this.qdiscs) qd.resetWindow();
    for (const v of this.vectors) {
      v.interrupts = 0;
      v.moderation.updates = 0;
    }
    for (const p of this.pollers) {
      p.gro.resetWindow();
      p.buffers.resetWindow();
    }
    for (const x of this.nativeXdp) x.stats.resetWindow();
    if (this.genericXdp) for (const st of this.genericXdp.stats) st.resetWindow();
  }

  /** The per-action counts of queue `q` (xdp_rxq_info), or undefined without a program. */
  private xdpStats(q: number): XdpRxqReport | undefined {
    if (this.nativeXdp.length > 0) return this.nativeXdp[q]!.stats.report();
    return this.genericXdp?.stats[q]!.report();
  }

  /** `ethtool -S` under the driver's own counter names. */
  ethtoolStats(): Record<string, number> {
    const d = this.cfg.driver;
    const sum = (f: (q: RxQueue) => number) => this.queues.reduce((a, q) => a + f(q), 0);
    const txSum = (f: (t: TxRing) => number) => this.txRings.reduce((a, t) => a + f(t), 0);
    const e: Record<string, number> = { rx_packets: sum((q) => q.packets), tx_packets: txSum((t) => t.packets), rx_bytes: sum((q) => q.bytes), tx_bytes: txSum((t) => t.bytes) };
    e[d.noDescriptorCounter] = sum((q) => q.noDescDrops);
    // ixgbe counts both in rx_missed_errors; ice and the generic driver keep rx_missed_errors apart.
    e.rx_missed_errors = (d.noDescriptorCounter === 'rx_missed_errors' ? e.rx_missed_errors! : 0) + sum((q) => q.missedDrops);
    Object.assign(e, this.fc.stats(d));
    // The driver's page allocation failures: the model's allocations never fail.
    for (const name of d.rxPages.failCounters) e[name] = 0;
    // page_pool_ethtool_stats_get(): the pools' stats summed over the queues.
    if (d.rxPages.kind === 'page_pool') {
      for (const p of this.pollers) for (const [name, v] of Object.entries(p.buffers.stats())) e[name] = (e[name] ?? 0) + v;
    }
    for (const q of this.queues) {
      e[d.queueStat(q.index, 'packets')] = q.packets;
      e[d.queueStat(q.index, 'bytes')] = q.bytes;
    }
    // The per-queue TX stats walk the driver's TX rings, not its XDP TX rings: frames XDP sent
    // (XDP_TX, ndo_xdp_xmit) count in tx_packets/tx_bytes (the netdev totals) only. No driver
    // profile has XDP counters of its own in ethtool -S: ixgbe (ixgbe_gstrings_stats) and ice
    // (ice_gstrings_vsi_stats, ice_gstrings_pf_stats) export none, and the generic driver
    // stands for no real one (mlx5's rx_xdp_drop/rx_xdp_redirect/rx_xdp_tx_xmit are mlx5's);
    // the program's own counts are in nics[].queues[].xdp, as xdp_rxq_info prints them.
    for (const t of this.txRings) {
      e[d.queueStat(t.index, 'packets', 'tx')] = t.packets - t.xdpPackets;
      e[d.queueStat(t.index, 'bytes', 'tx')] = t.bytes - t.xdpBytes;
    }
    return e;
  }

  /** Its part of the result. */
  report(irqs: IrqTable): NicResult {
    return {
      name: this.cfg.name,
      driver: this.cfg.driver.name,
      arfs_steered: this.arfsSteered,
      queues: this.queues.map((q, i) => {
        const desc = irqs.descs[this.irqDesc[i]!]!;
        const v = this.vectors[i]!;
        return {
          queue: i,
          irq: desc.irq,
          irq_cpu: desc.effective,
          ring_size: q.size,
          interrupts: v.interrupts,
          itr_usecs: r3(v.moderation.intervalNs / US),
          itr_updates: v.moderation.updates,
          packets: q.packets,
          tx_packets: this.txRings[i]!.packets,
          drops: q.noDescDrops + q.missedDrops,
          refills: q.refills,
          ring_peak: q.ring.peak,
          pages: this.pollers[i]!.buffers.stats(),
          ...(this.cfg.xdp ? { xdp: this.xdpStats(i) } : {}),
        };
      }),
      ...(this.cfg.xdp ? { xdp: { mode: this.cfg.xdp.mode, prog: this.cfg.xdp.name } } : {}),
      ...(this.egress ? { qdisc: this.qdiscReport() } : {}),
      pause: {
        autoneg: this.cfg.pause.autoneg ? 'on' : 'off',
        rx: this.fc.mode === 'full' || this.fc.mode === 'rx_pause' ? 'on' : 'off',
        tx: this.fc.sendsPause ? 'on' : 'off',
        drop_en: this.dropEn,
      },
    };
  }

  private qdiscReport(): NonNullable<NicResult['qdisc']> {
    const sum = (f: (q: PfifoFast) => number) => this.qdiscs.reduce((a, q) => a + f(q), 0);
    return {
      kind: 'mq/pfifo_fast',
      limit: this.qdiscs[0]!.limit,
      sent_pkts: sum((q) => q.packets),
      sent_bytes: sum((q) => q.bytes),
      dropped: sum((q) => q.drops),
      backlog_peak: Math.max(...this.qdiscs.map((q) => q.peakBacklog)),
    };
  }

  /** Frames waiting in this NIC's rings and packet buffers (for in-flight counts). */
  ringFill(): number {
    return this.queues.reduce((a, q) => a + q.ring.length + q.pktbuf.length, 0);
  }
}

/** ixgbe_msix_clean_rings(), ice_msix_clean_rings(): the vector's handler just schedules NAPI (the vector stays masked). */
function* msixCleanRings(k: NapiHost, cpu: Cpu, napi: Napi): Generator<number, void, void> {
  yield k.costs.hardirq_entry_exit + k.costs.irq_handler;
  napiSchedule(k, cpu, napi);
}
