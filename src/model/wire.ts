import { psToNsCeil } from '../engine/time.ts';
import { RngStream } from '../engine/rng.ts';
import type { ResolvedFlow } from '../scenario/resolve.ts';

/**
 * The wire into one NIC. Each flow is a source of frames with desired send times; the wire
 * merges them in time order and serialises them at line rate. Every frame occupies the wire for
 * (size + 20) bytes: the frame including FCS plus 8 bytes of preamble/SFD and a 12-byte
 * inter-frame gap, so 64-byte frames at 10 Gbit/s arrive every 67.2 ns (14.88 Mpps) and
 * 1518-byte frames every 1230.4 ns (812,744 pps) (Brouer, "The calculations: 10Gbit/s
 * wirespeed"). Times are kept in integer picoseconds, so such rates are exact; a frame's
 * arrival at the NIC (its last bit) is rounded up to the next ns.
 *
 * Frames are generated lazily, only as far as someone looks (`generateUntil`), so a line-rate
 * flood costs no event per frame. When the flows together ask for more than the line rate,
 * frames queue upstream (the sending switch port); past `upstreamBufferBytes` of backlog they
 * are dropped there (counted as wire drops).
 *
 * 802.3x PAUSE: while the receiving NIC has paused its link partner (`pause`), the partner starts
 * no frame; its frames wait in the switch port's buffer, which does not drain meanwhile, and are
 * dropped there once the backlog ahead of them passes the buffer. A frame already on the wire
 * finishes. The end of a pause is unknown until the XON (`resume`): generation stops at the
 * pause and goes on once the end is known.
 */

/** Preamble + SFD (8) and inter-frame gap (12), in bytes. */
export const WIRE_OVERHEAD = 20;

/** A source of frames: open-loop traffic (this file) or a TCP sender (issue 4). */
export interface FrameSource {
  readonly flow: ResolvedFlow;
  /** Desired start time (ps) of the next frame, Infinity when done. */
  nextPs: number;
  /** Size of the next frame (bytes incl. FCS). */
  nextSize: number;
  /** Which of the flow's 5-tuples the next frame uses (0 unless the flow has port ranges). */
  nextTuple: number;
  /** The next frame went on the wire at `startPs` (or was dropped upstream): move on to the one after. */
  advance(startPs: number): void;
}

export class OpenLoopSource implements FrameSource {
  nextPs: number;
  nextSize: number;
  nextTuple = 0;
  private readonly stopPs: number;
  private readonly rng: RngStream;
  private inBurst = 0;
  private readonly cumWeights: number[];

  constructor(
    readonly flow: ResolvedFlow,
    private readonly linkGbps: number,
    seed: number,
  ) {
    this.rng = new RngStream(seed, `flow:${flow.name}`);
    let acc = 0;
    this.cumWeights = flow.sizes.map((s) => (acc += s.weight));
    this.stopPs = flow.stopNs * 1000;
    this.nextSize = this.drawSize();
    // Independent senders are not phase-locked: start at a random point of the first interval
    // (Poisson: a first exponential gap).
    const first = this.intervalPs(this.nextSize);
    this.nextPs = flow.startNs * 1000 + (flow.arrival === 'poisson' ? Math.round(this.rng.exponential(first)) : Math.floor(this.rng.uniform() * first));
    if (this.nextPs >= this.stopPs) this.nextPs = Infinity;
  }

  advance(_startPs: number): void {
    const f = this.flow;
    let gap = this.intervalPs(this.nextSize);
    if (f.arrival === 'poisson') gap = Math.round(this.rng.exponential(gap));
    else if (f.arrival === 'onoff' && ++this.inBurst >= f.burst) {
      this.inBurst = 0;
      gap += f.gapNs * 1000;
    }
    this.nextPs += Math.max(gap, 1);
    this.nextSize = this.drawSize();
    if (++this.nextTuple === f.tuples) this.nextTuple = 0;
    if (this.nextPs >= this.stopPs) this.nextPs = Infinity;
  }

  /** Time between frame starts at the flow's rate, for a frame of `size` bytes (ps); the last size's is kept (a pure function of it). */
  private intervalPs(size: number): number {
    if (size !== this.lastSize) {
      this.lastSize = size;
      this.lastIntervalPs = this.computeIntervalPs(size);
    }
    return this.lastIntervalPs;
  }
  private lastSize = -1;
  private lastIntervalPs = 0;

  private computeIntervalPs(size: number): number {
    const r = this.flow.rate;
    if (r.kind === 'packets') return Math.round(1e12 / r.perSec);
    const bps = r.kind === 'line' ? this.linkGbps * 1e9 : r.bitsPerSec;
    return Math.round(((size + WIRE_OVERHEAD) * 8 * 1e12) / bps);
  }

  private drawSize(): number {
    const sizes = this.flow.sizes;
    if (sizes.length === 1) return sizes[0]!.size;
    const u = this.rng.uniform();
    const i = this.cumWeights.findIndex((c) => u < c);
    return sizes[i < 0 ? sizes.length - 1 : i]!.size;
  }
}

/** Receives each frame as it reaches the NIC (arrival in ns), or learns that it was dropped upstream. */
export interface WireSink {
  frame(source: FrameSource, size: number, tuple: number, arrivalNs: number, desiredPs: number): void;
  upstreamDrop(source: FrameSource, size: number, desiredPs: number): void;
}

export class Wire {
  /** Sources in a binary min-heap by (nextPs, flow index). */
  private readonly heap: FrameSource[] = [];
  /** The wire is busy until this time (ps). */
  private busyPs = 0;
  /** Frames have been generated up to this arrival time (ns). */
  private generatedNs = 0;

  get generatedUntil(): number {
    return this.generatedNs;
  }
  /** The furthest time (ns) a receive queue has landed frames up to: no frame may arrive before it. */
  private observedNs = 0;
  private readonly maxQueuePs: number;
  /** The partner starts no frame from this time (ps) ... */
  private pauseFromPs = Infinity;
  /** ... until this time (Infinity: paused, end not yet known). */
  private pauseEndPs = Infinity;
  frames = 0;
  bits = 0;

  constructor(
    private readonly linkGbps: number,
    upstreamBufferBytes: number,
    private readonly sink: WireSink,
    /**
     * How far a search for the next arrival may generate: now + the smallest ACK delay of the
     * TCP senders on this wire (an ACK not yet sent could still open a window before that), or
     * Infinity with open-loop flows only.
     */
    private readonly horizon: () => number = () => Infinity,
    /** Each frame leaves up to this much after its desired time (variability.wire_jitter_ns), ps. */
    private readonly jitterPs = 0,
    /** Keys the jitter draws (the scenario seed). */
    private readonly seed = 0,
  ) {
    this.maxQueuePs = Math.round((upstreamBufferBytes * 8 * 1000) / linkGbps);
    this.jitterScale = jitterPs / 4294967296;
  }

  /**
   * The jitter of a flow's frame desired at `desiredPs`: uniform in [0, jitterPs), a pure function
   * of (seed, flow, desired time) — each frame of a source has its own desired time — so it is the
   * same however often the lazy generation looks at the frame, with no state to keep. Frames a
   * TCP sender schedules at one instant (a burst the window released) share theirs: the burst
   * leaves late together.
   */
  private jitter(flow: number, desiredPs: number): number {
    if (this.jitterPs === 0) return 0;
    const hi = Math.floor(desiredPs / 4294967296);
    return Math.floor(mix32(this.seed ^ Math.imul(hi, 0x9e3779b1), flow, desiredPs >>> 0) * this.jitterScale);
  }
  /** jitterPs / 2^32: a 32-bit hash to [0, jitterPs) (the same quotient as computed per frame before). */
  private readonly jitterScale: number;

  add(source: FrameSource): void {
    this.heap.push(source);
    this.siftUp(this.heap.length - 1);
  }

  private static before(a: FrameSource, b: FrameSource): boolean {
    return a.nextPs < b.nextPs || (a.nextPs === b.nextPs && a.flow.index < b.flow.index);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Wire.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** The root's time changed (it only grows): restore the heap. */
  private siftDownRoot(): void {
    const h = this.heap;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) return;
      const c = l + 1 < h.length && Wire.before(h[l + 1]!, h[l]!) ? l + 1 : l;
      if (!Wire.before(h[c]!, h[i]!)) return;
      [h[i], h[c]] = [h[c]!, h[i]!];
      i = c;
    }
  }

  /** Time on the wire of a frame (ps); the last size's is kept (flows mostly repeat a size). */
  wirePs(size: number): number {
    if (size !== this.lastSize) {
      this.lastSize = size;
      this.lastWirePs = Math.round(((size + WIRE_OVERHEAD) * 8 * 1000) / this.linkGbps);
    }
    return this.lastWirePs;
  }
  private lastSize = -1;
  private lastWirePs = 0;

  /** The next source to send: earliest desired time, ties by flow order. */
  private pick(): FrameSource | null {
    const top = this.heap[0];
    return top && top.nextPs !== Infinity ? top : null;
  }

  /** A source's time may have moved earlier (a TCP window opened): restore the heap. */
  reschedule(source: FrameSource): void {
    this.siftUp(this.heap.indexOf(source));
  }

  /**
   * A PAUSE frame (XOFF) takes effect at `fromPs`: the partner starts no frame from then until
   * `resume`. A frame generated before the pause was known keeps its time (it is on the wire).
   */
  pause(fromPs: number): void {
    if (this.paused) return;
    this.pauseFromPs = fromPs;
    this.pauseEndPs = Infinity;
  }

  /** An XON (or the pause timer) ends the pause at `atPs`: frames held by the partner start then. */
  resume(atPs: number): void {
    if (this.paused) this.pauseEndPs = Math.max(atPs, this.pauseFromPs);
  }

  /** Paused with the end not yet known. */
  get paused(): boolean {
    return this.pauseFromPs !== Infinity && this.pauseEndPs === Infinity;
  }

  /** How long of [fromPs, toPs) the partner was paused (the backlog did not drain then). */
  private pausedWithin(fromPs: number, toPs: number): number {
    if (this.pauseFromPs === Infinity) return 0; // never paused (what the expression below gives then)
    return Math.max(0, Math.min(toPs, this.pauseEndPs) - Math.max(fromPs, this.pauseFromPs));
  }

  /** True when no source will send again. */
  get exhausted(): boolean {
    return this.pick() === null;
  }

  /**
   * Generate every frame arriving at the NIC by `tNs`. Returns false when the sources are
   * exhausted. `stopWhen` lets a caller stop as soon as a frame it waits for was generated.
   */
  generateUntil(wantNs: number, stopWhen?: () => boolean): boolean {
    // A receive queue landing frames up to `wantNs` needs every frame up to it; a search for
    // the next arrival stops at the horizon.
    const floorPs = this.observedNs * 1000;
    if (!stopWhen && wantNs > this.observedNs) this.observedNs = wantNs;
    const tNs = stopWhen ? Math.min(wantNs, Math.max(this.horizon(), this.observedNs)) : wantNs;
    if (tNs <= this.generatedNs && !stopWhen) return true;
    const limitPs = tNs * 1000;
    for (;;) {
      const s = this.pick();
      if (!s) return false;
      const desired = s.nextPs;
      const size = s.nextSize;
      const tuple = s.nextTuple;
      const wire = this.wirePs(size);
      const jitter = this.jitter(s.flow.index, desired);
      // A frame cannot arrive in a past a receive queue has already seen. That only happens when
      // a CPU looked further ahead than the ACK delay (one chunk of a whole-ring legacy clean
      // longer than the RTT) and an ACK then opened a window: the frame leaves late.
      let start = Math.max(desired + jitter, this.busyPs, floorPs - wire);
      if (start >= this.pauseFromPs) {
        // 802.3x: the partner is paused. Until the XON says when it ends, nothing more is sent.
        if (this.pauseEndPs === Infinity) {
          this.generatedNs = Math.max(this.generatedNs, Math.min(tNs, Math.floor(this.pauseFromPs / 1000)));
          return false;
        }
        if (start < this.pauseEndPs) start = this.pauseEndPs;
      }
      // Decide the upstream drop first: it depends only on the frames ahead (the wait beyond
      // the time the partner was paused), and a dropped frame must not stop generation (the
      // next frame may fit before the limit).
      if (start - desired - this.pausedWithin(desired, start) > this.maxQueuePs) {
        this.sink.upstreamDrop(s, size, desired);
        s.advance(desired);
        this.siftDownRoot();
        continue;
      }
      const end = start + wire;
      if (end > limitPs) {
        this.generatedNs = Math.max(this.generatedNs, tNs);
        return true;
      }
      this.busyPs = end;
      this.frames++;
      this.bits += (size + WIRE_OVERHEAD) * 8;
      const arrival = psToNsCeil(end);
      this.sink.frame(s, size, tuple, arrival, desired);
      s.advance(start);
      this.siftDownRoot();
      if (stopWhen && stopWhen()) {
        // Every frame arriving before this one exists now (another may share its ns).
        this.generatedNs = Math.max(this.generatedNs, arrival - 1);
        return true;
      }
    }
  }
}

/** A 32-bit mix of three integers (murmur3's fmix32 over a combination): uniform, stateless, deterministic. */
function mix32(a: number, b: number, c: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(c, 0x27d4eb2f)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
