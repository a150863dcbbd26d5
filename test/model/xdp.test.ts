import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { Acct } from '../../src/model/task.ts';
import type { TraceHooks } from '../../src/model/trace-hooks.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { toFtrace, TraceRecorder } from '../../src/trace/index.ts';
import { QUIET_TRACE, kernel, resolve, run, scenario } from '../helpers.ts';

/**
 * XDP (src/model/xdp.ts): native programs in the driver's clean loop before the skb exists
 * (ixgbe_run_xdp), generic ones at __netif_receive_skb_core (do_xdp_generic). Each action's rule:
 * where the frame goes, where the cost lands, which counter moves.
 */

const SINK = [{ name: 'sink', kind: 'udp-sink', cpus: '1', listen: '10.0.0.2:9' }];
const ONE_QUEUE = { name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } };
const flood = (rate = '1mpps') => [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate, size: 64 }];

function xdpRun(xdp: Record<string, unknown> | null, over: Record<string, unknown> = {}): { r: Result; k: ReturnType<typeof run>['kernel'] } {
  const { result, kernel: k } = run({ nics: [{ ...ONE_QUEUE, ...(xdp ? { xdp } : {}) }], apps: SINK, flows: flood(), ...over });
  return { r: result, k };
}

const dropped = (r: Result) => Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
const conserved = (r: Result) => expect(r.packets.offered).toBe(r.packets.delivered + dropped(r) + r.packets.in_flight + (r.packets.xdp_tx ?? 0));
const soft0 = (k: ReturnType<typeof run>['kernel']) => k.cpus[0]!.time[Acct.SOFT]!;

describe('native XDP (xdpdrv): in the driver clean loop, on the xdp_buff', () => {
  it("XDP_DROP: no skb, no GRO, no stack; packets.dropped.xdp and the queue's drop count move; no kfree_skb reason (there is no skb)", () => {
    const { r } = xdpRun({ mode: 'native', program: [{ match: { proto: 'udp', dst_port: 9 }, action: 'drop' }] });
    expect(r.packets.dropped.xdp).toBeGreaterThan(4000);
    expect(r.nics[0]!.queues[0]!.xdp!.drop).toBe(r.nics[0]!.queues[0]!.packets);
    expect(r.gro.received).toBe(0);
    expect(r.stack.processed).toBe(0);
    expect(r.nstat.IpInReceives).toBe(0);
    expect(r.packets.delivered).toBe(0);
    expect(r.drop_reasons).toEqual([]);
    expect(r.packets.xdp_tx).toBe(0);
    conserved(r);
  });

  it('XDP_DROP costs ≈41.6 ns per packet in softirq (the XDP paper: 24 Mpps per core), far below a stack drop', () => {
    const line = { flows: flood('line'), duration_ms: 3 };
    const x = xdpRun({ mode: 'native', program: [], default: 'drop' }, line);
    const perPacket = soft0(x.k) / x.r.packets.dropped.xdp!;
    expect(perPacket).toBeGreaterThan(38);
    expect(perPacket).toBeLessThan(50);
    // The same flood to a closed port: dropped in __udp4_lib_rcv, after the skb, GRO and ip_rcv.
    const stack = xdpRun(null, { ...line, apps: [] });
    expect(soft0(stack.k) / stack.r.packets.dropped.no_socket!).toBeGreaterThan(3 * perPacket);
  });

  it('XDP_PASS: the skb is built and goes on to GRO and the stack; the program costs xdp_run per frame on top', () => {
    const base = xdpRun(null);
    const pass = xdpRun({ mode: 'native', program: [], default: 'pass' });
    expect(pass.r.packets.offered).toBe(base.r.packets.offered);
    expect(dropped(pass.r)).toBe(0);
    // The same frames reach the socket (a few fewer by the end of the window: each poll takes longer).
    expect(pass.r.packets.delivered).toBeGreaterThan(base.r.packets.delivered - 20);
    expect(pass.r.gro.received).toBe(pass.r.nics[0]!.queues[0]!.packets);
    expect(pass.r.nics[0]!.queues[0]!.xdp!.pass).toBe(pass.r.nics[0]!.queues[0]!.packets);
    const extra = (soft0(pass.k) - soft0(base.k)) / pass.r.nics[0]!.queues[0]!.packets;
    expect(extra).toBeGreaterThan(pass.k.costs.xdp_run * 0.8);
    expect(extra).toBeLessThan(pass.k.costs.xdp_run * 1.3);
  });

  it("XDP_TX: the frame leaves on the queue pair's TX ring (tx completions cleaned by the poll), counts packets.xdp_tx, never reaches the stack", () => {
    const { r } = xdpRun({ mode: 'native', program: [], default: 'tx' });
    expect(r.packets.xdp_tx).toBeGreaterThan(4000);
    expect(r.nics[0]!.queues[0]!.xdp!.tx).toBe(r.nics[0]!.queues[0]!.packets);
    expect(r.nics[0]!.queues[0]!.tx_packets).toBeGreaterThan(r.packets.xdp_tx! - 100);
    expect(r.ethtool_S.eth0!.tx_packets).toBe(r.nics[0]!.queues[0]!.tx_packets);
    expect(r.stack.processed).toBe(0);
    expect(r.packets.delivered).toBe(0);
    expect(dropped(r)).toBe(0);
    conserved(r);
  });

  it.each(['ixgbe', 'ice', 'generic'])(
    '%s: ethtool -S has no XDP counters of its own; XDP_TX frames count in tx_packets, not in the per-queue TX stats (the XDP TX ring is not among tx_rings)',
    (driver) => {
      const { result: r } = run({ nics: [{ ...ONE_QUEUE, driver, xdp: { mode: 'native', program: [], default: 'tx' } }], apps: SINK, flows: flood() });
      const e = r.ethtool_S.eth0!;
      expect(Object.keys(e).filter((k) => /xdp/i.test(k))).toEqual([]);
      expect(e.tx_packets).toBeGreaterThan(r.packets.xdp_tx! - 100);
      const perQueue = Object.entries(e).filter(([k]) => /^tx_?(queue_)?0_(packets|bytes)$/.test(k));
      expect(perQueue.length).toBe(2);
      for (const [, v] of perQueue) expect(v).toBe(0);
    },
  );

  it('XDP_ABORTED: a drop with the xdp:xdp_exception tracepoint', () => {
    const k = kernel({ nics: [{ ...ONE_QUEUE, xdp: { mode: 'native', program: [], default: 'aborted' } }], apps: SINK, flows: flood(), duration_ms: 1 });
    let exceptions = 0;
    const seen = new Set<string>();
    k.trace = {
      ...QUIET_TRACE,
      xdpException: (_cpu, dev, action) => {
        exceptions++;
        seen.add(`${dev} ${action}`);
      },
    } satisfies TraceHooks;
    k.start();
    k.sim.runUntil(1_000_000);
    for (const nic of k.nics) nic.settleAt(k.sim.now);
    const r = collectResult(k, 0);
    expect(exceptions).toBeGreaterThan(500);
    expect([...seen]).toEqual(['eth0 XDP_ABORTED']);
    expect(r.packets.dropped.xdp).toBe(exceptions);
    expect(r.nics[0]!.queues[0]!.xdp!.aborted).toBe(exceptions);
  });

  it('XDP_TX into a full XDP TX ring: IXGBE_XDP_CONSUMED → out_failure, xdp_exception(XDP_TX) and the page recycled (dropped.xdp)', () => {
    const k = kernel({ nics: [{ ...ONE_QUEUE, xdp: { mode: 'native', program: [], default: 'tx' } }], apps: SINK, flows: flood(), duration_ms: 1 });
    k.nics[0]!.xmitXdp = () => false; // every descriptor in use (ixgbe_desc_unused 0)
    let exceptions = 0;
    k.trace = { ...QUIET_TRACE, xdpException: (_cpu, dev, action) => (expect(`${dev} ${action}`).toBe('eth0 XDP_TX'), exceptions++) } satisfies TraceHooks;
    k.start();
    k.sim.runUntil(1_000_000);
    const r = collectResult(k, 0);
    expect(exceptions).toBeGreaterThan(500);
    expect(r.packets.dropped.xdp).toBe(exceptions);
    expect(r.nics[0]!.queues[0]!.xdp!.tx).toBe(exceptions); // xdp_rxq_info counts the program's verdict
    expect(r.packets.xdp_tx).toBe(0);
  });

  it('rxsim trace prints XDP_ABORTED as the xdp:xdp_exception tracepoint', () => {
    const rec = new TraceRecorder({ detail: 'packet' });
    const k = simulate(resolve({ nics: [{ ...ONE_QUEUE, xdp: { program: [], default: 'aborted' } }], apps: SINK, flows: flood(), duration_ms: 1 }), { trace: rec });
    const lines = toFtrace(rec)
      .split('\n')
      .filter((l) => l.includes('xdp_exception'));
    expect(lines.length).toBe(k.nics[0]!.nativeXdp[0]!.stats.actions[0]);
    expect(lines[0]).toMatch(/xdp_exception: prog_id=1 action=XDP_ABORTED ifindex=2$/);
  });

  it('rules: the first match wins, over ports and ranges, address prefixes and the RX queue', () => {
    const flows = [
      { name: 'a', proto: 'udp', src: '10.0.0.0/29:1000-1009', dst: '10.0.0.2:9', rate: '200kpps', size: 64 },
      { name: 'b', proto: 'udp', src: '10.1.0.1:2000', dst: '10.0.0.2:9', rate: '200kpps', size: 64 },
    ];
    // 10.0.0.0/30 of flow a (half its addresses) dropped; sport 1000-1004 of the rest sent back; all of b passes.
    const program = [
      { match: { src: '10.0.0.0/30' }, action: 'drop' },
      { match: { proto: 'udp', src_port: '1000-1004', dst: '10.0.0.0/8' }, action: 'tx' },
      { match: { proto: 'tcp' }, action: 'drop' },
    ];
    const r = run({ nics: [{ ...ONE_QUEUE, xdp: { program } }], apps: SINK, flows, duration_ms: 4 }).result;
    const a = r.flows.find((f) => f.name === 'a')!;
    const b = r.flows.find((f) => f.name === 'b')!;
    // Flow a cycles 10 ports × 8 addresses (80 tuples, ten cycles in the run): addresses .0-.3 are half of them.
    expect(r.packets.dropped.xdp! / a.offered).toBeCloseTo(0.5, 1);
    expect(r.packets.xdp_tx! / a.offered).toBeCloseTo(0.25, 1);
    expect(b.dropped).toBe(0);
    expect(b.delivered).toBeGreaterThan(0);
    conserved(r);
    // queue: on 2 queues, a rule for rx-1 only drops what lands there.
    const two = run({ cpus: 2, nics: [{ ...ONE_QUEUE, channels: { combined: 2 }, xdp: { program: [{ match: { queue: 1 }, action: 'drop' }] } }], apps: SINK, flows, duration_ms: 4 }).result;
    const [q0, q1] = two.nics[0]!.queues;
    expect(q0!.packets).toBeGreaterThan(0);
    expect(q1!.packets).toBeGreaterThan(0);
    expect(q0!.xdp).toEqual({ aborted: 0, drop: 0, pass: q0!.packets, tx: 0 });
    expect(q1!.xdp!.drop).toBe(q1!.packets);
    expect(two.packets.dropped.xdp).toBe(q1!.packets);
  });

  it("a rule's cost_ns is paid by every frame that reaches the rule, in softirq on the polling CPU", () => {
    const cheap = xdpRun({ program: [{ match: { dst_port: 7 }, action: 'drop' }] });
    const costly = xdpRun({ program: [{ match: { dst_port: 7 }, action: 'drop', cost_ns: 200 }] });
    const per = (x: typeof cheap) => soft0(x.k) / x.r.nics[0]!.queues[0]!.packets;
    expect(per(costly) - per(cheap)).toBeGreaterThan(180);
    expect(per(costly) - per(cheap)).toBeLessThan(220);
  });
});

describe('generic XDP (xdpgeneric): at __netif_receive_skb_core, after the skb', () => {
  it('XDP_DROP: the skb was built (softnet processed counts it) and is freed by kfree_skb in netif_receive_generic_xdp (NOT_SPECIFIED), before ip_rcv', () => {
    const { r } = xdpRun({ mode: 'generic', program: [], default: 'drop' });
    expect(r.packets.dropped.xdp).toBeGreaterThan(4000);
    expect(r.stack.processed).toBe(r.packets.dropped.xdp);
    expect(r.nstat.IpInReceives).toBe(0);
    expect(r.drop_reasons).toEqual([{ reason: 'SKB_DROP_REASON_NOT_SPECIFIED', location: 'netif_receive_generic_xdp', skbs: r.packets.dropped.xdp, packets: r.packets.dropped.xdp }]);
    expect(r.nics[0]!.queues[0]!.xdp!.drop).toBe(r.packets.dropped.xdp);
    conserved(r);
  });

  it('costs more per dropped packet than native XDP: the skb is built and then grown for the program', () => {
    const line = { flows: flood('line'), duration_ms: 3 };
    const native = xdpRun({ mode: 'native', program: [], default: 'drop' }, line);
    const generic = xdpRun({ mode: 'generic', program: [], default: 'drop' }, line);
    const per = (x: typeof native) => soft0(x.k) / x.r.packets.dropped.xdp!;
    expect(per(generic)).toBeGreaterThan(per(native) + native.k.costs.build_skb + native.k.costs.xdp_generic);
  });

  it("XDP_DROP ends the pass at do_xdp_generic: its cost does not depend on a bound socket and is below the stack's own drop", () => {
    // __netif_receive_skb_core: `if (ret2 != XDP_PASS) { ret = NET_RX_DROP; goto out; }` — no
    // ip_rcv, netfilter, udp_rcv, and no sock_enqueue/sk_data_ready for a socket that never sees it.
    const line = { flows: flood('line'), duration_ms: 3 };
    const bound = xdpRun({ mode: 'generic', program: [], default: 'drop' }, line);
    const unbound = xdpRun({ mode: 'generic', program: [], default: 'drop' }, { ...line, apps: [] });
    const per = (x: typeof bound) => soft0(x.k) / x.r.packets.dropped.xdp!;
    expect(Math.abs(per(bound) - per(unbound))).toBeLessThan(2);
    // The same flood to a closed port, dropped by udp_rcv after ip_rcv and the hooks.
    const stack = xdpRun(null, { ...line, apps: [] });
    expect(per(unbound)).toBeLessThan(soft0(stack.k) / stack.r.packets.dropped.no_socket!);
  });

  it('XDP_TX leaves by generic_xdp_tx on an ordinary TX queue (netdev_core_pick_tx): it counts in the per-queue ethtool -S stats', () => {
    const { r } = xdpRun({ mode: 'generic', program: [], default: 'tx' });
    const e = r.ethtool_S.eth0!;
    expect(r.packets.xdp_tx).toBeGreaterThan(4000);
    expect(e.tx_packets).toBeGreaterThan(r.packets.xdp_tx! - 100);
    expect(e.tx_queue_0_packets).toBe(e.tx_packets);
    conserved(r);
  });

  it('netif_elide_gro: a device with a generic program does no GRO', () => {
    const tcp = {
      apps: [{ name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1' }],
      flows: [{ name: 'iperf3', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rate: 'line', rtt_us: 20 }],
      duration_ms: 3,
    };
    const plain = run({ nics: [ONE_QUEUE], ...tcp }).result;
    const generic = run({ nics: [{ ...ONE_QUEUE, xdp: { mode: 'generic' } }], ...tcp }).result;
    const native = run({ nics: [{ ...ONE_QUEUE, xdp: { mode: 'native' } }], ...tcp }).result;
    expect(plain.gro.merged).toBeGreaterThan(100);
    expect(native.gro.merged).toBeGreaterThan(100);
    expect(generic.gro.merged).toBe(0);
    expect(generic.nics[0]!.queues[0]!.xdp!.pass).toBeGreaterThan(100);
  });
});

describe('results without XDP keep their form', () => {
  it('no xdp keys (packets.xdp_tx, dropped.xdp, queues[].xdp) without a program', () => {
    const { r } = xdpRun(null);
    expect('xdp_tx' in r.packets).toBe(false);
    expect('xdp' in r.packets.dropped).toBe(false);
    expect('xdp' in r.nics[0]!.queues[0]!).toBe(false);
  });
});

describe('conservation with XDP actions (property)', () => {
  const action = fc.constantFrom('drop', 'pass', 'tx', 'aborted');
  const rule = fc.record({
    match: fc.record(
      { proto: fc.constantFrom('udp', 'tcp'), src_port: fc.constantFrom(1000, '1000-1003', '1004-2000'), dst: fc.constantFrom('10.0.0.2', '10.0.0.0/30', '10.9.0.0/16'), queue: fc.constantFrom(0, 1) },
      { requiredKeys: [] },
    ),
    action,
  });
  it('offered = delivered + Σ dropped + in flight + xdp_tx; drained, every row is freed', () => {
    fc.assert(
      fc.property(
        fc.record({ mode: fc.constantFrom('native', 'generic'), program: fc.array(rule, { maxLength: 3 }), default: action, gro: fc.constantFrom('on', 'off'), rps: fc.constantFrom('0', '3') }),
        (x) => {
          const sc = scenario({
            duration_ms: 1,
            nics: [{ name: 'eth0', channels: { combined: 2 }, features: { gro: x.gro }, queues: { 'rx-0': { rps_cpus: x.rps } }, xdp: { mode: x.mode, program: x.program, default: x.default } }],
            apps: [...SINK, { name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '0' }],
            flows: [
              { name: 'f', proto: 'udp', src: '10.0.0.1:1000-1007', dst: '10.0.0.2:9', rate: '500kpps', size: 64 },
              { name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rate: '2gbit', rtt_us: 20 },
            ],
          });
          const r = collectResult(simulate(loadScenarioObject(sc).resolved), 0);
          conserved(r);
          const actions = r.nics[0]!.queues.reduce((a, q) => a + q.xdp!.drop + q.xdp!.aborted, 0);
          expect(actions).toBeGreaterThanOrEqual(r.packets.dropped.xdp!);
          const drained = simulate(loadScenarioObject(sc).resolved, { drain: true });
          const d = collectResult(drained, 0);
          expect(d.packets.in_flight).toBe(0);
          expect(drained.pool.inUse).toBe(0);
          conserved(d);
        },
      ),
      { numRuns: 25, seed: 2026 },
    );
  });
});
