import { describe, expect, it } from 'vitest';
import { inputError, run, scenario } from '../helpers.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';

/** Each driver profile links only at its hardware family's speeds; ethtool -s takes Mb/s. */
describe('link speed', () => {
  const nic = (over: Record<string, unknown>) => ({ nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 2 }, ...over }] });

  it('refuses a speed the driver does not have, naming the path and the speeds it has', () => {
    const m = inputError(() => loadScenarioObject(scenario(nic({ speed_gbps: 400 }))));
    expect(m).toMatch(/^nics\[0\]\.speed_gbps: ixgbe does not link at 400 Gbit\/s \(it supports 0\.1, 1, 2\.5, 5, 10 Gbit\/s; ixgbe_set_link_ksettings answers EINVAL\)/);
    expect(() => loadScenarioObject(scenario(nic({ driver: 'ice', speed_gbps: 100 })))).not.toThrow();
    expect(inputError(() => loadScenarioObject(scenario(nic({ driver: 'ice', speed_gbps: 400 }))))).toMatch(/ice does not link at 400 Gbit\/s/);
  });

  it('ethtool -s <dev> speed takes Mb/s and sets the wire rate: a line-rate flood at 1 Gbit/s offers a tenth of 10 Gbit/s', () => {
    const flood = { flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: 'line', size: 1518 }] };
    const at10 = run({ ...nic({}), ...flood }).result;
    const at1 = run({ ...nic({}), ...flood, apply: ['ethtool -s eth0 speed 1000'] }).result;
    expect(at1.throughput.offered_gbps / at10.throughput.offered_gbps).toBeCloseTo(0.1, 2);
    expect(loadScenarioObject(scenario({ ...nic({}), apply: ['ethtool -s eth0 speed 2500'] })).scenario.nics[0]!.speed_gbps).toBe(2.5);
  });

  it('bad ethtool -s input names the token', () => {
    expect(inputError(() => loadScenarioObject(scenario({ ...nic({}), apply: ['ethtool -s eth0 speed 400000'] })))).toMatch(/token "400000": ixgbe does not link at 400 Gbit\/s/);
    expect(inputError(() => loadScenarioObject(scenario({ ...nic({}), apply: ['ethtool -s eth0 speed 10G'] })))).toMatch(/token "10G": expected a speed in Mb\/s like 10000/);
    expect(inputError(() => loadScenarioObject(scenario({ ...nic({}), apply: ['ethtool -s eth0 duplex full'] })))).toMatch(
      /token "duplex": "duplex" is a real parameter, but rxsim models the receive path only/,
    );
  });
});

/** Receive features the NIC does and rxsim does not model: refused as the driver or as unmodelled, never as "not a receive feature". */
describe('ethtool -K lro / rx-gro-hw', () => {
  const apply = (driver: string, cmd: string) => () => loadScenarioObject(scenario({ nics: [{ name: 'eth0', driver, channels: { combined: 2 } }], apply: [cmd] }));

  it('off is the model’s state and is accepted', () => {
    expect(apply('ixgbe', 'ethtool -K eth0 lro off')).not.toThrow();
    expect(apply('ice', 'ethtool -K eth0 large-receive-offload off rx-gro-hw off gro on')).not.toThrow();
  });

  it('on, where the hardware lacks it, is refused with ethtool’s answer', () => {
    expect(inputError(apply('ice', 'ethtool -K eth0 lro on'))).toMatch(/token "lro": Could not change any device features: ice has no large-receive-offload \("off \[fixed\]" in ethtool -k\)/);
    expect(inputError(apply('ixgbe', 'ethtool -K eth0 rx-gro-hw on'))).toMatch(/token "rx-gro-hw": Could not change any device features: ixgbe has no rx-gro-hw/);
  });

  it('on, where the hardware has it, is refused as not modelled, saying what it would do', () => {
    expect(inputError(apply('ixgbe', 'ethtool -K eth0 lro on'))).toMatch(/token "lro": rxsim does not model LRO \(ixgbe's RSC\).*the model receives with it off/);
    expect(inputError(apply('generic', 'ethtool -K eth0 rx-gro-hw on'))).toMatch(/rxsim does not model hardware GRO/);
    expect(inputError(apply('ixgbe', 'ethtool -K eth0 lro maybe'))).toMatch(/token "maybe": expected on or off/);
  });
});
