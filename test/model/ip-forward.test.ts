import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Result } from '../../src/metrics/result.ts';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { explain } from '../../src/study/explain.ts';
import { remedyMetric } from '../../src/study/remedies.ts';
import { checkRxPages, inputError, resolve, run, scenario } from '../helpers.ts';

/**
 * IPv4 forwarding (net/ipv4/route.c ip_route_input_slow and ip_error, net/ipv4/ip_forward.c
 * ip_forward, net/core/dev.c __dev_xmit_skb): a flow whose destination is not this host's goes out
 * of its route's device when net.ipv4.ip_forward is on; with the kernel's default (0) ip_error
 * frees it (InAddrErrors); a TTL of 1 expires (InHdrErrors, ICMP time exceeded); a full egress
 * qdisc drops. Before, the model had no path for such a packet: every flow was delivered to this
 * host ("forward" was not a path).
 */

const TWO_NICS = [
  { name: 'eth0', driver: 'ixgbe', channels: { combined: 2 } },
  { name: 'eth1', driver: 'ixgbe', channels: { combined: 2 } },
];
const ROUTES = [
  { dst: '10.1.0.0/16', dev: 'eth1' },
  { dst: 'default', dev: 'eth0' },
];
const flow = (over: Record<string, unknown> = {}) => ({ name: 'fwd', nic: 'eth0', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.1.0.2:9', rate: '200kpps', size: 64, path: 'forward', ...over });
const fwd = (over: Record<string, unknown> = {}, flowOver: Record<string, unknown> = {}) =>
  run({ duration_ms: 10, warmup_ms: 2, nics: TWO_NICS, routes: ROUTES, sysctl: { 'net.ipv4.ip_forward': 1 }, flows: [flow(flowOver)], ...over });

const dropped = (r: Result): number => Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
const conserved = (r: Result): void => expect(r.packets.offered).toBe(r.packets.delivered + dropped(r) + r.packets.in_flight + (r.packets.forwarded ?? 0));

describe('ip_forward on: out of the route’s device', () => {
  const { result: r, kernel: k } = fwd();

  it('forwards every packet out of eth1: OutForwDatagrams per skb, nothing delivered, conservation with the forwarded term', () => {
    expect(r.packets.forwarded).toBeGreaterThan(1500);
    expect(r.packets.delivered).toBe(0);
    expect(dropped(r)).toBe(0);
    conserved(r);
    expect(r.nstat.IpForwDatagrams).toBe(r.nstat.IpInReceives);
    expect(r.nstat.IpInDelivers).toBe(0);
    expect(r.flows[0]!.forwarded).toBe(r.packets.forwarded);
    expect(r.flows[0]!.forwarded_pps).toBeGreaterThan(190_000);
    expect(r.flows[0]!.forwarded_pps).toBeLessThan(210_000);
  });

  it('the frames leave on eth1’s TX rings (XPS: each CPU its own queue) and eth1’s polls clean them; eth0 sends nothing', () => {
    const tx = r.ethtool_S.eth1!;
    expect(tx.tx_packets).toBeGreaterThan(1500);
    // Every forwarded frame is on the wire once its completion is cleaned: within a ring's worth.
    expect(tx.tx_packets).toBeLessThanOrEqual(r.nstat.IpForwDatagrams!);
    expect(r.nstat.IpForwDatagrams! - tx.tx_packets!).toBeLessThan(64);
    expect(tx.tx_bytes).toBe(tx.tx_packets! * 60); // skb->len: the 64-byte frame less its FCS
    expect(r.ethtool_S.eth0!.tx_packets).toBe(0);
    expect(r.nics[1]!.qdisc).toMatchObject({ kind: 'mq/pfifo_fast', limit: 1000, dropped: 0, backlog_peak: 0 });
    expect(r.nics[0]!.qdisc).toBeUndefined();
  });

  it('the RX pages go with the skbs to eth1’s TX ring and back to eth0’s rings when the completions are cleaned', () => {
    checkRxPages(k);
  });

  it('after draining, nothing is left in flight and every row is freed', () => {
    const drained = run({ duration_ms: 10, warmup_ms: 2, nics: TWO_NICS, routes: ROUTES, sysctl: { 'net.ipv4.ip_forward': 1 }, flows: [flow()] }, { drain: true });
    expect(drained.result.packets.in_flight).toBe(0);
    expect(drained.kernel.pool.inUse).toBe(0);
    checkRxPages(drained.kernel);
    conserved(drained.result);
  });

  it('costs the forwarding path: more CPU per packet than delivering the same datagrams to a socket-less port', () => {
    const local = run({ duration_ms: 10, warmup_ms: 2, nics: TWO_NICS, flows: [flow({ path: 'host', dst: '10.0.0.2:9' })] }).result;
    const soft = (x: Result) => x.cpus.reduce((a, c) => a + c.soft, 0);
    expect(soft(r)).toBeGreaterThan(soft(local));
  });

  it('a CPU without an XPS map sends on the TX queue skb_tx_hash takes from the recorded RX queue (folded into the TX queues), not the flow hash', () => {
    // eth0: 4 queues, RSS only to rx-2 or only to rx-3; eth1: 2 queues, XPS for CPUs 0 and 1 only.
    const txOf = (weight: number[]) => {
      const nics = [{ ...TWO_NICS[0]!, channels: { combined: 4 }, rss: { indir: { weight } } }, TWO_NICS[1]!];
      const e = run({ duration_ms: 5, warmup_ms: 1, cpus: 4, nics, routes: ROUTES, sysctl: { 'net.ipv4.ip_forward': 1 }, flows: [flow()] }).result.ethtool_S.eth1!;
      return [e.tx_queue_0_packets, e.tx_queue_1_packets];
    };
    const [q0, q1] = txOf([0, 0, 1, 0]); // rx-2 → 2 % 2 = tx-0
    expect(q0).toBeGreaterThan(500);
    expect(q1).toBe(0);
    const [r0, r1] = txOf([0, 0, 0, 1]); // rx-3 → tx-1
    expect(r0).toBe(0);
    expect(r1).toBeGreaterThan(500);
  });

  it('`sysctl -w net.ipv4.ip_forward=1` in apply turns it on', () => {
    const viaApply = run({ duration_ms: 10, warmup_ms: 2, nics: TWO_NICS, routes: ROUTES, apply: ['sysctl -w net.ipv4.ip_forward=1'], flows: [flow()] }).result;
    expect(viaApply.packets.forwarded).toBe(r.packets.forwarded);
  });
});

describe('ip_forward off (the kernel default): ip_error', () => {
  const r = run({ duration_ms: 10, warmup_ms: 2, nics: TWO_NICS, routes: ROUTES, flows: [flow()] }).result;

  it('frees every packet in ip_error with SKB_DROP_REASON_IP_INADDRERRORS, counting InAddrErrors; nothing is forwarded or sent', () => {
    expect(r.packets.forwarded).toBe(0);
    expect(r.packets.dropped.route).toBeGreaterThan(1500);
    expect(r.packets.dropped.route).toBe(dropped(r));
    conserved(r);
    expect(r.drop_reasons).toEqual([{ reason: 'SKB_DROP_REASON_IP_INADDRERRORS', location: 'ip_error', skbs: r.packets.dropped.route, packets: r.packets.dropped.route }]);
    expect(r.nstat.IpInAddrErrors).toBe(r.nstat.IpInReceives);
    expect(r.nstat.IpForwDatagrams).toBe(0);
    expect(r.nstat.IcmpOutMsgs).toBe(0); // ip_error with forwarding off: goto out, no ICMP
    expect(r.ethtool_S.eth1!.tx_packets).toBe(0);
  });
});

describe('TTL 1: ip_forward’s too_many_hops', () => {
  // No warm-up: the source's inet_peer burst is spent at the first datagrams.
  const r = fwd({ duration_ms: 40, warmup_ms: 0 }, { src: '10.0.0.1:1000', ttl: 1 }).result;

  it('drops with SKB_DROP_REASON_IP_INHDR in ip_forward, counts InHdrErrors, and answers with rate-limited ICMP time exceeded out of eth0', () => {
    expect(r.packets.forwarded).toBe(0);
    expect(r.packets.dropped.ttl).toBe(dropped(r));
    expect(r.drop_reasons).toEqual([{ reason: 'SKB_DROP_REASON_IP_INHDR', location: 'ip_forward', skbs: r.packets.dropped.ttl, packets: r.packets.dropped.ttl }]);
    expect(r.nstat.IpInHdrErrors).toBe(r.nstat.IpInReceives);
    expect(r.nstat.IpForwDatagrams).toBe(0);
    const n = r.nstat;
    // One source: its inet_peer lets XRLIM_BURST_FACTOR (6) through within the default icmp_ratelimit (1 s).
    expect(n.IcmpOutTimeExcds).toBe(6);
    expect(n.IcmpMsgOutType11).toBe(6);
    expect(n.IcmpOutDestUnreachs).toBe(0);
    expect(n.IcmpOutMsgs! + n.IcmpOutRateLimitGlobal! + n.IcmpOutRateLimitHost!).toBe(n.IpInHdrErrors);
    expect(r.ethtool_S.eth0!.tx_packets).toBe(6); // back towards the source
    expect(r.ethtool_S.eth1!.tx_packets).toBe(0);
  });
});

describe('an egress link slower than the forwarded rate: the qdisc fills and drops', () => {
  // 2 Mpps of 64-byte frames in on 10 GbE, out on a 1 GbE port (1.488 Mpps at most): the TX rings
  // fill, the driver stops the queues, pfifo_fast holds up to txqueuelen (1000) and drops the rest.
  const r = run({
    duration_ms: 20,
    warmup_ms: 5,
    cpus: 2,
    nics: [TWO_NICS[0], { ...TWO_NICS[1], speed_gbps: 1 }],
    routes: ROUTES,
    sysctl: { 'net.ipv4.ip_forward': 1 },
    // Sources over a /24: ixgbe's RSS hashes UDP on addresses only, so both queues (and CPUs) forward.
    flows: [flow({ rate: '2mpps', src: '10.0.0.0/24:1000' })],
  }).result;

  it('drops in __dev_xmit_skb with SKB_DROP_REASON_QDISC_DROP, the backlog at its limit, and the egress at line rate', () => {
    const q = r.nics[1]!.qdisc!;
    expect(r.packets.dropped.qdisc).toBeGreaterThan(0);
    expect(q.dropped).toBeGreaterThan(0);
    expect(q.backlog_peak).toBe(1000);
    expect(r.drop_reasons.find((d) => d.reason === 'SKB_DROP_REASON_QDISC_DROP')).toMatchObject({ location: '__dev_xmit_skb' });
    conserved(r);
    const windowS = r.sim.window_ns / 1e9;
    const txPps = r.ethtool_S.eth1!.tx_packets! / windowS;
    expect(txPps).toBeGreaterThan(1.488e6 * 0.97);
    expect(txPps).toBeLessThan(1.488e6 * 1.01);
    // What OutForwDatagrams counted either left or waits in the ring and the qdisc, or the qdisc dropped it.
    expect(r.nstat.IpForwDatagrams).toBeGreaterThan(r.ethtool_S.eth1!.tx_packets!);
  });
});

describe('forwarding input', () => {
  const base = { nics: TWO_NICS, routes: ROUTES };
  it('a forward flow needs a route, and names the flow’s dst', () => {
    expect(inputError(() => resolve({ nics: TWO_NICS, flows: [flow()] }))).toMatch(/^flows\[0\]\.dst: .*matches no single route/);
  });
  it('a route names a NIC of the scenario, with the nearest name', () => {
    expect(inputError(() => resolve({ ...base, routes: [{ dst: '10.1.0.0/16', dev: 'eth2' }], flows: [flow()] }))).toMatch(/^routes\[0\]\.dev: no NIC "eth2".*eth[01]/);
  });
  it('a bad prefix is named', () => {
    expect(inputError(() => resolve({ ...base, routes: [{ dst: '10.1.0.0/33', dev: 'eth1' }], flows: [flow()] }))).toMatch(/^routes\[0\]\.dst: "10.1.0.0\/33" is not an IPv4 prefix/);
  });
  it('TCP is not forwarded (no far end to ACK it)', () => {
    expect(inputError(() => resolve({ ...base, flows: [flow({ proto: 'tcp', src: '10.0.0.1:1000' })] }))).toMatch(/^flows\[0\]\.proto: /);
  });
  it('the longest prefix wins: 10.1.0.0/16 over the default route', () => {
    const s = resolve({ ...base, flows: [flow(), flow({ name: 'other', dst: '192.0.2.1:9' })] });
    expect(s.flows.map((f) => f.egress)).toEqual([1, 0]);
  });
  it('net.ipv4.ip_forward is a registry sysctl (kernel default 0)', () => {
    expect(resolve().sysctl['net.ipv4.ip_forward']).toBe(0);
  });
});

describe('properties of forwarding', () => {
  it('over rates, TTLs, forwarding on or off, egress speeds and queue counts: offered = forwarded + dropped + in flight; drained, nothing is left and the pages come back', () => {
    fc.assert(
      fc.property(
        fc.record({
          rate: fc.constantFrom('300kpps', '1mpps', '3mpps'),
          ttl: fc.constantFrom(1, 2, 64),
          on: fc.boolean(),
          egressGbps: fc.constantFrom(0.1, 1, 10),
          queues: fc.constantFrom(1, 2),
          sameNic: fc.boolean(),
        }),
        ({ rate, ttl, on, egressGbps, queues, sameNic }) => {
          const over = {
            duration_ms: 4,
            warmup_ms: 1,
            nics: [
              { name: 'eth0', driver: 'ixgbe', channels: { combined: queues } },
              { name: 'eth1', driver: 'ixgbe', channels: { combined: queues }, speed_gbps: egressGbps },
            ],
            routes: [{ dst: '10.1.0.0/16', dev: sameNic ? 'eth0' : 'eth1' }],
            sysctl: { 'net.ipv4.ip_forward': on ? 1 : 0 },
            flows: [flow({ rate, ttl, src: '10.0.0.0/28:1000' })],
          };
          const { result: r, kernel: k } = run(over);
          conserved(r);
          checkRxPages(k);
          expect(r.nstat.IpForwDatagrams! + r.nstat.IpInHdrErrors! + r.nstat.IpInAddrErrors!).toBe(r.nstat.IpInReceives);
          if (!on) expect(r.packets.forwarded).toBe(0);
          if (on && ttl === 1) expect(r.packets.forwarded).toBe(0);
          const d = run(over, { drain: true });
          expect(d.result.packets.in_flight).toBe(0);
          expect(d.kernel.pool.inUse).toBe(0);
          checkRxPages(d.kernel);
        },
      ),
      { numRuns: 12, seed: 2026 },
    );
  }, 120_000);
});

describe('rxsim explain on forwarded flows', () => {
  const explained = (over: Record<string, unknown>, flowOver: Record<string, unknown> = {}) => {
    const l = loadScenarioObject(scenario({ duration_ms: 6, warmup_ms: 2, nics: TWO_NICS, routes: ROUTES, flows: [flow(flowOver)], ...over }));
    return explain(collectResult(simulate(l.resolved), 0), l.scenario).flows[0]!;
  };

  it('forwarding off: limit not-forwarded (forwarding-off), the remedy turns it on, measured as forwarded_pps', () => {
    const f = explained({});
    expect([f.limit.kind, f.mechanisms, f.remedies.map((r) => r.commands)]).toEqual(['not-forwarded', ['forwarding-off'], [['sysctl -w net.ipv4.ip_forward=1']]]);
    expect(remedyMetric(f)).toBe('flows[fwd].forwarded_pps');
  });

  it('TTL 1: limit not-forwarded (ttl-expired)', () => {
    const f = explained({ sysctl: { 'net.ipv4.ip_forward': 1 } }, { ttl: 1 });
    expect([f.limit.kind, f.mechanisms]).toEqual(['not-forwarded', ['ttl-expired']]);
  });

  it('forwarded whole: every packet counts as taken to its end (100 %), not as lost', () => {
    const f = explained({ sysctl: { 'net.ipv4.ip_forward': 1 } });
    expect(f.outcome.delivered_pct).toBeGreaterThan(99);
    expect(f.outcome.forwarded_pps).toBeGreaterThan(190_000);
    expect(f.limit.kind).toBe('offered-load');
  });
});
