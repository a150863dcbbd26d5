import type { RxBuffers } from '../rx-pages.ts';
import type { XskSocket } from '../xsk.ts';

/**
 * The RX buffers of a ring with an AF_XDP socket bound in zero-copy mode (XDP_ZEROCOPY): the
 * driver's ring is set up from the socket's buffer pool instead of pages (ixgbe_xsk_pool_enable →
 * ixgbe_configure_rx_ring with rx_ring->xsk_pool; ice_xsk_pool_setup), and every frame lands in a
 * UMEM frame the application gave through the fill ring.
 *
 * Refill (ixgbe_alloc_rx_buffers_zc, ice_alloc_rx_bufs_zc): each descriptor gets xsk_buff_alloc —
 * the pool's free list first (buffers xsk_buff_free gave back: frames XDP_DROP or XDP_PASS or a
 * full RX ring left to the driver), then the fill ring. When both are empty the allocation fails:
 * the fill ring's queue_empty_descs counts it (xp_alloc), the descriptors stay unposted — frames
 * that find none are the NIC's ring drops — and the clean loop does not try again in this poll
 * (ixgbe_clean_rx_irq_zc: `failure = failure || !ixgbe_alloc_rx_buffers_zc(…)`).
 * With XDP_USE_NEED_WAKEUP a redirect the socket refuses for a full RX ring (-ENOBUFS) is a
 * failure too: the loop stops and the frame stays on the ring (keep()).
 * At the end of the clean loop (ixgbe_clean_rx_irq_zc): with XDP_USE_NEED_WAKEUP the driver sets
 * the fill ring's need_wakeup flag on a failure or an empty ring (else clears it) and completes
 * normally; without it a failure returns the whole budget, so the NAPI keeps polling.
 *
 * The frame's row holds no page: the UMEM is the application's memory, pinned at XDP_UMEM_REG.
 */
export class XskPoolBuffers implements RxBuffers {
  /** xsk_buff_alloc failed in this poll (ixgbe_clean_rx_irq_zc's `failure`). */
  failure = false;

  constructor(
    readonly sock: XskSocket,
    /** Descriptors posted at bind (ixgbe_configure_rx_ring: ixgbe_alloc_rx_buffers_zc(ring, ixgbe_desc_unused(ring))). */
    wanted: number,
  ) {
    const n = Math.min(wanted, sock.fq);
    sock.fq -= n;
    sock.driverPosted = n;
    this.initialPosted = n;
  }

  /** How many of the ring's descriptors bind could post (the rest stay unposted until a refill finds frames). */
  readonly initialPosted: number;

  /** The frame in `row` was cleaned: its UMEM buffer leaves the descriptor; unless xsk_rcv_zc posts it, it is the pool's again (xsk_buff_free). */
  clean(_row: number, _cpu: number): void {
    this.sock.driverPosted--;
    this.sock.freeList++;
  }

  /**
   * ixgbe_clean_rx_irq_zc on IXGBE_XDP_EXIT: the socket's RX ring was full (-ENOBUFS with
   * need_wakeup), the loop breaks with `failure` set and the frame's buffer stays on its
   * descriptor (bi->xdp kept, next_to_clean not moved) for the next poll to try again.
   */
  keep(): void {
    this.sock.driverPosted++;
    this.sock.freeList--;
    this.failure = true;
  }

  /** xsk_buff_alloc for up to `n` descriptors: how many got a buffer (free list first, then the fill ring). */
  limit(n: number): number {
    if (this.failure) return 0;
    const s = this.sock;
    const fromFree = Math.min(n, s.freeList);
    const fromFq = Math.min(n - fromFree, s.fq);
    s.freeList -= fromFree;
    s.fq -= fromFq;
    const got = fromFree + fromFq;
    s.driverPosted += got;
    if (got < n) {
      // xp_alloc: xskq_cons_peek_addr_unchecked found the fill ring empty.
      s.fqEmptyDescs++;
      this.failure = true;
    }
    return got;
  }

  /** The CPU time of the buffers besides the descriptor writes: xsk_buff_alloc each (costs passed by the poller). */
  refill(_n: number, _cpu: number): number {
    return 0;
  }

  /**
   * The end of ixgbe_clean_rx_irq_zc: need_wakeup set or cleared; returns true when the poll must
   * report the whole budget (a failure without need_wakeup: keep polling).
   */
  endClean(ringEmpty: boolean): boolean {
    const failure = this.failure;
    this.failure = false;
    const s = this.sock;
    if (s.needWakeup) {
      s.needWakeupFlag = failure || ringEmpty;
      return false;
    }
    return failure;
  }

  stats(): Record<string, number> {
    return {};
  }

  resetWindow(): void {}

  forEachHeld(_f: (page: number) => void): void {}

  get postedRefs(): number {
    return 0;
  }
}
