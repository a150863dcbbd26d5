import { grown } from '../../engine/typed.ts';

/**
 * One TX queue's descriptor ring (struct ixgbe_ring used for TX; ice_tx_ring): what the host
 * transmits through the NIC — the ACKs of a TCP receiver, a server's responses — from the
 * driver's xmit (ixgbe_xmit_frame_ring → ixgbe_tx_map: descriptors posted, tail written) to the
 * completion the NIC writes back once the frame is on the wire, to the driver's clean in its
 * NAPI poll (ixgbe_clean_tx_irq: DD bit set → napi_consume_skb, dma_unmap, descriptor freed).
 *
 * Completions are known at xmit (DMA plus the frame's turn on the TX wire), so the ring keeps
 * each posted frame's completion time and length in typed arrays, oldest first, and cleaning
 * reads them in order: no event per frame. The ring itself never refuses a post: the qdisc
 * (qdisc.ts) stands for a stopped queue and its backlog, and the XDP senders check the room
 * first (Nic.xmitXdp: the XDP TX ring's descriptors, xdpPending; Nic.xmitGenericXdp: a stopped
 * queue, skbPending). The arrays grow as needed.
 */
export class TxRing {
  private doneAt = new Float64Array(64);
  private lens = new Int32Array(64);
  /** An XDP_TX frame's RX page (its reference is held until the completion is cleaned), -1: an skb the host sent. */
  private pages = new Int32Array(64);
  /** 1 for a frame XDP sent (the driver's XDP TX ring), 0 for an skb. */
  private xdp = new Uint8Array(64);
  /** The pages of the XDP_TX frames the last clean() freed (xdp_return_frame), and how many. */
  freedPages = new Int32Array(64);
  freedPageCount = 0;
  private head = 0;
  private count = 0;
  /** Frames XDP sent, posted and not yet cleaned: the descriptors in use on the driver's XDP TX ring. */
  xdpPending = 0;

  /** Frames and bytes cleaned, as ixgbe_clean_tx_irq updates ring->stats: the host's skbs and the XDP frames together. */
  packets = 0;
  bytes = 0;
  /**
   * Of those, the frames XDP sent (XDP_TX, a devmap's ndo_xdp_xmit). On the hardware they go out on
   * an XDP TX ring of their own (adapter->xdp_ring, vsi->xdp_rings), which the drivers' ethtool -S
   * per-queue stats leave out (ixgbe_get_ethtool_stats walks tx_ring[], ice's
   * ice_for_each_alloc_txq tx_rings[]) and their netdev totals include (ixgbe_get_stats64,
   * ice_update_vsi_ring_stats).
   */
  xdpPackets = 0;
  xdpBytes = 0;
  /** Bytes of the frames the last clean() freed (for the ring container's total_bytes). */
  lastBytes = 0;

  constructor(readonly index: number) {}

  /** Frames posted and not yet cleaned by the driver. */
  get pending(): number {
    return this.count;
  }

  /** The host's skbs posted and not yet cleaned: the ordinary TX queue's descriptors in use. */
  get skbPending(): number {
    return this.count - this.xdpPending;
  }

  /** XDP_TX frames posted and not yet cleaned that hold an RX page (for checks). */
  get pendingPages(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.pages[(this.head + i) & (this.doneAt.length - 1)]! >= 0) n++;
    return n;
  }

  /** Completion time of the oldest posted frame, or Infinity. */
  get oldestDone(): number {
    return this.count > 0 ? this.doneAt[this.head]! : Infinity;
  }

  /** ixgbe_tx_map(): a frame of `len` bytes (skb->len) posted; its completion is written back at `doneAt`. `page`: an XDP_TX frame's RX page; `xdp`: sent by XDP (the XDP TX ring). */
  post(doneAt: number, len: number, page = -1, xdp = false): void {
    if (this.count === this.doneAt.length) this.grow();
    const i = (this.head + this.count) & (this.doneAt.length - 1);
    this.doneAt[i] = doneAt;
    this.lens[i] = len;
    this.pages[i] = page;
    this.xdp[i] = xdp ? 1 : 0;
    if (xdp) this.xdpPending++;
    this.count++;
  }

  /**
   * ixgbe_clean_tx_irq()'s loop: free completed descriptors in order, starting at `t0` and
   * spending `perFrame` ns on each, while the next one's write-back is done (DD set by then) and
   * at most `limit` frames (q_vector->tx.work_limit). Returns the frames freed; their bytes are
   * in lastBytes.
   */
  clean(t0: number, perFrame: number, limit: number): number {
    const mask = this.doneAt.length - 1;
    let t = t0;
    let n = 0;
    let bytes = 0;
    this.freedPageCount = 0;
    while (n < limit && this.count > 0 && this.doneAt[this.head]! <= t) {
      bytes += this.lens[this.head]!;
      if (this.xdp[this.head] === 1) {
        this.xdpPackets++;
        this.xdpBytes += this.lens[this.head]!;
        this.xdpPending--;
      }
      const page = this.pages[this.head]!;
      if (page >= 0) {
        if (this.freedPageCount === this.freedPages.length) this.freedPages = grown(this.freedPages, this.freedPages.length * 2);
        this.freedPages[this.freedPageCount++] = page;
      }
      this.head = (this.head + 1) & mask;
      this.count--;
      n++;
      t += perFrame;
    }
    this.packets += n;
    this.bytes += bytes;
    this.lastBytes = bytes;
    return n;
  }

  /** Start of the measurement window: the queue's ethtool counters restart. */
  resetWindow(): void {
    this.packets = this.bytes = this.xdpPackets = this.xdpBytes = 0;
  }

  private grow(): void {
    const n = this.doneAt.length;
    const done = new Float64Array(n * 2);
    const lens = new Int32Array(n * 2);
    const pages = new Int32Array(n * 2);
    const xdp = new Uint8Array(n * 2);
    for (let i = 0; i < this.count; i++) {
      done[i] = this.doneAt[(this.head + i) & (n - 1)]!;
      lens[i] = this.lens[(this.head + i) & (n - 1)]!;
      pages[i] = this.pages[(this.head + i) & (n - 1)]!;
      xdp[i] = this.xdp[(this.head + i) & (n - 1)]!;
    }
    this.doneAt = done;
    this.lens = lens;
    this.pages = pages;
    this.xdp = xdp;
    this.head = 0;
  }
}
