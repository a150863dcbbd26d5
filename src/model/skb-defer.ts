import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import { NIL, type PacketPool } from './packet.ts';
import type { RxPages } from './rx-pages.ts';
import { NET_RX_SOFTIRQ } from './softirq.ts';

export interface SkbDeferHost {
  readonly costs: CostTable;
  readonly cpus: readonly Cpu[];
  readonly sysctl: { readonly 'net.core.skb_defer_max': number };
  readonly irqs: { readonly CAL: number };
  readonly smp: { register(onReceive: (cpu: Cpu) => void): number; send(cpu: number, kind: number): void };
  readonly softirq: { raiseIrqoff(cpu: Cpu, nr: number): void };
  readonly topology: { readonly cpuNode: readonly number[]; readonly nodes: number };
  readonly pool: PacketPool;
  readonly pages: RxPages;
}

/** What a CPU did with skbs other CPUs freed: in the result per CPU. */
export interface SkbDeferResult {
  cpu: number;
  /** skbs other CPUs queued to this CPU's defer list (it allocated them), freed here later. */
  deferred: number;
  /** skb_defer_free_flush() runs that found work, and kick IPIs received. */
  flushes: number;
  kicks: number;
}

/**
 * Deferred skb freeing (net/core/skbuff.c: skb_attempt_defer_free; net/core/dev.c:
 * skb_defer_free_flush, kick_defer_list_purge). A reader that finishes an skb another CPU
 * allocated (tcp_eat_recv_skb; skb_consume_udp since 6.18) does not free it: it adds it to the
 * allocating CPU's defer list for the freeing CPU's NUMA node (skb_defer_nodes, 6.18: each list
 * has its own count, limit and kick),
 * where that CPU frees it from NET_RX — at the top of each net_rx_action loop and after a
 * threaded poll — so the slab and page-fragment cache lines stay on the CPU that uses them. At
 * sysctl net.core.skb_defer_max queued skbs the reader frees them itself; when the list reaches
 * half of it, an IPI raises NET_RX on the allocating CPU (trigger_rx_softirq) so an idle CPU
 * drains its list too. The reader pays the enqueue (skb_defer), the allocating CPU the free
 * (skb_free) per skb. The skb's RX pages go back with the free: a deferred skb's at the flush, in
 * softirq on the allocating CPU (napi_consume_skb: a page_pool page may go straight into the alloc
 * cache there, page_pool_napi_local), the others where the reader frees the skb.
 */
export class SkbDefer {
  /** sdn->defer_count per allocating CPU × freeing node: attempts since the last flush (it keeps counting past the limit). */
  private readonly count: Int32Array;
  /** skbs on each list. */
  private readonly listed: Int32Array;
  private readonly nodes: number;
  /** sd->defer_ipi_scheduled. */
  private readonly ipiScheduled: Uint8Array;
  private readonly kind: number;
  private readonly deferred: Float64Array;
  private readonly flushes: Float64Array;
  private readonly kicks: Float64Array;
  /** The RX pages of the skbs on each CPU's defer lists, released at its flush. */
  private deferPages: Int32Array[];
  private deferPageCount: Int32Array;

  constructor(private readonly k: SkbDeferHost) {
    const n = k.cpus.length;
    this.nodes = k.topology.nodes;
    this.count = new Int32Array(n * this.nodes);
    this.listed = new Int32Array(n * this.nodes);
    this.ipiScheduled = new Uint8Array(n);
    this.deferred = new Float64Array(n);
    this.flushes = new Float64Array(n);
    this.kicks = new Float64Array(n);
    this.deferPages = Array.from({ length: n }, () => new Int32Array(64));
    this.deferPageCount = new Int32Array(n);
    this.kind = k.smp.register((cpu) => cpu.raiseHardirq({ desc: k.irqs.CAL, handler: (c) => this.triggerRxSoftirq(c) }));
  }

  /**
   * skb_attempt_defer_free() on `cpu` of the skb in `row`, allocated on `allocCpu` (-1: not by a
   * NAPI poll, freed here): the freeing cost paid on `cpu`.
   */
  free(cpu: number, allocCpu: number, row: number): number {
    const k = this.k;
    if (allocCpu === cpu || allocCpu < 0) return k.costs.skb_free; // kfree_skb_napi_cache
    const max = k.sysctl['net.core.skb_defer_max'];
    const list = allocCpu * this.nodes + k.topology.cpuNode[cpu]!; // per_cpu_ptr(skb_defer_nodes, cpu) + numa_node_id()
    const n = ++this.count[list]!;
    if (n >= max) return k.costs.skb_free; // nodefer
    this.listed[list]!++;
    this.deferred[allocCpu]!++;
    this.deferSkbPages(allocCpu, row);
    // Send an IPI every time the queue reaches half capacity.
    if (n - 1 === max >> 1 && this.ipiScheduled[allocCpu] === 0) {
      this.ipiScheduled[allocCpu] = 1;
      k.smp.send(allocCpu, this.kind);
    }
    return k.costs.skb_defer;
  }

  /** skb_defer_free_flush() on `cpu`: the cost of freeing what others queued here (napi_consume_skb each). */
  flush(cpu: number): number {
    let n = 0;
    for (let node = 0; node < this.nodes; node++) {
      const list = cpu * this.nodes + node;
      if (this.count[list] === 0) continue;
      n += this.listed[list]!;
      this.count[list] = 0;
      this.listed[list] = 0;
    }
    if (n === 0) return 0;
    this.flushes[cpu]!++;
    const pages = this.deferPages[cpu]!;
    for (let i = 0; i < this.deferPageCount[cpu]!; i++) this.k.pages.put(pages[i]!, cpu, true, false);
    this.deferPageCount[cpu] = 0;
    return n * this.k.costs.skb_free;
  }

  /** RX pages waiting on defer lists now (for checks). */
  get pendingPages(): number {
    return this.deferPageCount.reduce((a, n) => a + n, 0);
  }

  /** The pages of every segment of the skb in `row` wait on `allocCpu`'s list with it. */
  private deferSkbPages(allocCpu: number, row: number): void {
    const pool = this.k.pool;
    for (let r = row; r !== NIL; r = pool.frag[r]!) {
      const page = this.k.pages.take(r);
      if (page < 0) continue;
      let list = this.deferPages[allocCpu]!;
      const n = this.deferPageCount[allocCpu]!;
      if (n === list.length) {
        const bigger = new Int32Array(n * 2);
        bigger.set(list);
        this.deferPages[allocCpu] = list = bigger;
      }
      list[n] = page;
      this.deferPageCount[allocCpu] = n + 1;
    }
  }

  /** trigger_rx_softirq(): the kick IPI raises NET_RX, whose net_rx_action flushes the list. */
  private *triggerRxSoftirq(cpu: Cpu): Generator<number, void, void> {
    yield this.k.costs.hardirq_entry_exit + this.k.costs.ipi_handler;
    this.kicks[cpu.id]!++;
    this.k.softirq.raiseIrqoff(cpu, NET_RX_SOFTIRQ);
    this.ipiScheduled[cpu.id] = 0;
  }

  report(): SkbDeferResult[] {
    return this.k.cpus.map((c) => ({ cpu: c.id, deferred: this.deferred[c.id]!, flushes: this.flushes[c.id]!, kicks: this.kicks[c.id]! }));
  }

  resetWindow(): void {
    this.deferred.fill(0);
    this.flushes.fill(0);
    this.kicks.fill(0);
  }
}
