import { US } from '../../engine/time.ts';
/**
 * Interrupt moderation of one MSI-X vector: how long after a descriptor write-back the vector's
 * interrupt may fire. Three hardware behaviours:
 *
 *  - 'eitr' (ixgbe): EITR is a minimum interval between interrupts. rx-usecs N > 1 sets it
 *    (q_vector->itr = N << 2, written masked with IXGBE_MAX_EITR, so odd values round down);
 *    rx-usecs 0 turns it off; rx-usecs 1 is adaptive: after each completed poll
 *    ixgbe_set_itr() runs ixgbe_update_itr() on the RX and TX ring containers and writes
 *    min(rx, tx). This model has no TX traffic, so the TX container always sees 0 packets and
 *    steps up by 2 µs, which caps how fast the RX side can raise the interval (as on a real
 *    receive-only vector). Starting value IXGBE_20K_ITR (50 µs).
 *  - 'ice-itr' (ice): ITR in 2 µs units; with adaptive-rx, net_dim (lib/dim/net_dim.c) picks
 *    one of 5 (ITR, INTRL) profiles every DIM_NEVENTS interrupts from bytes/packets/events per ms.
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

// net_dim (include/linux/dim.h, lib/dim/net_dim.c).
const DIM_NEVENTS = 64;
const NUM_PROFILES = 5;
/** ice rx_profile {ITR µs, INTRL µs} from the patch that moved ice to DIM (current values UNVERIFIED). */
const ICE_RX_PROFILE: [number, number][] = [
  [2, 10],
  [8, 16],
  [32, 0],
  [96, 0],
  [128, 0],
];
type TuneState = 'parking-on-top' | 'parking-tired' | 'going-right' | 'going-left';

interface DimStats {
  ppms: number;
  bpms: number;
  epms: number;
}

export class Moderation {
  /** Current minimum interval between interrupts, ns. */
  intervalNs: number;
  /** Frame count threshold ('timer-frames'), 0 = none. */
  readonly frames: number;
  /** Delay from the first frame ('timer-frames'), ns. */
  readonly timerNs: number;

  // ixgbe adaptive state.
  private qItr = IXGBE_20K_ITR;
  private readonly rx: RingContainer = { itr: IXGBE_ITR_ADAPTIVE_MAX_USECS | IXGBE_ITR_ADAPTIVE_LATENCY, nextUpdate: 0, totalPackets: 0, totalBytes: 0 };
  private readonly tx: RingContainer = { itr: IXGBE_ITR_ADAPTIVE_MAX_USECS | IXGBE_ITR_ADAPTIVE_LATENCY, nextUpdate: 0, totalPackets: 0, totalBytes: 0 };

  // net_dim state.
  private dimProfile = 1; // UNVERIFIED: ICE_DIM_DEFAULT_PROFILE_IX
  private tune: TuneState = 'going-right';
  private stepsLeft = 0;
  private stepsRight = 0;
  private tired = 0;
  private prev: DimStats = { ppms: 0, bpms: 0, epms: 0 };
  private sampleStart = { t: 0, events: 0, packets: 0, bytes: 0 };
  private events = 0;
  private packets = 0;
  private bytes = 0;
  private intrlNs = 0;

  /** Number of times the interval was changed by the adaptive algorithm. */
  updates = 0;

  constructor(
    readonly kind: ModerationKind,
    readonly adaptive: boolean,
    rxUsecs: number,
    rxFrames: number,
  ) {
    this.frames = kind === 'timer-frames' ? rxFrames : 0;
    this.timerNs = kind === 'timer-frames' ? rxUsecs * 1000 : 0;
    if (kind === 'eitr') {
      this.qItr = adaptive ? IXGBE_20K_ITR : rxUsecs << 2;
      this.intervalNs = eitrNs(this.qItr);
    } else if (kind === 'ice-itr') {
      this.intervalNs = rxUsecs * 1000;
    } else {
      this.intervalNs = 0;
    }
  }

  /** The earliest time an interrupt may fire after one fired at `lastFire`. */
  earliestAfter(lastFire: number): number {
    return lastFire + Math.max(this.intervalNs, this.intrlNs);
  }

  /** Frames and bytes cleaned by a poll (ring container totals / DIM sample counters). */
  countCleaned(packets: number, bytes: number): void {
    this.rx.totalPackets += packets;
    this.rx.totalBytes += bytes;
    this.packets += packets;
    this.bytes += bytes;
  }

  /** An interrupt fired (DIM counts events). */
  countInterrupt(): void {
    this.events++;
  }

  /**
   * After napi_complete_done() returned true: ixgbe_set_itr() (adaptive ixgbe) or ice's
   * ice_net_dim() (adaptive ice). `jiffies` and `now` (ns) give the sampling times.
   */
  afterCompletion(jiffies: number, now: number, linkGbps: number): void {
    if (!this.adaptive) return;
    if (this.kind === 'eitr') this.ixgbeSetItr(jiffies, linkGbps);
    else if (this.kind === 'ice-itr') this.netDim(now);
  }

  // ---- ixgbe (ixgbe_main.c) ----

  private ixgbeSetItr(jiffies: number, linkGbps: number): void {
    this.ixgbeUpdateItr(this.tx, jiffies, linkGbps);
    this.ixgbeUpdateItr(this.rx, jiffies, linkGbps);
    const newItr = (Math.min(this.rx.itr, this.tx.itr) & ~IXGBE_ITR_ADAPTIVE_LATENCY) << 2;
    if (newItr !== this.qItr) {
      this.qItr = newItr;
      this.intervalNs = eitrNs(newItr);
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

  // ---- net_dim (lib/dim/net_dim.c), as used by ice ----

  private netDim(now: number): void {
    const nevents = this.events - this.sampleStart.events;
    if (nevents < DIM_NEVENTS) return;
    const deltaUs = Math.floor((now - this.sampleStart.t) / US);
    if (deltaUs > 0) {
      // dim_calc_stats: per-millisecond rates, rounded up.
      const curr: DimStats = {
        ppms: Math.ceil(((this.packets - this.sampleStart.packets) * 1000) / deltaUs),
        bpms: Math.ceil(((this.bytes - this.sampleStart.bytes) * 1000) / deltaUs),
        epms: Math.ceil((DIM_NEVENTS * 1000) / deltaUs),
      };
      if (this.dimDecision(curr)) {
        const [itr, intrl] = ICE_RX_PROFILE[this.dimProfile]!;
        this.intervalNs = itr * 1000;
        this.intrlNs = intrl * 1000;
        this.updates++;
      }
    }
    this.sampleStart = { t: now, events: this.events, packets: this.packets, bytes: this.bytes };
  }

  private dimDecision(curr: DimStats): boolean {
    const prevState = this.tune;
    const prevIx = this.dimProfile;
    if (this.tune === 'parking-on-top') {
      if (compareStats(curr, this.prev) !== 0) this.exitParking();
    } else if (this.tune === 'parking-tired') {
      if (--this.tired === 0) this.exitParking();
    } else {
      if (compareStats(curr, this.prev) !== 1) this.turn();
      if (this.onTop()) this.parkOnTop();
      else {
        const r = this.step();
        if (r === 'edge') this.parkOnTop();
        else if (r === 'tired') this.parkTired();
      }
    }
    if (prevState !== 'parking-on-top' || this.tune !== 'parking-on-top') this.prev = curr;
    return this.dimProfile !== prevIx;
  }

  private step(): 'stepped' | 'edge' | 'tired' {
    if (this.tired === NUM_PROFILES * 2) return 'tired';
    if (this.tune === 'going-right') {
      if (this.dimProfile === NUM_PROFILES - 1) return 'edge';
      this.dimProfile++;
      this.stepsRight++;
    } else if (this.tune === 'going-left') {
      if (this.dimProfile === 0) return 'edge';
      this.dimProfile--;
      this.stepsLeft++;
    }
    this.tired++;
    return 'stepped';
  }

  private exitParking(): void {
    this.tune = this.dimProfile > 0 ? 'going-left' : 'going-right';
    this.step();
  }

  private turn(): void {
    if (this.tune === 'going-right') {
      this.tune = 'going-left';
      this.stepsLeft = 0;
    } else if (this.tune === 'going-left') {
      this.tune = 'going-right';
      this.stepsRight = 0;
    }
  }

  private onTop(): boolean {
    if (this.tune === 'going-right') return this.stepsLeft > 1 && this.stepsRight === 1;
    if (this.tune === 'going-left') return this.stepsRight > 1 && this.stepsLeft === 1;
    return true;
  }

  private parkOnTop(): void {
    this.stepsRight = 0;
    this.stepsLeft = 0;
    this.tired = 0;
    this.tune = 'parking-on-top';
  }

  private parkTired(): void {
    this.stepsRight = 0;
    this.stepsLeft = 0;
    this.tune = 'parking-tired';
  }
}

/** EITR interval in ns from q_vector->itr (µs << 2, masked with IXGBE_MAX_EITR). */
function eitrNs(qItr: number): number {
  return ((qItr & IXGBE_MAX_EITR) >> 2) * 1000;
}

/** IS_SIGNIFICANT_DIFF: more than 10 % apart. */
function significant(val: number, ref: number): boolean {
  return ref !== 0 && (100 * Math.abs(val - ref)) / ref > 10;
}

/** net_dim_stats_compare(): 1 better, -1 worse, 0 same (bytes, then packets, then fewer events). */
function compareStats(curr: DimStats, prev: DimStats): number {
  if (!prev.bpms) return curr.bpms ? 1 : 0;
  if (significant(curr.bpms, prev.bpms)) return curr.bpms > prev.bpms ? 1 : -1;
  if (!prev.ppms) return curr.ppms ? 1 : 0;
  if (significant(curr.ppms, prev.ppms)) return curr.ppms > prev.ppms ? 1 : -1;
  if (!prev.epms) return 0;
  if (significant(curr.epms, prev.epms)) return curr.epms < prev.epms ? 1 : -1;
  return 0;
}
