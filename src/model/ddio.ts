import type { PacketPool } from './packet.ts';

/**
 * Where a packet's payload is when the reader copies it: Intel Data Direct I/O (DDIO, the DCA of
 * Xeon E5 and later) and the NUMA node of the memory.
 *
 * The NIC writes a frame by DMA into an RX buffer; nothing in the stack reads the payload before
 * copy_to_user (GRO and TCP read headers only), so the copy finds the payload where the DMA left
 * it, unless it was evicted since:
 *
 *  - With DDIO, a DMA write to memory of the NIC's own node allocates its lines in the LLC of that
 *    node, in the ways the IIO LLC WAYS register (MSR 0xC8B) allows: 2 by default (Farshin et al.,
 *    "Reexamining Direct Cache Access…", ATC 2020; "Make the most out of last level cache in Intel
 *    processors", EuroSys 2019). Later DMA writes evict earlier lines from those ways, so a line
 *    is still there when fewer than ways × (L3 / L3 ways) bytes were DMA'd into that LLC after it
 *    ("leaky DMA": a deeper ring or socket queue, larger frames, or more time between the DMA
 *    and the read mean more misses — Cai et al., "Understanding Host Network Stack Overheads",
 *    SIGCOMM 2021, who see ≈49 % LLC misses for one 100 Gbit/s flow with DDIO on).
 *  - A DMA write to memory on another node than the NIC's bypasses DDIO (Intel documents DDIO for
 *    the local socket only): the payload is in that node's DRAM.
 *  - RX buffers are on the node of the CPU that refills the ring: ixgbe_alloc_rx_buffers
 *    (drivers/net/ethernet/intel/ixgbe/ixgbe_main.c) allocates with dev_alloc_pages (the local
 *    node), and ixgbe_can_reuse_rx_page keeps a page only if dev_page_is_reusable
 *    (include/linux/skbuff.h: page_to_nid(page) == numa_mem_id()).
 *
 * The model is one "DMA byte clock" per node: the bytes, in whole cache lines, DMA'd into that
 * node's LLC so far. A frame's row is stamped with the clock after its own write; at the copy,
 * clock − stamp is what was written into the I/O ways since, compared with their capacity: an LLC
 * (least recently written) model that is exact for a fully associative cache and ignores set
 * conflicts and eviction by CPU traffic (both assumptions). Rings are advanced lazily
 * (rx-queue.ts), so the clock lags by the frames that arrived since a ring was last looked at:
 * at most one interrupt interval of traffic, small against megabytes of capacity.
 *
 * Payload a CPU wrote (a local sender's copy_from_user, tcp_collapse's copy) is in that CPU's
 * node's LLC, in the ordinary ways: taken as an LLC hit for a reader of the same node and a remote
 * access otherwise (assumption: the reader comes before other traffic evicts it).
 */

/** Where the copy reads from: the reader's node's LLC, its node's DRAM, or another node. */
export const FROM_LLC = 0;
export const FROM_DRAM = 1;
export const FROM_REMOTE = 2;
export type CopySource = typeof FROM_LLC | typeof FROM_DRAM | typeof FROM_REMOTE;

/** DDIO allocates, and evicts, whole cache lines. */
const CACHE_LINE = 64;

/** The machine as DDIO sees it. */
export interface LlcTopology {
  /** NUMA node of each CPU (/sys/devices/system/cpu/cpu<N>/node<M>). */
  cpuNode: readonly number[];
  nodes: number;
  /** L3 bytes of one node, its ways, and the ways DDIO may allocate in (0: DDIO off). */
  l3Bytes: number;
  l3Ways: number;
  ddioWays: number;
}

export class Ddio {
  /** Bytes of one node's LLC that DMA writes may fill: ddio_ways × the size of a way. */
  readonly capacity: number;
  private readonly clock: Float64Array;
  private readonly cpuNode: Int8Array;
  /** Bytes (in whole lines) DMA'd into each node's LLC, and into DRAM past DDIO, in the window. */
  readonly llcBytes: Float64Array;
  readonly dramBytes: Float64Array;

  constructor(
    private readonly pool: PacketPool,
    readonly topology: LlcTopology,
  ) {
    this.capacity = Math.floor((topology.l3Bytes / topology.l3Ways) * topology.ddioWays);
    this.clock = new Float64Array(topology.nodes);
    this.cpuNode = Int8Array.from(topology.cpuNode);
    this.llcBytes = new Float64Array(topology.nodes);
    this.dramBytes = new Float64Array(topology.nodes);
  }

  nodeOf(cpu: number): number {
    return this.cpuNode[cpu]!;
  }

  /**
   * The NIC on `nicNode` DMAs frame `row` (`bytes` of it: the frame without the FCS it strips)
   * into an RX buffer on `bufferNode`.
   */
  dmaWrite(row: number, bytes: number, nicNode: number, bufferNode: number): void {
    const pool = this.pool;
    const lines = Math.ceil(bytes / CACHE_LINE) * CACHE_LINE;
    pool.memNode[row] = bufferNode;
    if (bufferNode !== nicNode || this.capacity === 0) {
      // No DDIO: to remote memory, or the I/O ways are switched off.
      pool.llcNode[row] = -1;
      this.dramBytes[bufferNode] = this.dramBytes[bufferNode]! + lines;
      return;
    }
    const c = this.clock[nicNode]! + lines;
    this.clock[nicNode] = c;
    this.llcBytes[nicNode] = this.llcBytes[nicNode]! + lines;
    pool.llcNode[row] = nicNode;
    pool.llcStamp[row] = c;
  }

  /** A CPU wrote the payload of `row`: it is in the LLC of that CPU's node, outside the I/O ways. */
  cpuWrite(row: number, cpu: number): void {
    const node = this.cpuNode[cpu]!;
    this.pool.memNode[row] = node;
    this.pool.llcNode[row] = node;
    this.pool.llcStamp[row] = Infinity; // no DMA write evicts it
  }

  /** Where a reader on `cpu` finds payload that `writer` wrote (a CPU's copy, not DMA). */
  cpuWritten(writer: number, cpu: number): CopySource {
    return this.cpuNode[writer] === this.cpuNode[cpu] ? FROM_LLC : FROM_REMOTE;
  }

  /** Where a reader on `cpu` finds the payload of `row` now. */
  locate(row: number, cpu: number): CopySource {
    const pool = this.pool;
    const reader = this.cpuNode[cpu]!;
    const llc = pool.llcNode[row]!;
    if (llc >= 0 && this.clock[llc]! - pool.llcStamp[row]! < this.capacity) return llc === reader ? FROM_LLC : FROM_REMOTE;
    return pool.memNode[row] === reader ? FROM_DRAM : FROM_REMOTE;
  }

  resetWindow(): void {
    this.llcBytes.fill(0);
    this.dramBytes.fill(0);
  }

  /** Per node: DDIO's capacity and what the NICs DMA'd into its LLC and past it, in the window. */
  report(): DdioNodeResult[] {
    return Array.from({ length: this.topology.nodes }, (_, n) => ({
      node: n,
      cpus: this.topology.cpuNode.flatMap((m, c) => (m === n ? [c] : [])),
      l3_kb: Math.round(this.topology.l3Bytes / 1024),
      ddio_kb: Math.round(this.capacity / 1024),
      dma_llc_bytes: this.llcBytes[n]!,
      dma_dram_bytes: this.dramBytes[n]!,
    }));
  }
}

/** One NUMA node in the result. */
export interface DdioNodeResult {
  node: number;
  cpus: number[];
  l3_kb: number;
  ddio_kb: number;
  dma_llc_bytes: number;
  dma_dram_bytes: number;
}
