import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/scenario/errors.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { scenario } from '../helpers.ts';

/** XDP in the scenario file (nics[].xdp, xdp_programs) and in `ip link set dev <dev> xdp…`. */

const PROGRAMS = {
  'xdp-drop': { program: [{ match: { proto: 'udp', dst_port: 9 }, action: 'drop' }], default: 'pass' },
  'xdp-tx': { program: [], default: 'tx' },
};

const load = (apply: string[], over: Record<string, unknown> = {}) => loadScenarioObject(scenario({ xdp_programs: PROGRAMS, ...over, apply })).resolved;

function error(apply: string[], over: Record<string, unknown> = {}): string {
  try {
    load(apply, over);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(apply)} / ${JSON.stringify(over)} to be rejected`);
}

describe('ip link set dev <dev> xdp|xdpdrv|xdpgeneric', () => {
  it('attaches a named program of xdp_programs natively (xdp, xdpdrv) or generically (xdpgeneric), and detaches it (off)', () => {
    const drv = load(['ip link set dev eth0 xdpdrv obj xdp-drop']).nics[0]!.xdp!;
    expect(drv.mode).toBe('native');
    expect(drv.name).toBe('xdp-drop');
    expect(drv.default).toBe('pass');
    expect(drv.rules).toEqual([{ proto: 'udp', src: null, dst: null, srcPort: [0, 65535], dstPort: [9, 9], queue: -1, action: 'drop', redirect: null, costNs: 0 }]);
    expect(load(['ip link set eth0 xdp obj xdp-drop.o']).nics[0]!.xdp!.mode).toBe('native');
    const gen = load(['ip link set dev eth0 xdpgeneric prog xdp-tx']).nics[0]!.xdp!;
    expect([gen.mode, gen.name, gen.default]).toEqual(['generic', 'xdp-tx', 'tx']);
    expect(load(['ip link set dev eth0 xdpdrv obj xdp-drop', 'ip link set dev eth0 xdp off']).nics[0]!.xdp).toBeNull();
    expect(load([]).nics[0]!.xdp).toBeNull();
    // mtu still works
    expect(load(['ip link set dev eth0 mtu 9000']).nics[0]!.mtu).toBe(9000);
  });

  it('names the bad token and the nearest valid name', () => {
    expect(error(['ip link set dev eth0 xdpdrv obj xdp-dorp'])).toBe(
      'apply[0]: token "xdp-dorp": no program "xdp-dorp" in the scenario\'s xdp_programs (did you mean "xdp-drop"?) (programs: xdp-drop, xdp-tx)',
    );
    expect(error(['ip link set dev eth0 xdpgenric obj xdp-drop'])).toMatch(/"xdpgenric".*did you mean "xdpgeneric"/);
    expect(error(['ip link set dev eth0 xdp objj xdp-drop'])).toMatch(/"objj": expected "off", "obj <program>" or "prog <program>" \(did you mean "obj"\?\)/);
    expect(error(['ip link set dev eth0 xdp obj'])).toMatch(/expected a program name from xdp_programs/);
    expect(error(['ip link set dev eth0 xdp off now'])).toMatch(/"now": unexpected extra argument/);
    expect(error(['ip link set dev eth1 xdp off'])).toMatch(/"eth1": no such device/);
  });
});

describe('nics[].xdp in the file: one-line errors naming the JSON path', () => {
  const nic = (xdp: Record<string, unknown>) => ({ nics: [{ name: 'eth0', channels: { combined: 2 }, xdp }] });
  it('a program name that does not exist', () => {
    expect(error([], nic({ prog: 'xdp-drp' }))).toBe('nics[0].xdp.prog: no program "xdp-drp" in xdp_programs (did you mean "xdp-drop"?); programs: xdp-drop, xdp-tx');
  });
  it('prog and an inline program together', () => {
    expect(error([], nic({ prog: 'xdp-drop', default: 'drop' }))).toMatch(/^nics\[0\]\.xdp\.prog: give either prog/);
  });
  it('a bad prefix, port range or queue names its rule', () => {
    expect(error([], nic({ program: [{ match: { dst: '10.0.0.300/24' }, action: 'drop' }] }))).toMatch(/^nics\[0\]\.xdp\.program\[0\]\.match\.dst: "10\.0\.0\.300\/24" is not an address or prefix/);
    expect(error([], nic({ program: [{ action: 'drop' }, { match: { src_port: '20-10' }, action: 'drop' }] }))).toMatch(
      /^nics\[0\]\.xdp\.program\[1\]\.match\.src_port: the port range "20-10" is empty/,
    );
    expect(error([], nic({ program: [{ match: { queue: 2 }, action: 'drop' }] }))).toMatch(/^nics\[0\]\.xdp\.program\[0\]\.match\.queue: queue 2 does not exist \(the device has 2 RX queues, 0-1\)/);
    expect(error([], { ...nic({ prog: 'bad' }), xdp_programs: { bad: { program: [{ match: { src: 'x' }, action: 'drop' }] } } })).toMatch(/^xdp_programs\["bad"\]\.program\[0\]\.match\.src:/);
  });
  it('an unknown action (schema)', () => {
    expect(error([], nic({ program: [{ action: 'forward' }] }))).toMatch(/nics\[0\]\.xdp\.program\[0\]\.action/);
  });
});
