import { MS, PS_PER_NS, psToNsCeil } from '../engine/time.ts';
import type { ResolvedFlow } from '../scenario/resolve.ts';
import type { AckSink } from './socket.ts';
import type { FrameSource } from './wire.ts';

/**
 * The remote end of a TCP flow: an iperf3-like sender with an endless supply of data, written in
 * `writeSize` chunks. It is limited by the receiver's advertised window and its congestion window,
 * clocked by ACKs that come back one RTT after the receiver sends them (the whole RTT is on the
 * ACK path; data reaches the NIC as fast as the wire serialises it), and paced at most at line
 * rate by the wire (or at the flow's rate, like iperf3 -b).
 *
 * Segments are MSS-sized; the last segment of each write is short if the write is not a multiple
 * of the MSS and carries PSH (tcp_push). TSval advances once per millisecond (TCP_TS_HZ 1000), so
 * GRO cannot merge across a millisecond boundary.
 *
 * Loss recovery follows SACK (RFC 6675) with RACK's rule for what is lost, not CUBIC's window
 * arithmetic: an ACK with SACK blocks starts recovery (tcp_enter_recovery) — cwnd and ssthresh
 * halve and `high_seq` remembers snd_nxt. A hole is lost once DupThresh (3) segments' worth
 * above it are SACKed (RFC 6675 IsLost; RACK before any reordering is seen), so a flow whose
 * packets are briefly reordered (moved to another queue) does not retransmit; lost holes are
 * retransmitted in order (tcp_xmit_retransmit_queue) while the pipe — bytes in flight
 * neither SACKed nor lost — is below cwnd; new data follows under the same rule. A partial ACK
 * carries on; without SACK information a partial ACK retransmits snd_una (NewReno). A hole still
 * there an RTT after its retransmission is retransmitted again (the retransmission was lost). If
 * no ACK advances snd_una for an RTO (TCP_RTO_MIN 200 ms, doubled per expiry like icsk_backoff)
 * the sender retransmits snd_una with cwnd = 1 MSS and recovers the rest in slow start
 * (tcp_enter_loss). ACKs and head retransmissions restart the RTO (tcp_rearm_rto). PRR's pacing
 * of retransmissions within the RTT is not modelled: the pipe rule sends them as cwnd allows.
 */

/** Ethernet (14) + IPv4 (20) + TCP with timestamps (32) + FCS (4). */
export const TCP_FRAME_OVERHEAD = 70;
/** TCP_RTO_MIN. */
const RTO_NS = 200_000_000;
/** DupThresh (tp->reordering's initial value, TCP_FASTRETRANS_THRESH). */
const DUP_THRESH = 3;
/** TCP_INIT_CWND. */
const INIT_CWND_SEGS = 10;
/** The window a receiver advertises before its first ACK (a 64 KB SYN window). */
const INITIAL_RWND = 65535;

interface PendingAck {
  at: number;
  ack: number;
  win: number;
  sack: readonly number[] | null;
  /** A RST, not an ACK: the connection is reset when it arrives. */
  rst?: true;
}

const NO_SACK: readonly number[] = [];

export class TcpSender implements FrameSource, AckSink {
  nextPs = Infinity;
  nextSize: number;
  nextTuple = 0;
  /** The frame being offered: its sequence, payload, PSH flag and TSval. */
  nextSeq = 0;
  nextPayload = 0;
  nextPsh = false;
  nextTsval = 0;
  private nextIsRetransmit = false;

  sndUna = 0;
  sndNxt = 0;
  rwnd = INITIAL_RWND;
  cwnd: number;
  ssthresh = Infinity;
  private readonly acks: PendingAck[] = [];
  private retransmitDue = false;
  private lastRetransmitPs = -Infinity;
  /** When the RTO was last restarted (ps) and how often it has expired since (icsk_backoff). */
  private rtoStartPs = 0;
  private backoff = 0;
  /** snd_nxt when recovery started (tp->high_seq); -1 when not recovering. */
  private highSeq = -1;
  /** Recovery started by an RTO (TCP_CA_Loss): cwnd grows in slow start during it. */
  private lossState = false;
  /** When the current unrepaired hole was first reported (ps), -1 if none: RACK's reordering clock. */
  private reoStartPs = -1;
  /** The receiver's SACKed ranges (the scoreboard), flat [start, end, …] ascending. */
  private sacked: readonly number[] = NO_SACK;
  /** Holes below this were retransmitted in this recovery (tp->retransmit_high, in spirit). */
  private retxNext = 0;
  private lastSendPs: number;
  private readonly paced: boolean;
  /** The last send was held back by cwnd rather than by the receive window (tp->is_cwnd_limited). */
  private cwndLimited = false;
  /**
   * TCP_CHRONO_RWND_LIMITED (net/ipv4/tcp_output.c: tcp_write_xmit → tcp_chrono_start when
   * tcp_snd_wnd_test fails; tcp_chrono_stop when data goes out again): since when (ps) the sender
   * has data it may not send because the receive window is full, -1 when it is not; and the time
   * it spent so in the window (tcp_info.tcpi_rwnd_limited).
   */
  private rwndLimitedSincePs = -1;
  private rwndLimitedPs = 0;
  private readonly startPs: number;
  private readonly stopPs: number;
  /** The sender's state is as of this time (ps): ACKs up to it are applied, so it never sends earlier. */
  private clockPs = 0;
  private rtoArmed = false;
  /** A RST arrived (tcp_reset → tcp_done): the connection is closed and sends nothing more. */
  closed = false;
  segments = 0;
  retransmits = 0;
  rtos = 0;

  constructor(
    readonly flow: ResolvedFlow,
    readonly mss: number,
    private readonly overhead: number,
    private readonly writeSize: number,
    private readonly rttNs: number,
    private readonly linkGbps: number,
    /** The wire re-sorts this source (its time moved earlier) and idle vectors look again. */
    private readonly wake: (s: TcpSender) => void,
    /** Arm or cancel this sender's RTO timer at an absolute time (ns; Infinity = cancel). */
    private readonly armRto: (atNs: number) => void,
  ) {
    this.cwnd = INIT_CWND_SEGS * mss;
    this.nextSize = mss + overhead;
    this.paced = flow.rate.kind !== 'line';
    this.startPs = flow.startNs * 1000;
    this.stopPs = flow.stopNs * 1000;
    this.lastSendPs = flow.startNs * 1000;
    this.computeNext(this.lastSendPs);
  }

  /** Payload length of the segment starting at `seq` (writes are cut into MSS-sized segments). */
  private segmentLen(seq: number): number {
    const intoWrite = seq % this.writeSize;
    return Math.min(this.mss, this.writeSize - intoWrite);
  }

  /** An ACK left the receiver at `at` (ns); it reaches us one RTT later. */
  ack(at: number, ackSeq: number, window: number, sack: readonly number[] | null): void {
    this.acks.push({ at: at + this.rttNs, ack: ackSeq, win: window, sack });
    if (this.nextPs === Infinity) {
      this.computeNext(this.lastSendPs);
      if (this.nextPs !== Infinity) this.wake(this);
    }
  }

  /**
   * The receiver answered a segment with a RST (tcp_v4_send_reset: no socket there) at `at` (ns);
   * it reaches us one RTT later. Its sequence is the ACK number of the segment it answers, so it
   * is in the window: tcp_validate_incoming → tcp_reset → tcp_done, the application sees
   * ECONNRESET (ECONNREFUSED had the SYN been modelled) and sends nothing more.
   */
  reset(at: number): void {
    this.acks.push({ at: at + this.rttNs, ack: this.sndUna, win: this.rwnd, sack: null, rst: true });
    if (this.nextPs === Infinity) {
      this.computeNext(this.lastSendPs);
      if (this.nextPs !== Infinity) this.wake(this);
    }
  }

  /** The RTO timer fired (tcp_retransmit_timer): retransmit snd_una with a window of one MSS. */
  onRto(nowNs: number): void {
    this.rtoArmed = false;
    const nowPs = nowNs * 1000;
    this.applyAcks(nowPs);
    if (this.closed) return;
    // The timer may be stale: an ACK applied since it was armed restarted the RTO (1 ns slack
    // for the ps→ns rounding of the armed time).
    if (this.sndUna >= this.sndNxt || nowPs < this.rtoAtPs() - 1000) {
      this.computeNext(Math.max(this.lastSendPs, nowPs));
      if (this.nextPs !== Infinity) this.wake(this);
      return;
    }
    this.rtos++;
    this.backoff++;
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.mss;
    this.highSeq = this.sndNxt;
    this.lossState = true;
    this.retxNext = this.sndUna;
    this.retransmitDue = true;
    this.computeNext(Math.max(this.lastSendPs, nowPs));
    this.wake(this);
  }

  /** The offered frame was put on the wire at `startPs`. */
  advance(startPs: number): void {
    this.segments++;
    this.lastSendPs = startPs;
    if (this.nextIsRetransmit) {
      this.retransmits++;
      this.retransmitDue = false;
      this.lastRetransmitPs = startPs;
      this.rtoStartPs = startPs;
      this.retxNext = Math.max(this.retxNext, this.nextSeq + this.nextPayload);
    } else {
      if (this.sndUna === this.sndNxt) this.rtoStartPs = startPs;
      this.sndNxt = this.nextSeq + this.nextPayload;
    }
    this.computeNext(startPs);
  }

  /** Apply the ACKs that have arrived by `ps`. */
  private applyAcks(ps: number): void {
    while (this.acks.length > 0 && this.acks[0]!.at * 1000 <= ps) this.applyAck(this.acks.shift()!, ps);
  }

  private applyAck(a: PendingAck, ps: number): void {
    if (a.rst) {
      this.closed = true;
      return;
    }
    if (this.closed) return;
    this.rwnd = a.win;
    this.sacked = a.sack ?? NO_SACK;
    if (this.sacked.length === 0) this.reoStartPs = -1;
    if (a.ack > this.sndUna) {
      const acked = a.ack - this.sndUna;
      const inFlight = this.sndNxt - this.sndUna;
      this.sndUna = a.ack;
      this.rtoStartPs = a.at * 1000;
      this.backoff = 0;
      if (this.sndNxt < this.sndUna) this.sndNxt = this.sndUna;
      if (this.retxNext < this.sndUna) this.retxNext = this.sndUna;
      if (this.highSeq >= 0 && a.ack < this.highSeq) {
        // A partial ACK: recovery goes on. With no SACKed data to show the holes, the next
        // segment is missing too (NewReno, tcp_try_undo_partial). After an RTO (the Loss state)
        // cwnd grows in slow start meanwhile.
        if (this.sacked.length === 0) this.retransmitDue = true;
        if (this.lossState && this.cwnd < this.ssthresh) this.cwnd += acked;
        return;
      }
      this.highSeq = -1;
      this.lossState = false;
      // tcp_cong_avoid only while cwnd is what limits the sender (tcp_is_cwnd_limited): in slow
      // start while cwnd < 2 × what is in flight, later while the last send was cwnd-bound.
      // A flow held back by the receive window does not inflate cwnd.
      if (this.cwnd < this.ssthresh) {
        if (this.cwnd < 2 * inFlight) this.cwnd += acked;
      } else if (this.cwndLimited) {
        this.cwnd += (this.mss * acked) / this.cwnd;
      }
      // An advancing ACK may report holes above the new snd_una too.
      if (this.sacked.length > 0 && this.sndUna < this.sndNxt) this.sackLossCheck(ps, a.at * 1000);
    } else if (a.sack !== null && this.sndUna < this.sndNxt) {
      if (this.highSeq < 0) this.sackLossCheck(ps, a.at * 1000);
      else if (this.retxNext > this.sndUna && ps - this.lastRetransmitPs >= this.rttNs * 1000) {
        // The head is still missing an RTT after its retransmission: that was lost as well.
        this.retransmitDue = true;
      }
    }
  }

  /**
   * Outside recovery, with SACK blocks: a hole is lost once DupThresh (3) segments' worth above
   * it are SACKed (RFC 6675 IsLost), or once it has stayed a hole for an RTT and a quarter since
   * it was first reported (RACK's reordering window, min_rtt/4: tcp_rack_detect_loss and its
   * reorder timer) — a few segments overtaken by others are not a loss, a tail loss with too
   * little SACKed after it is found without waiting for the RTO.
   */
  private sackLossCheck(ps: number, reportedPs = ps): void {
    if (this.highSeq >= 0) return;
    if (this.reoStartPs < 0) this.reoStartPs = reportedPs;
    if (this.lostHole(this.sndUna) < 0 && ps < this.reoStartPs + this.reoWindowPs()) return;
    // Loss detected (tcp_enter_recovery): halve the window and repair the holes.
    this.highSeq = this.sndNxt;
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.retxNext = this.sndUna;
    this.reoStartPs = -1;
    // RFC 6675 (4.3): the first lost segment goes at once, whatever the pipe.
    this.retransmitDue = true;
  }

  /**
   * SACK recovery (not after an RTO) with retransmissions outstanding and SACKed data above
   * them: the evidence RACK needs to call a retransmission lost by time.
   */
  private rackRearmable(): boolean {
    return this.highSeq >= 0 && !this.lossState && this.sacked.length > 0 && this.retxNext > this.sndUna;
  }

  /** RTT + min_rtt/4: how long a hole may wait for reordered segments. */
  private reoWindowPs(): number {
    return Math.round(this.rttNs * 1000 * 1.25);
  }

  /** The next lost segment not yet retransmitted, at or after retxNext; -1 if none. */
  private nextHole(): number {
    return this.lostHole(Math.max(this.retxNext, this.sndUna));
  }

  /**
   * The first hole at or after `from` that is lost: not SACKed, with at least DupThresh (3)
   * segments' worth of SACKed bytes above it (RFC 6675 IsLost). -1 if none.
   */
  private lostHole(from: number): number {
    const sack = this.sacked;
    let seq = from;
    for (let i = 0; i < sack.length; i += 2) {
      if (seq < sack[i]!) {
        let above = 0;
        for (let j = i; j < sack.length; j += 2) above += sack[j + 1]! - sack[j]!;
        return above >= DUP_THRESH * this.mss ? seq : -1;
      }
      if (seq < sack[i + 1]!) seq = sack[i + 1]!;
    }
    return -1;
  }

  /** RFC 6675 pipe: bytes in flight that are neither SACKed nor lost-and-not-yet-retransmitted. */
  private pipe(): number {
    const sack = this.sacked;
    let sackedBytes = 0;
    let lostNotRetx = 0;
    let prevEnd = this.sndUna;
    for (let i = 0; i < sack.length; i += 2) {
      const start = Math.max(sack[i]!, this.sndUna);
      const end = Math.max(sack[i + 1]!, this.sndUna);
      sackedBytes += end - start;
      // The hole before this block, the part of it at or after retxNext.
      if (start > prevEnd) lostNotRetx += Math.max(0, start - Math.max(prevEnd, this.retxNext));
      prevEnd = Math.max(prevEnd, end);
    }
    return this.sndNxt - this.sndUna - sackedBytes - lostNotRetx;
  }

  /** When the RTO expires: icsk_rto (TCP_RTO_MIN here) doubled per expiry since the last ACK. */
  private rtoAtPs(): number {
    return this.rtoStartPs + RTO_NS * 1000 * 2 ** Math.min(this.backoff, 6);
  }

  /**
   * Find the next frame this sender may send at or after `fromPs`, or block. ACKs already queued
   * are applied at their arrival times as the search moves forward; ACKs queued later arrive
   * later still (each arrives one RTT after it left the receiver), so the decision stands.
   */
  private computeNext(fromPs: number): void {
    const stopPs = this.stopPs;
    let t = fromPs > this.clockPs ? fromPs : this.clockPs;
    if (t < this.startPs) t = this.startPs;
    if (this.paced) t = Math.max(t, this.paceAfter());
    for (;;) {
      this.applyAcks(t);
      this.clockPs = t;
      if (this.closed) return this.block(Infinity);
      // RACK's reorder timer: a reported hole that outlived the reordering window is lost.
      if (this.highSeq < 0 && this.reoStartPs >= 0 && this.sacked.length > 0 && t >= this.reoStartPs + this.reoWindowPs()) this.sackLossCheck(t);
      // In recovery, retransmissions still unacknowledged an RTT and a quarter after the last
      // one went out were lost as well (RACK marks by send time; TLP would probe for them):
      // mark every hole lost again instead of waiting for the RTO.
      if (this.rackRearmable() && t >= this.lastRetransmitPs + this.reoWindowPs()) {
        this.retxNext = this.sndUna;
        this.retransmitDue = true;
      }
      // After the stop time no new data, but lost data is still repaired.
      if (this.retransmitDue) return this.offer(t, this.sndUna, true);
      if (this.highSeq >= 0 && this.sacked.length > 0) {
        // SACK recovery: lost segments first, then new data, while the pipe is below cwnd.
        const pipe = this.pipe();
        const hole = this.nextHole();
        if (hole >= 0 && pipe + this.segmentLen(hole) <= this.cwnd) return this.offer(t, hole, true);
        if (hole < 0 && t < stopPs && pipe + this.segmentLen(this.sndNxt) <= this.cwnd) {
          if (this.sndNxt + this.segmentLen(this.sndNxt) - this.sndUna <= this.rwnd) return this.offer(t, this.sndNxt, false);
          this.rwndLimited();
        }
      } else if (t < stopPs && this.canSend(this.sndUna, this.rwnd, this.cwnd)) return this.offer(t, this.sndNxt, false);
      if (this.acks.length === 0) break;
      t = Math.max(t, this.acks[0]!.at * 1000);
    }
    // Wake at the RTO, or earlier when a reported hole's reordering window ends (the timer is
    // one: like icsk_retransmit_timer, it serves both, and a stale expiry only recomputes).
    const reo =
      this.highSeq < 0 && this.reoStartPs >= 0 && this.sacked.length > 0 ? this.reoStartPs + this.reoWindowPs() : this.rackRearmable() ? this.lastRetransmitPs + this.reoWindowPs() : Infinity;
    this.block(this.sndUna < this.sndNxt ? psToNsCeil(Math.min(this.rtoAtPs(), reo)) : Infinity);
  }

  private canSend(una: number, rwnd: number, cwnd: number): boolean {
    const end = this.sndNxt + this.segmentLen(this.sndNxt) - una;
    if (end <= rwnd && end <= cwnd) return true;
    this.cwndLimited = end > cwnd && end <= rwnd;
    if (end > rwnd) this.rwndLimited();
    return false;
  }

  /** tcp_chrono_start(sk, TCP_CHRONO_RWND_LIMITED), as of the sender's clock. */
  private rwndLimited(): void {
    if (this.rwndLimitedSincePs < 0) this.rwndLimitedSincePs = this.clockPs;
  }

  /** Start of the measurement window (ns): the chrono restarts, an open RWND_LIMITED interval from there. */
  resetChrono(nowNs: number): void {
    this.rwndLimitedPs = 0;
    if (this.rwndLimitedSincePs >= 0) this.rwndLimitedSincePs = Math.max(this.rwndLimitedSincePs, nowNs * 1000);
  }

  /** tcpi_rwnd_limited up to `endNs` (ns), an open interval included. */
  rwndLimitedNs(endNs: number): number {
    const open = this.rwndLimitedSincePs >= 0 ? Math.max(0, endNs * 1000 - this.rwndLimitedSincePs) : 0;
    return (this.rwndLimitedPs + open) / 1000;
  }

  /** With a rate below line rate (iperf3 -b), frames are spaced by the rate. */
  private paceAfter(): number {
    if (this.segments === 0) return 0;
    const r = this.flow.rate;
    const bits = r.kind === 'bits' ? r.bitsPerSec : r.kind === 'packets' ? r.perSec * (this.nextSize + 20) * 8 : Infinity;
    if (bits >= this.linkGbps * 1e9) return 0;
    return this.lastSendPs + Math.round(((this.nextSize + 20) * 8 * 1e12) / bits);
  }

  private offer(atPs: number, seq: number, retransmit: boolean): void {
    if (this.rwndLimitedSincePs >= 0) {
      // tcp_chrono_stop(sk, TCP_CHRONO_RWND_LIMITED): the window opened and data goes out again.
      this.rwndLimitedPs += Math.max(0, atPs - this.rwndLimitedSincePs);
      this.rwndLimitedSincePs = -1;
    }
    this.nextPs = atPs;
    this.nextSeq = seq;
    this.nextPayload = this.segmentLen(seq);
    this.nextPsh = (seq + this.nextPayload) % this.writeSize === 0;
    this.nextSize = this.nextPayload + this.overhead;
    this.nextTsval = Math.floor(atPs / (MS * PS_PER_NS)); // a millisecond TCP timestamp clock
    this.nextIsRetransmit = retransmit;
    if (this.rtoArmed) {
      this.rtoArmed = false;
      this.armRto(Infinity);
    }
  }

  private block(rtoAtNs: number): void {
    this.nextPs = Infinity;
    this.rtoArmed = rtoAtNs !== Infinity;
    this.armRto(rtoAtNs);
  }
}
