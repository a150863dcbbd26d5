/**
 * A bounded trace buffer (a flight recorder): fixed typed arrays, the oldest events overwritten
 * once it is full, so memory never grows with the run. One event is (type, cpu, t, dur, a, b, c).
 */

/** Event types. The names are the kernel tracepoints they stand for (see kernel-functions.ts). */
export const EV = {
  /** CPU time: a = what (CPU_* of trace-hooks.ts), b = pid of the current task (-1: none). */
  SPAN: 1,
  IRQ_ENTRY: 2, // a = irq desc index
  IRQ_EXIT: 3,
  SOFTIRQ_RAISE: 4, // a = vec
  SOFTIRQ_ENTRY: 5,
  SOFTIRQ_EXIT: 6,
  NAPI_POLL: 7, // a = napi id, b = work, c = budget; dur = the poll
  SCHED_SWITCH: 8, // a = prev pid (-1 idle), b = next pid (-1 idle), c = prev state (0 R, 1 S)
  SCHED_WAKEUP: 9, // a = pid, b = waker's CPU
  NETIF_RECEIVE_SKB: 10, // a = len, b = segs
  COUNTER: 11, // a = counter index, b = value
  IPI_SEND: 12, // a = target CPU, b = flow id
  IPI_RECEIVE: 13, // b = flow id
  XDP_EXCEPTION: 14, // a = enum xdp_action, b = 1 for generic XDP, c = device index (recorder.devs)
  /** napi:napi_poll of a task's busy poll (napi_busy_loop: sk_busy_loop, do_select); a, b, c as NAPI_POLL. */
  BUSY_POLL: 15,
  /** napi:napi_poll of epoll_wait's busy poll (ep_busy_loop → napi_busy_loop); a, b, c as NAPI_POLL. */
  EP_BUSY_POLL: 16,
  XDP_CPUMAP_ENQUEUE: 17, // a = processed, b = drops, c = to_cpu | map_id << 16
  XDP_CPUMAP_KTHREAD: 18, // a = processed, b = drops, c = sched | map_id << 16
  XDP_DEVMAP_XMIT: 19, // a = sent, b = drops, c = target device index | source device index << 16 (recorder.devs)
  /** xdp:xdp_redirect (xdp:xdp_redirect_err when a < 0) of a frame into an AF_XDP socket in copy mode (xsk_rcv → __xsk_rcv): a = err, b = map index (key), c = device index | map_id << 16. */
  XDP_REDIRECT_XSK: 22,
  /** The same in zero-copy mode (xsk_rcv → xsk_rcv_zc). */
  XDP_REDIRECT_XSK_ZC: 23,
  /** bpf_prog_run_xdp over one poll (native) or one skb (generic): no tracepoint. a = frames, b = XDP_DROP | XDP_PASS << 7 | XDP_TX << 14 | XDP_REDIRECT << 21 (the rest aborted), c = device | queue << 10 | generic << 20. */
  XDP_RUN: 20,
  /** xdp:xdp_redirect (b = 0) or xdp:xdp_redirect_err (b = err): a = map index, c = device | (target device + 1) << 10 | generic << 20 | map id << 21. */
  XDP_REDIRECT: 21,
} as const;

/** The events of the napi:napi_poll tracepoint: from net_rx_action or a NAPI thread, or from a busy poller. */
export function isNapiPoll(type: number): boolean {
  return type === EV.NAPI_POLL || type === EV.BUSY_POLL || type === EV.EP_BUSY_POLL;
}

/** One event, as the exporters read it. */
export interface TraceEvent {
  slot: number;
  type: number;
  cpu: number;
  t: number;
  dur: number;
  a: number;
  b: number;
  c: number;
}

export class TraceBuffer {
  readonly type: Uint8Array;
  readonly cpu: Uint16Array;
  readonly t: Float64Array;
  readonly dur: Float64Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly c: Int32Array;
  /** Events ever written (the buffer holds the last `capacity` of them). */
  written = 0;

  constructor(readonly capacity: number) {
    this.type = new Uint8Array(capacity);
    this.cpu = new Uint16Array(capacity);
    this.t = new Float64Array(capacity);
    this.dur = new Float64Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.c = new Int32Array(capacity);
  }

  push(type: number, cpu: number, t: number, dur: number, a: number, b: number, c: number): void {
    const i = this.written % this.capacity;
    this.type[i] = type;
    this.cpu[i] = cpu;
    this.t[i] = t;
    this.dur[i] = dur;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.written++;
  }

  /** Events held now. */
  get length(): number {
    return Math.min(this.written, this.capacity);
  }

  /** Events lost to overwriting. */
  get overwritten(): number {
    return this.written - this.length;
  }

  /** Slot of the i-th held event, oldest first. */
  slot(i: number): number {
    return this.written <= this.capacity ? i : (this.written + i) % this.capacity;
  }

  /**
   * Slots of the held events in time order. Events are pushed in time order except spans and
   * polls, which are written when they end: sort by `key` (the start time unless told), then by
   * write order.
   */
  ordered(key: (slot: number) => number = (s) => this.t[s]!): Int32Array {
    const n = this.length;
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = this.slot(i);
    const seq = (s: number) => (s - this.slot(0) + this.capacity) % this.capacity;
    return idx.sort((x, y) => key(x) - key(y) || seq(x) - seq(y));
  }

  /** The held events in `ordered(key)` order. */
  *events(key?: (slot: number) => number): Generator<TraceEvent> {
    for (const slot of this.ordered(key)) {
      yield { slot, type: this.type[slot]!, cpu: this.cpu[slot]!, t: this.t[slot]!, dur: this.dur[slot]!, a: this.a[slot]!, b: this.b[slot]!, c: this.c[slot]! };
    }
  }
}
