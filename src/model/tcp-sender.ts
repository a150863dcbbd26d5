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
 * Loss recovery is simplified: a duplicate ACK reporting an out-of-order hole (SACK) makes the
 * sender retransmit the segment at snd_una, at most once per RTT, halving cwnd (Reno-style, not
 * CUBIC); if no ACK arrives for an RTO (200 ms, TCP_RTO_MIN), it retransmits from snd_una with
 * cwnd = 1 MSS.
 */

/** Ethernet (14) + IPv4 (20) + TCP with timestamps (32) + FCS (4). */
export const TCP_FRAME_OVERHEAD = 70;
/** TCP_RTO_MIN. */
const RTO_NS = 200_000_000;
/** TCP_INIT_CWND. */
const INIT_CWND_SEGS = 10;
/** The window a receiver advertises before its first ACK (a 64 KB SYN window). */
const INITIAL_RWND = 65535;

interface PendingAck {
  at: number;
  ack: number;
  win: number;
  hole: boolean;
}

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
  private lastAckPs = 0;
  private lastSendPs: number;
  private rtoArmed = false;
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
    this.lastSendPs = flow.startNs * 1000;
    this.computeNext(this.lastSendPs);
  }

  /** Payload length of the segment starting at `seq` (writes are cut into MSS-sized segments). */
  private segmentLen(seq: number): number {
    const intoWrite = seq % this.writeSize;
    return Math.min(this.mss, this.writeSize - intoWrite);
  }

  /** An ACK left the receiver at `at` (ns); it reaches us one RTT later. */
  ack(at: number, ackSeq: number, window: number, hole: boolean): void {
    this.acks.push({ at: at + this.rttNs, ack: ackSeq, win: window, hole });
    if (this.nextPs === Infinity) {
      this.computeNext(this.lastSendPs);
      if (this.nextPs !== Infinity) this.wake(this);
    }
  }

  /** The RTO timer fired: retransmit from snd_una with a window of one segment. */
  onRto(nowNs: number): void {
    if (this.sndUna >= this.sndNxt) return;
    this.rtos++;
    this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
    this.cwnd = this.mss;
    this.retransmitDue = true;
    this.lastRetransmitPs = -Infinity;
    const wasBlocked = this.nextPs === Infinity;
    this.computeNext(Math.max(this.lastSendPs, nowNs * 1000));
    if (wasBlocked && this.nextPs !== Infinity) this.wake(this);
  }

  /** The offered frame was put on the wire at `startPs`. */
  advance(startPs: number): void {
    this.segments++;
    this.lastSendPs = startPs;
    if (this.nextIsRetransmit) {
      this.retransmits++;
      this.retransmitDue = false;
      this.lastRetransmitPs = startPs;
    } else {
      this.sndNxt = this.nextSeq + this.nextPayload;
    }
    this.computeNext(startPs);
  }

  /** Apply the ACKs that have arrived by `ps`. */
  private applyAcks(ps: number): void {
    while (this.acks.length > 0 && this.acks[0]!.at * 1000 <= ps) this.applyAck(this.acks.shift()!, ps);
  }

  private applyAck(a: PendingAck, ps: number): void {
    this.lastAckPs = a.at * 1000;
    this.rwnd = a.win;
    if (a.ack > this.sndUna) {
      const acked = a.ack - this.sndUna;
      this.sndUna = a.ack;
      if (this.cwnd < this.ssthresh) this.cwnd += acked;
      else this.cwnd += (this.mss * acked) / this.cwnd;
      if (this.sndNxt < this.sndUna) this.sndNxt = this.sndUna;
    } else if (a.hole && this.sndUna < this.sndNxt && ps - this.lastRetransmitPs >= this.rttNs * 1000) {
      // A duplicate ACK with a hole: retransmit the first missing segment, once per RTT.
      this.retransmitDue = true;
      this.ssthresh = Math.max(this.cwnd / 2, 2 * this.mss);
      this.cwnd = this.ssthresh;
    }
  }

  /** Find the next frame this sender may send at or after `fromPs`, or block (Infinity). */
  private computeNext(fromPs: number): void {
    this.applyAcks(fromPs);
    const stopPs = this.flow.stopNs * 1000;
    let t = Math.max(fromPs, this.flow.startNs * 1000);
    const pace = this.paceAfter();
    if (pace > t) t = pace;
    if (t >= stopPs) {
      this.block(Infinity);
      return;
    }
    if (this.retransmitDue) return this.offer(t, this.sndUna, true);
    if (this.canSend(this.sndUna, this.rwnd, this.cwnd)) return this.offer(t, this.sndNxt, false);
    // Window closed: find the first pending ACK after which it opens (the ACK is applied for
    // real when the frame is sent).
    let una = this.sndUna;
    let rwnd = this.rwnd;
    let cwnd = this.cwnd;
    for (const a of this.acks) {
      if (a.ack > una) {
        const acked = a.ack - una;
        una = a.ack;
        cwnd += cwnd < this.ssthresh ? acked : (this.mss * acked) / cwnd;
      }
      rwnd = a.win;
      if (this.canSend(una, rwnd, cwnd) || (a.hole && a.ack === una)) {
        const at = Math.max(t, a.at * 1000);
        if (at < stopPs) return this.offer(at, this.sndNxt, false);
        break;
      }
    }
    this.block(this.sndUna < this.sndNxt ? this.lastAckPs / 1000 + RTO_NS : Infinity);
  }

  private canSend(una: number, rwnd: number, cwnd: number): boolean {
    const len = this.segmentLen(this.sndNxt);
    return this.sndNxt + len - una <= Math.min(rwnd, cwnd);
  }

  /** With a rate below line rate (iperf3 -b), frames are spaced by the rate. */
  private paceAfter(): number {
    const r = this.flow.rate;
    if (r.kind === 'line' || this.segments === 0) return 0;
    const bits = r.kind === 'bits' ? r.bitsPerSec : r.perSec * (this.nextSize + 20) * 8;
    if (bits >= this.linkGbps * 1e9) return 0;
    return this.lastSendPs + Math.round(((this.nextSize + 20) * 8 * 1e12) / bits);
  }

  private offer(atPs: number, seq: number, retransmit: boolean): void {
    this.nextPs = atPs;
    this.nextSeq = seq;
    this.nextPayload = this.segmentLen(seq);
    this.nextPsh = (seq + this.nextPayload) % this.writeSize === 0;
    this.nextSize = this.nextPayload + this.overhead;
    this.nextTsval = Math.floor(atPs / 1e9);
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
