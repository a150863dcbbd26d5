import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import type { CpuMapEntryResult } from '../../src/model/cpumap.ts';
import type { DevMapEntryResult } from '../../src/model/devmap.ts';
import { simulate } from '../../src/model/simulate.ts';
import { Acct } from '../../src/model/task.ts';
import type { TraceHooks } from '../../src/model/trace-hooks.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { QUIET_TRACE, kernel, run, scenario } from '../helpers.ts';

/**
 * Generic XDP_REDIRECT (net/core/dev.c: do_xdp_generic → net/core/filter.c:
 * xdp_do_generic_redirect → xdp_do_generic_redirect_map): the skb itself goes to the map entry,
 * one at a time — onto a cpumap entry's ring with a wake-up each (cpu_map_generic_redirect), or
 * out of a devmap entry's device with generic_xdp_tx (dev_map_generic_redirect). Before this
 * rule a generic program with a redirect rule was refused at load.
 */

const ONE_QUEUE = { name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } };
const SINK = [{ name: 'sink', kind: 'udp-sink', cpus: '3', listen: '10.0.0.2:9' }];
const flood = (rate = '500kpps', nic = 'eth0') => [{ name: 'f', nic, proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate, size: 64 }];
const cpumap = (cpus: number[], qsize = 2048) => ({ cpu_map: { type: 'cpumap', entries: cpus.map((cpu) => ({ cpu, qsize })) } });
const redirect = (mode: 'native' | 'generic', key: number | string, map = 'cpu_map') => ({ mode, program: [{ match: { proto: 'udp' }, action: 'redirect', map, key }], default: 'pass' });

const dropped = (r: Result) => Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
const conserved = (r: Result) => expect(r.packets.offered).toBe(r.packets.delivered + dropped(r) + r.packets.in_flight + (r.packets.xdp_tx ?? 0) + (r.packets.xdp_redirect ?? 0));
const entry = (r: Result, cpu: number) => (r.xdp_maps![0]!.entries as CpuMapEntryResult[]).find((e) => e.cpu === cpu)!;

function cpumapRun(mode: 'native' | 'generic', over: Record<string, unknown> = {}) {
  return run({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect(mode, 2) }], xdp_maps: cpumap([2]), apps: SINK, flows: flood(), ...over });
}

describe('generic XDP_REDIRECT into a cpumap (cpu_map_generic_redirect)', () => {
  it("a key without an entry returns bpf_redirect_map's flags in generic mode too: fallback pass goes to the stack, none aborts", () => {
    const missing = (fallback?: string) =>
      run({
        cpus: 4,
        nics: [{ ...ONE_QUEUE, xdp: { mode: 'generic', program: [{ match: { proto: 'udp' }, action: 'redirect', map: 'cpu_map', key: 1, ...(fallback ? { fallback } : {}) }] } }],
        xdp_maps: cpumap([2]),
        apps: SINK,
        flows: flood(),
      }).result;
    const pass = missing('pass');
    const q = pass.nics[0]!.queues[0]!;
    expect(q.xdp!.pass).toBeGreaterThan(1000);
    expect(q.xdp!.aborted).toBe(0);
    expect(pass.packets.delivered).toBeGreaterThan(q.packets - 128);
    const aborted = missing().nics[0]!.queues[0]!.xdp!;
    expect(aborted.pass).toBe(0);
    expect(aborted.aborted).toBeGreaterThan(1000);
  });

  it('the skb built on the interrupt CPU is queued to the entry and received again on its CPU by cpumap/2/map:1; the program runs once per skb', () => {
    const { result: r, kernel: k } = cpumapRun('generic');
    const q = r.nics[0]!.queues[0]!;
    // A poll's skbs reach __netif_receive_skb_core after its frames were counted: up to a poll's worth apart at the window's edges.
    expect(Math.abs(q.xdp!.redirect! - q.packets)).toBeLessThanOrEqual(64);
    expect(q.xdp!.pass).toBe(0);
    const e = entry(r, 2);
    expect(e.enqueue.processed).toBe(q.xdp!.redirect!);
    expect(e.enqueue.drops).toBe(0);
    // Both passes of __netif_receive_skb_core: the driver's skb on CPU 0 (where do_xdp_generic
    // took it), the kthread's on CPU 2 (skb_is_redirected: no second run of the program).
    expect(k.softnet[0]!.processed).toBeGreaterThanOrEqual(e.enqueue.processed);
    expect(k.softnet[2]!.processed).toBeGreaterThanOrEqual(e.kthread_stats.processed - 1);
    expect(r.packets.delivered).toBeGreaterThan(q.packets - 128);
    expect(r.drop_reasons).toEqual([]);
    conserved(r);
  });

  it('no bulk queue: trace_xdp_cpumap_enqueue fires per skb with processed 1 (native: per flush of up to 8)', () => {
    const trace = (mode: 'native' | 'generic') => {
      const k = kernel({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect(mode, 2) }], xdp_maps: cpumap([2]), apps: SINK, flows: flood('2mpps'), duration_ms: 1 });
      const processed: number[] = [];
      k.trace = { ...QUIET_TRACE, xdpCpumapEnqueue: (_c, _id, p) => processed.push(p) } satisfies TraceHooks;
      k.start();
      k.sim.runUntil(1_000_000);
      return processed;
    };
    const generic = trace('generic');
    expect(generic.length).toBeGreaterThan(1000);
    expect(new Set(generic)).toEqual(new Set([1]));
    expect(Math.max(...trace('native'))).toBe(8);
  });

  it('costs the interrupt CPU more per frame than native redirect: the skb, generic XDP and a flush and wake-up per skb', () => {
    const per = (x: ReturnType<typeof cpumapRun>) => x.kernel.cpus[0]!.time[Acct.SOFT]! / x.result.nics[0]!.queues[0]!.packets;
    const native = cpumapRun('native');
    const generic = cpumapRun('generic');
    const c = generic.kernel.costs;
    expect(per(generic) - per(native)).toBeGreaterThan(c.build_skb + c.xdp_generic);
    // The kthread builds no skb for it (cpumap_skb is native's only).
    const kt = (x: ReturnType<typeof cpumapRun>) => x.kernel.tasks.all.find((t) => t.comm === 'cpumap/2/map:1')!.time[Acct.SYS]! / entry(x.result, 2).kthread_stats.processed;
    expect(kt(native) - kt(generic)).toBeGreaterThan(0.5 * c.cpumap_skb);
  });

  it("a full ring refuses the skb (-ENOSPC): do_xdp_generic frees it, dropped.cpumap with SKB_DROP_REASON_XDP, the entry's enqueue drops", () => {
    const { result: r } = run({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect('generic', 2) }], xdp_maps: cpumap([2], 8), apps: SINK, flows: flood('3mpps') });
    const e = entry(r, 2);
    expect(e.enqueue.drops).toBeGreaterThan(0);
    expect(r.packets.dropped.cpumap).toBe(e.enqueue.drops);
    expect(r.drop_reasons).toContainEqual({ reason: 'SKB_DROP_REASON_XDP', location: 'do_xdp_generic', skbs: e.enqueue.drops, packets: e.enqueue.drops });
    conserved(r);
  });

  it('a key without an entry: XDP_ABORTED, freed by netif_receive_generic_xdp', () => {
    const { result: r } = run({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect('generic', 3) }], xdp_maps: cpumap([2]), apps: SINK, flows: flood() });
    const q = r.nics[0]!.queues[0]!;
    expect(q.xdp!.aborted).toBe(q.packets);
    expect(r.packets.dropped.xdp).toBe(q.packets);
    conserved(r);
  });
});

describe('generic XDP_REDIRECT into a devmap (dev_map_generic_redirect)', () => {
  const RX = { name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } };
  const TX = { name: 'eth1', driver: 'ixgbe', channels: { combined: 2 }, irq_affinity: { '0': '1', '1': '1' } };
  const MAP = { tx_port: { type: 'devmap', entries: [{ dev: 'eth1' }] } };
  const fwd = (mode: 'native' | 'generic') => ({ cpus: 2, nics: [{ ...RX, xdp: redirect(mode, 0, 'tx_port') }, TX], xdp_maps: MAP, flows: flood('1mpps') });

  it('generic_xdp_tx sends each skb on the target without an XDP program there (native __xdp_enqueue refuses: -EOPNOTSUPP)', () => {
    const { result: g } = run(fwd('generic'));
    const q = g.nics[0]!.queues[0]!;
    expect(Math.abs(q.xdp!.redirect! - q.packets)).toBeLessThanOrEqual(64);
    expect(g.packets.xdp_tx).toBeGreaterThan(q.packets - 64);
    expect(g.packets.dropped.devmap ?? 0).toBe(0);
    // netdev_core_pick_tx: CPU 0's XPS queue (eth1's queue 0 on CPU 0).
    expect(g.ethtool_S.eth1!.tx_queue_0_packets).toBeGreaterThan(q.packets - 600);
    expect(g.ethtool_S.eth1!.tx_queue_1_packets).toBe(0);
    // No bq_xmit_all: trace_xdp_devmap_xmit's sums stay 0.
    expect((g.xdp_maps![0]!.entries[0] as DevMapEntryResult).xmit).toEqual({ calls: 0, sent: 0, drops: 0 });
    expect(g.packets.delivered).toBe(0);
    conserved(g);
    const { result: n } = run(fwd('native'));
    expect(n.packets.dropped.devmap).toBeGreaterThan(0);
    expect(n.packets.xdp_tx ?? 0).toBe(0);
  });

  it('into a slower port: once the driver stops the TX queue, generic_xdp_tx drops the skb (xdp_exception, kfree_skb in generic_xdp_tx)', () => {
    const k = kernel({
      ...fwd('generic'),
      nics: [
        { ...RX, xdp: redirect('generic', 0, 'tx_port') },
        { ...TX, speed_gbps: 1 },
      ],
      flows: flood('3mpps'),
    });
    let exceptions = 0;
    k.trace = { ...QUIET_TRACE, xdpException: (_cpu, dev, action, generic) => (expect([dev, action, generic]).toEqual(['eth1', 'XDP_TX', true]), exceptions++) } satisfies TraceHooks;
    k.start();
    k.sim.runUntil(5_000_000);
    const r = collectResult(k, 0);
    const dropped = r.drop_reasons.find((d) => d.location === 'generic_xdp_tx');
    // A 1 Gbit/s wire sends 1.488 Mpps of 64-byte frames and the ring holds 512 − DESC_NEEDED
    // before ixgbe stops the queue: what the CPU redirects beyond that finds it stopped.
    expect(dropped?.reason).toBe('SKB_DROP_REASON_NOT_SPECIFIED');
    expect(dropped!.packets).toBeGreaterThan(r.nics[0]!.queues[0]!.xdp!.redirect! - 1.488e6 * 0.005 - 512 - 64);
    expect(exceptions).toBe(dropped!.packets);
    // The ring never holds more than ixgbe lets it before stopping the queue (plus the skb that stopped it).
    expect(k.nics[1]!.txRings[0]!.pending).toBeLessThanOrEqual(512);
  });
});

describe('conservation with generic redirects (property)', () => {
  it('offered = delivered + Σ dropped + in flight + xdp_tx + xdp_redirect; drained, every row is freed', () => {
    fc.assert(
      fc.property(
        fc.record({
          key: fc.constantFrom<number | string>(0, 1, 3, 'hash', 'rx_queue'),
          qsize: fc.constantFrom(8, 2048),
          map: fc.constantFrom('m', 'd'),
          tail: fc.constantFrom('drop', 'pass', 'tx'),
        }),
        (x) => {
          const sc = scenario({
            cpus: 4,
            duration_ms: 1,
            nics: [
              {
                name: 'eth0',
                channels: { combined: 2 },
                xdp: {
                  mode: 'generic',
                  program: [
                    { match: { proto: 'tcp' }, action: x.tail },
                    { action: 'redirect', map: x.map, key: x.key },
                  ],
                  default: 'pass',
                },
              },
            ],
            xdp_maps: { m: { type: 'cpumap', entries: [1, 2].map((cpu) => ({ cpu, qsize: x.qsize })) }, d: { type: 'devmap', entries: [{ dev: 'eth0' }] } },
            apps: [
              { name: 'sink', kind: 'udp-sink', cpus: '2', listen: '10.0.0.2:9' },
              { name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '3' },
            ],
            flows: [
              { name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: '2mpps', size: 64 },
              { name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rate: '2gbit', rtt_us: 20 },
            ],
          });
          conserved(collectResult(simulate(loadScenarioObject(sc).resolved), 0));
          const drained = simulate(loadScenarioObject(sc).resolved, { drain: true });
          const d = collectResult(drained, 0);
          expect(d.packets.in_flight).toBe(0);
          expect(d.packets.xdp_redirect ?? 0).toBe(0);
          expect(drained.pool.inUse).toBe(0);
          conserved(d);
        },
      ),
      { numRuns: 10, seed: 2026 },
    );
  });
});
