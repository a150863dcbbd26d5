import type { PagePool } from '../page-pool.ts';
import type { RxBuffers, RxPages } from '../rx-pages.ts';

/**
 * RX buffers from a page_pool, one page per descriptor (the page_pool design's one frame per page,
 * page_pool_dev_alloc_pages; mlx5e_alloc_rx_wqes, bnxt, virtio_net): the refill takes a page from
 * the queue's pool for every descriptor it gives back, and a cleaned frame's skb carries the page
 * (skb_mark_for_recycle), so the page returns to the pool — into its alloc cache or its ptr_ring —
 * when the skb is freed. The driver keeps no reference of its own.
 */
export class PagePoolRx implements RxBuffers {
  private readonly slots: Int32Array;
  private ntc = 0;
  private ntu = 0;

  constructor(
    private readonly pages: RxPages,
    readonly pool: PagePool,
    size: number,
    /** A CPU of the device's node: the first fill's pages come from there (the pool is created and filled at open). */
    openCpu: number,
  ) {
    this.slots = new Int32Array(size).fill(-1);
    this.refill(size - 1, openCpu);
    this.pool.takeCost();
  }

  clean(row: number, _cpu: number): void {
    const page = this.slots[this.ntc]!;
    this.slots[this.ntc] = -1;
    this.ntc = this.ntc + 1 === this.slots.length ? 0 : this.ntc + 1;
    this.pages.bind(row, page);
  }

  refill(n: number, cpu: number): number {
    for (let i = 0; i < n; i++) {
      this.slots[this.ntu] = this.pool.alloc(cpu);
      this.ntu = this.ntu + 1 === this.slots.length ? 0 : this.ntu + 1;
    }
    return this.pool.takeCost();
  }

  stats(): Record<string, number> {
    return this.pool.stats();
  }

  resetWindow(): void {
    this.pool.resetWindow();
  }

  forEachHeld(f: (page: number) => void): void {
    for (const page of this.slots) if (page >= 0) f(page);
    this.pool.forEachHeld(f);
  }
}
