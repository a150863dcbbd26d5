import { Dim, DimState, type DimSample } from './net-dim.ts';
/**
 * Interrupt moderation of one MSI-X vector: how long after a descriptor write-back the vector's
 * interrupt may fire. Three hardware behaviours:
 *
 *  - 'eitr' (ixgbe): EITR is a minimum interval between interrupts of the vector, which serves
 *    an RX and a TX ring. rx-usecs N > 1 sets it (q_vector->itr = N << 2, written masked with
 *    IXGBE_MAX_EITR, so odd values round down); rx-usecs 0 turns it off; rx-usecs 1 is adaptive:
 *    after each completed poll ixgbe_set_itr() runs ixgbe_update_itr() on the TX and the RX ring
 *    containers — each with the packets and bytes its clean loop counted since the last update
 *    (the TX container: ACKs and responses the host sent, cleaned by ixgbe_clean_tx_irq) — and
 *    writes min(rx, tx). A container that saw no packets steps up by 2 µs. Starting value
 *    IXGBE_20K_ITR (50 µs).
 *  - 'ice-itr' (ice): one ITR per ring container (RX ITR index 0, TX index 1), in 2 µs units; a
 *    cause waits for its own container's ITR after the last interrupt, and INTRL for all. With
 *    adaptive moderation each container has a struct dim (net-dim.ts) that starts zeroed and
 *    parked, with the ITR of profile ICE_DIM_DEFAULT_PROFILE_IX; ice_net_dim() feeds it after
 *    each completed poll and a decision takes effect when the work item (ice_rx_dim_work,
 *    ice_tx_dim_work) has run on the polling CPU's kworker.
 *  - 'timer-frames' (generic): fire rx-usecs after the first frame, or at the rx-frames-th
 *    frame, whichever comes first (CQ moderation).
 */

export type ModerationKind = 'eitr' | 'ice-itr' | 'timer-frames';

// ixgbe constants (ixgbe.h).
const IXGBE_ITR_ADAPTIVE_MIN_INC = 2;
const IXGBE_ITR_ADAPTIVE_MIN_USECS = 10;
const IXGBE_ITR_ADAPTIVE_MAX_USECS = 126;
const IXGBE_ITR_ADAPTIVE_LATENCY = 0x80;
const IXGBE_ITR_ADAPTIVE_BULK = 0x00;
const IXGBE_20K_ITR = 200;
const IXGBE_MAX_EITR = 0xff8; // UNVERIFIED value (reference §7.2)

/** struct ixgbe_ring_container's adaptive fields. */
interface RingContainer {
  itr: number;
  nextUpdate: number;
  totalPackets: number;
  totalBytes: number;
}

// ice (ice_main.c: rx_profile, tx_profile, ICE_DIM_DEFAULT_PROFILE_IX, ice_init_moderation;
// ice_lib.c: ice_set_q_vector_intrl; ice_txrx.h: ICE_DFLT_TX_ITR).
/** ITR in µs of each DIM profile index ("capped at 250K by INTRL" at index 0). */
const ICE_RX_PROFILE = [2, 8, 16, 62, 126];
const ICE_TX_PROFILE = [2, 8, 40, 128, 256];
const ICE_DIM_DEFAULT_PROFILE_IX = 1;
/** ICE_DFLT_TX_ITR = ICE_ITR_20K: a static TX ITR (adaptive off). */
const ICE_DFLT_TX_ITR_US = 50;
/** ice_set_q_vector_intrl(): with dynamic moderation INTRL caps each vector at 250,000 ints/s (4 µs). */
const ICE_DYNAMIC_INTRL_US = 4;
/** __ice_update_sample(): a DIM whose start sample is a second old starts measuring again. */
const ICE_DIM_STALE_NS = 1_000_000_000;

/** What moderation needs from the machine: a workqueue (ice applies DIM decisions from a work item). */
export interface ModerationHost {
  /** schedule_work() from CPU `cpu`: `run` is called when the CPU's kworker has run the item. */
  scheduleWork(cpu: number, run: () => void): void;
}

export class Moderation {
  /** Current minimum interval between interrupts for RX causes (ice: the RX ITR, ITR index 0), ns. */
  intervalNs: number;
  /** ice: the TX ITR (ITR index 1) that TX completion causes wait for, ns. ixgbe has one EITR per vector. */
  txIntervalNs: number;
  /** Frame count threshold ('timer-frames'), 0 = none. */
  readonly frames: number;
  /** Delay from the first frame ('timer-frames'), ns. */
  readonly timerNs: number;

  // ixgbe adaptive state.
  private qItr = IXGBE_20K_ITR;
  private readonly rx: RingContainer = { itr: IXGBE_ITR_ADAPTIVE_MAX_USECS | IXGBE_ITR_ADAPTIVE_LATENCY, nextUpdate: 0, totalPackets: 0, totalBytes: 0 };
  private readonly tx: RingContainer = { itr: IXGBE_ITR_ADAPTIVE_MAX_USECS | IXGBE_ITR_ADAPTIVE_LATENCY, nextUpdate: 0, totalPackets: 0, totalBytes: 0 };

  // ice: one struct dim per ring container, the vector's event count and the rings' packet and
  // byte counters (what __ice_update_sample reads), and the work items' CPU.
  readonly rxDim: Dim | null = null;
  readonly txDim: Dim | null = null;
  private totalEvents = 0;
  private rxPackets = 0;
  private rxBytes = 0;
  private txPackets = 0;
  private txBytes = 0;
  private intrlNs = 0;
  private readonly sample: DimSample = { time: 0, eventCtr: 0, pktCtr: 0, byteCtr: 0 };
  private workCpu = 0;

  /** Number of times the interval was changed by the adaptive algorithm. */
  updates = 0;

  constructor(
    readonly kind: ModerationKind,
    readonly adaptive: boolean,
    rxUsecs: number,
    rxFrames: number,
    private readonly host: ModerationHost | null = null,
  ) {
    this.frames = kind === 'timer-frames' ? rxFrames : 0;
    this.timerNs = kind === 'timer-frames' ? rxUsecs * 1000 : 0;
    if (kind === 'eitr') {
      this.qItr = adaptive ? IXGBE_20K_ITR : rxUsecs << 2;
      this.intervalNs = eitrNs(this.qItr);
      this.txIntervalNs = this.intervalNs;
    } else if (kind === 'ice-itr') {
      // ice_init_moderation(): with dynamic ITR the registers start at the default profile's
      // values, not at rx-usecs; INTRL is 4 µs (ice_set_q_vector_intrl). TX follows adaptive-rx
      // here (the model has no separate adaptive-tx knob; ice's default has both dynamic).
      if (adaptive) {
        const schedule = (dim: Dim): void => this.scheduleDimWork(dim);
        this.rxDim = new Dim(ICE_DIM_DEFAULT_PROFILE_IX, schedule);
        this.txDim = new Dim(ICE_DIM_DEFAULT_PROFILE_IX, schedule);
        this.intervalNs = ICE_RX_PROFILE[ICE_DIM_DEFAULT_PROFILE_IX]! * 1000;
        this.txIntervalNs = ICE_TX_PROFILE[ICE_DIM_DEFAULT_PROFILE_IX]! * 1000;
        this.intrlNs = ICE_DYNAMIC_INTRL_US * 1000;
      } else {
        this.intervalNs = rxUsecs * 1000;
        this.txIntervalNs = ICE_DFLT_TX_ITR_US * 1000;
      }
    } else {
      this.intervalNs = 0;
      this.txIntervalNs = 0;
    }
  }

  /** The earliest time an interrupt may fire after one fired at `lastFire`, for an RX or a TX cause. */
  earliestAfter(lastFire: number, tx = false): number {
    return lastFire + Math.max(tx ? this.txIntervalNs : this.intervalNs, this.intrlNs);
  }

  /** Frames and bytes cleaned from the RX ring by a poll (ring container totals / ring stats). */
  countCleaned(packets: number, bytes: number): void {
    this.rx.totalPackets += packets;
    this.rx.totalBytes += bytes;
    this.rxPackets += packets;
    this.rxBytes += bytes;
  }

  /** TX completions cleaned by a poll (ixgbe_clean_tx_irq: q_vector->tx.total_packets/bytes). */
  countTxCleaned(packets: number, bytes: number): void {
    this.tx.totalPackets += packets;
    this.tx.totalBytes += bytes;
    this.txPackets += packets;
    this.txBytes += bytes;
  }

  /** An interrupt fired (ice_msix_clean_rings: q_vector->total_events++). */
  countInterrupt(): void {
    this.totalEvents++;
  }

  /**
   * After napi_complete_done() returned true: ixgbe_set_itr() (adaptive ixgbe) or ice_net_dim()
   * (adaptive ice), on CPU `cpu`. `jiffies` and `now` (ns) give the sampling times.
   */
  afterCompletion(jiffies: number, now: number, linkGbps: number, cpu = 0): void {
    if (!this.adaptive) return;
    if (this.kind === 'eitr') this.ixgbeSetItr(jiffies, linkGbps);
    else if (this.kind === 'ice-itr') this.iceNetDim(now, cpu);
  }

  // ---- ixgbe (ixgbe_main.c) ----

  /** ixgbe_set_itr(): update both ring containers and write min(rx, tx) if it changed. */
  private ixgbeSetItr(jiffies: number, linkGbps: number): void {
    this.ixgbeUpdateItr(this.tx, jiffies, linkGbps);
    this.ixgbeUpdateItr(this.rx, jiffies, linkGbps);
    const newItr = (Math.min(this.rx.itr, this.tx.itr) & ~IXGBE_ITR_ADAPTIVE_LATENCY) << 2;
    if (newItr !== this.qItr) {
      this.qItr = newItr;
      this.intervalNs = eitrNs(newItr);
      this.txIntervalNs = this.intervalNs;
      this.updates++;
    }
  }

  private ixgbeUpdateItr(rc: RingContainer, jiffies: number, linkGbps: number): void {
    let itr = IXGBE_ITR_ADAPTIVE_MIN_USECS | IXGBE_ITR_ADAPTIVE_LATENCY;
    const done = (): void => {
      rc.itr = itr;
      rc.nextUpdate = jiffies + 1;
      rc.totalBytes = 0;
      rc.totalPackets = 0;
    };
    // No update within 1-2 jiffies: traffic too slow to measure, or NAPI is moderating.
    if (jiffies > rc.nextUpdate) return done();
    const packets = rc.totalPackets;
    if (packets === 0) {
      itr = Math.min((this.qItr >> 2) + IXGBE_ITR_ADAPTIVE_MIN_INC, IXGBE_ITR_ADAPTIVE_MAX_USECS);
      itr += rc.itr & IXGBE_ITR_ADAPTIVE_LATENCY;
      return done();
    }
    const bytes = rc.totalBytes;
    if (packets < 4 && bytes < 9000) {
      itr = IXGBE_ITR_ADAPTIVE_LATENCY;
    } else if (packets < 48) {
      itr = Math.min((this.qItr >> 2) + IXGBE_ITR_ADAPTIVE_MIN_INC, IXGBE_ITR_ADAPTIVE_MAX_USECS);
      return done();
    } else if (packets < 96) {
      itr = this.qItr >> 2;
      return done();
    } else if (packets < 256) {
      itr = Math.max(this.qItr >> 3, IXGBE_ITR_ADAPTIVE_MIN_USECS);
      return done();
    } else {
      itr = IXGBE_ITR_ADAPTIVE_BULK;
    }
    // adjust_by_size: a piecewise fit of 212992 / (size + 640) packets per interrupt.
    let avg = Math.floor(bytes / packets);
    if (avg <= 60) avg = 5120;
    else if (avg <= 316) avg = avg * 40 + 2720;
    else if (avg <= 1084) avg = avg * 15 + 11452;
    else if (avg < 1968) avg = avg * 5 + 22420;
    else avg = 32256;
    if (itr & IXGBE_ITR_ADAPTIVE_LATENCY) avg >>= 1;
    if (linkGbps >= 10 || linkGbps < 1) itr += Math.ceil(avg / (IXGBE_ITR_ADAPTIVE_MIN_INC * 256)) * IXGBE_ITR_ADAPTIVE_MIN_INC;
    else itr += Math.ceil(Math.min(avg, 8064) / (IXGBE_ITR_ADAPTIVE_MIN_INC * 64)) * IXGBE_ITR_ADAPTIVE_MIN_INC;
    done();
  }

  // ---- ice (ice_txrx.c: ice_net_dim, __ice_update_sample; ice_main.c: ice_*_dim_work) ----

  /** ice_net_dim(): a sample per ring container (TX first), each fed to its struct dim. */
  private iceNetDim(now: number, cpu: number): void {
    this.workCpu = cpu;
    this.updateSample(this.txDim!, now, this.txPackets, this.txBytes);
    this.txDim!.netDim(this.sample);
    this.updateSample(this.rxDim!, now, this.rxPackets, this.rxBytes);
    this.rxDim!.netDim(this.sample);
  }

  /** __ice_update_sample(): dim_update_sample(total_events, packets, bytes); a stale DIM restarts. */
  private updateSample(dim: Dim, now: number, packets: number, bytes: number): void {
    const s = this.sample;
    s.time = now;
    s.eventCtr = this.totalEvents & 0xffff; // struct dim_sample: u16 event_ctr
    s.pktCtr = packets;
    s.byteCtr = bytes;
    if (now - dim.startSample.time >= ICE_DIM_STALE_NS) dim.state = DimState.START_MEASURE;
  }

  /** schedule_work(&dim->work) on the polling CPU: ice_rx_dim_work / ice_tx_dim_work run later. */
  private scheduleDimWork(dim: Dim): void {
    if (dim.workPending) return; // queue_work() on a pending work item does nothing
    dim.workPending = true;
    const run = (): void => this.dimWork(dim);
    if (this.host) this.host.scheduleWork(this.workCpu, run);
    else run();
  }

  /** ice_rx_dim_work / ice_tx_dim_work: write the profile's ITR (ice_write_itr), measure again. */
  dimWork(dim: Dim): void {
    dim.workPending = false;
    const tx = dim === this.txDim;
    const itrNs = (tx ? ICE_TX_PROFILE : ICE_RX_PROFILE)[dim.profileIx]! * 1000;
    if (tx) this.txIntervalNs = itrNs;
    else this.intervalNs = itrNs;
    this.updates++;
    dim.state = DimState.START_MEASURE;
  }
}

/** EITR interval in ns from q_vector->itr (µs << 2, masked with IXGBE_MAX_EITR). */
function eitrNs(qItr: number): number {
  return ((qItr & IXGBE_MAX_EITR) >> 2) * 1000;
}
