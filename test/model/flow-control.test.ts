import { describe, expect, it } from 'vitest';
import { DRIVERS } from '../../src/model/nic/drivers.ts';
import { FlowControl, currentMode, dropEnable, ixgbeWatermarksKb, requestedMode } from '../../src/model/nic/flow-control.ts';
import { OpenLoopSource, Wire, type FrameSource } from '../../src/model/wire.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { inputError, resolve, run, scenario } from '../helpers.ts';

const FULL = { autoneg: false, rx: true, tx: true };
const OFF = { autoneg: false, rx: false, tx: false };

describe('ixgbe_set_rx_drop_en: DROP_EN only with more than one queue and no TX pause', () => {
  it('follows the rule for every mode and queue count', () => {
    const ixgbe = DRIVERS.ixgbe;
    expect(dropEnable(ixgbe, 'full', 4)).toBe(false); // the old rule (queues > 1) set it here
    expect(dropEnable(ixgbe, 'tx_pause', 4)).toBe(false);
    expect(dropEnable(ixgbe, 'rx_pause', 4)).toBe(true);
    expect(dropEnable(ixgbe, 'none', 4)).toBe(true);
    expect(dropEnable(ixgbe, 'none', 1)).toBe(false);
    expect(dropEnable(DRIVERS.ice, 'full', 1)).toBe(true);
  });

  it("ixgbe's default (full pause) keeps a 4-queue flood's excess in the packet buffer; ethtool -A rx off tx off drops it at the ring", () => {
    const flood = (apply: string[]) =>
      run({
        duration_ms: 3,
        cpus: 4,
        nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 4 } }],
        flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
        apply,
      }).result;
    const dflt = flood([]);
    expect(dflt.nics[0]!.pause).toEqual({ autoneg: 'off', rx: 'on', tx: 'on', drop_en: false });
    expect(dflt.ethtool_S.eth0!.rx_no_dma_resources).toBe(0);
    expect(dflt.ethtool_S.eth0!.tx_flow_control_xoff).toBeGreaterThan(0);
    const off = flood(['ethtool -A eth0 rx off tx off']);
    expect(off.nics[0]!.pause.drop_en).toBe(true);
    expect(off.ethtool_S.eth0!.rx_no_dma_resources).toBeGreaterThan(0);
    expect(off.ethtool_S.eth0!.tx_flow_control_xoff).toBe(0);
  });
});

describe('the mode: ixgbe_set_pauseparam and ixgbe_fc_autoneg', () => {
  it('autoneg on asks for full pause whatever rx and tx say', () => {
    expect(requestedMode({ autoneg: true, rx: false, tx: false })).toBe('full');
    expect(requestedMode({ autoneg: false, rx: true, tx: false })).toBe('rx_pause');
    expect(requestedMode(OFF)).toBe('none');
  });

  it('without flow-control autoneg the requested mode applies whatever the partner does; with it, a partner that ignores PAUSE gets none', () => {
    expect(currentMode(FULL, false)).toBe('full');
    expect(currentMode({ autoneg: true, rx: true, tx: true }, false)).toBe('none');
    expect(currentMode({ autoneg: true, rx: true, tx: true }, true)).toBe('full');
  });
});

describe('watermarks and hysteresis', () => {
  it('ixgbe_pbthresh_setup at MTU 1500 with a 448 KB buffer: high 433 KB, low 10 KB (IXGBE_DV, IXGBE_LOW_DV)', () => {
    expect(ixgbeWatermarksKb(1500, 448)).toEqual({ high: 433, low: 10 });
    // Jumbo frames need more headroom.
    expect(ixgbeWatermarksKb(9000, 448).high).toBeLessThan(433);
  });

  it('XOFF once at the high water, nothing between the marks, XON below the low water', () => {
    const events: string[] = [];
    const fc = new FlowControl({ now: () => 0, pausePartner: (t) => events.push(`pause@${t}`), resumePartner: (t) => events.push(`resume@${t}`) }, DRIVERS.ixgbe, FULL, true, 1500, 10);
    expect([fc.highBytes, fc.lowBytes]).toEqual([433 * 1024, 10 * 1024]);
    const frames = Math.ceil(fc.highBytes / 1000);
    for (let i = 0; i < frames - 1; i++) fc.add(1000, 100);
    expect(fc.xoffSent).toBe(0);
    fc.add(1000, 200);
    fc.add(1000, 300); // still above: no second XOFF
    expect([fc.xoff, fc.xoffSent, events.length]).toEqual([true, 1, 1]);
    expect(events[0]).toBe(`pause@${200 + 3140}`); // the 84-byte XOFF (67.2 ns) + 60 quanta of reaction (3072 ns)
    fc.remove(fc.bytes - fc.lowBytes, 400); // exactly at the low water: no XON yet
    expect([fc.xoff, fc.xonSent]).toEqual([true, 0]);
    fc.remove(1, 500);
    expect([fc.xoff, fc.xonSent, events.length]).toEqual([false, 1, 2]);
  });

  it('repeats the XOFF every FCRTV = pause_time / 2 quanta while above the low water', () => {
    let now = 0;
    const fc = new FlowControl({ now: () => now, pausePartner: () => {}, resumePartner: () => {} }, DRIVERS.ixgbe, FULL, false, 1500, 10);
    fc.add(fc.highBytes, 0);
    const refresh = 0x7fff * 51.2; // ns at 10 Gbit/s
    now = Math.floor(2.5 * refresh);
    expect(fc.stats(DRIVERS.ixgbe).tx_flow_control_xoff).toBe(3);
  });

  it('sends no PAUSE with tx off', () => {
    const fc = new FlowControl({ now: () => 0, pausePartner: () => {}, resumePartner: () => {} }, DRIVERS.ixgbe, { autoneg: false, rx: true, tx: false }, true, 1500, 10);
    fc.add(fc.capacityBytes, 0);
    expect(fc.xoffSent).toBe(0);
  });
});

describe('the link partner stops and resumes (wire)', () => {
  /** A 64-byte CBR source at line rate into a wire whose sink records frame start times. */
  function wire() {
    const starts: number[] = [];
    let drops = 0;
    const flow = resolve({ flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: 'line', size: 64 }] }).flows[0]!;
    const w = new Wire(10, 512 * 1024, {
      frame: (_s: FrameSource, _size: number, _t: number, arrivalNs: number) => starts.push(arrivalNs),
      upstreamDrop: () => drops++,
    });
    w.add(new OpenLoopSource(flow, 10, 1));
    return { w, starts, drops: () => drops };
  }

  it('no frame arrives during the pause; generation waits for the XON; held frames leave at the resume', () => {
    const { w, starts } = wire();
    w.generateUntil(10_000);
    const before = starts.length;
    w.pause(10_000_000); // from 10 µs (ps)
    expect(w.generateUntil(12_000)).toBe(false); // paused, end unknown
    const atPause = starts.length;
    expect(starts.every((t) => t <= 10_100)).toBe(true);
    w.resume(40_000_000); // XON effective at 40 µs
    w.generateUntil(80_000);
    const after = starts.slice(atPause);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((t) => t >= 40_000)).toBe(true);
    // The frames held in the switch leave back to back after the resume: 40 µs of line rate.
    expect(Math.abs(after.length - 40_000 / 67.2)).toBeLessThanOrEqual(2);
    expect(before).toBeGreaterThan(100);
  });

  it('a long pause fills the switch port buffer: it keeps the first 512 KiB and drops the rest (tail drop)', () => {
    const { w, starts, drops } = wire();
    w.pause(0);
    w.generateUntil(1_000_000);
    w.resume(1_000_000_000); // 1 ms paused: 14,880 frames arrive, 512 KiB holds 6,241 of 84 wire bytes
    w.generateUntil(1_500_000);
    const arrived = 1_000_000 / 67.2;
    const held = (512 * 1024) / 84;
    expect(Math.abs(drops() - (arrived - held))).toBeLessThanOrEqual(3);
    expect(starts.length).toBeGreaterThan(held);
  });
});

describe('pause moves the loss upstream, and every packet is accounted for', () => {
  it('conserves packets: offered = delivered + dropped + in flight, with the drops at the switch, none in the NIC', () => {
    const { result } = run({
      duration_ms: 8,
      warmup_ms: 1,
      cpus: 2,
      nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 2 }, link_partner: { pause: 'honour' } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
    });
    const p = result.packets;
    const dropped = Object.values(p.dropped).reduce((a, b) => a + b, 0);
    expect(p.offered).toBe(p.delivered + dropped + p.in_flight);
    expect(p.dropped.wire).toBeGreaterThan(0);
    expect(p.dropped.nic_missed ?? 0).toBe(0);
    expect(p.dropped.nic_ring ?? 0).toBe(0);
    expect(result.ethtool_S.eth0!.tx_flow_control_xoff).toBeGreaterThan(0);
  });
});

describe('ethtool -A', () => {
  const load = (apply: string[], nic: Record<string, unknown> = {}) => loadScenarioObject(scenario({ nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 2 }, ...nic }], apply }));

  it('sets the requested mode', () => {
    const r = load(['ethtool -A eth0 rx off tx off']);
    expect(r.scenario.nics[0]!.pause).toEqual({ rx: 'off', tx: 'off' });
    expect(r.resolved.nics[0]!.pause).toEqual({ autoneg: false, rx: false, tx: false });
    expect(load(['ethtool --pause eth0 tx off']).resolved.nics[0]!.pause).toEqual({ autoneg: false, rx: true, tx: false });
  });

  it("refuses ixgbe's flow-control autoneg on a 10G port (EINVAL), accepts it at 1G and on ice", () => {
    expect(inputError(() => load(['ethtool -A eth0 autoneg on']))).toMatch(/token "on": Cannot set device pause parameters: Invalid argument \(ixgbe_set_pauseparam/);
    expect(() => load(['ethtool -s eth0 speed 1000', 'ethtool -A eth0 autoneg on'])).not.toThrow();
    expect(() => load(['ethtool -A eth0 autoneg on'], { driver: 'ice' })).not.toThrow();
  });

  it('bad input names the token', () => {
    expect(inputError(() => load(['ethtool -A eth0 rxx off']))).toMatch(/token "rxx": unknown parameter.*"rx".*known: autoneg, rx, tx/);
    expect(inputError(() => load(['ethtool -A eth0 rx maybe']))).toMatch(/token "maybe": expected on or off for rx/);
    expect(inputError(() => load(['ethtool -A eth0 rx']))).toMatch(/a value for rx/);
  });
});
