import type { EventKind, Simulator, Timer } from '../../engine/simulator.ts';
import { NIL } from '../packet.ts';
import type { Moderation } from './moderation.ts';
import type { RxQueue, WritebackListener } from './rx-queue.ts';

/** What a vector needs from the rest of the machine. */
export interface VectorHost {
  now(): number;
  /**
   * Generate wire arrivals so that `queue` has its next frame (or up to `horizon`) and say when
   * to look: the frame's arrival if it exists now (queue.arrivals is not empty); else the time
   * generation had to stop at (a sender that waits out its RTT may still send before `horizon`),
   * at most `horizon`; Infinity once every source is exhausted.
   */
  nextArrival(queue: RxQueue, horizon: number): number;
  /** The interrupt asserts: deliver it to the vector's CPU. */
  raise(vector: MsixVector): void;
}

/** How far ahead a waiting vector looks for its next frame before checking again (ns). */
const WATCH_HORIZON = 100_000;

/**
 * One MSI-X vector serving one queue pair (ixgbe "TxRx", ice "TxRx"): the RX queue's descriptor
 * write-backs and the TX ring's completions set the same interrupt cause.
 *
 * The interrupt cause (EICR bit) latches on every descriptor write-back. When the vector is
 * enabled and a cause is latched, it fires as soon as moderation allows; firing auto-masks it
 * (EIAM) and clears the cause (EIAC), so write-backs during the NAPI poll only latch a new cause.
 * The driver re-enables it (EIMS write in ixgbe_irq_enable_queues) after napi_complete_done()
 * returns true; a cause latched meanwhile then fires at once (moderation permitting) — the
 * "re-arm" interrupt that arrives with little or no work.
 *
 * No event per frame: while enabled with nothing latched, the vector watches for the queue's
 * next frame arrival and looks at the ring only then.
 */
export class MsixVector implements WritebackListener {
  masked = false;
  lastFire = -Infinity;
  /**
   * When the latched cause was set (a write-back completed while masked), or Infinity. A
   * write-back can complete after the interrupt that its frame's landing asked for (the DMA was
   * still running): its cause then latches anew, at its own time.
   */
  causeAt = Infinity;
  /** Write-backs reported while enabled (completion times, non-decreasing), not yet covered by an interrupt. */
  private readonly reported: number[] = [];
  /** TX completions reported while enabled, likewise. */
  private readonly reportedTx: number[] = [];
  /**
   * Write-backs reported while masked that complete in the future (frames a poll's clean loop
   * landed ahead of the clock): the interrupt fired at unmask clears the cause only for those
   * done by then; the others set it again when they complete.
   */
  private readonly maskedInFlight: number[] = [];
  /** The same for TX completions. */
  private readonly maskedInFlightTx: number[] = [];
  /** The earliest latched cause is a TX completion (ice: it waits for the TX ITR). */
  private causeTx = false;
  /** Frames written back since the last interrupt ('timer-frames' count). */
  private framesSinceFire = 0;
  queue!: RxQueue;
  interrupts = 0;

  constructor(
    readonly index: number,
    readonly moderation: Moderation,
    private readonly host: VectorHost,
    private readonly fireTimer: Timer,
    private readonly watchTimer: Timer,
  ) {}

  get causeLatched(): boolean {
    return this.causeAt !== Infinity;
  }

  /** A descriptor write-back completes at `ready` (called in time order as the ring advances). */
  onWriteback(ready: number): void {
    this.cause(ready, false);
  }

  /**
   * A TX completion is written back at `ready` (known when the frame was posted): the TX ring of
   * the pair is mapped to the same vector (ixgbe_set_ivar / ice_cfg_txq_interrupt), so it sets
   * the same interrupt cause; ice moderates it with the TX ITR.
   */
  onTxCompletion(ready: number): void {
    this.cause(ready, true);
  }

  private cause(ready: number, tx: boolean): void {
    if (ready <= this.lastFire) return; // its cause was cleared by that interrupt
    if (this.masked) {
      if (ready < this.causeAt) {
        this.causeAt = ready;
        this.causeTx = tx;
      }
      const now = this.host.now();
      if (ready > now) {
        // Entries complete in order; those already done are dropped now and then (bounded list).
        const list = tx ? this.maskedInFlightTx : this.maskedInFlight;
        if (list.length >= 256 && list[0]! <= now) {
          let keep = 0;
          for (const t of list) if (t > now) list[keep++] = t;
          list.length = keep;
        }
        list.push(ready);
      }
      return;
    }
    (tx ? this.reportedTx : this.reported).push(ready);
    const m = this.moderation;
    if (m.kind === 'timer-frames') {
      // rx-frames counts received frames; a TX completion only starts the timer.
      if (tx) {
        if (this.framesSinceFire === 0) this.fireTimer.armNoLaterThan(Math.max(ready + m.timerNs, this.host.now()));
        return;
      }
      if (this.framesSinceFire++ === 0) this.fireTimer.armNoLaterThan(Math.max(ready + m.timerNs, this.host.now()));
      if (m.frames > 0 && this.framesSinceFire >= m.frames) this.fireTimer.armNoLaterThan(Math.max(ready, this.host.now()));
      return;
    }
    this.fireTimer.armNoLaterThan(Math.max(ready, m.earliestAfter(this.lastFire, tx), this.host.now()));
  }

  /**
   * A software-triggered interrupt (ixgbe_irq_rearm_queues: a write to EICS; ice_trigger_sw_intr):
   * the cause set now, subject to moderation like any other; latched while the vector is masked.
   */
  softwareInterrupt(): void {
    this.cause(this.host.now(), false);
  }

  /** The moderation delay has passed: assert the interrupt (auto-mask, auto-clear the causes so far). */
  fire(): void {
    if (this.masked) return;
    const now = this.host.now();
    // Write-backs still in flight when the interrupt asserts set their cause again when they
    // complete (RX write-backs and TX completions each come in time order).
    let later = Infinity;
    for (const t of this.reported) {
      if (t > now) {
        later = t;
        break;
      }
    }
    // Every TX completion still to come sets the cause again when written back (known at post
    // time, they can lie well ahead).
    let laterTx = Infinity;
    for (const t of this.reportedTx) {
      if (t > now) {
        if (laterTx === Infinity) laterTx = t;
        this.maskedInFlightTx.push(t);
      }
    }
    this.reported.length = 0;
    this.reportedTx.length = 0;
    this.causeTx = laterTx < later;
    if (laterTx < later) later = laterTx;
    this.masked = true;
    this.causeAt = later;
    this.lastFire = now;
    this.framesSinceFire = 0;
    this.interrupts++;
    this.moderation.countInterrupt();
    this.watchTimer.cancel();
    this.host.raise(this);
  }

  /** The driver unmasks the vector (ixgbe_irq_enable_queues): a latched cause fires (moderation permitting). */
  enable(): void {
    const latched = this.causeAt;
    const now = this.host.now();
    this.masked = false;
    this.causeAt = Infinity;
    if (latched !== Infinity) this.cause(latched, this.causeTx);
    for (const t of this.maskedInFlight) if (t > latched && t > now) this.cause(t, false);
    for (const t of this.maskedInFlightTx) if (t > latched && t > now) this.cause(t, true);
    this.maskedInFlight.length = 0;
    this.maskedInFlightTx.length = 0;
    this.queue.advanceTo(now);
    this.settle();
  }

  /** Something may send again (a TCP window opened): an idle vector looks for its next frame. */
  poke(): void {
    if (!this.masked && !this.fireTimer.armed) this.settle();
  }

  /** The watch timer fired: a frame should have arrived; look at the ring. */
  onWatch(): void {
    this.queue.advanceTo(this.host.now());
    this.settle();
  }

  /**
   * Enabled with nothing scheduled yet: watch for the next frame. With a 'timer-frames' timer
   * running, look ahead frame by frame for the frame that reaches rx-frames first. The look-ahead
   * never passes the pending fire time: until the interrupt fires no poll can refill the ring,
   * so landing those frames early is exact, but frames after it would meet a stale ring.
   */
  private settle(): void {
    if (this.masked) return;
    const m = this.moderation;
    if (this.fireTimer.armed) {
      if (m.kind !== 'timer-frames' || m.frames === 0) return;
      while (this.framesSinceFire < m.frames && this.fireTimer.armed) {
        const fireAt = this.fireTimer.when;
        const next = this.host.nextArrival(this.queue, fireAt);
        if (next + this.queue.dmaLatency >= fireAt) return;
        if (this.queue.arrivals.head === NIL) {
          // Generation stopped short (a sender's window may open within its RTT): look again then.
          if (next > this.host.now()) this.watchTimer.arm(next);
          return;
        }
        this.queue.advanceTo(next);
      }
      return;
    }
    const now = this.host.now();
    const next = this.host.nextArrival(this.queue, now + WATCH_HORIZON);
    if (next === Infinity) this.watchTimer.cancel();
    else this.watchTimer.arm(Math.max(next, now));
  }
}

/**
 * The machine's MSI-X queue vectors, numbered across NICs, with their two event kinds: the
 * moderated interrupt firing and the watch for a queue's next frame.
 */
export class VectorTable {
  readonly all: MsixVector[] = [];
  private readonly fireEvent: EventKind;
  private readonly watchEvent: EventKind;

  constructor(private readonly sim: Simulator) {
    this.fireEvent = sim.on((v) => this.all[v]!.fire());
    this.watchEvent = sim.on((v) => this.all[v]!.onWatch());
  }

  /** A new vector for queue `index` of a device. */
  create(index: number, moderation: Moderation, host: VectorHost): MsixVector {
    const vi = this.all.length;
    const v = new MsixVector(index, moderation, host, this.sim.timer(this.fireEvent, vi), this.sim.timer(this.watchEvent, vi));
    this.all.push(v);
    return v;
  }

  /** Start every vector watching for its first frame. */
  enableAll(): void {
    for (const v of this.all) v.enable();
  }
}
