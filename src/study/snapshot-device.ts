import { DRIVERS, type DriverName } from '../model/nic/drivers.ts';
import { deviceVectors } from './device-vectors.ts';
import type { HostFs } from './host-fs.ts';
import { parseEthtoolCoalesce, parseEthtoolCurrent, parseEthtoolFields, parseEthtoolFlowHash, parseEthtoolRss, parseInterrupts } from './proc-text.ts';

/**
 * One network device of a machine as a `nics[]` entry of a scenario (`rxsim snapshot`): sysfs
 * (/sys/class/net/<dev>), its queue vectors in /proc/interrupts, and ethtool's settings.
 */

export const SYS_NET = '/sys/class/net';

/** What reading a device needs: the files, and where a warning goes. */
export interface SnapshotCtx {
  fs: HostFs;
  warn: (w: string) => void;
}

/** The trimmed text of a file, or null. */
export function readTrim(fs: HostFs, path: string): string | null {
  const t = fs.read(path);
  return t === null ? null : t.trim();
}

export function readInt(fs: HostFs, path: string): number | null {
  const t = readTrim(fs, path);
  return t !== null && /^-?\d+$/.test(t) ? Number(t) : null;
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

/** One device: its nics[] entry. */

/** One device: its nics[] entry. */
export function snapshotDevice(c: SnapshotCtx, dev: string, ncpus: number): Record<string, unknown> {
  const base = `${SYS_NET}/${dev}`;
  const rxQueues = (c.fs.list(`${base}/queues`) ?? []).filter((q) => /^rx-\d+$/.test(q)).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  if (rxQueues.length > ncpus) c.warn(`${dev}: ${rxQueues.length} RX queues on ${ncpus} CPUs: rxsim has at most one queue per CPU`);
  const nic = { name: dev, ...identity(c, dev) };
  return {
    ...nic,
    ...ethtoolSettings(c, dev, nic.driver, rxQueues.length),
    irq_affinity: irqAffinity(c, dev),
    ...sysfsSettings(c, dev, rxQueues),
  };
}

/** The driver profile (ixgbe, ice, else generic with a warning), speed and MTU. */
function identity(c: SnapshotCtx, dev: string): { driver: DriverName; speed_gbps?: number; mtu?: number } {
  const { fs, warn } = c;
  const base = `${SYS_NET}/${dev}`;
  const driver = driverOf(fs, dev);
  const profile: DriverName = driver === 'ixgbe' || driver === 'ice' ? driver : 'generic';
  if (profile === 'generic') {
    warn(
      driver === 'veth'
        ? `${dev}: veth is a software device (no ring, no interrupt): rxsim models it as the flow paths "veth-local" and "veth-bridge"; here it is a "generic" NIC so its settings are kept`
        : `${dev}: driver ${driver ?? '(unknown)'} has no rxsim profile: modelled as "generic" (a CQ-moderation NAPI driver); its limits and costs are not this driver's`,
    );
  }
  const out: { driver: DriverName; speed_gbps?: number; mtu?: number } = { driver: profile };
  // /sys/class/net/<dev>/speed is Mb/s (ethtool_link_ksettings.base.speed); -1 (SPEED_UNKNOWN) or EINVAL without a link.
  const speed = readInt(fs, `${base}/speed`);
  if (speed !== null && speed > 0) out.speed_gbps = speed / 1000;
  else warn(`${dev}: speed not readable (${base}/speed; link down or no PHY): speed_gbps left at its default`);
  const mtu = readInt(fs, `${base}/mtu`);
  if (mtu !== null) out.mtu = mtu;
  return out;
}

/** What only ethtool reports: channels (else counted from sysfs), ring, coalescing, features, RSS, flow hash, pause. */
function ethtoolSettings(c: SnapshotCtx, dev: string, profile: DriverName, rxQueues: number): Record<string, unknown> {
  const { fs, warn } = c;
  const out: Record<string, unknown> = {};
  const missing = fs.ethtool(dev, ['-i']) === null ? 'gave nothing: ethtool is not installed (or not recorded)' : 'is not supported by the driver';
  const channels = parseEthtoolCurrent(fs.ethtool(dev, ['-l']) ?? '');
  if (channels.Combined) out.channels = { combined: channels.Combined };
  else if (channels.RX) out.channels = { combined: channels.RX };
  else if (rxQueues > 0) {
    out.channels = { combined: rxQueues };
    warn(`${dev}: channels from the RX queues in ${SYS_NET}/${dev}/queues (${rxQueues}): ethtool -l ${missing}`);
  }
  const ring = parseEthtoolCurrent(fs.ethtool(dev, ['-g']) ?? '');
  if (ring.RX) out.ring = { rx: ring.RX };
  else warn(`${dev}: RX ring size not read (ethtool -g ${missing}): ring.rx left at the driver default`);
  const coalesce = coalesceOf(c, dev, profile);
  if (coalesce) out.coalesce = coalesce;
  const features = featuresOf(c, dev);
  if (features) out.features = features;
  const rss = rssOf(c, dev, rxQueues);
  if (rss) out.rss = rss;
  const a = fs.ethtool(dev, ['-a']);
  if (a) {
    const f = parseEthtoolFields(a);
    const pause: Record<string, string> = {};
    if (f.Autonegotiate === 'on' || f.Autonegotiate === 'off') pause.autoneg = f.Autonegotiate;
    if (f.RX === 'on' || f.RX === 'off') pause.rx = f.RX;
    if (f.TX === 'on' || f.TX === 'off') pause.tx = f.TX;
    out.pause = pause;
  }
  return out;
}

/** `ethtool -c`: the parameters the profile's moderation takes (supported_coalesce_params). */
function coalesceOf(c: SnapshotCtx, dev: string, profile: DriverName): Record<string, unknown> | null {
  const co = c.fs.ethtool(dev, ['-c']);
  if (!co) {
    c.warn(`${dev}: interrupt moderation not read (ethtool -c): coalesce left at the driver defaults`);
    return null;
  }
  const d = DRIVERS[profile];
  const { adaptiveRx, values } = parseEthtoolCoalesce(co);
  const coalesce: Record<string, unknown> = {};
  if (values['rx-usecs'] !== undefined) coalesce['rx-usecs'] = values['rx-usecs'];
  if (values['rx-frames'] !== undefined && values['rx-frames'] > 0 && d.moderation.rxFrames) coalesce['rx-frames'] = values['rx-frames'];
  if (values['tx-frames-irq'] !== undefined && values['tx-frames-irq'] > 0 && d.txFramesIrq) coalesce['tx-frames-irq'] = values['tx-frames-irq'];
  if (adaptiveRx !== undefined) {
    if (d.moderation.kind === 'ice-itr') coalesce['adaptive-rx'] = adaptiveRx;
    else if (adaptiveRx === 'on') c.warn(`${dev}: adaptive-rx on: the ${profile} profile has no separate adaptive moderation${profile === 'ixgbe' ? ' (ixgbe: rx-usecs 1 is adaptive)' : ''}`);
  }
  return coalesce;
}

/** Offloads that receive hardware GRO or LRO: rxsim models software GRO only. */
const UNMODELLED_OFFLOADS = ['large-receive-offload', 'rx-gro-hw', 'rx-gro-list', 'rx-udp-gro-forwarding'];

/** `ethtool -k`: gro, rxhash, ntuple by their long names; unmodelled receive offloads that are on become warnings. */
function featuresOf(c: SnapshotCtx, dev: string): Record<string, string> | null {
  const k = c.fs.ethtool(dev, ['-k']);
  if (!k) {
    c.warn(`${dev}: offload features not read (ethtool -k): gro, rxhash, ntuple left at their defaults`);
    return null;
  }
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
  for (const long of UNMODELLED_OFFLOADS) if (f[long] === 'on') c.warn(`${dev}: ${long} on: not modelled`);
  return features;
}

/** `ethtool -x` (key, indirection table) and `ethtool -n rx-flow-hash udp4|udp6`. */
function rssOf(c: SnapshotCtx, dev: string, rxQueues: number): Record<string, unknown> | null {
  const rss: Record<string, unknown> = {};
  const x = c.fs.ethtool(dev, ['-x']);
  if (x) {
    const { indir, hkey } = parseEthtoolRss(x);
    if (hkey) rss.hkey = hkey;
    if (indir) rss.indir = { table: indir };
  } else if (rxQueues > 1) c.warn(`${dev}: RSS key and indirection table not read (ethtool -x): rxsim draws the key from the seed and spreads the table evenly`);
  const hash: Record<string, string> = {};
  for (const flowType of ['udp4', 'udp6'] as const) {
    const fh = parseEthtoolFlowHash(c.fs.ethtool(dev, ['-n', 'rx-flow-hash', flowType]) ?? '');
    if (fh) hash[flowType] = fh;
  }
  if (Object.keys(hash).length > 0) rss['rx-flow-hash'] = hash;
  return Object.keys(rss).length > 0 ? rss : null;
}

/** The device's sysfs files: per-queue RPS/RFS, the NAPI settings, its NUMA node. */
function sysfsSettings(c: SnapshotCtx, dev: string, rxQueues: readonly string[]): Record<string, unknown> {
  const { fs, warn } = c;
  const base = `${SYS_NET}/${dev}`;
  const out: Record<string, unknown> = {};
  const queues: Record<string, Record<string, unknown>> = {};
  for (const q of rxQueues) {
    const entry: Record<string, unknown> = {};
    const rps = readTrim(fs, `${base}/queues/${q}/rps_cpus`);
    if (rps !== null) entry.rps_cpus = rps;
    const cnt = readInt(fs, `${base}/queues/${q}/rps_flow_cnt`);
    if (cnt !== null) entry.rps_flow_cnt = cnt;
    if (Object.keys(entry).length > 0) queues[q] = entry;
  }
  out.queues = queues;
  const defer = readInt(fs, `${base}/napi_defer_hard_irqs`);
  if (defer !== null) out.napi_defer_hard_irqs = defer;
  const flush = readInt(fs, `${base}/gro_flush_timeout`);
  if (flush !== null) out.gro_flush_timeout = flush;
  // threaded: "0"/"1" (net/core/net-sysfs.c: threaded_show); 6.14+ may show 2 (busy-poll kthreads).
  const threaded = readTrim(fs, `${base}/threaded`);
  if (threaded === '0' || threaded === '1') out.threaded = Number(threaded);
  else if (threaded !== null) warn(`${dev}: threaded "${threaded}" (busy-poll kthread mode) not modelled: threaded left at 0`);
  const node = readInt(fs, `${base}/device/numa_node`);
  if (node !== null && node >= 0) out.numa_node = node;
  return out;
}

/** The device's queue vectors in /proc/interrupts and their smp_affinity_list. */
function irqAffinity(c: SnapshotCtx, dev: string): Record<string, string> {
  const { fs, warn } = c;
  const text = fs.read('/proc/interrupts');
  if (text === null) {
    warn(`${dev}: /proc/interrupts not readable: irq_affinity left at the default (queue i on CPU i)`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const { row, queue } of deviceVectors(fs, dev, parseInterrupts(text))) {
    if (String(queue) in out) continue;
    const list = readTrim(fs, `/proc/irq/${row.key}/smp_affinity_list`);
    if (list !== null) out[String(queue)] = list;
    else warn(`${dev}: /proc/irq/${row.key}/smp_affinity_list (${row.name}) not readable`);
  }
  if (Object.keys(out).length === 0) warn(`${dev}: no queue vector in /proc/interrupts (a virtual device, or vector names rxsim does not recognise): irq_affinity left at the default`);
  return out;
}
