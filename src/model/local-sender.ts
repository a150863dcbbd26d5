import type { ResolvedFlow } from '../scenario/resolve.ts';
import type { AckSink } from './socket.ts';
import type { Task } from './task.ts';

/**
 * The sending end of a TCP connection between two network namespaces of this host, over a veth
 * pair (a flow with path "veth-local"; its writer is a stream-writer task, app/stream-writer.ts).
 *
 * There is no wire and no propagation delay: an ACK reaches this side as soon as the receiver
 * sends it (its processing cost is charged where it is sent: Stack.ackCost). The sender may
 * have at most min(receive window, tcp_wmem[2]) unacknowledged bytes in flight; veth offers TSO,
 * so tcp_sendmsg builds GSO skbs of up to 64 KB that cross the pair unsegmented. The writer
 * sleeps in sk_stream_wait_memory when the window is full and is woken (sk_write_space) once
 * an ACK frees a third of it.
 *
 * Loss is rare here (only a full backlog drops), so recovery is go-back-N: a duplicate ACK that
 * reports a hole, or an RTO (TCP_RTO_MIN 200 ms) without progress, rewinds snd_nxt to snd_una.
 */

/** tcp_wmem[2]: the largest send buffer autotuning reaches (4 MB). */
export const SNDBUF_MAX = 4 * 1024 * 1024;
/** GSO_MAX_SIZE 65536 minus the headers: the payload of one TSO skb, rounded to whole segments by the writer. */
export const GSO_MAX_PAYLOAD = 65536 - 66;
const RTO_NS = 200_000_000;

export class LocalTcpSender implements AckSink {
  sndUna = 0;
  sndNxt = 0;
  /** The highest sequence sent so far (bytes below it sent again are retransmissions). */
  sndMax = 0;
  rwnd = 65535;
  /** The writer sleeping for send space, if any. */
  waiter: Task | null = null;
  /** Recovering: rewound after a hole or an RTO, until snd_una passes this. */
  private recoverTo = -1;
  /** A RST arrived (tcp_reset → tcp_done): the connection is closed and sends nothing more. */
  closed = false;
  retransmits = 0;
  rtos = 0;

  constructor(
    readonly flow: ResolvedFlow,
    readonly mss: number,
    /** Wake the writer (sk_write_space). */
    private readonly wake: (task: Task) => void,
    /** Arm the RTO timer at an absolute time (ns), Infinity to cancel. */
    private readonly armRto: (atNs: number) => void,
  ) {}

  /** Bytes the window and the send buffer still allow. */
  room(): number {
    return Math.min(this.rwnd, SNDBUF_MAX) - (this.sndNxt - this.sndUna);
  }

  /** The bytes of the next skb: whole segments up to a GSO skb, the window and what is left of the write. */
  nextSkbBytes(left: number): number {
    if (this.closed) return 0;
    const cap = Math.min(this.room(), Math.floor(GSO_MAX_PAYLOAD / this.mss) * this.mss);
    if (cap < Math.min(left, this.mss)) return 0;
    return left <= cap ? left : cap - (cap % this.mss);
  }

  /** tcp_transmit_skb of `bytes` at snd_nxt at time `now` (ns). */
  transmit(bytes: number, now: number): void {
    const end = this.sndNxt + bytes;
    if (this.sndNxt < this.sndMax) this.retransmits += Math.ceil((Math.min(end, this.sndMax) - this.sndNxt) / this.mss);
    if (this.sndUna === this.sndNxt) this.armRto(now + RTO_NS);
    this.sndNxt = end;
    if (end > this.sndMax) this.sndMax = end;
  }

  ack(at: number, ackSeq: number, window: number, sack: readonly number[] | null): void {
    const hole = sack !== null;
    if (ackSeq > this.sndUna) {
      this.sndUna = ackSeq;
      this.armRto(this.sndUna < this.sndNxt ? at + RTO_NS : Infinity);
      if (this.recoverTo >= 0 && ackSeq >= this.recoverTo) this.recoverTo = -1;
    } else if (hole && this.recoverTo < 0 && this.sndUna < this.sndNxt) {
      this.rewind();
    }
    this.rwnd = window;
    const w = this.waiter;
    if (w && this.room() >= Math.max(this.mss, Math.min(this.rwnd, SNDBUF_MAX) / 3)) {
      this.waiter = null;
      this.wake(w);
    }
  }

  /**
   * The receiving namespace answered with a RST (no socket there; over veth it is processed at
   * once): tcp_reset → tcp_done, the writer's next write fails and it writes no more.
   */
  reset(_atNs: number): void {
    if (this.closed) return;
    this.closed = true;
    this.armRto(Infinity);
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      this.wake(w);
    }
  }

  /** The RTO expired with data outstanding: go back to snd_una. */
  onRto(nowNs: number): void {
    if (this.closed || this.sndUna >= this.sndNxt) return;
    this.rtos++;
    this.rewind();
    this.armRto(nowNs + RTO_NS);
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      this.wake(w);
    }
  }

  private rewind(): void {
    this.recoverTo = this.sndMax;
    this.sndNxt = this.sndUna;
  }
}
