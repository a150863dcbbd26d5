import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/scenario/errors.ts';
import { loadScenario, loadScenarioObject } from '../../src/scenario/load.ts';
import { scenarioJsonSchema } from '../../src/scenario/schema.ts';
import { scenario } from '../helpers.ts';

/** The InputError message for a scenario, or a test failure if it loads. */
function errorOf(over: Record<string, unknown>): string {
  try {
    loadScenarioObject(scenario(over));
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected the scenario to be rejected');
}

const nic = (over: Record<string, unknown>) => ({ nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 2 }, ...over }] });

describe('scenario validation: one message naming the path, the expected form and the nearest name', () => {
  it.each([
    [{ durration_ms: 5 }, 'durration_ms: unknown key "durration_ms" (did you mean "duration_ms"?)'],
    [nic({ coalesce: { 'rx-usec': 3 } }), 'nics[0].coalesce.rx-usec: unknown key "rx-usec" (did you mean "rx-usecs"?)'],
    [nic({ driver: 'ixgb' }), 'nics[0].driver: "ixgb" is not one of ixgbe, ice, generic (did you mean "ixgbe"?)'],
    [{ cpus: 'four' }, 'cpus: expected a number, got "four"'],
    [{ sysctl: { 'net.core.netdev_budgt': 600 } }, 'did you mean "net.core.netdev_budget"?'],
    [nic({ rss: { indir: { equl: 2 } } }), 'nics[0].rss.indir.equl: unknown key "equl" (did you mean "equal"?)'],
    [{ kernel: { hz: 200 } }, 'kernel.hz: 200 is not valid: expected 100 or 250 or 300 or 1000'],
    [{ costs: 'baremetal' }, 'costs: unknown cost profile "baremetal" (did you mean "baremetal-10g"?)'],
    [{ cost_overrides: { napi_pol: 3 } }, 'cost_overrides.napi_pol: unknown cost "napi_pol" (did you mean "napi_poll"?)'],
    [{ expect: [{ metric: 'x', '>=': 1, '<=': 2 }] }, 'expect[0]: needs exactly one of'],
  ])('%j', (over, message) => {
    expect(errorOf(over)).toContain(message);
  });

  it('rejects values the driver rejects, quoting its limit', () => {
    expect(errorOf(nic({ ring: { rx: 5000 } }))).toMatch(/^nics\[0\]\.ring\.rx: 5000 descriptors is above ixgbe's maximum of 4096/);
    expect(errorOf({ nics: [{ driver: 'ice', ring: { rx: 32 } }] })).toMatch(/below ice's minimum of 64/);
    expect(errorOf(nic({ coalesce: { 'rx-usecs': 1023 } }))).toMatch(/rx-usecs 1023 is above ixgbe's maximum of 1022/);
    expect(errorOf(nic({ coalesce: { 'rx-frames': 4 } }))).toMatch(/ixgbe does not support rx-frames.*Operation not supported/);
    expect(errorOf(nic({ coalesce: { 'adaptive-rx': 'on' } }))).toMatch(/use rx-usecs 1 for adaptive/);
    expect(errorOf(nic({ channels: { combined: 3 } }))).toMatch(/combined 3 is outside 1\.\.2/);
    expect(errorOf(nic({ mtu: 9800 }))).toMatch(/greater than ixgbe's maximum of 9710/);
    expect(errorOf(nic({ rss: { hkey: '6d:5a' } }))).toMatch(/ixgbe takes exactly 40/);
  });

  it('rejects CPUs that do not exist, in every place that names CPUs', () => {
    expect(errorOf(nic({ irq_affinity: { '0': '2' } }))).toMatch(/^nics\[0\]\.irq_affinity\["0"\]: smp_affinity_list names CPU 2, but the scenario has 2 CPUs/);
    expect(errorOf(nic({ queues: { 'rx-0': { rps_cpus: '4' } } }))).toMatch(/rps_cpus names CPU 2/);
    expect(errorOf(nic({ queues: { 'rx-5': {} } }))).toMatch(/rx-5 does not exist/);
    expect(errorOf({ apps: [{ name: 'a', kind: 'cpu-hog', cpus: '7' }] })).toMatch(/^apps\[0\]\.cpus: .*CPU 7/);
    expect(errorOf({ cgroups: { p: { 'cpuset.cpus': '0-3' } } })).toMatch(/cpuset\.cpus names CPU 2/);
  });

  it('checks flows against their NIC', () => {
    const f = { name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2' };
    expect(errorOf({ flows: [{ ...f, size: 2000 }] })).toMatch(/^flows\[0\]\.size: a 2000-byte frame is outside 64\.\.1518/);
    expect(errorOf({ flows: [{ ...f, rate: '10gbps' }] })).toMatch(/ambiguous/);
    expect(errorOf({ flows: [{ ...f, nic: 'eth1' }] })).toMatch(/no NIC "eth1" \(did you mean "eth0"\?\)/);
    expect(errorOf({ flows: [{ ...f, dst: '[::1]:2' }] })).toMatch(/is IPv6 but src is IPv4/);
    expect(errorOf({ flows: [{ ...f, arrival: 'onoff' }] })).toMatch(/needs "burst"/);
    expect(errorOf({ flows: [{ ...f, rtt_us: 20 }] })).toMatch(/only applies to tcp/);
    expect(errorOf({ flows: [f, f] })).toMatch(/^flows\[1\]\.name: "f" is used twice/);
  });

  it('reports JSON syntax errors with line and column', () => {
    expect(() => loadScenario('{\n  "name": "x",\n  "nics": [}')).toThrow(/^line 3, column 12: invalid JSON/);
  });

  it('fills kernel and driver defaults', () => {
    const { resolved } = loadScenarioObject(scenario({ nics: [{ name: 'eth0' }, { name: 'eth1', driver: 'ice' }], cpus: 4, kernel: { hz: 250 } }));
    const [ixgbe, ice] = resolved.nics;
    expect([ixgbe!.ringSize, ixgbe!.rxUsecs, ixgbe!.adaptiveRx, ixgbe!.queues, ixgbe!.indir.length]).toEqual([512, 1, true, 4, 128]);
    expect([ice!.ringSize, ice!.rxUsecs, ice!.adaptiveRx, ice!.indir.length, ice!.rssKey.length]).toEqual([2048, 50, true, 2048, 52]);
    expect(resolved.sysctl['net.core.netdev_budget']).toBe(300);
    expect(resolved.sysctl['net.core.netdev_budget_usecs']).toBe(8000); // 2 * USEC_PER_SEC / HZ at HZ=250
    expect(resolved.sysctl['net.core.netdev_max_backlog']).toBe(1000);
    expect(ixgbe!.irqAffinity).toEqual([[0], [1], [2], [3]]);
    expect(ixgbe!.udpHashPorts).toEqual({ v4: false, v6: false });
    expect(ice!.udpHashPorts).toEqual({ v4: true, v6: true });
  });

  it('rounds and clamps ring sizes as the driver does', () => {
    const ring = (driver: string, rx: number) => loadScenarioObject(scenario({ nics: [{ driver, ring: { rx } }] })).resolved.nics[0]!.ringSize;
    expect(ring('ixgbe', 1001)).toBe(1008); // ALIGN to IXGBE_REQ_RX_DESCRIPTOR_MULTIPLE (8)
    expect(ring('ixgbe', 10)).toBe(64); // clamped to IXGBE_MIN_RXD
    expect(ring('ice', 100)).toBe(128); // ALIGN to ICE_REQ_DESC_MULTIPLE (32)
  });

  it('the shipped scenario.schema.json is what `rxsim schema` prints', () => {
    const shipped: unknown = JSON.parse(readFileSync(new URL('../../scenario.schema.json', import.meta.url), 'utf8'));
    expect(shipped).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });
});
