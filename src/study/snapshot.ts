import { DRIVERS, type DriverName } from '../model/nic/drivers.ts';
import { didYouMean, InputError } from '../scenario/errors.ts';
import { SYSCTL_KNOBS } from '../scenario/knobs/sysctl.ts';
import { assignPath, loadScenarioObject, parsePathParts } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { parseCpuList } from '../scenario/units.ts';
import { deviceVectors } from './device-vectors.ts';
import type { HostFs } from './host-fs.ts';
import { kernelConfigValue, parseEthtoolCoalesce, parseEthtoolCurrent, parseEthtoolFields, parseEthtoolFlowHash, parseEthtoolRss, parseInterrupts, parseKernelRelease } from './proc-text.ts';

/**
 * `rxsim snapshot`: a running machine (or a recorded tree of its /proc and /sys) as a scenario.
 * Every value goes into the scenario field whose knob names the file it came from (the registry's
 * `where`); the loader then checks the whole scenario, and a value it refuses (a ring larger than
 * the driver profile allows, an MTU above a generic NIC's) leaves the field at its default with a
 * warning, so what is written always loads and runs. Everything not read, or read but not
 * modelled, is a line in `snapshot.warnings`.
 */

export interface SnapshotOptions {
  /** --dev: the devices (default: every device with a driver behind it, else every one but lo). */
  devs: readonly string[];
  /** --cgroup: cgroup v2 paths below /sys/fs/cgroup. */
  cgroups: readonly string[];
  /** What snapshot.source says (default: the HostFs's source). */
  source?: string;
  /** Read inside a network namespace other than the initial one. */
  netns?: boolean;
}

export interface Snapshot {
  /** The scenario as JSON (field order as a person would write it). */
  scenario: Record<string, unknown>;
  warnings: string[];
  /** The loaded scenario (what `rxsim run` would run). */
  loaded: Scenario;
}

const SYS_NET = '/sys/class/net';

/** The trimmed text of a file, or null. */
function readTrim(fs: HostFs, path: string): string | null {
  const t = fs.read(path);
  return t === null ? null : t.trim();
}

function readInt(fs: HostFs, path: string): number | null {
  const t = readTrim(fs, path);
  return t !== null && /^-?\d+$/.test(t) ? Number(t) : null;
}

/** The kernel rules a release selects: kernel/softirq.c (4.9–6.4 "Let ksoftirqd do its job"), kernel/sched/fair.c (EEVDF since 6.6). */
export function kernelRules(release: [number, number]): { softirq_mode: 'inline' | 'defer-to-ksoftirqd'; sched: 'eevdf' | 'cfs' } {
  const v = release[0] * 1000 + release[1];
  return { softirq_mode: v >= 4009 && v < 6005 ? 'defer-to-ksoftirqd' : 'inline', sched: v >= 6006 ? 'eevdf' : 'cfs' };
}

/** The devices to read: those asked for (each must exist), or the ones with a driver behind them. */
function devicesToRead(fs: HostFs, asked: readonly string[]): string[] {
  const all = fs.list(SYS_NET);
  if (!all) throw new InputError(fs.source === '/' ? SYS_NET : `--root ${fs.source}`, `cannot list ${SYS_NET}: expected a readable sysfs (a recorded tree holds sys/class/net/<dev>/…)`);
  for (const d of asked) {
    if (!all.includes(d)) throw new InputError(`--dev ${d}`, `no such network device in ${SYS_NET} (expected one of ${all.join(', ')})${didYouMean(d, all)}`);
  }
  if (asked.length > 0) return [...asked];
  const physical = all.filter((d) => fs.link(`${SYS_NET}/${d}/device`) !== null || fs.list(`${SYS_NET}/${d}/device`) !== null);
  const picked = physical.length > 0 ? physical : all.filter((d) => d !== 'lo');
  if (picked.length === 0) throw new InputError(`--root ${fs.source}`, `no network device but lo in ${SYS_NET}: name one with --dev`);
  return picked;
}

/** The driver's name: the device's driver link, `ethtool -i`, or for a virtual device a guess from sysfs. */
function driverOf(fs: HostFs, dev: string): string | null {
  const link = fs.link(`${SYS_NET}/${dev}/device/driver`);
  if (link) return link.split('/').pop()!;
  const info = fs.ethtool(dev, ['-i']);
  if (info) {
    const d = parseEthtoolFields(info).driver;
    if (d) return d;
  }
  // veth: a virtual device whose iflink (the peer) is another device (drivers/net/veth.c: veth_get_iflink).
  const ifindex = readInt(fs, `${SYS_NET}/${dev}/ifindex`);
  const iflink = readInt(fs, `${SYS_NET}/${dev}/iflink`);
  // In a namespace the peer's index may equal the device's own, so a name that says veth is taken too.
  if (ifindex !== null && iflink !== null && (ifindex !== iflink || dev.startsWith('veth')) && fs.read(`${SYS_NET}/${dev}/bridge/bridge_id`) === null) return 'veth';
  return null;
}

interface Ctx {
  fs: HostFs;
  /** Read inside a named network namespace (global net.core sysctls are not visible there). */
  netns: boolean;
  warn: (w: string) => void;
}

/** One device: its nics[] entry. */
function snapshotDevice(c: Ctx, dev: string, ncpus: number): Record<string, unknown> {
  const { fs, warn } = c;
  const base = `${SYS_NET}/${dev}`;
  const nic: Record<string, unknown> = { name: dev };
  const driver = driverOf(fs, dev);
  const profile: DriverName = driver === 'ixgbe' || driver === 'ice' ? driver : 'generic';
  nic.driver = profile;
  if (profile === 'generic') {
    warn(
      driver === 'veth'
        ? `${dev}: veth is a software device (no ring, no interrupt): rxsim models it as the flow paths "veth-local" and "veth-bridge"; here it is a "generic" NIC so its settings are kept`
        : `${dev}: driver ${driver ?? '(unknown)'} has no rxsim profile: modelled as "generic" (a CQ-moderation NAPI driver); its limits and costs are not this driver's`,
    );
  }
  const speed = readInt(fs, `${base}/speed`);
  if (speed !== null && speed > 0) nic.speed_gbps = speed / 1000;
  else warn(`${dev}: speed not readable (${base}/speed; link down or no PHY): speed_gbps left at its default`);
  const mtu = readInt(fs, `${base}/mtu`);
  if (mtu !== null) nic.mtu = mtu;
  const rxQueues = (fs.list(`${base}/queues`) ?? []).filter((q) => /^rx-\d+$/.test(q)).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));

  const noEthtool = fs.ethtool(dev, ['-i']) === null ? 'gave nothing: ethtool is not installed (or not recorded)' : 'is not supported by the driver';
  const channels = parseEthtoolCurrent(fs.ethtool(dev, ['-l']) ?? '');
  if (channels.Combined) nic.channels = { combined: channels.Combined };
  else if (channels.RX) nic.channels = { combined: channels.RX };
  else if (rxQueues.length > 0) {
    nic.channels = { combined: rxQueues.length };
    warn(`${dev}: channels from the RX queues in ${base}/queues (${rxQueues.length}): ethtool -l ${noEthtool}`);
  }
  if (rxQueues.length > ncpus) warn(`${dev}: ${rxQueues.length} RX queues on ${ncpus} CPUs: rxsim has at most one queue per CPU`);

  const ring = parseEthtoolCurrent(fs.ethtool(dev, ['-g']) ?? '');
  if (ring.RX) nic.ring = { rx: ring.RX };
  else warn(`${dev}: RX ring size not read (ethtool -g ${noEthtool}): ring.rx left at the driver default`);

  const co = fs.ethtool(dev, ['-c']);
  if (co) {
    const { adaptiveRx, values } = parseEthtoolCoalesce(co);
    const coalesce: Record<string, unknown> = {};
    if (values['rx-usecs'] !== undefined) coalesce['rx-usecs'] = values['rx-usecs'];
    if (values['rx-frames'] !== undefined && values['rx-frames'] > 0 && DRIVERS[profile].moderation.rxFrames) coalesce['rx-frames'] = values['rx-frames'];
    if (values['tx-frames-irq'] !== undefined && values['tx-frames-irq'] > 0 && DRIVERS[profile].txFramesIrq) coalesce['tx-frames-irq'] = values['tx-frames-irq'];
    if (adaptiveRx !== undefined) {
      if (DRIVERS[profile].moderation.kind === 'ice-itr') coalesce['adaptive-rx'] = adaptiveRx;
      else if (adaptiveRx === 'on') warn(`${dev}: adaptive-rx on: the ${profile} profile has no separate adaptive moderation${profile === 'ixgbe' ? ' (ixgbe: rx-usecs 1 is adaptive)' : ''}`);
    }
    nic.coalesce = coalesce;
  } else warn(`${dev}: interrupt moderation not read (ethtool -c): coalesce left at the driver defaults`);

  const k = fs.ethtool(dev, ['-k']);
  if (k) {
    const f = parseEthtoolFields(k, true);
    const features: Record<string, string> = {};
    for (const [name, long] of [
      ['gro', 'generic-receive-offload'],
      ['rxhash', 'receive-hashing'],
      ['ntuple', 'ntuple-filters'],
    ] as const) {
      const v = f[long];
      if (v === 'on' || v === 'off') features[name] = v;
    }
    nic.features = features;
    for (const [long, v] of Object.entries(f)) {
      if (v === 'on' && ['large-receive-offload', 'rx-gro-hw', 'rx-gro-list', 'rx-udp-gro-forwarding'].includes(long)) warn(`${dev}: ${long} on: not modelled`);
    }
  } else warn(`${dev}: offload features not read (ethtool -k): gro, rxhash, ntuple left at their defaults`);

  const rss: Record<string, unknown> = {};
  const x = fs.ethtool(dev, ['-x']);
  if (x) {
    const { indir, hkey } = parseEthtoolRss(x);
    if (hkey) rss.hkey = hkey;
    if (indir) rss.indir = { table: indir };
  } else if (rxQueues.length > 1) warn(`${dev}: RSS key and indirection table not read (ethtool -x): rxsim draws the key from the seed and spreads the table evenly`);
  const hash: Record<string, string> = {};
  for (const flowType of ['udp4', 'udp6'] as const) {
    const fh = parseEthtoolFlowHash(fs.ethtool(dev, ['-n', 'rx-flow-hash', flowType]) ?? '');
    if (fh) hash[flowType] = fh;
  }
  if (Object.keys(hash).length > 0) rss['rx-flow-hash'] = hash;
  if (Object.keys(rss).length > 0) nic.rss = rss;

  const a = fs.ethtool(dev, ['-a']);
  if (a) {
    const f = parseEthtoolFields(a);
    const pause: Record<string, string> = {};
    if (f.Autonegotiate === 'on' || f.Autonegotiate === 'off') pause.autoneg = f.Autonegotiate;
    if (f.RX === 'on' || f.RX === 'off') pause.rx = f.RX;
    if (f.TX === 'on' || f.TX === 'off') pause.tx = f.TX;
    nic.pause = pause;
  }

  nic.irq_affinity = irqAffinity(c, dev);

  const queues: Record<string, Record<string, unknown>> = {};
  for (const q of rxQueues) {
    const entry: Record<string, unknown> = {};
    const rps = readTrim(fs, `${base}/queues/${q}/rps_cpus`);
    if (rps !== null) entry.rps_cpus = rps;
    const cnt = readInt(fs, `${base}/queues/${q}/rps_flow_cnt`);
    if (cnt !== null) entry.rps_flow_cnt = cnt;
    if (Object.keys(entry).length > 0) queues[q] = entry;
  }
  nic.queues = queues;

  const defer = readInt(fs, `${base}/napi_defer_hard_irqs`);
  if (defer !== null) nic.napi_defer_hard_irqs = defer;
  const flush = readInt(fs, `${base}/gro_flush_timeout`);
  if (flush !== null) nic.gro_flush_timeout = flush;
  const threaded = readTrim(fs, `${base}/threaded`);
  if (threaded === '0' || threaded === '1') nic.threaded = Number(threaded);
  else if (threaded !== null) warn(`${dev}: threaded "${threaded}" (busy-poll kthread mode) not modelled: threaded left at 0`);
  const node = readInt(fs, `${base}/device/numa_node`);
  if (node !== null && node >= 0) nic.numa_node = node;
  if (readTrim(fs, `${base}/xdp`) !== null) warn(`${dev}: XDP program state not read`);
  return nic;
}

/** The device's queue vectors in /proc/interrupts and their smp_affinity_list. */
function irqAffinity(c: Ctx, dev: string): Record<string, string> {
  const { fs, warn } = c;
  const text = fs.read('/proc/interrupts');
  if (text === null) {
    warn(`${dev}: /proc/interrupts not readable: irq_affinity left at the default (queue i on CPU i)`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const { row, queue: q } of deviceVectors(fs, dev, parseInterrupts(text))) {
    if (String(q) in out) continue;
    const list = readTrim(fs, `/proc/irq/${row.key}/smp_affinity_list`);
    if (list !== null) out[String(q)] = list;
    else warn(`${dev}: /proc/irq/${row.key}/smp_affinity_list (${row.name}) not readable`);
  }
  if (Object.keys(out).length === 0) warn(`${dev}: no queue vector in /proc/interrupts (a virtual device, or vector names rxsim does not recognise): irq_affinity left at the default`);
  return out;
}

/** The sysctls rxsim reads, from /proc/sys. */
function snapshotSysctls(c: Ctx): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const knob of SYSCTL_KNOBS) {
    const t = readTrim(c.fs, `/proc/sys/${knob.name.replace(/\./g, '/')}`);
    if (t === null)
      c.warn(
        `sysctl ${knob.name} not readable (/proc/sys/${knob.name.replace(/\./g, '/')}${c.netns ? '; global sysctls are visible only in the initial network namespace: snapshot without --netns to read them' : ''}): left at its default`,
      );
    else out[knob.name] = knob.type.name === 'int' && /^-?\d+$/.test(t) ? Number(t) : t.replace(/\s+/g, ' ');
  }
  return out;
}

/** CPUs, NUMA nodes, the last-level cache. */
function snapshotMachine(c: Ctx): { cpus: number; machine: Record<string, unknown> } {
  const { fs, warn } = c;
  const online = readTrim(fs, '/sys/devices/system/cpu/online');
  let cpus: number[] = [];
  try {
    cpus = online ? parseCpuList(online) : [];
  } catch {
    cpus = [];
  }
  if (cpus.length === 0) throw new InputError(fs.source === '/' ? '/sys/devices/system/cpu/online' : `--root ${fs.source}`, 'no CPU list in sys/devices/system/cpu/online: expected a readable sysfs');
  if (cpus[cpus.length - 1] !== cpus.length - 1) warn(`CPUs online are ${online}: rxsim numbers them 0..${cpus.length - 1}`);
  const machine: Record<string, unknown> = {};
  const nodes = (fs.list('/sys/devices/system/node') ?? []).filter((n) => /^node\d+$/.test(n)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  const lists = nodes.map((n) => readTrim(fs, `/sys/devices/system/node/${n}/cpulist`)).filter((l): l is string => l !== null && l !== '');
  if (lists.length > 1) machine.numa_nodes = lists;
  const l3 = (fs.list('/sys/devices/system/cpu/cpu0/cache') ?? []).find((i) => readTrim(fs, `/sys/devices/system/cpu/cpu0/cache/${i}/level`) === '3');
  if (l3) {
    const size = /^(\d+)K$/.exec(readTrim(fs, `/sys/devices/system/cpu/cpu0/cache/${l3}/size`) ?? '');
    const ways = readInt(fs, `/sys/devices/system/cpu/cpu0/cache/${l3}/ways_of_associativity`);
    if (size) machine.l3_kb = Number(size[1]);
    if (ways !== null && ways >= 1 && ways <= 64) machine.l3_ways = ways;
  } else warn("no L3 in /sys/devices/system/cpu/cpu0/cache: machine.l3_kb and l3_ways are the cost profile's");
  warn("DDIO ways (MSR 0xC8B) not read: machine.ddio_ways is the cost profile's");
  return { cpus: cpus.length, machine };
}

/** The kernel section: rules by release, HZ and IRQ time accounting from the config, the idle state's exit latency. */
function snapshotKernel(c: Ctx, release: string | null): Record<string, unknown> {
  const { fs, warn } = c;
  const kernel: Record<string, unknown> = {};
  const rel = release ? parseKernelRelease(release) : null;
  if (rel) Object.assign(kernel, kernelRules(rel));
  else warn('kernel release not readable (/proc/sys/kernel/osrelease): kernel.softirq_mode and kernel.sched left at the 6.6+ rules');
  if (rel && rel[0] * 1000 + rel[1] < 4009) warn(`kernel ${release}: before 4.9 softirqs ran inline as in 6.5+ ("inline"), but other rules of that kernel are not modelled`);
  const config = fs.read('/proc/config.gz') ?? (release ? fs.read(`/boot/config-${release}`) : null);
  if (config) {
    const hz = kernelConfigValue(config, 'CONFIG_HZ');
    if (hz && /^\d+$/.test(hz)) kernel.hz = Number(hz);
    else warn('CONFIG_HZ not in the kernel config: kernel.hz left at 1000');
    const irqtime = kernelConfigValue(config, 'CONFIG_IRQ_TIME_ACCOUNTING');
    if (irqtime !== null) kernel.irq_time_accounting = irqtime === 'y';
  } else warn(`kernel config not readable (/proc/config.gz, /boot/config-${release ?? '<release>'}): kernel.hz and kernel.irq_time_accounting left at their defaults`);
  const states = (fs.list('/sys/devices/system/cpu/cpu0/cpuidle') ?? []).filter((s) => /^state\d+$/.test(s));
  let exit = 0;
  for (const s of states) {
    const d = `/sys/devices/system/cpu/cpu0/cpuidle/${s}`;
    const latency = readInt(fs, `${d}/latency`);
    if (readTrim(fs, `${d}/disable`) === '0' && (readInt(fs, `${d}/usage`) ?? 0) > 0 && latency !== null && latency > exit) exit = latency;
  }
  if (states.length > 0) kernel.idle_exit_us = exit;
  else warn('no cpuidle states (/sys/devices/system/cpu/cpu0/cpuidle): kernel.idle_exit_us left at 0 (polling idle)');
  return kernel;
}

/** The cgroup v2 files rxsim reads, for each --cgroup. */
function snapshotCgroups(c: Ctx, paths: readonly string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of paths) {
    const name = p.replace(/^\/+|\/+$/g, '');
    const dir = `/sys/fs/cgroup/${name}`;
    if (name === '' || c.fs.list(dir) === null) throw new InputError(`--cgroup ${p}`, `no such cgroup (expected a cgroup v2 directory below /sys/fs/cgroup, e.g. system.slice)`);
    const cg: Record<string, unknown> = {};
    const cpuset = readTrim(c.fs, `${dir}/cpuset.cpus`);
    if (cpuset) cg['cpuset.cpus'] = cpuset;
    else if (cpuset === '')
      c.warn(`cgroup ${name}: cpuset.cpus is empty (inherits its parent's; cpuset.cpus.effective is ${readTrim(c.fs, `${dir}/cpuset.cpus.effective`) ?? 'not readable'}): left at every CPU`);
    else c.warn(`cgroup ${name}: no cpuset.cpus (the cpuset controller is not enabled in its parent's cgroup.subtree_control)`);
    const max = readTrim(c.fs, `${dir}/cpu.max`);
    if (max) cg['cpu.max'] = max;
    const weight = readInt(c.fs, `${dir}/cpu.weight`);
    if (weight !== null) cg['cpu.weight'] = weight;
    if (max === null && weight === null) c.warn(`cgroup ${name}: no cpu.max or cpu.weight (the cpu controller is not enabled in its parent's cgroup.subtree_control)`);
    out[name] = cg;
  }
  return out;
}

/** A scenario name from a host name ("CI Box.local" → "snapshot-ci-box-local"). */
function slug(host: string): string {
  const s = host
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|-+$/g, '');
  return `snapshot-${s || 'host'}`;
}

/** Read the machine and build the scenario; it loads (checked by the scenario loader) before it is returned. */
export function snapshot(hostFs: HostFs, opts: SnapshotOptions): Snapshot {
  const warnings: string[] = [];
  const c: Ctx = { fs: hostFs, netns: opts.netns ?? false, warn: (w) => warnings.push(w) };
  const devs = devicesToRead(hostFs, opts.devs);
  const { cpus, machine } = snapshotMachine(c);
  const release = readTrim(hostFs, '/proc/sys/kernel/osrelease');
  const hostname = readTrim(hostFs, '/proc/sys/kernel/hostname') ?? 'host';
  const kernel = snapshotKernel(c, release);
  const nics = devs.map((d) => snapshotDevice(c, d, cpus));
  const sysctl = snapshotSysctls(c);
  const cgroups = snapshotCgroups(c, opts.cgroups);
  warnings.push(
    'netfilter rules not read (iptables-save / nft list ruleset): netfilter is empty',
    "costs are the baremetal-10g profile's, not this machine's (rxsim calibrate fits them)",
    'no load: a snapshot holds the configuration; add flows and apps (the traffic and its readers) to run an experiment',
  );
  const scenario: Record<string, unknown> = {
    name: slug(hostname),
    description: `${hostname} (Linux ${release ?? 'unknown'}) as read by rxsim snapshot: ${devs.join(', ')}.`,
    snapshot: { source: opts.source ?? hostFs.source, hostname, ...(release ? { kernel_release: release } : {}), warnings },
    cpus,
    machine,
    kernel,
    costs: 'baremetal-10g',
    nics,
    sysctl,
    cgroups,
    apps: [],
    flows: [],
  };
  const loaded = settle(scenario, warnings);
  return { scenario, warnings, loaded };
}

/**
 * Load the scenario; a value the loader refuses is taken out (the field falls back to its
 * default) with a warning saying what was read and why rxsim refused it, until it loads.
 */
function settle(scenario: Record<string, unknown>, warnings: string[]): Scenario {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      return loadScenarioObject(structuredClone(scenario)).scenario;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      let parts: (string | number)[];
      try {
        parts = parsePathParts(e.where, e.where);
      } catch {
        throw new InputError(`snapshot of ${scenario.name as string}`, `rxsim refuses it: ${e.message}`);
      }
      const top = parts[0];
      if (parts.length < 2 || (top === 'nics' && parts.length < 3)) throw new InputError(`snapshot of ${scenario.name as string}`, `rxsim refuses it: ${e.message}`);
      const value = valueAt(scenario, parts);
      assignPath(scenario, parts, undefined, e.where);
      warnings.push(`${e.where}: read ${JSON.stringify(value)}, which rxsim refuses (${e.problem}): left at the default`);
    }
  }
  throw new InputError(`snapshot of ${scenario.name as string}`, 'rxsim refuses too many of its values');
}

function valueAt(root: unknown, parts: readonly (string | number)[]): unknown {
  let cur = root as Record<string | number, unknown> | undefined;
  for (const p of parts) cur = cur?.[p] as Record<string | number, unknown> | undefined;
  return cur;
}
