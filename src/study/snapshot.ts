import { didYouMean, InputError } from '../scenario/errors.ts';
import { SYSCTL_KNOBS } from '../scenario/knobs/sysctl.ts';
import { assignPath, loadScenarioObject, parsePathParts } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { parseCpuList } from '../scenario/units.ts';
import type { HostFs } from './host-fs.ts';
import { kernelConfigValue, parseKernelRelease } from './proc-text.ts';
import { readInt, readTrim, snapshotDevice, SYS_NET, type SnapshotCtx as Ctx } from './snapshot-device.ts';

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
  /** The sysctls as read where `--netns` was given, before entering the namespace: the global ones the namespace hides. */
  outsideSysctls?: Readonly<Record<string, string>>;
}

export interface Snapshot {
  /** The scenario as JSON (field order as a person would write it). */
  scenario: Record<string, unknown>;
  warnings: string[];
  /** The loaded scenario (what `rxsim run` would run). */
  loaded: Scenario;
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

/** The sysctls rxsim reads, from /proc/sys. */
function snapshotSysctls(c: Ctx, outside: Readonly<Record<string, string>>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const fromOutside: string[] = [];
  for (const knob of SYSCTL_KNOBS) {
    const path = `/proc/sys/${knob.name.replace(/\./g, '/')}`;
    let t = readTrim(c.fs, path);
    // A sysctl a namespace does not show is global (registered for init_net only, as
    // net/core/sysctl_net_core.c: net_core_table): the value read where rxsim started holds here too.
    if (t === null && outside[knob.name] !== undefined) {
      t = outside[knob.name]!.trim();
      fromOutside.push(knob.name);
    }
    if (t === null) c.warn(`sysctl ${knob.name} not readable (${path}; not in this kernel, or global and hidden in this namespace): left at its default`);
    else out[knob.name] = knob.type.name === 'int' && /^-?\d+$/.test(t) ? Number(t) : t.replace(/\s+/g, ' ');
  }
  if (fromOutside.length > 0) c.warn(`global sysctls read outside the network namespace, where rxsim snapshot was started (the namespace does not show them): ${fromOutside.join(', ')}`);
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
  const c: Ctx = { fs: hostFs, warn: (w) => warnings.push(w) };
  const devs = devicesToRead(hostFs, opts.devs);
  const { cpus, machine } = snapshotMachine(c);
  const release = readTrim(hostFs, '/proc/sys/kernel/osrelease');
  const hostname = readTrim(hostFs, '/proc/sys/kernel/hostname') ?? 'host';
  const kernel = snapshotKernel(c, release);
  const nics = devs.map((d) => snapshotDevice(c, d, cpus));
  const sysctl = snapshotSysctls(c, opts.outsideSysctls ?? {});
  const cgroups = snapshotCgroups(c, opts.cgroups);
  warnings.push(
    'netfilter rules not read (iptables-save / nft list ruleset): netfilter is empty',
    'XDP programs not read (ip link show: prog/xdp): no nics[].xdp',
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
  for (let attempt = 0; attempt < 1000; attempt++) {
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
