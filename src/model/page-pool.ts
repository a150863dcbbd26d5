import type { PageOwner, RxPages } from './rx-pages.ts';

/** PP_ALLOC_CACHE_SIZE and PP_ALLOC_CACHE_REFILL (include/net/page_pool/types.h). */
export const PP_ALLOC_CACHE_SIZE = 128;
export const PP_ALLOC_CACHE_REFILL = 64;
/** page_pool_init: the ptr_ring holds pool_size pages (1024 when the driver gives none), at most 16384. */
export const PP_RING_DEFAULT = 1024;
export const PP_RING_MAX = 16384;

/** The CPU costs of the pool's paths (costs.ts: page_pool_fast, page_pool_ring, page_alloc). */
export interface PagePoolCosts {
  readonly fast: number;
  readonly ring: number;
  readonly alloc: number;
}

/** page_pool_get_stats() as ethtool -S prints it (page_pool_ethtool_stats_get_strings): the rx_pp_* names in order. */
export const PP_STATS = [
  'rx_pp_alloc_fast',
  'rx_pp_alloc_slow',
  'rx_pp_alloc_slow_ho',
  'rx_pp_alloc_empty',
  'rx_pp_alloc_refill',
  'rx_pp_alloc_waive',
  'rx_pp_recycle_cached',
  'rx_pp_recycle_cache_full',
  'rx_pp_recycle_ring',
  'rx_pp_recycle_ring_full',
  'rx_pp_recycle_released_ref',
] as const;
const FAST = 0;
const SLOW = 1;
const EMPTY = 3;
const REFILL = 4;
const WAIVE = 5;
const CACHED = 6;
const CACHE_FULL = 7;
const RING = 8;
const RING_FULL = 9;

/**
 * A page_pool (net/core/page_pool.c), one per RX queue of a driver that uses it, order-0 pages:
 *
 * - page_pool_alloc_netmems: the fast path pops the alloc cache (PP_ALLOC_CACHE_SIZE 128,
 *   alloc.fast); an empty cache refills from the ptr_ring (page_pool_refill_alloc_cache: up to
 *   PP_ALLOC_CACHE_REFILL 64 pages, alloc.refill; an empty ring counts alloc.empty; a page of
 *   another NUMA node than the allocating CPU's — pool nid NUMA_NO_NODE: numa_mem_id() — goes back
 *   to the page allocator and stops the refill, alloc.waive); with nothing there, the slow path
 *   takes a bulk of 64 pages from the page allocator (__page_pool_alloc_netmems_slow:
 *   alloc_pages_bulk_node, page_pool_dma_map each, alloc.slow).
 * - page_pool_put_unrefed_netmem when the last user lets go: direct recycling into the alloc cache
 *   only when the caller may touch it — the driver's own NAPI context (allow_direct: XDP_DROP), or
 *   page_pool_napi_local(): in softirq on the CPU whose poll list holds the pool's NAPI
 *   (napi->list_owner) — recycle.cached, or recycle.cache_full when it holds 128; everything else
 *   (a reader in process context, another CPU, threaded NAPI) goes into the ptr_ring
 *   (page_pool_recycle_in_ring, recycle.ring) or, when that is full, back to the page allocator
 *   (recycle.ring_full).
 *
 * Pages are counted in typed arrays (cache as a stack, ring as a FIFO of page ids): nothing is
 * allocated per page. recycle.released_refcnt (a page some other user still references, e.g. an
 * skb clone's) and alloc.slow_high_order (order > 0 pools) stay 0: the model has neither.
 */
export class PagePool implements PageOwner {
  private readonly cache = new Int32Array(PP_ALLOC_CACHE_SIZE);
  private cacheCount = 0;
  private readonly ring: Int32Array;
  private ringHead = 0;
  private ringCount = 0;
  readonly id: number;
  /** alloc_stats and recycle_stats in PP_STATS order (recycle stats are per CPU in the kernel; summed here). */
  readonly counts = new Float64Array(PP_STATS.length);
  /** CPU time the allocations since the last takeCost() spent. */
  private cost = 0;
  /** pool->frag_page (-1: none) and the fragments handed out from it (pool->frag_users). */
  private fragPage = -1;
  private fragUsers = 0;

  constructor(
    private readonly pages: RxPages,
    /** pool->p.napi: its list_owner decides page_pool_napi_local(). */
    private readonly napi: { readonly listOwner: number },
    private readonly cpuNode: readonly number[],
    private readonly costs: PagePoolCosts,
    /** pool->p.pool_size. */
    poolSize: number,
    /** Buffers per page: PAGE_SIZE / the buffer's truesize (1: whole pages). */
    private readonly fragsPerPage = 1,
  ) {
    this.ring = new Int32Array(Math.min(poolSize > 0 ? poolSize : PP_RING_DEFAULT, PP_RING_MAX));
    this.id = pages.register(this);
  }

  /** page_pool_alloc_netmems() on `cpu` (softirq): a page id. */
  alloc(cpu: number): number {
    this.cost += this.costs.fast;
    if (this.cacheCount > 0) {
      this.counts[FAST]!++;
      return this.cache[--this.cacheCount]!;
    }
    const page = this.refillAllocCache(this.cpuNode[cpu]!);
    return page >= 0 ? page : this.allocSlow(this.cpuNode[cpu]!);
  }

  /**
   * A buffer for a descriptor, holding one reference on its page: a whole page
   * (page_pool_alloc_netmems) or the next fragment of the pool's frag page
   * (page_pool_alloc_frag_netmem): once the frag page is used up, page_pool_drain_frag gives up
   * the pool's hold — and when every fragment of it is already free, the page is reused at once
   * (recycle.cached and alloc.fast), else it comes back when its last fragment is freed.
   */
  allocBuffer(cpu: number): number {
    // (pages.refs is read after alloc: the page table may grow and replace its arrays.)
    if (this.fragsPerPage === 1) {
      const page = this.alloc(cpu);
      this.pages.refs[page]!++;
      return page;
    }
    let page = this.fragPage;
    if (page >= 0 && this.fragUsers === this.fragsPerPage) {
      if (this.pages.refs[page] === 0) {
        this.counts[CACHED]!++;
        this.counts[FAST]!++;
        this.cost += this.costs.fast;
      } else {
        page = -1;
      }
      this.fragUsers = 0;
    }
    if (page < 0) page = this.alloc(cpu);
    this.fragPage = page;
    this.fragUsers++;
    this.pages.refs[page]!++;
    return page;
  }

  /** The CPU time of the allocations since the last call (the driver charges it to its refill). */
  takeCost(): number {
    const c = this.cost;
    this.cost = 0;
    return c;
  }

  /**
   * page_pool_put_unrefed_netmem() of a page no user references any more. `napiLocal`: the
   * caller may recycle into the alloc cache (allow_direct, or page_pool_napi_local()). The
   * interface XDP_REDIRECT's returns use (xdp_return_frame, cpumap, AF_XDP copy mode).
   */
  put(page: number, napiLocal: boolean): void {
    if (napiLocal) {
      // page_pool_recycle_in_cache()
      if (this.cacheCount < PP_ALLOC_CACHE_SIZE) {
        this.cache[this.cacheCount++] = page;
        this.counts[CACHED]!++;
        return;
      }
      this.counts[CACHE_FULL]!++;
    }
    // page_pool_recycle_in_ring(): __ptr_ring_produce fails when the ring is full.
    if (this.ringCount < this.ring.length) {
      this.ring[(this.ringHead + this.ringCount++) % this.ring.length] = page;
      this.counts[RING]!++;
      return;
    }
    this.counts[RING_FULL]!++;
    this.pages.freePage(page); // page_pool_return_netmem
  }

  /** PageOwner: the last skb or frame reference went, on `cpu`. */
  lastRef(page: number, cpu: number, bh: boolean, direct: boolean): void {
    if (page === this.fragPage) return; // the pool still holds its frag page: page_pool_drain_frag decides
    this.put(page, direct || this.napiLocal(cpu, bh));
  }

  /**
   * page_pool_napi_local(): in softirq (or with BH off), on the CPU whose poll list holds the
   * pool's NAPI. A driver pool's cpuid is -1 (page_pool_create), so the NAPI decides.
   */
  napiLocal(cpu: number, bh: boolean): boolean {
    return bh && this.napi.listOwner === cpu;
  }

  /** page_pool_refill_alloc_cache(): a page, or -1 when the ring gave none. */
  private refillAllocCache(prefNode: number): number {
    if (this.ringCount === 0) {
      this.counts[EMPTY]!++;
      return -1;
    }
    const pages = this.pages;
    const ring = this.ring;
    do {
      const page = ring[this.ringHead]!;
      this.ringHead = this.ringHead + 1 === ring.length ? 0 : this.ringHead + 1;
      this.ringCount--;
      this.cost += this.costs.ring;
      if (pages.node[page] === prefNode) {
        this.cache[this.cacheCount++] = page;
      } else {
        // NUMA mismatch: release one page to the page allocator and fall through to the slow path.
        pages.freePage(page);
        this.counts[WAIVE]!++;
        break;
      }
    } while (this.cacheCount < PP_ALLOC_CACHE_REFILL && this.ringCount > 0);
    if (this.cacheCount === 0) return -1;
    this.counts[REFILL]!++;
    return this.cache[--this.cacheCount]!;
  }

  /** __page_pool_alloc_netmems_slow(): a bulk of PP_ALLOC_CACHE_REFILL pages from the allocator, one returned. */
  private allocSlow(node: number): number {
    for (let i = 0; i < PP_ALLOC_CACHE_REFILL; i++) this.cache[this.cacheCount++] = this.pages.alloc(this.id, node);
    this.cost += PP_ALLOC_CACHE_REFILL * this.costs.alloc;
    this.counts[SLOW]!++;
    return this.cache[--this.cacheCount]!;
  }

  /** Pages the pool holds (alloc cache and ptr_ring). */
  get held(): number {
    return this.cacheCount + this.ringCount;
  }

  /** Each page in the alloc cache, the ptr_ring and the frag page (a walk for checks). */
  forEachHeld(f: (page: number) => void): void {
    if (this.fragPage >= 0) f(this.fragPage);
    for (let i = 0; i < this.cacheCount; i++) f(this.cache[i]!);
    for (let i = 0; i < this.ringCount; i++) f(this.ring[(this.ringHead + i) % this.ring.length]!);
  }

  /** page_pool_get_stats() under the ethtool names. */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    PP_STATS.forEach((name, i) => (out[name] = this.counts[i]!));
    return out;
  }

  resetWindow(): void {
    this.counts.fill(0);
  }
}
