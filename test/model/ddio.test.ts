import { describe, expect, it } from 'vitest';
import { copyToUser } from '../../src/model/app/recv.ts';
import type { Kernel } from '../../src/model/kernel.ts';
import { inputError, kernel, run } from '../helpers.ts';

/**
 * Copy locality (ddio.ts): the payload is where the NIC's DMA left it — the LLC of the NIC's node
 * while DDIO's ways hold it, else DRAM — not where the protocol pass ran. Each test sets the CPU
 * of the protocol pass (pool.l4cpu, what the old rule read) against the new rule's answer.
 */

const SINK = { name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' };
const FRAME = 1514; // an MTU frame without its FCS, as the NIC DMAs it (24 lines: 1536 bytes)

function machine(over: Record<string, unknown> = {}): Kernel {
  return kernel({ cpus: 4, apps: [SINK], nics: [{ name: 'eth0', channels: { combined: 1 } }], ...over });
}

/** A frame DMA'd by the NIC into a buffer on `bufferNode`, whose protocol pass ran on `l4cpu`. */
function dma(k: Kernel, l4cpu: number, nicNode = 0, bufferNode = nicNode): number {
  const row = k.pool.alloc();
  k.ddio.dmaWrite(row, FRAME, nicNode, bufferNode);
  k.pool.l4cpu[row] = l4cpu;
  k.pool.len[row] = 1024;
  return row;
}

/** The cost of copying 1 KiB of `row` on `cpu`. */
const copy = (k: Kernel, row: number, cpu: number): number => copyToUser(k, k.sockets.sockets[0]!, row, 1024, cpu);

describe('DDIO: where the reader finds the payload', () => {
  it('a copy right after the DMA hits the LLC, even on another CPU than the protocol pass (the old rule: cold)', () => {
    const k = machine();
    const row = dma(k, 0);
    expect(copy(k, row, 1)).toBe(k.costs.copy_kb_llc);
    expect(k.sockets.sockets[0]!.report('sink').copied_llc_bytes).toBe(1024);
  });

  it('after more than the DDIO ways hold of later DMA the payload is in DRAM, even on the protocol-pass CPU (the old rule: hot)', () => {
    const k = machine();
    const row = dma(k, 1);
    const capacity = k.ddio.capacity;
    // baremetal-10g: 2 of 20 ways of 20 MiB.
    expect(capacity).toBe((20 * 1024 * 1024 * 2) / 20);
    let written = 0;
    while (written < capacity - 1536) {
      dma(k, 1);
      written += 1536;
    }
    expect(copy(k, row, 1)).toBe(k.costs.copy_kb_llc); // the ways still hold it
    dma(k, 1); // one frame more: evicted (least recently written first)
    expect(copy(k, row, 1)).toBe(k.costs.copy_kb_dram);
    expect(k.sockets.sockets[0]!.report('sink').copied_dram_bytes).toBe(1024);
  });

  it('ddio_ways 0 (DDIO off): every copy reads DRAM', () => {
    const k = machine({ machine: { ddio_ways: 0 } });
    expect(copy(k, dma(k, 1), 1)).toBe(k.costs.copy_kb_dram);
  });

  it('a reader on a node remote to the NIC pays the remote cost, even where the protocol pass ran (the old rule: hot)', () => {
    const k = machine({ machine: { numa_nodes: ['0-1', '2-3'] } });
    const row = dma(k, 2); // NIC and buffers on node 0, protocol pass and reader on CPU 2 (node 1)
    expect(copy(k, row, 2)).toBe(k.costs.copy_kb_remote);
    expect(copy(k, row, 0)).toBe(k.costs.copy_kb_llc);
    expect(k.sockets.sockets[0]!.report('sink').copied_remote_bytes).toBe(1024);
    expect(k.costs.copy_kb_remote).toBeGreaterThan(k.costs.copy_kb_dram);
  });

  it("buffers on another node than the NIC's bypass DDIO: that node's DRAM, remote for the NIC's node", () => {
    const k = machine({ machine: { numa_nodes: ['0-1', '2-3'] } });
    const row = dma(k, 2, 0, 1); // NIC on node 0, ring refilled by a CPU of node 1
    expect(copy(k, row, 2)).toBe(k.costs.copy_kb_dram);
    expect(copy(k, row, 0)).toBe(k.costs.copy_kb_remote);
  });

  it("in a run the ring is refilled with pages of the polling CPU's node: an IRQ on the far node puts the payload there", () => {
    const sc = (irq: string) =>
      run({
        cpus: 4,
        duration_ms: 10,
        machine: { numa_nodes: ['0-1', '2-3'] },
        nics: [{ name: 'eth0', channels: { combined: 1 }, numa_node: 0, irq_affinity: { '0': irq } }],
        apps: [{ ...SINK, cpus: '1' }],
        flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '1gbit', size: 'mtu' }],
      }).result;
    const near = sc('0');
    expect(near.sockets[0]!.copied_llc_pct).toBe(100);
    expect(near.numa_nodes[0]!.dma_llc_bytes).toBeGreaterThan(0);
    const far = sc('2'); // buffers on node 1 after the first refill: DMA to remote memory, no DDIO
    expect(far.numa_nodes[1]!.dma_dram_bytes).toBeGreaterThan(0.9 * near.numa_nodes[0]!.dma_llc_bytes);
    expect(far.sockets[0]!.copied_remote_bytes).toBeGreaterThan(0.9 * far.sockets[0]!.copied_bytes);
  });
});

describe('leaky DMA: deeper rings and bigger frames raise the miss rate (Cai et al., SIGCOMM 2021)', () => {
  /**
   * A softirq slower than the wire (udp_rcv made dear) keeps the ring full, so each frame waits
   * for a ring's worth of later frames to be DMA'd before it is cleaned, then for what the socket
   * queue holds before it is read. The L3 is small (4 MiB, 16 ways, 2 for DDIO: 512 KiB) so that
   * the crossing falls inside ixgbe's ring sizes.
   */
  const llcPct = (ring: number, mtu: number, udpRcvNs = 3000, rate = 'line'): number =>
    run({
      cpus: 2,
      duration_ms: 12,
      warmup_ms: 4,
      machine: { l3_kb: 4096, l3_ways: 16, ddio_ways: 2 },
      cost_overrides: { udp_rcv: udpRcvNs },
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' }, ring: { rx: ring }, mtu }],
      apps: [SINK],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', size: 'mtu', rate }],
    }).result.sockets[0]!.copied_llc_pct;

  it('the LLC share never rises with the ring size, and falls from all to none across it', () => {
    const rings = [64, 128, 256, 512, 1024];
    const pct = rings.map((ring) => llcPct(ring, 1500));
    for (let i = 1; i < pct.length; i++) expect(pct[i]!).toBeLessThanOrEqual(pct[i - 1]!);
    expect(pct[0]!).toBeGreaterThan(99); // 64 × 1536 B = 96 KiB (and the socket queue) < 512 KiB
    expect(pct[pct.length - 1]!).toBeLessThan(1); // 1024 × 1536 B = 1.5 MiB
  });

  it('at the same ring size and packet rate, jumbo frames miss where MTU 1500 frames hit', () => {
    // 120 kpps against a softirq of 10 µs per datagram: the ring stays full at either size.
    expect(llcPct(64, 1500, 10_000, '120kpps')).toBeGreaterThan(99); // 64 × 1.5 KiB = 96 KiB
    expect(llcPct(64, 9000, 10_000, '120kpps')).toBeLessThan(1); // 64 × 9 KiB = 576 KiB
  });
});

describe('machine inputs', () => {
  it('reject a CPU in two nodes, a missing CPU, a node the machine lacks, more DDIO ways than the L3 has', () => {
    expect(inputError(() => machine({ machine: { numa_nodes: ['0-2', '2-3'] } }))).toMatch(/machine\.numa_nodes\[1\].*CPU 2 is already in node 0/);
    expect(inputError(() => machine({ machine: { numa_nodes: ['0-1', '3'] } }))).toMatch(/machine\.numa_nodes.*CPU 2 is in no node/);
    expect(inputError(() => machine({ machine: { numa_nodes: ['0-1', '2-5'] } }))).toMatch(/CPU 4 does not exist/);
    expect(inputError(() => machine({ machine: { numa_nodes: ['0-1', 'x'] } }))).toMatch(/machine\.numa_nodes\[1\].*not a CPU list/);
    expect(inputError(() => machine({ nics: [{ name: 'eth0', numa_node: 1 }] }))).toMatch(/nics\[0\]\.numa_node.*node 1 does not exist/);
    expect(inputError(() => machine({ machine: { ddio_ways: 21 } }))).toMatch(/machine\.ddio_ways.*20 ways/);
  });

  it("defaults come from the cost profile: one node of every CPU, the profile machine's L3", () => {
    const k = machine({ costs: 'lab-2020' });
    expect(k.ddio.topology.nodes).toBe(1);
    expect(k.ddio.capacity).toBe((25 * 1024 * 1024 * 2) / 20);
  });
});
