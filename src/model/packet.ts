import { freeStack, grown } from '../engine/typed.ts';

/**
 * Packets in flight, as rows of typed arrays (an skb is a row number). Rows are recycled when a
 * packet is delivered or dropped, so memory is bounded by the packets in flight, not by the
 * packets simulated. Queues link rows through `next` (FIFO lists), so no queue allocates.
 */
export const NIL = -1;
/** pool.flags bits: TCP PSH, and an skb tcp_collapse already rewrote. */
export const PSH = 1;
export const COLLAPSED = 2;
/**
 * skb->redirected (skb_set_redirected), set by cpu_map_generic_redirect on an skb it queues to a
 * cpumap entry: the ring tells it from an xdp_frame by it (__ptr_set_bit(0, &skb) on the pointer)
 * and netif_receive_generic_xdp does not run the program on it again (skb_is_redirected).
 */
export const SKB_REDIRECTED = 4;

export class PacketPool {
  /** Flow index. */
  flow: Int32Array;
  /** Ethernet frame length in bytes, including FCS. */
  size: Int32Array;
  /** Time the last bit arrived at the NIC (ns). */
  arrival: Float64Array;
  /** Time the packet entered the queue it is in now (ns): the start of its sojourn there. */
  enqueued: Float64Array;
  /** 1 if the packet was offered inside the measurement window (it counts in results). */
  counted: Uint8Array;
  /** Next row in whatever FIFO list holds this row. */
  next: Int32Array;
  /** Sequence number within the flow (TCP: first payload byte). */
  seq: Float64Array;
  /** Segments carried (1, or more for a GRO aggregate). */
  segs: Int32Array;
  /** skb->hash: the NIC's RSS hash (rxhash on) or the flow dissector's (0 = not computed). */
  hash: Uint32Array;
  /** Which of the flow's 5-tuples (port ranges). */
  tuple: Int32Array;
  /** The frame's own payload bytes (L4 data), never changed. */
  payload: Int32Array;
  /** The skb's L4 data length: the payload, or a GRO aggregate's total (on its head row). */
  len: Int32Array;
  /** skb->truesize: the memory the skb charges to a socket (an aggregate's on its head). */
  truesize: Int32Array;
  /** TCP flags this model uses (PSH = 1) and the TSval the sender stamped. */
  flags: Uint8Array;
  tsval: Float64Array;
  /** GRO aggregates keep their member segments: next member, and the last one (for appending). */
  frag: Int32Array;
  lastFrag: Int32Array;
  /** Which traversal of the stack the packet is in (0: from the NIC; 1, 2: after veth / vxlan). */
  pass: Uint8Array;
  /** When the driver cleaned it (end of ring + interrupt wait), and when it reached its socket. */
  tPoll: Float64Array;
  tSocket: Float64Array;
  /** A skb GRO holds: the jiffy it was first held (NAPI_GRO_CB(skb)->age) and its mss (first segment's length). */
  groAge: Int32Array;
  groMss: Int32Array;
  /** The CPU whose protocol pass (tcp_v4_rcv / udp_rcv) last touched the skb (tcp_collapse rewrites its data there). */
  l4cpu: Int16Array;
  /** skb->alloc_cpu: the CPU whose NAPI poll (or transmit) built the skb; -1 before that. */
  allocCpu: Int16Array;
  /** skb->napi_id: the NAPI that built it (skb_mark_napi_id in napi_gro_receive); 0: none (veth, netif_rx). */
  napiId: Int32Array;
  /**
   * The RX page (rx-pages.ts) whose buffer holds the frame: the skb holds a reference on it until it
   * is freed; -1: none (a local sender's skb, or a frame whose reference went elsewhere: a defer
   * list, an XDP_TX descriptor).
   */
  page: Int32Array;
  /** Where DMA (or a CPU) left the payload (ddio.ts): the node whose LLC got it (-1: none), the clock of that LLC after the write, and the node of its memory. */
  llcNode: Int8Array;
  llcStamp: Float64Array;
  memNode: Int8Array;

  private free: Int32Array;
  private freeTop = 0;
  private capacity = 0;
  /** Rows in use. */
  inUse = 0;
  /** Most rows ever in use at once. */
  peak = 0;

  constructor(initial = 4096) {
    this.flow = new Int32Array(0);
    this.size = new Int32Array(0);
    this.arrival = new Float64Array(0);
    this.enqueued = new Float64Array(0);
    this.counted = new Uint8Array(0);
    this.next = new Int32Array(0);
    this.seq = new Float64Array(0);
    this.segs = new Int32Array(0);
    this.hash = new Uint32Array(0);
    this.tuple = new Int32Array(0);
    this.payload = new Int32Array(0);
    this.len = new Int32Array(0);
    this.truesize = new Int32Array(0);
    this.flags = new Uint8Array(0);
    this.tsval = new Float64Array(0);
    this.frag = new Int32Array(0);
    this.lastFrag = new Int32Array(0);
    this.pass = new Uint8Array(0);
    this.tPoll = new Float64Array(0);
    this.tSocket = new Float64Array(0);
    this.l4cpu = new Int16Array(0);
    this.allocCpu = new Int16Array(0);
    this.napiId = new Int32Array(0);
    this.page = new Int32Array(0);
    this.llcNode = new Int8Array(0);
    this.llcStamp = new Float64Array(0);
    this.memNode = new Int8Array(0);
    this.groAge = new Int32Array(0);
    this.groMss = new Int32Array(0);
    this.free = new Int32Array(0);
    this.grow(initial);
  }

  alloc(): number {
    if (this.freeTop === 0) this.grow(this.capacity * 2);
    const row = this.free[--this.freeTop]!;
    this.next[row] = NIL;
    this.frag[row] = NIL;
    this.lastFrag[row] = row;
    this.segs[row] = 1;
    this.flags[row] = 0;
    this.pass[row] = 0;
    this.page[row] = -1;
    this.llcNode[row] = -1;
    this.memNode[row] = 0;
    if (++this.inUse > this.peak) this.peak = this.inUse;
    return row;
  }

  release(row: number): void {
    this.free[this.freeTop++] = row;
    this.inUse--;
  }

  /** Count a row in use that no one needs to hold (a frame dropped as it arrived: rx-queue.ts dropOnArrival), for `inUse` and `peak`. */
  reserve(): void {
    if (++this.inUse > this.peak) this.peak = this.inUse;
  }

  /** The end of `n` reserved rows. */
  unreserve(n: number): void {
    this.inUse -= n;
  }

  private grow(capacity: number): void {
    const old = this.capacity;
    this.flow = grown(this.flow, capacity);
    this.size = grown(this.size, capacity);
    this.arrival = grown(this.arrival, capacity);
    this.enqueued = grown(this.enqueued, capacity);
    this.counted = grown(this.counted, capacity);
    this.next = grown(this.next, capacity);
    this.seq = grown(this.seq, capacity);
    this.segs = grown(this.segs, capacity);
    this.hash = grown(this.hash, capacity);
    this.tuple = grown(this.tuple, capacity);
    this.payload = grown(this.payload, capacity);
    this.len = grown(this.len, capacity);
    this.truesize = grown(this.truesize, capacity);
    this.flags = grown(this.flags, capacity);
    this.tsval = grown(this.tsval, capacity);
    this.frag = grown(this.frag, capacity);
    this.lastFrag = grown(this.lastFrag, capacity);
    this.pass = grown(this.pass, capacity);
    this.tPoll = grown(this.tPoll, capacity);
    this.tSocket = grown(this.tSocket, capacity);
    this.l4cpu = grown(this.l4cpu, capacity);
    this.allocCpu = grown(this.allocCpu, capacity);
    this.napiId = grown(this.napiId, capacity);
    this.page = grown(this.page, capacity);
    this.page.fill(-1, old);
    this.llcNode = grown(this.llcNode, capacity);
    this.llcStamp = grown(this.llcStamp, capacity);
    this.memNode = grown(this.memNode, capacity);
    this.groAge = grown(this.groAge, capacity);
    this.groMss = grown(this.groMss, capacity);
    this.free = freeStack(old, capacity, this.free, this.freeTop);
    this.freeTop += capacity - old;
    this.capacity = capacity;
  }
}

/** A plain FIFO of rows linked through `pool.next`: a staging list, not a queue of the path (no statistics). */
export class RowFifo {
  head = NIL;
  tail = NIL;
  length = 0;

  constructor(private readonly pool: PacketPool) {}

  push(row: number): void {
    this.pool.next[row] = NIL;
    if (this.tail === NIL) this.head = row;
    else this.pool.next[this.tail] = row;
    this.tail = row;
    this.length++;
  }

  /** Remove the head (the list must not be empty). */
  shift(): number {
    const row = this.head;
    this.head = this.pool.next[row]!;
    if (this.head === NIL) this.tail = NIL;
    this.length--;
    return row;
  }
}

/**
 * A FIFO of packet rows linked through `pool.next`, with the time-weighted occupancy integral
 * and sojourn totals needed to check Little's law (L = λW) on every queue.
 */
export class PacketQueue {
  head = NIL;
  tail = NIL;
  length = 0;
  bytes = 0;
  /** ∫ length dt, in packet·ns, up to `lastChange`. */
  area = 0;
  lastChange = 0;
  /** Packets that left the queue, and the sum of their sojourn times (ns). */
  departures = 0;
  sojournSum = 0;
  peak = 0;

  constructor(private readonly pool: PacketPool) {}

  /**
   * Bring the occupancy integral up to `t`. Changes come in time order; the only exception is
   * the end of a run that stops inside a poll whose packets carry times past the end, and
   * those never count twice.
   */
  private touch(t: number): void {
    if (t <= this.lastChange) return;
    this.area += this.length * (t - this.lastChange);
    this.lastChange = t;
  }

  push(row: number, t: number): void {
    // Causality: a packet cannot join a queue before a change already integrated.
    if (t < this.lastChange) throw new Error(`internal: packet enqueued at ${t} ns, before the queue's last change at ${this.lastChange} ns`);
    this.touch(t);
    const pool = this.pool;
    pool.next[row] = NIL;
    pool.enqueued[row] = t;
    if (this.tail === NIL) this.head = row;
    else pool.next[this.tail] = row;
    this.tail = row;
    this.length++;
    this.bytes += pool.size[row]!;
    if (this.length > this.peak) this.peak = this.length;
  }

  /** Remove the head at time `t` (the queue must not be empty). */
  shift(t: number): number {
    this.touch(t);
    const pool = this.pool;
    const row = this.head;
    this.head = pool.next[row]!;
    if (this.head === NIL) this.tail = NIL;
    this.length--;
    this.bytes -= pool.size[row]!;
    this.departures++;
    this.sojournSum += t - pool.enqueued[row]!;
    return row;
  }

  /**
   * Put back at the head the packet that `shift(t)` removed last, as if it had never left (a
   * driver leaving a descriptor for its next poll): its time since `t` goes back into the integral.
   */
  unshift(row: number, t: number): void {
    const pool = this.pool;
    this.area += this.lastChange - t;
    pool.next[row] = this.head;
    if (this.head === NIL) this.tail = row;
    this.head = row;
    this.length++;
    this.bytes += pool.size[row]!;
    this.departures--;
    this.sojournSum -= t - pool.enqueued[row]!;
  }

  /** Move every packet of `other` to the tail of this queue at time `t`, keeping their enqueue times. */
  spliceFrom(other: PacketQueue, t: number): void {
    if (other.length === 0) return;
    this.touch(t);
    other.touch(t);
    if (this.tail === NIL) this.head = other.head;
    else this.pool.next[this.tail] = other.head;
    this.tail = other.tail;
    this.length += other.length;
    this.bytes += other.bytes;
    if (this.length > this.peak) this.peak = this.length;
    other.head = other.tail = NIL;
    other.length = 0;
    other.bytes = 0;
  }

  /** Time-averaged length over [since, t] given the area at `since`. */
  finish(t: number): void {
    this.touch(t);
  }

  /** Start of the measurement window at `t`: the integrals restart from the current length. */
  resetWindow(t: number): void {
    this.finish(t);
    this.area = 0;
    this.departures = 0;
    this.sojournSum = 0;
    this.peak = this.length;
  }
}
