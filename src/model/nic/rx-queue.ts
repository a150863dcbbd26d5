import { NIL, PacketQueue, RowFifo, type PacketPool } from '../packet.ts';
import { FOLLOW, type FollowProbe } from '../trace-hooks.ts';
import type { FlowControl } from './flow-control.ts';

/** What the ring tells its interrupt logic: a descriptor was written back at time `ready`. */
export interface WritebackListener {
  onWriteback(ready: number): void;
}

/**
 * One RX queue: its descriptor ring and, ahead of it, the frames arriving from the wire.
 *
 * The ring is evaluated lazily: frames wait in `arrivals` (with their arrival times) until
 * someone looks — the driver cleaning the ring, or the interrupt logic — and `advanceTo(t)`
 * then lands every frame that arrived by `t`, in order: into a posted descriptor (DMA of the
 * data, then descriptor write-back `dmaLatency` ns later), or, with no descriptor posted, into
 * a drop (SRRCTL.DROP_EN: counted as rx_no_dma_resources) or the NIC's RX packet buffer (no
 * DROP_EN; when that is full: rx_missed_errors). The packet buffer is one per port, shared by
 * its queues, and its fill drives 802.3x PAUSE (flow-control.ts). Only the driver changes the
 * number of posted descriptors (refill), and it advances the ring first, so lazy evaluation is
 * exact for one queue; queues sharing the buffer land together in arrival order (`shared`).
 *
 * Descriptor accounting follows ixgbe: one slot always stays unused
 * (ixgbe_desc_unused = count - 1 at start); cleaned descriptors are given back in batches of
 * `refillBatch` (IXGBE_RX_BUFFER_WRITE) at the top of the clean loop.
 */
export class RxQueue {
  /** Frames on the wire for this queue, not yet landed (in arrival order). */
  readonly arrivals: RowFifo;
  /** The wire has been asked for every frame arriving by this time. */
  private generatedTo = -1;
  /** Frames DMA'd into descriptors, waiting for the driver (ready = enqueued + dmaLatency). */
  readonly ring: PacketQueue;
  /** No DROP_EN: frames in the NIC packet buffer waiting for a descriptor. */
  readonly pktbuf: PacketQueue;
  /** Descriptors owned by hardware, ready to take a frame. */
  posted: number;
  /** Descriptors cleaned by the driver and not yet given back (cleaned_count). */
  unrefilled = 0;
  /**
   * NUMA node of the RX buffers posted: the node of the CPU that last refilled the ring
   * (ixgbe_alloc_rx_buffers allocates local pages; ixgbe_can_reuse_rx_page reuses local ones only).
   */
  bufferNode: number;

  // ethtool -S style counters.
  packets = 0;
  bytes = 0;
  noDescDrops = 0;
  missedDrops = 0;
  refills = 0;

  constructor(
    readonly index: number,
    private readonly pool: PacketPool,
    readonly size: number,
    readonly dmaLatency: number,
    readonly dropEn: boolean,
    /** The port's RX packet buffer and its flow control. */
    private readonly fc: FlowControl,
    readonly refillBatch: number,
    private readonly listener: WritebackListener,
    private readonly onDrop: (row: number, missed: boolean) => void,
    /** Makes the wire produce every frame arriving by `t` (lazy generation). */
    private readonly generate: (t: number) => void,
    /** A frame reached the NIC (it is counted as offered from now on). */
    private readonly onArrive: (row: number) => void,
    /** The DMA of a frame's data into a buffer on node `bufferNode` (DDIO: ddio.ts). */
    private readonly onDma: (row: number, bufferNode: number) => void,
    /** The device's NUMA node: where its buffers are before any refill. */
    nicNode: number,
  ) {
    this.bufferNode = nicNode;
    this.arrivals = new RowFifo(pool);
    this.ring = new PacketQueue(pool);
    this.pktbuf = new PacketQueue(pool);
    this.posted = size - 1;
  }

  /**
   * Set when queues share the packet buffer without DROP_EN: every queue of the port lands its
   * frames in one arrival order, so the buffer's fill (and the XOFF) is the port's.
   */
  shared: ((t: number) => void) | null = null;

  /**
   * Set by the NIC: a frame the ring refused as it arrived (drop place nic_missed or nic_ring),
   * counted without a row (`dropOnArrival`).
   */
  onDropArriving: ((flow: number, size: number, arrival: number, missed: boolean) => void) | null = null;
  /** While `landUntil(t)` has the wire generate up to `t`: `t` (frames arriving by then land at once), else -1. */
  landingTo = -1;
  /** Rows the frames dropped on arrival would have held until landed (see `dropOnArrival`). */
  private unbuiltRows = 0;

  /** Land every frame that arrived by `t`. */
  advanceTo(t: number): void {
    if (this.shared) this.shared(t);
    else this.landUntil(t);
  }

  /** The arrival time of the next frame not yet landed (Infinity: none generated). */
  get headArrival(): number {
    const head = this.arrivals.head;
    return head === NIL ? Infinity : this.pool.arrival[head]!;
  }

  /** Land the next frame (its arrival has come). */
  landHead(): void {
    const row = this.arrivals.shift();
    this.land(row, this.pool.arrival[row]!);
  }

  /** This queue alone: land every frame that arrived by `t`. */
  private landUntil(t: number): void {
    // No frame can appear later with an arrival before a time the wire was asked for.
    if (t > this.generatedTo) {
      this.landingTo = this.onDropArriving ? t : -1;
      this.generate(t);
      this.landingTo = -1;
      this.generatedTo = t;
      if (this.unbuiltRows > 0) {
        this.pool.unreserve(this.unbuiltRows);
        this.unbuiltRows = 0;
      }
    }
    const arrivals = this.arrivals;
    const pool = this.pool;
    while (arrivals.head !== NIL) {
      const a = pool.arrival[arrivals.head]!;
      if (a > t) break;
      this.land(arrivals.shift(), a);
    }
  }

  /**
   * A frame of `flow` generated while this queue lands up to `landingTo` would land as the next
   * one (nothing waits ahead of it): if the ring refuses it — no descriptor, and DROP_EN or a full
   * packet buffer, the two drops of `land` — it is counted and dropped now, without the row it
   * would have held until the landing loop freed it (a flood into a full ring is mostly these).
   * The queue's state is what `land` would see: the frames before it in this generation were
   * dropped the same way, which changes nothing but counters. The row is still counted in use
   * until the generation ends, as it would have been (pool.peak, the peak in flight, is a result).
   */
  dropOnArrival(flow: number, size: number, arrival: number): boolean {
    if (arrival > this.landingTo || this.arrivals.head !== NIL) return false;
    if (this.pktbuf.length === 0 && this.posted > 0) return false;
    const missed = !this.dropEn;
    if (missed && this.fc.bytes + size <= this.fc.capacityBytes) return false;
    if (missed) this.missedDrops++;
    else this.noDescDrops++;
    this.pool.reserve();
    this.unbuiltRows++;
    this.onDropArriving!(flow, size, arrival, missed);
    return true;
  }

  private land(row: number, t: number): void {
    this.onArrive(row);
    if (this.pktbuf.length === 0 && this.posted > 0) {
      this.write(row, t);
    } else if (this.dropEn) {
      this.noDescDrops++;
      this.onDrop(row, false);
    } else if (this.fc.bytes + this.pool.size[row]! <= this.fc.capacityBytes) {
      this.pktbuf.push(row, t);
      this.fc.add(this.pool.size[row]!, t);
    } else {
      this.missedDrops++;
      this.onDrop(row, true);
    }
  }

  /** Follow one packet (trace-hooks.ts), or null. */
  follow: FollowProbe | null = null;

  /** DMA into a posted descriptor at `t`; write-back completes dmaLatency later. */
  private write(row: number, t: number): void {
    this.posted--;
    this.onDma(row, this.bufferNode);
    const f = this.follow;
    if (f !== null && f.skb === row) f.stage(FOLLOW.DMA, t, -1, this.ring.length, this.index);
    this.ring.push(row, t);
    this.listener.onWriteback(t + this.dmaLatency);
  }

  /** The oldest cleanable frame at time `t`, removed from the ring, or NIL (write-back not done). */
  clean(t: number): number {
    this.advanceTo(t);
    const head = this.ring.head;
    if (head === NIL || this.pool.enqueued[head]! + this.dmaLatency > t) return NIL;
    this.unrefilled++;
    // With a shared packet buffer another queue's landing may have written this ring past `t`:
    // the ring's occupancy integral then records the departure there (one queue alone never does).
    this.lastCleanAt = Math.max(t, this.ring.lastChange);
    return this.ring.shift(this.lastCleanAt);
  }

  /** When clean() last took a frame off the ring. */
  private lastCleanAt = 0;

  /**
   * The frame clean() just returned stays at next_to_clean for the next poll (an AF_XDP zero-copy
   * driver's IXGBE_XDP_EXIT): back at the head of the ring, its descriptor not counted cleaned.
   */
  unclean(row: number): void {
    this.unrefilled--;
    this.ring.unshift(row, this.lastCleanAt);
  }

  /**
   * ixgbe_alloc_rx_buffers(cleaned_count) at `t`: give descriptors back (at most `max`: an AF_XDP
   * zero-copy ring posts only the buffers its fill ring had); waiting frames then land.
   */
  refill(t: number, max = Infinity): number {
    this.advanceTo(t);
    const n = Math.min(this.unrefilled, max);
    this.posted += n;
    this.unrefilled -= n;
    this.refills++;
    if (this.pktbuf.length === 0 || this.posted === 0) return n;
    let drained = 0;
    while (this.pktbuf.length > 0 && this.posted > 0) {
      // Queues sharing the buffer land in one arrival order, so this queue's buffer may hold a
      // frame that arrives after `t`: it leaves the buffer and takes its descriptor on arrival.
      // A legacy (netif_rx) handler that cleaned the whole ring ahead of `t` has moved the
      // ring and the buffer past `t` already: the frame moves then, not before.
      const row = this.pktbuf.shift(Math.max(t, this.pktbuf.lastChange));
      drained += this.pool.size[row]!;
      this.write(row, Math.max(t, this.pool.arrival[row]!, this.ring.lastChange));
    }
    this.fc.remove(drained, t);
    return n;
  }

  /** Start of the measurement window: the queue's ethtool counters restart. */
  resetWindow(): void {
    this.packets = this.bytes = this.noDescDrops = this.missedDrops = this.refills = 0;
  }

  /** Ring occupancy: descriptors holding frames not yet cleaned. */
  get filled(): number {
    return this.ring.length;
  }
}
