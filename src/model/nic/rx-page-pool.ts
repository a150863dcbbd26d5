import type { PagePool } from '../page-pool.ts';
import type { RxBuffers, RxPages } from '../rx-pages.ts';

/**
 * RX buffers from a page_pool, as libeth (libeth_rx_alloc → page_pool_dev_alloc) gives them to
 * iavf, idpf and, from 6.19, ice: a buffer of the profile's size (2048) is a fragment of a page
 * the pool splits (page_pool_alloc_frag_netmem, two per 4 KiB page), and a full page when the
 * buffer no longer fits in half a page — XDP's headroom pushes it past 2048 ("each buffer starts
 * getting a full page"). The refill takes a buffer from the queue's pool for every descriptor it
 * gives back; each buffer holds a reference on its page, which the cleaned frame's skb takes over
 * (skb_mark_for_recycle), so the page returns to the pool — into its alloc cache or its ptr_ring —
 * when its last fragment is freed. The driver keeps no reference of its own.
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
    this.pages.attach(row, page);
  }

  refill(n: number, cpu: number): number {
    for (let i = 0; i < n; i++) {
      this.slots[this.ntu] = this.pool.allocBuffer(cpu);
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

  get postedRefs(): number {
    let n = 0;
    for (const page of this.slots) if (page >= 0) n++;
    return n;
  }

  forEachHeld(f: (page: number) => void): void {
    this.pool.forEachHeld(f);
  }
}
