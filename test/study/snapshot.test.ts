import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeHostFs } from '../../src/cli/host-fs-node.ts';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { vectorQueue } from '../../src/study/device-vectors.ts';
import { memoryHostFs } from '../../src/study/host-fs.ts';
import { kernelRules, snapshot } from '../../src/study/snapshot.ts';

const HOSTS = fileURLToPath(new URL('../fixtures/hosts/', import.meta.url));

describe('rxsim snapshot (src/study/snapshot.ts)', () => {
  it('a kernel release selects the softirq rule (4.9–6.4 defer to ksoftirqd) and the scheduler (EEVDF since 6.6)', () => {
    expect(kernelRules([4, 8])).toEqual({ softirq_mode: 'inline', sched: 'cfs' });
    expect(kernelRules([4, 9]).softirq_mode).toBe('defer-to-ksoftirqd');
    expect(kernelRules([6, 4]).softirq_mode).toBe('defer-to-ksoftirqd');
    expect(kernelRules([6, 5])).toEqual({ softirq_mode: 'inline', sched: 'cfs' });
    expect(kernelRules([6, 6]).sched).toBe('eevdf');
    expect(kernelRules([10, 0])).toEqual({ softirq_mode: 'inline', sched: 'eevdf' });
  });

  it("finds a device's queue vectors by the names drivers give them", () => {
    expect(vectorQueue('eth2-TxRx-3', 'eth2')).toBe(3);
    expect(vectorQueue('ice-ens1f0-TxRx-12', 'ens1f0')).toBe(12);
    expect(vectorQueue('eth0-rx-1', 'eth0')).toBe(1);
    expect(vectorQueue('eth2', 'eth2')).toBeNull(); // ixgbe's "other" vector
    expect(vectorQueue('eth20-TxRx-0', 'eth2')).toBeNull();
    expect(vectorQueue('virtio2-input.0', 'eth0', 'virtio2')).toBe(0);
    expect(vectorQueue('virtio1-input.0', 'eth0', 'virtio2')).toBeNull();
  });

  it('the synthetic ixgbe box: every value lands in its field, and the scenario runs', () => {
    const s = snapshot(nodeHostFs(`${HOSTS}synthetic-ixgbe-16cpu`), { devs: ['eth2'], cgroups: ['system.slice/nginx.service'] });
    const sc = s.loaded;
    expect(sc.cpus).toBe(16);
    expect(sc.machine).toMatchObject({ numa_nodes: ['0-7', '8-15'], l3_kb: 11264, l3_ways: 11 });
    expect(sc.kernel).toMatchObject({ softirq_mode: 'defer-to-ksoftirqd', sched: 'cfs', hz: 250, irq_time_accounting: true, idle_exit_us: 10 });
    const nic = sc.nics[0]!;
    expect(nic).toMatchObject({ name: 'eth2', driver: 'ixgbe', speed_gbps: 10, mtu: 9000, channels: { combined: 8 }, ring: { rx: 4096 }, numa_node: 1 });
    expect(nic.coalesce).toMatchObject({ 'rx-usecs': 50, 'tx-frames-irq': 256 });
    expect(nic.features).toEqual({ gro: 'on', rxhash: 'on', ntuple: 'on' });
    expect(nic.rss.indir).toEqual({ table: Array.from({ length: 128 }, (_, i) => i % 8) });
    expect(nic.rss.hkey).toMatch(/^5a:c7:34(:[0-9a-f]{2}){37}$/);
    expect(nic.rss['rx-flow-hash']).toEqual({ udp4: 'sd', udp6: 'sdfn' });
    expect(nic.pause).toMatchObject({ autoneg: 'off', rx: 'on', tx: 'on' });
    expect(nic.irq_affinity).toEqual(Object.fromEntries(Array.from({ length: 8 }, (_, q) => [String(q), String(8 + q)])));
    expect(nic.queues['rx-0']).toEqual({ rps_cpus: 'ff00', rps_flow_cnt: 2048 });
    expect(sc.sysctl).toMatchObject({ 'net.core.netdev_budget': 600, 'net.core.rps_sock_flow_entries': 32768, 'net.ipv4.tcp_rmem': '4096 131072 6291456' });
    expect(sc.cgroups['system.slice/nginx.service']).toEqual({ 'cpuset.cpus': '8-15', 'cpu.max': '200000 100000', 'cpu.weight': 100 });
    // What this 5.15 kernel has not (sysctls added later) is said, not invented.
    expect(s.warnings).toContainEqual(expect.stringMatching(/^sysctl net\.ipv4\.tcp_shrink_window not readable/));
    const { resolved } = loadScenarioObject(structuredClone(s.scenario), { durationMs: 2 });
    expect(resolved.nics[0]!.irqAffinity[3]).toEqual([11]);
    expect(collectResult(simulate(resolved), 0).digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('without --dev: the devices with a driver behind them; an unknown driver is "generic" with a warning', () => {
    const s = snapshot(nodeHostFs(`${HOSTS}synthetic-ixgbe-16cpu`), { devs: [], cgroups: [] });
    expect(s.loaded.nics.map((n) => n.name)).toEqual(['eth2', 'eth3']);
    expect(s.warnings).toContainEqual(expect.stringMatching(/^eth3: speed not readable/));
  });

  it('the CI machine with a veth pair (recorded): MTU, RPS, RFS and NAPI settings of the veth; what a namespace hides is a warning', () => {
    const s = snapshot(nodeHostFs(`${HOSTS}ci-vm-veth`), { devs: [], cgroups: [] });
    const nic = s.loaded.nics[0]!;
    expect(nic).toMatchObject({ name: 'veth0', driver: 'generic', mtu: 4000, napi_defer_hard_irqs: 2, gro_flush_timeout: 20000, threaded: 0 });
    expect(nic.queues['rx-0']).toEqual({ rps_cpus: '2', rps_flow_cnt: 256 });
    expect(s.loaded.kernel).toMatchObject({ softirq_mode: 'inline', sched: 'eevdf', hz: 250, irq_time_accounting: false });
    expect(s.loaded.snapshot?.kernel_release).toBe('6.18.44-fc-v857');
    expect(s.warnings).toContainEqual(expect.stringMatching(/^veth0: veth is a software device/));
    expect(s.warnings).toContainEqual(expect.stringMatching(/^sysctl net\.core\.netdev_budget not readable/));
  });

  it('a value rxsim refuses leaves its field at the default, with a warning naming it (the scenario still loads)', () => {
    const fs = memoryHostFs({
      '/sys/devices/system/cpu/online': '0-3\n',
      '/sys/class/net/eth0/mtu': '65535\n',
      '/sys/class/net/eth0/device': 'link:../../../0000:01:00.0',
      '/sys/class/net/eth0/device/driver': 'link:../../../../bus/pci/drivers/mlx5_core',
      '/sys/class/net/eth0/queues/rx-0/rps_cpus': '10\n',
      '/proc/sys/kernel/osrelease': '6.8.0\n',
    });
    const s = snapshot(fs, { devs: [], cgroups: [] });
    expect(s.loaded.nics[0]).toMatchObject({ name: 'eth0', driver: 'generic', mtu: 1500 });
    expect(s.loaded.nics[0]!.queues['rx-0']?.rps_cpus).toBeUndefined();
    expect(s.warnings).toContainEqual(expect.stringMatching(/^nics\[0\]\.mtu: read 65535, which rxsim refuses \(.*9000.*\): left at the default$/));
    expect(s.warnings).toContainEqual(expect.stringMatching(/^nics\[0\]\.queues\["rx-0"\]\.rps_cpus: read "10", which rxsim refuses/));
    expect(s.warnings).toContainEqual(expect.stringMatching(/^eth0: driver mlx5_core has no rxsim profile/));
  });

  it('a sysctl the namespace hides (a global one) is taken from outside it, and said so; one the kernel lacks stays a warning', () => {
    const fs = memoryHostFs({ '/sys/devices/system/cpu/online': '0-1\n', '/sys/class/net/veth0/mtu': '1500\n', '/proc/sys/net/core/rmem_max': '4194304\n' });
    const s = snapshot(fs, { devs: [], cgroups: [], outsideSysctls: { 'net.core.netdev_budget': '600\n', 'net.core.rmem_max': '1' } });
    expect(s.loaded.sysctl).toMatchObject({ 'net.core.netdev_budget': 600, 'net.core.rmem_max': 4194304 });
    expect(s.warnings).toContainEqual('global sysctls read outside the network namespace, where rxsim snapshot was started (the namespace does not show them): net.core.netdev_budget');
    expect(s.warnings).toContainEqual(expect.stringMatching(/^sysctl net\.core\.busy_poll not readable/));
  });

  it('bad input names the token: an unknown device, a missing cgroup', () => {
    const fs = nodeHostFs(`${HOSTS}ci-vm-veth`);
    expect(() => snapshot(fs, { devs: ['veth9'], cgroups: [] })).toThrow(/^--dev veth9: no such network device in \/sys\/class\/net \(expected one of lo, veth0\) \(did you mean "veth0"\?\)$/);
    expect(() => snapshot(fs, { devs: [], cgroups: ['nope.slice'] })).toThrow(/^--cgroup nope\.slice: no such cgroup/);
  });
});
