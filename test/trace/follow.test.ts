import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { PacketFollower, TraceRecorder, type FollowedPacket, type FollowStageName } from '../../src/trace/index.ts';
import { scenario } from '../helpers.ts';

const file = (name: string) => readFileSync(new URL(`../../sim-scenarios/${name}.json`, import.meta.url), 'utf8');
const resolvedOf = (text: string, durationMs: number) => loadScenario(text, { durationMs, set: ['warmup_ms=0'] }).resolved;

/** Run `text` following the first packet of `flow` arriving at or after `afterNs`; the digest and what the probe saw. */
function follow(text: string, durationMs: number, flow: number, afterNs: number): { digest: string; f: FollowedPacket; irqCpus: number[] } {
  const follower = new PacketFollower(flow, afterNs);
  const k = simulate(resolvedOf(text, durationMs), { trace: new TraceRecorder({ capacity: 1, fromNs: Infinity, follow: follower }) });
  const r = collectResult(k, 0);
  return { digest: r.digest, f: follower.result(), irqCpus: r.nics.flatMap((n) => n.queues.map((q) => q.irq_cpu)) };
}

/** The path order of the stages: a followed packet's stages must appear as a subsequence of it. */
const ORDER: FollowStageName[] = [
  'wire',
  'dma',
  'irq',
  'poll',
  'cpumap-enqueue',
  'cpumap-kthread',
  'gro-hold',
  'gro-merge',
  'gro-list',
  'netif',
  'backlog',
  'process_backlog',
  'netif',
  'socket',
  'coalesce',
  'copy',
  'drop',
];

function inPathOrder(stages: FollowStageName[]): boolean {
  let j = 0;
  for (const s of stages) {
    while (j < ORDER.length && ORDER[j] !== s) j++;
    if (j === ORDER.length) return false;
    j++;
  }
  return true;
}

describe('following one packet (trace-hooks FollowProbe)', () => {
  it('does not change the run: the followed run has the digest of a plain one', () => {
    const text = file('seed-lab-iperf3-on-irq-core');
    const plain = collectResult(simulate(resolvedOf(text, 12)), 0).digest;
    expect(follow(text, 12, 0, 8e6).digest).toBe(plain);
    // A probe that never picks (after the end of the run) changes nothing either.
    const none = follow(text, 12, 0, 1e9);
    expect(none.digest).toBe(plain);
    expect(none.f.picked).toBe(false);
    expect(none.f.stages).toEqual([]);
  });

  it('a frame the NIC drops as it arrives ends at the NIC, with the ethtool counter: no skb exists, so no kfree_skb_reason', () => {
    const { f } = follow(file('flood-64b-rss-4-queues'), 8, 0, 4e6);
    expect(f.stages.map((s) => s.stage)).toEqual(['wire', 'drop']);
    expect(f.stages[1]).toMatchObject({ fn: '(NIC hardware)', file: '' });
    expect(f.stages[1]!.detail).toMatch(/no skb was built \(ethtool -S (rx_no_dma_resources|rx_missed_errors)\)$/);
  });

  it('follows a seed-lab segment from the wire to the reader: DMA, the poll on the IRQ CPU, GRO, both passes, the socket, the copy', () => {
    const { f, irqCpus } = follow(file('seed-lab-iperf3-on-irq-core'), 12, 0, 8e6);
    const names = f.stages.map((s) => s.stage);
    expect(f.picked).toBe(true);
    expect(f.end).toBe('copy');
    expect(names[0]).toBe('wire');
    expect(names[1]).toBe('dma');
    expect(names.at(-1)).toBe('copy');
    expect(inPathOrder(names), names.join(' → ')).toBe(true);
    expect(f.stages[0]!.t).toBeGreaterThanOrEqual(8e6);
    for (let i = 1; i < f.stages.length; i++) expect(f.stages[i]!.t).toBeGreaterThanOrEqual(f.stages[i - 1]!.t);
    // The NIC's queue is served by one CPU: the poll runs there (RSS to rx-4, IRQ on CPU 4).
    const poll = f.stages.find((s) => s.stage === 'poll')!;
    expect(irqCpus).toContain(poll.cpu);
    // A pod: the stack is traversed twice (the NIC, then the pod's eth0 after veth and the backlog).
    const passes = f.stages.filter((s) => s.stage === 'netif').map((s) => s.detail);
    expect(passes).toEqual([expect.stringMatching(/pass 1 .* on ens4f1$/), expect.stringMatching(/pass 2 .* on eth0$/)]);
    expect(names.filter((s) => s.startsWith('gro-')).length).toBeGreaterThan(0);
  });

  it('on an idle machine the interrupt fires for the frame, the ring is empty ahead of it, and a closed port drops it with its reason', () => {
    const text = JSON.stringify(scenario({ flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '10kpps', size: 64 }] }));
    const { f } = follow(text, 3, 0, 1e6);
    expect(f.stages.map((s) => s.stage)).toEqual(['wire', 'dma', 'irq', 'poll', 'gro-list', 'netif', 'drop']); // UDP: not aggregated, gro_normal_one straight away
    expect(f.stages[1]!.detail).toMatch(/: 0 frames ahead/);
    expect(f.end).toBe('drop');
    expect(f.stages.at(-1)!.detail).toMatch(/NO_SOCKET/);
  });

  it('an XDP_DROP ends in the driver, before any skb', () => {
    const { f } = follow(file('xdp-drop'), 8, 0, 4e6);
    expect(f.stages.map((s) => s.stage)).toEqual(['wire', 'dma', ...(f.stages[2]!.stage === 'irq' ? ['irq'] : []), 'poll', 'drop']);
    expect(f.stages.at(-1)!.fn).toBe('ixgbe_run_xdp');
  });

  it("names the functions of the followed packet's own driver: ice's on an ice NIC, none invented for the generic profile", () => {
    const flows = [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '10kpps', size: 64 }];
    const on = (driver: string) => follow(JSON.stringify(scenario({ nics: [{ name: 'eth0', driver, channels: { combined: 2 } }], flows })), 3, 0, 1e6).f.stages;
    const ice = on('ice');
    expect(ice.find((s) => s.stage === 'irq')).toMatchObject({ fn: 'ice_msix_clean_rings', file: 'drivers/net/ethernet/intel/ice/ice_lib.c' });
    expect(ice.find((s) => s.stage === 'poll')).toMatchObject({ fn: 'ice_clean_rx_irq', file: 'drivers/net/ethernet/intel/ice/ice_txrx.c' });
    const generic = on('generic');
    expect(generic.find((s) => s.stage === 'poll')).toMatchObject({ fn: 'driver RX clean (generic profile)', file: '' });
    expect(generic.map((s) => s.fn).join(' ')).not.toMatch(/ixgbe|ice_/);
  });

  it('XDP on an ice NIC: XDP_DROP ends in ice_run_xdp, XDP_TX in __ice_xmit_xdp_ring, out of the device it came in on', () => {
    const onIce = (action: string) => {
      const s = JSON.parse(file('xdp-drop')) as { nics: { driver: string }[]; xdp_programs: Record<string, { program: { action: string }[] }>; flows: { rate: string }[] };
      s.nics[0]!.driver = 'ice';
      s.xdp_programs['xdp-drop']!.program[0]!.action = action;
      s.flows[0]!.rate = '100kpps'; // XDP_TX at line rate fills the ring: the frame would drop there
      return follow(JSON.stringify(s), 8, 0, 4e6).f.stages.at(-1)!;
    };
    expect(onIce('drop')).toMatchObject({ stage: 'drop', fn: 'ice_run_xdp', file: 'drivers/net/ethernet/intel/ice/ice_txrx.c' });
    const tx = onIce('tx');
    expect(tx).toMatchObject({ stage: 'drop', fn: '__ice_xmit_xdp_ring', file: 'drivers/net/ethernet/intel/ice/ice_txrx_lib.c' });
    expect(tx.detail).toContain('out of eth0');
  });

  it('a veth-local flow starts at the writer (tcp_sendmsg) with no NIC stage', () => {
    const { f } = follow(file('pod-to-pod-veth'), 8, 0, 4e6);
    const names = f.stages.map((s) => s.stage);
    expect(names[0]).toBe('wire');
    expect(f.stages[0]!.fn).toBe('tcp_sendmsg');
    expect(names).not.toContain('dma');
    expect(names.at(-1)).toBe('copy');
    expect(inPathOrder(names)).toBe(true);
  });

  it('an XDP_REDIRECT into a cpumap: bq_enqueue on the poll CPU, then the kthread builds the skb and runs the stack on the entry CPU; the run is unchanged', () => {
    const text = file('cpumap-steering');
    const plain = collectResult(simulate(resolvedOf(text, 8)), 0).digest;
    const { f, digest } = follow(text, 8, 0, 4e6);
    expect(digest).toBe(plain);
    const names = f.stages.map((s) => s.stage);
    expect(inPathOrder(names), names.join(' → ')).toBe(true);
    const enqueue = f.stages.find((s) => s.stage === 'cpumap-enqueue')!;
    const kthread = f.stages.find((s) => s.stage === 'cpumap-kthread')!;
    const poll = f.stages.find((s) => s.stage === 'poll')!;
    expect(enqueue.cpu).toBe(poll.cpu);
    expect(enqueue.detail).toContain(`for CPU ${kthread.cpu}`);
    expect(kthread.cpu).not.toBe(poll.cpu);
    expect(f.stages.find((s) => s.stage === 'netif')!.cpu).toBe(kthread.cpu);
    expect(f.end).toBe('copy');
  });
});
