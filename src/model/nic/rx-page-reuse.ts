import type { PageOwner, RxBuffers, RxPages } from '../rx-pages.ts';

/**
 * The half-page reuse of ixgbe and ice (6.18; ice moved to page_pool in 6.19's "ice: switch to
 * Page Pool"): each descriptor's buffer is half of a 4 KiB page (ixgbe_rx_pg_size / 2). The
 * driver holds a large bias of references on the page (pagecnt_bias, USHRT_MAX) and gives one
 * to each skb built on a half. Per cleaned frame (ixgbe_clean_rx_irq):
 *
 *   ixgbe_get_rx_buffer: rx_buffer_pgcnt = page_count(page), pagecnt_bias--;
 *   ixgbe_put_rx_buffer → ixgbe_can_reuse_rx_page: the page is reusable if it is on this CPU's
 *     node and not pfmemalloc (dev_page_is_reusable), and (rx_buffer_pgcnt - pagecnt_bias) <= 1,
 *     i.e. no skb still holds the other half; then ixgbe_reuse_rx_page moves the buffer, its
 *     offset flipped to the other half, to next_to_alloc;
 *   otherwise the driver unmaps it and drops its bias (__page_frag_cache_drain): the page is
 *     freed when the last skb lets go, and the slot gets a new page at the next refill
 *     (ixgbe_alloc_mapped_page: dev_alloc_pages and dma_map_page_attrs, rx_stats.alloc_rx_page).
 *
 * ixgbe_alloc_rx_buffers fills the slots from next_to_use: the reused buffers sit there
 * (next_to_alloc started at next_to_use), the rest need new pages. So a reader that holds skbs
 * longer than the ring takes to come round (a deep socket queue, a slow reader) makes the driver
 * allocate and map a page for every buffer it cannot reuse.
 *
 * ice_can_reuse_rx_page (ice_txrx.c) applies the same rule with rx_buf->pgcnt.
 */
export class HalfPageReuse implements RxBuffers, PageOwner {
  /** The page each descriptor's buffer is in (rx_buffer_info[i].page), -1: none. */
  private readonly slots: Int32Array;
  private ntc = 0;
  private ntu = 0;
  private nta = 0;
  private readonly id: number;
  /** rx_stats.alloc_rx_page (ixgbe_alloc_mapped_page). */
  allocRxPage = 0;
  /** ixgbe_reuse_rx_page calls (no ethtool counter; the other ones needed a page). */
  reused = 0;

  constructor(
    private readonly pages: RxPages,
    size: number,
    private readonly cpuNode: readonly number[],
    private readonly pageAllocNs: number,
    /** The node of the device: where the pages of the first fill come from (ixgbe_configure_rx_ring at open). */
    nicNode: number,
  ) {
    this.slots = new Int32Array(size).fill(-1);
    this.id = pages.register(this);
    // ixgbe_configure_rx_ring: ixgbe_alloc_rx_buffers(ring, ixgbe_desc_unused(ring)) = count - 1.
    for (let i = 0; i < size - 1; i++) this.slots[i] = pages.alloc(this.id, nicNode);
    this.ntu = this.nta = size - 1;
  }

  clean(row: number, cpu: number): void {
    const slots = this.slots;
    const page = slots[this.ntc]!;
    slots[this.ntc] = -1;
    this.ntc = this.ntc + 1 === slots.length ? 0 : this.ntc + 1;
    const pages = this.pages;
    // rx_buffer_pgcnt - pagecnt_bias after the decrement = the references others held + this frame's.
    const others = pages.refs[page]!;
    pages.bind(row, page);
    if (others === 0 && pages.node[page] === this.cpuNode[cpu]) {
      slots[this.nta] = page; // ixgbe_reuse_rx_page: the other half goes to next_to_alloc
      this.nta = this.nta + 1 === slots.length ? 0 : this.nta + 1;
      this.reused++;
    } else {
      pages.disown(page); // __page_frag_cache_drain(page, pagecnt_bias)
    }
  }

  refill(n: number, cpu: number): number {
    const slots = this.slots;
    let allocs = 0;
    for (let i = 0; i < n; i++) {
      // ixgbe_alloc_mapped_page: "since we are recycling buffers we should seldom need to alloc".
      if (slots[this.ntu]! < 0) {
        slots[this.ntu] = this.pages.alloc(this.id, this.cpuNode[cpu]!);
        allocs++;
      }
      this.ntu = this.ntu + 1 === slots.length ? 0 : this.ntu + 1;
    }
    this.nta = this.ntu; // "update next to alloc since we have filled the ring"
    this.allocRxPage += allocs;
    return allocs * this.pageAllocNs;
  }

  /** The driver reads page_count at its next clean of the page: nothing happens when an skb lets go. */
  lastRef(): void {}

  stats(): Record<string, number> {
    // ixgbe's rx_stats.alloc_rx_page (not in its ethtool -S; ixgbevf prints it), and the reuses.
    return { alloc_rx_page: this.allocRxPage, reuse_rx_page: this.reused };
  }

  resetWindow(): void {
    this.allocRxPage = this.reused = 0;
  }

  readonly postedRefs = 0;

  forEachHeld(f: (page: number) => void): void {
    for (const page of this.slots) if (page >= 0) f(page);
  }
}
