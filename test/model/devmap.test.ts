import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/metrics/result.ts';
import type { Cpu } from '../../src/model/cpu.ts';
import { DEV_MAP_BULK_SIZE, DevMap, type DevMapEntryResult } from '../../src/model/devmap.ts';
import { simulate } from '../../src/model/simulate.ts';
import { Acct } from '../../src/model/task.ts';
import type { TraceHooks } from '../../src/model/trace-hooks.ts';
import { toFtrace, TraceRecorder } from '../../src/trace/index.ts';
import { QUIET_TRACE, inputError, kernel, resolve, run } from '../helpers.ts';

/**
 * XDP_REDIRECT into a devmap (src/model/devmap.ts, kernel/bpf/devmap.c): frames leave on another
 * device's TX ring through ndo_xdp_xmit, in bulk queues of 16 sent by xdp_do_flush; a device
 * without an XDP program refuses them at __xdp_enqueue.
 */

const RX = { name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } };
const TX = (xdp: boolean) => ({ name: 'eth1', driver: 'ixgbe', channels: { combined: 2 }, irq_affinity: { '0': '1', '1': '1' }, ...(xdp ? { xdp: { program: [], default: 'pass' } } : {}) });
const FWD = { mode: 'native', program: [{ action: 'redirect', map: 'tx_port', key: 0 }], default: 'pass' };
const MAP = { tx_port: { type: 'devmap', entries: [{ dev: 'eth1' }] } };
const flood = (rate = '2mpps') => [{ name: 'f', nic: 'eth0', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate, size: 64 }];
const fwd = (targetXdp = true, rate = '2mpps') => ({ cpus: 2, nics: [{ ...RX, xdp: FWD }, TX(targetXdp)], xdp_maps: MAP, flows: flood(rate) });

const dropped = (r: Result) => Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
const conserved = (r: Result) => expect(r.packets.offered).toBe(r.packets.delivered + dropped(r) + r.packets.in_flight + (r.packets.xdp_tx ?? 0) + (r.packets.xdp_redirect ?? 0));
const entry0 = (r: Result) => r.xdp_maps![0]!.entries[0] as DevMapEntryResult;

describe('XDP_REDIRECT into a devmap', () => {
  it("frames leave on the target device's TX ring (ndo_xdp_xmit), count as packets.xdp_tx and never reach the stack", () => {
    const { result: r } = run(fwd());
    const sent = entry0(r).xmit.sent;
    expect(r.nics[0]!.queues[0]!.xdp!.redirect).toBe(r.nics[0]!.queues[0]!.packets);
    expect(sent).toBeGreaterThan(r.nics[0]!.queues[0]!.packets - 64);
    // ixgbe_determine_xdp_ring: the XDP TX ring of the sending CPU (0) modulo eth1's rings (the
    // pair's ring here). ethtool -S counts it in tx_packets (ixgbe_get_stats64 sums the XDP
    // rings) and not per queue (ixgbe_get_ethtool_stats walks tx_ring[] only).
    expect(r.nics[1]!.queues[0]!.tx_packets).toBeGreaterThan(sent - 600);
    expect(r.nics[1]!.queues[1]!.tx_packets).toBe(0);
    expect(r.ethtool_S.eth1!.tx_packets).toBe(r.nics[1]!.queues[0]!.tx_packets);
    expect(r.ethtool_S.eth1!.tx_queue_0_packets).toBe(0);
    expect(r.ethtool_S.eth1!.tx_queue_1_packets).toBe(0);
    expect(r.ethtool_S.eth0!.tx_packets).toBe(0);
    expect(r.stack.processed).toBe(0);
    expect(r.packets.delivered).toBe(0);
    expect(r.packets.xdp_tx).toBe(sent);
    expect(dropped(r)).toBe(0);
    conserved(r);
  });

  it('bulk queues of DEV_MAP_BULK_SIZE (16): one ndo_xdp_xmit per bulk queue, at the end of the poll', () => {
    const k = kernel({ ...fwd(true, '5mpps'), duration_ms: 2 });
    const calls: number[] = [];
    k.trace = {
      ...QUIET_TRACE,
      xdpDevmapXmit: (_cpu, from, to, sent, drops) => {
        expect([from, to, drops]).toEqual(['eth0', 'eth1', 0]);
        calls.push(sent);
      },
    } satisfies TraceHooks;
    k.start();
    k.sim.runUntil(2_000_000);
    expect(DEV_MAP_BULK_SIZE).toBe(16);
    expect(Math.max(...calls)).toBe(16);
    expect(calls.filter((n) => n === 16).length).toBeGreaterThan(calls.length / 2);
  });

  it("the RX CPU pays a descriptor per frame and one tail write per poll (__dev_flush's ndo_xdp_xmit with XDP_XMIT_FLUSH), far below the stack's cost", () => {
    const { result: r, kernel: k } = run(fwd());
    const c = k.costs;
    const perFrame = k.cpus[0]!.time[Acct.SOFT]! / r.nics[0]!.queues[0]!.packets;
    expect(perFrame).toBeGreaterThan(c.xdp_run + c.xdp_redirect + c.xdp_tx + c.xdp_tx_tail / DEV_MAP_BULK_SIZE);
    expect(perFrame).toBeLessThan(c.xdp_run + c.xdp_redirect + c.xdp_tx + c.xdp_tx_tail / 4 + c.rx_descriptor + c.napi_poll / 8);
  });

  it('a full bulk queue is sent mid-poll without XDP_XMIT_FLUSH: 64 frames cost 64 descriptors and one tail write, at __dev_flush', () => {
    const costs = kernel(fwd()).costs;
    const target = { name: 'eth1', txQueues: 1, hasXdpRings: () => true, xmitXdp: () => true, xmitGenericXdp: () => true };
    const host = {
      sim: { now: 0 },
      pool: null as never,
      costs,
      accounting: { xdpRedirectHold: () => {} } as never,
      trace: null,
      xmitDevice: () => target,
      rxDeviceName: () => 'eth0',
      recordedRxQueue: () => 0,
    };
    const map = new DevMap(host, { name: 'tx_port', id: 1, entries: [{ nic: 1 }] } as never, 1);
    const cpu = { id: 0 } as Cpu;
    let cost = 0;
    for (let row = 0; row < 4 * DEV_MAP_BULK_SIZE; row++) cost += map.enqueue(cpu, 0, row);
    cost += map.flushCost(cpu);
    expect(cost).toBe(4 * DEV_MAP_BULK_SIZE * costs.xdp_tx + costs.xdp_tx_tail);
  });

  it('a target without an XDP program lacks NETDEV_XDP_ACT_NDO_XMIT: __xdp_enqueue refuses each frame (-EOPNOTSUPP) in the driver loop, no bulk queue, no ndo_xdp_xmit', () => {
    const { result: r } = run(fwd(false));
    // bq_xmit_all never runs: trace_xdp_devmap_xmit's sums stay 0.
    expect(entry0(r).xmit).toEqual({ calls: 0, sent: 0, drops: 0 });
    expect(r.packets.dropped.devmap).toBeGreaterThan(9000);
    expect(r.packets.xdp_redirect).toBe(0);
    expect(r.ethtool_S.eth1!.tx_packets).toBe(0);
    expect(r.drop_reasons).toEqual([]);
    expect(r.packets.xdp_tx).toBe(0);
    conserved(r);
  });

  it('a refused redirect costs the RX CPU no descriptor and no tail write (nothing reaches ndo_xdp_xmit)', () => {
    const per = (x: ReturnType<typeof run>) => x.kernel.cpus[0]!.time[Acct.SOFT]! / x.result.nics[0]!.queues[0]!.packets;
    const sent = run(fwd(true));
    const refused = run(fwd(false));
    const c = sent.kernel.costs;
    expect(per(sent) - per(refused)).toBeGreaterThan(c.xdp_tx);
  });

  it('rxsim trace: xdp_redirect_err with -EOPNOTSUPP and xdp_exception for a refused frame, xdp_redirect and xdp_devmap_xmit for a sent one', () => {
    const ftrace = (targetXdp: boolean) => {
      const rec = new TraceRecorder({ detail: 'packet' });
      simulate(resolve({ ...fwd(targetXdp), duration_ms: 1 }), { trace: rec });
      return toFtrace(rec);
    };
    const refused = ftrace(false);
    expect(refused).toMatch(/xdp_redirect_err: prog_id=1 action=XDP_REDIRECT ifindex=\d+ to_ifindex=\d+ err=-95 map_type=DEVMAP/);
    expect(refused).toMatch(/xdp_exception: prog_id=1 action=XDP_REDIRECT/);
    expect(refused).not.toMatch(/xdp_devmap_xmit|xdp_redirect: /);
    const sent = ftrace(true);
    expect(sent).toMatch(/xdp_devmap_xmit: ndo_xdp_xmit from_ifindex=\d+ to_ifindex=\d+ action=XDP_REDIRECT sent=\d+ drops=0 err=0/);
    expect(sent).toMatch(/xdp_redirect: prog_id=1 action=XDP_REDIRECT/);
    expect(sent).not.toMatch(/xdp_redirect_err/);
  });

  it('two 10G ports redirected into one: the XDP TX rings fill, ndo_xdp_xmit sends what fits and bq_xmit_all drops the rest (xdp_devmap_xmit drops)', () => {
    const port = (name: string, cpu: string) => ({ name, driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': cpu }, xdp: FWD });
    const line = (name: string, nic: string, src: string) => ({ name, nic, proto: 'udp', src, dst: '10.0.0.2:9', rate: 'line', size: 64 });
    const { result: r, kernel: k } = run({
      cpus: 3,
      nics: [port('eth0', '0'), port('eth1', '1'), { name: 'eth2', driver: 'ixgbe', channels: { combined: 2 }, irq_affinity: { '0': '2', '1': '2' }, xdp: { program: [], default: 'pass' } }],
      xdp_maps: { tx_port: { type: 'devmap', entries: [{ dev: 'eth2' }] } },
      flows: [line('a', 'eth0', '10.0.0.1:1000-1063'), line('b', 'eth1', '10.0.1.1:1000-1063')],
      duration_ms: 2,
    });
    const x = entry0(r).xmit;
    const redirected = r.nics[0]!.queues[0]!.xdp!.redirect! + r.nics[1]!.queues[0]!.xdp!.redirect!;
    // eth2's wire takes 14.88 Mpps of 64-byte frames, for 2 ms; its two XDP TX rings hold 511 each
    // (IXGBE_DEFAULT_TXD, one descriptor kept free: ixgbe_xmit_xdp_ring's IXGBE_XDP_CONSUMED
    // once !ixgbe_desc_unused). What neither takes (a poll's bulk queues aside) is dropped.
    const room = 14.9e6 * 0.002 + 2 * 511;
    expect(x.sent).toBeLessThan(room);
    expect(x.drops).toBeGreaterThan(redirected - room - 2 * 64);
    expect(r.packets.dropped.devmap).toBe(x.drops);
    for (const ring of k.nics[2]!.txRings) expect(ring.pending).toBeLessThanOrEqual(511);
    conserved(r);
  });

  it('a devmap entry names a device of nics, with the nearest name', () => {
    const bad = () => resolve({ ...fwd(), xdp_maps: { tx_port: { type: 'devmap', entries: [{ dev: 'eth2' }] } } });
    expect(inputError(bad)).toBe('xdp_maps.tx_port.entries[0].dev: no device "eth2" in nics (did you mean "eth0"?); devices: eth0, eth1');
  });
});
