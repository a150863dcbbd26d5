import { freeStack, grown } from '../engine/typed.ts';
import type { PacketPool } from './packet.ts';

/**
 * What a page goes back to once no skb or XDP frame references it any more: the driver that
 * still holds it (ixgbe's pagecnt_bias: nothing to do, its next clean sees the count) or a
 * page_pool (page_pool_put_unrefed_netmem). The context of the last put decides page_pool's
 * path: softirq or BH-disabled (`bh`) on `cpu`, or the driver's own poll giving a buffer back
 * (`direct`: xdp_return_buff with napi_direct, page_pool_put_full_page(…, true)).
 */
export interface PageOwner {
  lastRef(page: number, cpu: number, bh: boolean, direct: boolean): void;
}

/**
 * The RX pages of the machine's NICs, counted the way struct page counts them (include/linux/mm.h:
 * page_ref_count; page_pool's pp_ref_count): per page, the references skbs and XDP frames hold
 * (page_count minus the driver's pagecnt_bias, or pp_ref_count minus the pool's own), its owner
 * and its NUMA node (page_to_nid: the node of the CPU that allocated it, dev_alloc_pages and
 * alloc_pages_bulk_node allocate locally). An skb's row records its page (PacketPool.page); the
 * reference goes when the skb is freed (kfree_skb, napi_consume_skb, skb_defer_free_flush) or an
 * XDP_TX descriptor is cleaned. Typed arrays and a free stack: no object per page.
 *
 * Conservation: pages taken from the page allocator minus pages given back equal the pages posted
 * on rings, waiting in page_pools and held by skbs (`census`, the property test).
 */
export class RxPages {
  /** References skbs and XDP frames hold on each page. */
  refs: Int32Array;
  /** The owner each page goes back to (index in `owners`); -1: the driver let go (its last put_page frees it). */
  owner: Int32Array;
  /** page_to_nid(). */
  node: Int8Array;
  readonly owners: PageOwner[] = [];
  /** Pages taken from and given back to the page allocator since boot (never restarted: the conservation law). */
  allocated = 0;
  released = 0;
  private free: Int32Array;
  private freeTop = 0;
  private capacity = 0;

  constructor(private readonly pool: PacketPool) {
    this.refs = new Int32Array(0);
    this.owner = new Int32Array(0);
    this.node = new Int8Array(0);
    this.free = new Int32Array(0);
    this.grow(1024);
  }

  /** An owner (a driver ring, a page_pool): its index. */
  register(owner: PageOwner): number {
    this.owners.push(owner);
    return this.owners.length - 1;
  }

  /** A page from the page allocator on `node`, held by `owner` and no skb. */
  alloc(owner: number, node: number): number {
    if (this.freeTop === 0) this.grow(this.capacity * 2);
    const page = this.free[--this.freeTop]!;
    this.refs[page] = 0;
    this.owner[page] = owner;
    this.node[page] = node;
    this.allocated++;
    return page;
  }

  /** put_page() of the last reference (or page_pool_return_netmem): back to the page allocator. */
  freePage(page: number): void {
    this.owner[page] = -1;
    this.free[this.freeTop++] = page;
    this.released++;
  }

  /** The frame in `row` was received into `page`: its skb (or xdp_buff) takes a reference (the driver's bias gives one). */
  bind(row: number, page: number): void {
    this.refs[page]!++;
    this.pool.page[row] = page;
  }

  /** The frame in `row` was received into `page`, whose posted buffer held a reference: the skb takes that one over. */
  attach(row: number, page: number): void {
    this.pool.page[row] = page;
  }

  /** The owner lets go of a page (__page_frag_cache_drain of its bias): the last skb reference frees it. */
  disown(page: number): void {
    this.owner[page] = -1;
    if (this.refs[page] === 0) this.freePage(page);
  }

  /** A reference goes (put_page, page_pool_put_page): the owner learns when it was the last. */
  put(page: number, cpu: number, bh: boolean, direct: boolean): void {
    if (--this.refs[page]! > 0) return;
    const o = this.owner[page]!;
    if (o < 0) this.freePage(page);
    else this.owners[o]!.lastRef(page, cpu, bh, direct);
  }

  /** The skb segment in `row` is freed: its page reference goes (a row without one: nothing). */
  putRow(row: number, cpu: number, bh: boolean, direct: boolean): void {
    const page = this.pool.page[row]!;
    if (page < 0) return;
    this.pool.page[row] = -1;
    this.put(page, cpu, bh, direct);
  }

  /** The reference of `row` moves elsewhere (a defer list, an XDP_TX descriptor): the page, or -1. */
  take(row: number): number {
    const page = this.pool.page[row]!;
    this.pool.page[row] = -1;
    return page;
  }

  /** Pages between the page allocator and its free lists now. */
  get live(): number {
    return this.allocated - this.released;
  }

  /** Pages referenced by skbs or XDP frames now, and pages no owner holds (a walk: tests and reports, not the packet path). */
  census(): { referenced: number; orphaned: number } {
    let referenced = 0;
    let orphaned = 0;
    const inFree = new Uint8Array(this.capacity);
    for (let i = 0; i < this.freeTop; i++) inFree[this.free[i]!] = 1;
    for (let p = 0; p < this.capacity; p++) {
      if (inFree[p]) continue;
      if (this.refs[p]! > 0) referenced++;
      if (this.owner[p]! < 0) orphaned++;
    }
    return { referenced, orphaned };
  }

  private grow(capacity: number): void {
    const old = this.capacity;
    this.refs = grown(this.refs, capacity);
    this.owner = grown(this.owner, capacity);
    this.node = grown(this.node, capacity);
    this.free = freeStack(old, capacity, this.free, this.freeTop);
    this.freeTop += capacity - old;
    this.capacity = capacity;
  }
}

/**
 * A driver's RX buffers on one ring: which page each posted descriptor holds, what a cleaned
 * frame does to its page, and where the refill finds pages. ixgbe and ice (6.18) reuse half
 * pages themselves (rx-page-reuse.ts); page_pool drivers take them from the queue's pool
 * (page-pool.ts).
 */
export interface RxBuffers {
  /** The frame in `row` was cleaned on `cpu` from the descriptor at next_to_clean: bind it to that buffer's page and put the buffer (reuse it or let it go). */
  clean(row: number, cpu: number): void;
  /** Give `n` cleaned descriptors back with a buffer each on `cpu`: the CPU time spent finding pages (beyond the descriptor write). */
  refill(n: number, cpu: number): number;
  /** Per-queue counters under the kernel's names. */
  stats(): Record<string, number>;
  resetWindow(): void;
  /** Each page the driver or its pool holds without a reference (ixgbe's posted pages, the pool's cache, ring and frag page): a walk for checks, not the packet path. */
  forEachHeld(f: (page: number) => void): void;
  /** References the posted buffers hold (a page_pool buffer holds one; ixgbe's halves are the driver's bias). */
  readonly postedRefs: number;
  /** An AF_XDP zero-copy pool (nic/rx-xsk-pool.ts): how many of `n` descriptors get a buffer now (all, for pages). */
  limit?(n: number): number;
  /** An AF_XDP zero-copy pool: the end of the clean loop (need_wakeup); true when the poll must return the whole budget. */
  endClean?(ringEmpty: boolean): boolean;
  /** An AF_XDP zero-copy pool: the frame just cleaned stays on its descriptor for the next poll (IXGBE_XDP_EXIT); undoes clean(). */
  keep?(): void;
}
