import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/scenario/apply.ts';
import { InputError } from '../../src/scenario/errors.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { scenario } from '../helpers.ts';

const withApply = (apply: string[], over: Record<string, unknown> = {}) => loadScenarioObject(scenario({ cpus: 4, nics: [{ name: 'eth0', channels: { combined: 4 } }], ...over, apply }));

function applyError(cmd: string, over: Record<string, unknown> = {}): string {
  try {
    withApply([cmd], over);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error(`expected "${cmd}" to be rejected`);
}

describe('apply: the commands of a real machine, mapped onto the scenario', () => {
  it('tokenizes like a shell for simple commands', () => {
    expect(tokenize('echo "50000 100000" > /sys/fs/cgroup/p/cpu.max', 'x')).toEqual(['echo', '50000 100000', '>', '/sys/fs/cgroup/p/cpu.max']);
    expect(tokenize("echo 'a b'>/x", 'x')).toEqual(['echo', 'a b', '>', '/x']);
    expect(() => tokenize('ethtool -S eth0 | grep drop', 'x')).toThrow(/no pipes/);
    expect(() => tokenize('echo "unterminated', 'x')).toThrow(/unterminated/);
  });

  it('maps each command to the field it changes', () => {
    const { scenario: s, resolved: r } = withApply(
      [
        'ethtool -C eth0 rx-usecs 100',
        'ethtool -G eth0 rx 1024',
        'ethtool -L eth0 combined 2',
        'ethtool -K eth0 gro off rxhash off',
        'ethtool -X eth0 weight 1 3',
        'ethtool -N eth0 rx-flow-hash udp4 sdfn',
        'sysctl -w net.core.netdev_budget=600 net.core.netdev_max_backlog=2000',
        'echo 5000 > /proc/sys/net/core/netdev_budget_usecs',
        'echo f > /sys/class/net/eth0/queues/rx-1/rps_cpus',
        'echo 2 > /sys/class/net/eth0/napi_defer_hard_irqs',
        'echo 20000 > /sys/class/net/eth0/gro_flush_timeout',
        'echo 1 > /sys/class/net/eth0/threaded',
        'echo 3 > /proc/irq/129/smp_affinity_list',
        'echo "50000 100000" > /sys/fs/cgroup/pod/cpu.max',
        'taskset -c 2-3 hog',
        'ip link set dev eth0 mtu 9000',
      ],
      { cgroups: { pod: {} }, apps: [{ name: 'hog', kind: 'cpu-hog' }] },
    );
    const n = r.nics[0]!;
    expect([n.rxUsecs, n.ringSize, n.queues, n.gro, n.rxhash, n.udpHashPorts.v4, n.mtu]).toEqual([100, 1024, 2, false, false, true, 9000]);
    expect(n.indir.filter((q) => q === 1).length).toBe(96);
    expect([r.sysctl['net.core.netdev_budget'], r.sysctl['net.core.netdev_max_backlog'], r.sysctl['net.core.netdev_budget_usecs']]).toEqual([600, 2000, 5000]);
    expect(n.rxQueues[1]!.rpsCpus).toEqual([0, 1, 2, 3]);
    expect([n.napiDeferHardIrqs, n.groFlushTimeoutNs, n.threaded]).toEqual([2, 20000, true]);
    expect(n.irqAffinity[1]).toEqual([3]); // IRQ 129 is eth0-TxRx-1
    expect(s.cgroups.pod!['cpu.max']).toBe('50000 100000');
    expect(r.apps[0]!.cpus).toEqual([2, 3]);
  });

  it('ethtool -L drops per-queue settings of queues that no longer exist', () => {
    const { resolved } = withApply(['echo 1 > /proc/irq/131/smp_affinity_list', 'ethtool -L eth0 combined 2']);
    expect(resolved.nics[0]!.irqAffinity).toEqual([[0], [1]]);
  });

  it.each([
    ['ethtol -C eth0 rx-usecs 3', 'apply[0]: token "ethtol": unknown command (did you mean "ethtool"?)'],
    ['ethtool -C eth0 rx-usec 100', 'apply[0]: token "rx-usec": unknown parameter (did you mean "rx-usecs"?)'],
    ['ethtool -C eth1 rx-usecs 100', 'apply[0]: token "eth1": no such device (did you mean "eth0"?)'],
    ['ethtool -C eth0 rx-usecs 2000', 'apply[0]: token "2000": rx-usecs 2000 is above ixgbe\'s maximum of 1022'],
    ['ethtool -C eth0 tx-usecs 10', 'rxsim models the receive path only'],
    ['ethtool -G eth0 rx 8000', 'token "8000": 8000 descriptors is above ixgbe\'s maximum of 4096'],
    ['ethtool -L eth0 combined 9', 'token "9": combined 9 is outside 1..4'],
    ['ethtool -K eth0 gro maybe', 'token "maybe": expected on or off for gro'],
    ['ethtool -X eth0 equal 2 weight 1 1', 'Weight and equal options are mutually exclusive'],
    ['ethtool -Q eth0', 'token "-Q": unknown or unmodelled ethtool option'],
    ['sysctl net.core.netdev_budget=600', 'token "net.core.netdev_budget=600": expected "-w name=value"'],
    ['sysctl -w net.core.netdev_budgt=600', 'did you mean "net.core.netdev_budget"?'],
    ['sysctl -w net.core.dev_weight=0', 'token "net.core.dev_weight=0": 0 is outside 1..2147483647'],
    ['echo f > /sys/class/net/eth0/queues/rx-9/rps_cpus', 'rx-9 does not exist'],
    ['echo 10 > /sys/class/net/eth0/queues/rx-0/rps_cpus', 'token "10": rps_cpus names CPU 4'],
    ['echo 1 > /proc/irq/7/smp_affinity_list', 'no IRQ 7 in this scenario; NIC vectors are 128, 129, 130, 131'],
    ['echo 1 > /proc/irq/132/smp_affinity_list', "IRQ 132 is the NIC's link/misc vector"],
    ['echo 1 > /etc/passwd', 'rxsim does not model this path'],
    ['taskset -c 9 hog', 'token "9": the CPU list names CPU 9'],
    ['taskset -c 1 iperf3', 'token "iperf3": no app "iperf3"'],
    ['echo 3 > /sys/fs/cgroup/pod/cpu.max', 'no cgroup "pod"'],
  ])('%s', (cmd, message) => {
    expect(applyError(cmd, { apps: [{ name: 'hog', kind: 'cpu-hog' }] })).toContain(message);
  });
});
