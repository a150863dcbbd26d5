import { describe, expect, it } from 'vitest';
import { HalfPageReuse } from '../../src/model/nic/rx-page-reuse.ts';
import { TxRing } from '../../src/model/nic/tx-ring.ts';
import { PacketPool } from '../../src/model/packet.ts';
import { PagePool, PP_ALLOC_CACHE_REFILL, PP_ALLOC_CACHE_SIZE } from '../../src/model/page-pool.ts';
import { RxPages } from '../../src/model/rx-pages.ts';
import { Acct } from '../../src/model/task.ts';
import { checkRxPages, run } from '../helpers.ts';

/**
 * The drivers' RX pages. ixgbe and ice (6.18) split each page in two buffers and reuse it while
 * no skb holds the other half (ixgbe_can_reuse_rx_page); a page_pool driver takes pages from its
 * queue's pool, which recycles them into its alloc cache from the pool's own NAPI context and into
 * its ptr_ring from anywhere else (page_pool_put_unrefed_netmem). Before, the refill cost the same
 * whatever the pages did, and nothing counted them.
 */

const TWO_NODES = [0, 0, 1, 1]; // cpuNode of CPUs 0..3

/** A ring of `size` descriptors with half-page reuse, and a way to receive and free frames. */
function halfPageRing(size: number) {
  const pool = new PacketPool(64);
  const pages = new RxPages(pool);
  const ring = new HalfPageReuse(pages, size, TWO_NODES, 79, 0);
  const receive = (cpu: number) => {
    const row = pool.alloc();
    ring.clean(row, cpu);
    return row;
  };
  const free = (row: number) => {
    pages.putRow(row, 0, true, false);
    pool.release(row);
  };
  return { pool, pages, ring, receive, free };
}

describe('ixgbe/ice half-page reuse (ixgbe_can_reuse_rx_page)', () => {
  it('a page is reused while the other half is free: a reader that keeps up costs no allocation', () => {
    const { ring, receive, free, pages } = halfPageRing(8);
    const allocatedAtOpen = pages.allocated;
    expect(allocatedAtOpen).toBe(7); // ixgbe_alloc_rx_buffers(ring, ixgbe_desc_unused) = count - 1
    for (let i = 0; i < 200; i++) {
      free(receive(0)); // the skb is gone before the ring comes round
      if ((i + 1) % 4 === 0) expect(ring.refill(4, 0)).toBe(0);
    }
    expect(ring.stats()).toEqual({ alloc_rx_page: 0, reuse_rx_page: 200 });
    expect(pages.allocated).toBe(allocatedAtOpen);
  });

  it('a page whose other half an skb still holds is let go: the refill allocates one, and the page is freed when the skb goes', () => {
    const { ring, receive, free, pages } = halfPageRing(8);
    const held: number[] = [];
    // First round: each fresh page's first half goes up; the other half is reused (flipped).
    for (let i = 0; i < 7; i++) held.push(receive(0));
    expect(ring.stats().reuse_rx_page).toBe(7);
    expect(ring.refill(7, 0)).toBe(0); // every slot got its page's other half back
    // Second round: the first halves are still held (a deep socket queue): no page is reusable.
    for (let i = 0; i < 7; i++) held.push(receive(0));
    expect(ring.stats().reuse_rx_page).toBe(7);
    expect(ring.refill(7, 0)).toBe(7 * 79); // ixgbe_alloc_mapped_page for each
    expect(ring.stats().alloc_rx_page).toBe(7);
    const live = pages.live;
    // The reader frees both halves of the first page: it goes back to the page allocator.
    free(held[0]!);
    expect(pages.live).toBe(live);
    free(held[7]!);
    expect(pages.live).toBe(live - 1);
  });

  it('a page of another NUMA node is not reused (dev_page_is_reusable)', () => {
    const { ring, receive, free } = halfPageRing(8);
    free(receive(2)); // CPU 2 is on node 1; the pages came from node 0
    expect(ring.stats()).toEqual({ alloc_rx_page: 0, reuse_rx_page: 0 });
    expect(ring.refill(1, 2)).toBe(79);
    expect(ring.stats().alloc_rx_page).toBe(1);
  });
});

/** A page_pool of a ring of `poolSize` whose NAPI is (or is not) on CPU 0's poll list. */
function pagePool(poolSize = 1024, fragsPerPage = 1) {
  const pool = new PacketPool(64);
  const pages = new RxPages(pool);
  const napi = { listOwner: 0 };
  const pp = new PagePool(pages, napi, TWO_NODES, { fast: 7, ring: 10, alloc: 79 }, poolSize, fragsPerPage);
  return { pages, pp, napi };
}

describe('page_pool (net/core/page_pool.c)', () => {
  it('an empty pool takes a bulk of 64 pages from the page allocator, then serves from its alloc cache', () => {
    const { pp, pages } = pagePool();
    pp.alloc(0);
    expect(pages.allocated).toBe(PP_ALLOC_CACHE_REFILL);
    expect(pp.takeCost()).toBe(7 + 64 * 79);
    for (let i = 1; i < PP_ALLOC_CACHE_REFILL; i++) pp.alloc(0);
    expect(pp.takeCost()).toBe(63 * 7);
    const s = pp.stats();
    expect([s.rx_pp_alloc_empty, s.rx_pp_alloc_slow, s.rx_pp_alloc_fast]).toEqual([1, 1, 63]);
  });

  it('from its NAPI’s CPU in softirq a freed page goes into the alloc cache; from elsewhere into the ptr_ring, which refills the cache', () => {
    const { pp } = pagePool();
    const a = pp.alloc(0);
    const b = pp.alloc(0);
    pp.lastRef(a, 0, true, false); // napi_consume_skb on the NAPI's CPU: page_pool_napi_local
    pp.lastRef(b, 1, false, false); // a reader on CPU 1 in process context
    let s = pp.stats();
    expect([s.rx_pp_recycle_cached, s.rx_pp_recycle_ring]).toEqual([1, 1]);
    pp.lastRef(pp.alloc(0), 1, true, false); // softirq, but not the CPU whose poll list holds the NAPI
    pp.lastRef(pp.alloc(0), 0, false, false); // the NAPI's CPU, but BH on (process context)
    s = pp.stats();
    expect([s.rx_pp_recycle_cached, s.rx_pp_recycle_ring]).toEqual([1, 3]);
    // Drain the cache (62 bulk pages + the recycled one … the allocations above took some), then the ring refills it.
    while (pp.stats().rx_pp_alloc_refill === 0) pp.alloc(0);
    s = pp.stats();
    expect([s.rx_pp_alloc_refill, s.rx_pp_alloc_slow]).toEqual([1, 1]);
  });

  it('a direct put (XDP_DROP) recycles into the cache even when no poll list holds the NAPI (threaded NAPI)', () => {
    const { pp, napi } = pagePool();
    napi.listOwner = -1;
    pp.lastRef(pp.alloc(0), 0, true, false);
    pp.lastRef(pp.alloc(0), 0, true, true);
    const s = pp.stats();
    expect([s.rx_pp_recycle_ring, s.rx_pp_recycle_cached]).toEqual([1, 1]);
  });

  it('a full alloc cache sends direct recycles to the ring (cache_full); a full ring gives pages back to the allocator (ring_full)', () => {
    const { pp, pages } = pagePool(4);
    const got: number[] = [];
    for (let i = 0; i < PP_ALLOC_CACHE_SIZE + 8; i++) got.push(pp.alloc(0));
    // Three bulks of 64 served 136 allocations: 56 pages are still in the alloc cache.
    const inCache = pages.allocated - got.length;
    expect(inCache).toBe(3 * PP_ALLOC_CACHE_REFILL - got.length);
    for (const p of got) pp.put(p, true);
    const s = pp.stats();
    const cached = PP_ALLOC_CACHE_SIZE - inCache;
    expect(s.rx_pp_recycle_cached).toBe(cached);
    expect(s.rx_pp_recycle_cache_full).toBe(got.length - cached);
    expect(s.rx_pp_recycle_ring).toBe(4); // the ptr_ring holds pool_size pages
    expect(s.rx_pp_recycle_ring_full).toBe(got.length - cached - 4);
    expect(pages.released).toBe(got.length - cached - 4);
    expect(pp.held).toBe(PP_ALLOC_CACHE_SIZE + 4);
  });

  it('two buffers per page (page_pool_alloc_frag_netmem): the page comes back when both fragments are freed; a used-up frag page whose fragments are all free is reused at once (page_pool_drain_frag)', () => {
    const { pp, pages } = pagePool(1024, 2);
    const a = pp.allocBuffer(0);
    const b = pp.allocBuffer(0);
    expect(b).toBe(a);
    expect(pages.refs[a]).toBe(2);
    const c = pp.allocBuffer(0); // a is used up and still referenced: the pool lets go of it
    expect(c).not.toBe(a);
    pages.put(a, 0, true, false);
    expect(pp.stats().rx_pp_recycle_cached).toBe(0); // one fragment still out
    pages.put(a, 0, true, false);
    expect(pp.stats().rx_pp_recycle_cached).toBe(1);
    // c's page: both fragments freed before the third allocation drains it — reused in place.
    const d = pp.allocBuffer(0);
    expect(d).toBe(c);
    pages.put(c, 0, true, false);
    pages.put(c, 0, true, false);
    expect(pp.stats().rx_pp_recycle_cached).toBe(1); // the pool still holds its frag page
    expect(pp.allocBuffer(0)).toBe(c);
    const s = pp.stats();
    expect([s.rx_pp_recycle_cached, s.rx_pp_alloc_fast]).toEqual([2, 2]);
  });

  it('a ring page of another node than the allocating CPU goes back to the allocator and the refill stops (waive)', () => {
    const { pp, pages } = pagePool();
    const p = pp.alloc(0); // node 0
    for (let i = 1; i < PP_ALLOC_CACHE_REFILL; i++) pp.alloc(0); // empty the cache
    pp.put(p, false); // into the ring
    pp.alloc(2); // CPU 2: node 1
    const s = pp.stats();
    expect(s.rx_pp_alloc_waive).toBe(1);
    expect(s.rx_pp_alloc_slow).toBe(2);
    expect(pages.released).toBe(1);
  });
});

describe('RX pages in a running machine', () => {
  const udp = (driver: string, readerCpu: string, sysctl: Record<string, unknown> = {}) => ({
    cpus: 2,
    duration_ms: 20,
    warmup_ms: 5,
    sysctl,
    nics: [{ name: 'eth0', driver, channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
    flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '200kpps', size: 256 }],
    apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: readerCpu }],
  });

  // Two 2 KiB buffers per page (page_pool_alloc_frag_netmem): a page comes back once both are freed.
  const aboutHalf = (x: number, n: number) => {
    expect(x).toBeGreaterThan(n * 0.45);
    expect(x).toBeLessThan(n * 0.55);
  };

  it('page_pool: a reader on another CPU gives its pages back through the defer list, in NET_RX on the NAPI’s CPU: into the alloc cache', () => {
    const { result } = run(udp('generic', '1'));
    const pp = result.nics[0]!.queues[0]!.pages;
    const n = result.nics[0]!.queues[0]!.packets;
    expect(result.skb_defer[0]!.deferred).toBeGreaterThan(n * 0.9);
    aboutHalf(pp.rx_pp_recycle_cached!, n);
    aboutHalf(pp.rx_pp_alloc_fast!, n);
    expect(pp.rx_pp_recycle_ring).toBe(0);
    expect(pp.rx_pp_alloc_slow).toBe(0);
  });

  it('page_pool: without deferral (skb_defer_max 0) the reader frees on its own CPU: every page goes through the ptr_ring', () => {
    const { result } = run(udp('generic', '1', { 'net.core.skb_defer_max': 0 }));
    const pp = result.nics[0]!.queues[0]!.pages;
    const n = result.nics[0]!.queues[0]!.packets;
    expect(pp.rx_pp_recycle_cached).toBe(0);
    aboutHalf(pp.rx_pp_recycle_ring!, n);
    expect(pp.rx_pp_alloc_refill!).toBeGreaterThan(0);
    expect(result.ethtool_S.eth0!.rx_pp_recycle_ring).toBe(pp.rx_pp_recycle_ring);
  });

  it('ixgbe: a reader that keeps up frees each skb before its page comes round: every buffer is reused', () => {
    const { result } = run(udp('ixgbe', '1'));
    const q = result.nics[0]!.queues[0]!;
    expect(q.pages.alloc_rx_page).toBe(0);
    expect(q.pages.reuse_rx_page).toBe(q.packets);
    expect(result.ethtool_S.eth0!.alloc_rx_page_failed).toBe(0);
  });
});

describe('page conservation (allocated − freed = held by rings and pools + held only by skbs)', () => {
  const cases: [string, Record<string, unknown>][] = [
    [
      'ixgbe, a slow TCP reader with a deep queue',
      {
        cpus: 2,
        nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
        flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 500 }],
        apps: [{ name: 'r', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1', user_ns_per_kb: 1000 }],
      },
    ],
    [
      'generic page_pool, UDP over 2 queues and RPS',
      {
        cpus: 4,
        sysctl: { 'net.core.skb_defer_max': 16 },
        nics: [{ name: 'eth0', driver: 'generic', channels: { combined: 2 }, queues: { 'rx-0': { rps_cpus: 'c' } } }],
        flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1-64', dst: '10.0.0.2:9', rate: '800kpps', size: 700 }],
        apps: [{ name: 's', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '3' }],
      },
    ],
    [
      'ice, XDP_TX half of a flood',
      {
        cpus: 2,
        nics: [{ name: 'eth0', driver: 'ice', channels: { combined: 1 }, xdp: { mode: 'native', program: [{ match: { proto: 'udp', src_port: '1-8' }, action: 'tx' }], default: 'pass' } }],
        flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1-16', dst: '10.0.0.2:9', rate: '1mpps', size: 64 }],
        apps: [{ name: 's', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }],
      },
    ],
    [
      'generic page_pool, XDP drops and passes',
      {
        cpus: 2,
        nics: [{ name: 'eth0', driver: 'generic', channels: { combined: 1 }, xdp: { mode: 'native', program: [{ match: { proto: 'udp', src_port: '1-8' }, action: 'drop' }], default: 'pass' } }],
        flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1-16', dst: '10.0.0.2:9', rate: '1mpps', size: 64 }],
        apps: [{ name: 's', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '0' }],
      },
    ],
  ];
  for (const [name, sc] of cases) {
    it(name, () => {
      for (const seed of [1, 2]) {
        const { kernel: k } = run({ ...sc, seed, duration_ms: 8, variability: undefined });
        checkRxPages(k);
      }
    });
  }
});

describe('where the page costs land', () => {
  const deep = {
    cpus: 2,
    duration_ms: 20,
    warmup_ms: 10,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
    flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 1000 }],
    apps: [{ name: 'r', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1', user_ns_per_kb: 1000 }],
  };

  it('ixgbe: a slow reader with a deep socket queue still holds each page’s first half when the ring comes round: one page allocated per two frames, on the RX CPU’s softirq time', () => {
    const { result, kernel: k } = run(deep);
    const q = result.nics[0]!.queues[0]!;
    expect(q.packets).toBeGreaterThan(5000);
    // A fresh page's first half is reused (nothing holds the other), its second is not: half the frames need a page.
    expect(q.pages.alloc_rx_page! / q.packets).toBeGreaterThan(0.45);
    expect(q.pages.alloc_rx_page! / q.packets).toBeLessThan(0.55);
    const free = run({ ...deep, cost_overrides: { page_alloc: 0 } });
    const extra = k.cpus[0]!.time[Acct.SOFT]! - free.kernel.cpus[0]!.time[Acct.SOFT]!;
    expect(free.result.nics[0]!.queues[0]!.pages.alloc_rx_page).toBeGreaterThan(0);
    // The softirq of CPU 0 pays ixgbe_alloc_mapped_page; the reader's CPU does not.
    expect(extra).toBeGreaterThan(0.8 * q.pages.alloc_rx_page! * 79);
  });

  it('ice (6.18, ice_can_reuse_rx_page): the same rule on a ring of the same size; its default 2048 descriptors come round later, so fewer pages are still held then', () => {
    const ice = (ring: Record<string, unknown>) => run({ ...deep, nics: [{ ...deep.nics[0], driver: 'ice', ...ring }] }).result;
    const small = ice({ ring: { rx: 512 } });
    const q = small.nics[0]!.queues[0]!;
    expect(q.pages.alloc_rx_page! / q.packets).toBeGreaterThan(0.45);
    expect(q.pages.alloc_rx_page! / q.packets).toBeLessThan(0.55);
    expect(small.ethtool_S.eth0!.rx_pg_alloc_fail).toBe(0);
    const big = ice({}).nics[0]!.queues[0]!;
    expect(big.pages.alloc_rx_page! / big.packets).toBeLessThan(0.4);
  });
});

describe('XDP and the pages', () => {
  const xdpFlood = (driver: string, action: string) => ({
    cpus: 2,
    duration_ms: 10,
    warmup_ms: 2,
    nics: [{ name: 'eth0', driver, channels: { combined: 1 }, irq_affinity: { '0': '0' }, xdp: { mode: 'native', program: [], default: action } }],
    flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '1mpps', size: 64 }],
  });

  it('page_pool: XDP_DROP gives the page straight back into the alloc cache (xdp_return_buff, napi_direct), and the refill takes it from there', () => {
    const { result } = run(xdpFlood('generic', 'drop'));
    const q = result.nics[0]!.queues[0]!;
    expect(q.xdp!.drop).toBeGreaterThan(7000);
    expect(q.pages.rx_pp_recycle_cached).toBe(q.xdp!.drop);
    expect(q.pages.rx_pp_recycle_ring).toBe(0);
    expect(q.pages.rx_pp_alloc_slow).toBe(0);
  });

  it('XDP_TX: the frame keeps its page until the TX completion is cleaned (xdp_return_frame), then the pool gets it back', () => {
    const { result, kernel: k } = run(xdpFlood('generic', 'tx'));
    const q = result.nics[0]!.queues[0]!;
    expect(q.xdp!.tx).toBeGreaterThan(7000);
    // Cleaned in the poll on the NAPI's CPU: into the alloc cache; those still on the TX ring hold theirs.
    const onTxRing = k.nics[0]!.txRings[0]!.pendingPages;
    expect(q.pages.rx_pp_recycle_cached! + q.pages.rx_pp_recycle_ring!).toBeGreaterThanOrEqual(q.xdp!.tx - onTxRing - 64);
    checkRxPages(k);
  });

  it('a TX ring holds an XDP_TX page until its completion is cleaned', () => {
    const pool = new PacketPool(8);
    const pages = new RxPages(pool);
    const ring = new HalfPageReuse(pages, 8, TWO_NODES, 79, 0);
    const row = pool.alloc();
    ring.clean(row, 0);
    const page = pages.take(row);
    const tx = new TxRing(0);
    tx.post(1000, 60, page);
    expect(tx.clean(500, 0, 256)).toBe(0);
    expect(pages.refs[page]).toBe(1);
    expect(tx.clean(1000, 0, 256)).toBe(1);
    expect([...tx.freedPages.subarray(0, tx.freedPageCount)]).toEqual([page]);
  });
});
