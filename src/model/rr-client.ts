import { PS_PER_NS } from '../engine/time.ts';
import { Histogram } from '../metrics/histogram.ts';
import type { ResolvedFlow } from '../scenario/resolve.ts';
import type { FrameSource } from './wire.ts';

/**
 * The client side of a request/response flow (netperf UDP_RR-like): a closed loop with
 * `concurrency` transactions in flight. A request goes on the wire; the rr-server reads it,
 * serves it and sends the response; the client has it half an RTT later and sends the next
 * request at once, which reaches the wire after the other half (the RTT is all propagation, so
 * the next request is due `rtt` after the response left the server). Transaction latency as
 * the client sees it: from sending the request to receiving its response.
 *
 * Responses come back in the order the server reads the requests, which is the order they were
 * sent (one socket, FIFO), so the oldest request in flight is the one answered.
 */
export class RrClient implements FrameSource {
  nextPs = Infinity;
  nextSize: number;
  nextTuple = 0;
  /** Send times (ps) of requests waiting to go on the wire, ascending. */
  private readonly due: number[] = [];
  /** Wire start times (ps) of the requests in flight, oldest first. */
  private readonly inFlight: number[] = [];
  private readonly stopPs: number;
  readonly latency = new Histogram();
  /** Transactions completed inside the measurement window. */
  transactions = 0;

  constructor(
    readonly flow: ResolvedFlow,
    /** The wire re-sorts this source (its time moved earlier) and idle vectors look again. */
    private readonly wake: (s: RrClient) => void,
  ) {
    this.nextSize = flow.sizes[0]!.size;
    this.stopPs = flow.stopNs * 1000;
    for (let i = 0; i < flow.rr!.concurrency; i++) this.due.push(flow.startNs * 1000);
    this.nextPs = this.due[0]!;
  }

  /** The request was put on the wire at `startPs`. */
  advance(startPs: number): void {
    this.due.shift();
    this.inFlight.push(startPs);
    this.nextPs = this.due.length > 0 && this.due[0]! < this.stopPs ? this.due[0]! : Infinity;
  }

  /** The server sent the response to the oldest request at `atNs`; `counted` once the window has started. */
  respond(atNs: number, counted: boolean): void {
    const sentPs = this.inFlight.shift();
    if (sentPs === undefined) return;
    const rttNs = this.flow.rttNs;
    if (counted) {
      this.transactions++;
      this.latency.record(atNs + rttNs - sentPs / PS_PER_NS);
    }
    const next = (atNs + rttNs) * 1000;
    if (next >= this.stopPs) return;
    let i = this.due.length;
    while (i > 0 && this.due[i - 1]! > next) i--;
    this.due.splice(i, 0, next);
    const wasIdle = this.nextPs === Infinity;
    this.nextPs = this.due[0]!;
    if (wasIdle) this.wake(this);
  }
}
