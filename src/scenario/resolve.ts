import { costTable, COST_KEYS, COST_PROFILE_NAMES, type CostTable } from '../model/costs.ts';
import type { LlcTopology } from '../model/ddio.ts';
import { DRIVERS, type DriverProfile } from '../model/nic/drivers.ts';
import { indirDefault, indirEqual, indirWeights } from '../model/nic/rss.ts';
import { InputError, ValueError, didYouMean } from './errors.ts';
import { resolveXdp, resolveXdpMaps, type ResolvedXdp, type ResolvedXdpMap } from './xdp-program.ts';
import * as appKnobs from './knobs/app.ts';
import * as cgroupKnobs from './knobs/cgroup.ts';
import * as device from './knobs/device.ts';
import * as ethtool from './knobs/ethtool.ts';
import * as irq from './knobs/irq.ts';
import * as kernel from './knobs/kernel-config.ts';
import * as queue from './knobs/queue.ts';
import type { NapiThreaded } from './knobs/queue.ts';
import { jsonPath, nicContext, queueContext, systemContext, valueOf } from './knobs/registry.ts';
import type { Knob, SystemContext } from './knobs/types.ts';
import { cgroupTree, parentCgroup } from './cgroup-tree.ts';
import * as limits from './limits.ts';
import { resolveMachine } from './machine.ts';
import type { AppConfig, FlowConfig, NicConfig, Scenario } from './schema.ts';
import { sysctlValues, type SysctlValues } from './sysctl.ts';
import { lookupRoute, resolveRoutes, type ResolvedRoute } from './routes.ts';
import { formatCpuList, MAX_TUPLES, parseCpuMask, parseEndpoint, parseRate, type Endpoint, type Rate } from './units.ts';

export { netdevRssKey, queueCount } from './knobs/ethtool.ts';

/** A scenario with every default filled in and every value parsed: what the model reads. */
export interface ResolvedScenario {
  name: string;
  description: string;
  narrative: string | undefined;
  seed: number;
  durationNs: number;
  warmupNs: number;
  /** warmup_ms "auto": warmupNs is 0 for the pilot run that finds where the transient ends. */
  warmupAuto: boolean;
  /** Run-to-run variation drawn from the seed (cost noise, wire jitter, clock phases). */
  variability: { costCv: number; wireJitterPs: number; randomPhase: boolean };
  hz: number;
  softirqMode: 'inline' | 'defer-to-ksoftirqd';
  /** The fair scheduler: EEVDF (6.6+) or CFS. */
  sched: 'eevdf' | 'cfs';
  /** C-state exit latency paid by the first interrupt on an idle CPU (ns). */
  idleExitNs: number;
  /** CONFIG_IRQ_TIME_ACCOUNTING: interrupt time is not charged to the interrupted task. */
  irqTimeAccounting: boolean;
  /** sysctl_sched_migration_cost: how recently a task ran for load balancing to call it cache-hot (ns). */
  migrationCostNs: number;
  cpus: number;
  /** NUMA nodes and each node's L3 with DDIO's ways (machine.ts). */
  machine: LlcTopology;
  costProfile: string;
  costs: CostTable;
  nics: ResolvedNic[];
  sysctl: SysctlValues;
  cgroups: ResolvedCgroup[];
  apps: ResolvedApp[];
  /** Changes during the run, in time order (filled by the loader). */
  timeline: TimelineChange[];
  flows: ResolvedFlow[];
  netfilter: { host: ResolvedNetns; container: ResolvedNetns };
  veth: { gro: boolean; rpsCpus: number[] };
  /** xdp_maps: the BPF maps XDP_REDIRECT rules name (a rule's redirect.map indexes this list). */
  xdpMaps: ResolvedXdpMap[];
  /** The main routing table's routes (`routes`): where "forward" flows leave. */
  routes: ResolvedRoute[];
  /** Settings the scenario uses that the model does not act on yet (printed, and kept in the result). */
  warnings: string[];
}

export type { ResolvedCpuMap, ResolvedDevMap, ResolvedXdp, ResolvedXdpMap, ResolvedXdpRule } from './xdp-program.ts';

export interface ResolvedNic {
  index: number;
  name: string;
  driver: DriverProfile;
  speedGbps: number;
  mtu: number;
  queues: number;
  ringSize: number;
  rxUsecs: number;
  rxFrames: number;
  /** TX completions a poll frees at most (tx.work_limit). */
  txWorkLimit: number;
  adaptiveRx: boolean;
  gro: boolean;
  rxhash: boolean;
  ntuple: boolean;
  rssKey: Uint8Array;
  indir: Int32Array;
  udpHashPorts: { v4: boolean; v6: boolean };
  /** Allowed CPUs of each queue's vector (smp_affinity_list). */
  irqAffinity: number[][];
  /** Per RX queue: RPS, RFS and its NAPI's napi_config: irq_suspend_timeout in ns, threaded (netlink's, else the device's). */
  rxQueues: { rpsCpus: number[]; rpsFlowCnt: number; irqSuspendTimeoutNs: number; threaded: NapiThreaded }[];
  napiDeferHardIrqs: number;
  groFlushTimeoutNs: number;
  threaded: boolean;
  rxMode: 'napi' | 'netif_rx';
  dmaLatencyNs: number;
  /** /sys/class/net/<dev>/device/numa_node. */
  numaNode: number;
  /** ethtool -A: what was asked for. */
  pause: { autoneg: boolean; rx: boolean; tx: boolean };
  /** The link partner: does it stop on our PAUSE frames; its port buffer (bytes). */
  partnerHonoursPause: boolean;
  upstreamBufferBytes: number;
  /** The XDP program attached (ip link … xdpdrv|xdpgeneric), or null. */
  xdp: ResolvedXdp | null;
}

export interface ResolvedFlow {
  index: number;
  name: string;
  proto: 'tcp' | 'udp';
  src: Endpoint;
  dst: Endpoint;
  nic: number;
  rate: Rate;
  /** Frame sizes (bytes incl. FCS) with weights summing to 1. */
  sizes: { size: number; weight: number }[];
  arrival: 'cbr' | 'poisson' | 'onoff';
  burst: number;
  gapNs: number;
  startNs: number;
  stopNs: number;
  rttNs: number;
  /** 5-tuples the flow cycles through (port ranges): source port varies fastest. */
  tuples: number;
  path: 'host' | 'veth-bridge' | 'vxlan-overlay' | 'veth-local' | 'forward';
  /** The IPv4 TTL its frames arrive with. */
  ttl: number;
  /** A "forward" flow: the NIC its route leaves by (fib_lookup at load); -1 for the others. */
  egress: number;
  writeSize: number;
  /** veth-local: the index of the stream-writer app that sends it; else null. */
  sender: number | null;
  /** Request/response (closed loop): requests in flight and the response's payload bytes. */
  rr: { concurrency: number; responseBytes: number | null } | null;
}

export interface ResolvedNetns {
  conntrack: boolean;
  nat: boolean;
  rules: { PREROUTING: number; INPUT: number; FORWARD: number; POSTROUTING: number };
}

export interface ResolvedCgroup {
  /** Its path below /sys/fs/cgroup ("kubepods/pod-a/web"). */
  name: string;
  /** The parent's path, or null for a child of the root. */
  parent: string | null;
  cpus: number[] | null;
  quotaUs: number | null;
  periodUs: number;
  weight: number;
}

/** What changes at one moment of the run (a timeline entry). */
export interface TimelineChange {
  atNs: number;
  apps: { app: number; cpus: number[] }[];
  irqs: { nic: number; queue: number; cpus: number[] }[];
}

export interface ResolvedApp {
  index: number;
  name: string;
  kind: AppConfig['kind'];
  cpus: number[];
  cgroup: string | null;
  listen: Endpoint | null;
  nice: number;
  /** stream-reader: bytes per recvmsg; udp-sink: datagrams per recvmmsg. */
  recvSize: number;
  batch: number;
  /** Bits per second the app reads at most (Infinity: unpaced), and its user work per KiB (ns). */
  rateBps: number;
  userNsPerKb: number;
  /** rr-server: user-space time per request (ns). */
  serviceNs: number;
  /** SO_BUSY_POLL in µs (-1: not set, sock_init_data takes net.core.busy_read), SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET (0: BUSY_POLL_BUDGET). */
  busyPollUs: number;
  preferBusyPoll: boolean;
  busyPollBudget: number;
  /** An event loop's epoll instance with its EPIOCSPARAMS (busy_poll_usecs 0: net.core.busy_poll; budget 0: BUSY_POLL_BUDGET), or null. */
  epoll: { busyPollUsecs: number; busyPollBudget: number; preferBusyPoll: boolean } | null;
  /** af-xdp-reader: its AF_XDP socket, else null. */
  xsk: ResolvedXsk | null;
}

/** An AF_XDP socket as bind(2) and its setsockopt calls leave it. */
export interface ResolvedXsk {
  /** The device (NIC index) and RX queue bound (sockaddr_xdp). */
  nic: number;
  queue: number;
  /** The xskmap (index in xdp_maps) it is inserted into at key = queue. */
  map: number;
  /** XDP_ZEROCOPY (true) or copy mode, as the bind settled it. */
  zeroCopy: boolean;
  needWakeup: boolean;
  frames: number;
  frameSize: number;
  fillSize: number;
  rxSize: number;
  /** xdpsock -p: poll() before each pass (else a busy loop on the ring). */
  poll: boolean;
  /** User-space work per frame, ns. */
  workNs: number;
}

/** Ethernet header (14) + FCS (4): frame size = IP packet size + 18. */
export const ETH_OVERHEAD = 18;
/** Smallest Ethernet frame including FCS. */
export const MIN_FRAME = 64;
/** Simple IMIX: 64, 594 and 1518 byte frames in the ratio 7:4:1. */
export const IMIX = [
  { size: 64, weight: 7 },
  { size: 594, weight: 4 },
  { size: 1518, weight: 1 },
];

/** Run `fn`, turning a ValueError into an InputError at `where`. */
export function at<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ValueError) throw new InputError(where, e.message);
    throw e;
  }
}

/**
 * A knob's value as the model reads it: the given JSON value through the registry's check (an
 * error names the JSON path, filled in from `args`), or the knob's default.
 */
function knob<J, T, C extends SystemContext>(k: Knob<J, T, C>, given: J | undefined, ctx: C, ...args: (string | number)[]): T {
  return at(jsonPath(k, ...args), () => valueOf(k, given, ctx));
}

/** Check cross-field rules and build the resolved scenario. Throws InputError naming the JSON path. */
export function resolveScenario(s: Scenario): ResolvedScenario {
  if (s.warmup_ms !== 'auto' && s.warmup_ms >= s.duration_ms) throw new InputError('warmup_ms', `${s.warmup_ms} must be less than duration_ms (${s.duration_ms})`);
  unique(
    s.nics.map((n) => n.name),
    'nics',
    'name',
  );
  unique(
    s.flows.map((f) => f.name),
    'flows',
    'name',
  );
  unique(
    s.apps.map((a) => a.name),
    'apps',
    'name',
  );

  if (!COST_PROFILE_NAMES.includes(s.costs)) {
    throw new InputError('costs', `unknown cost profile "${s.costs}"${didYouMean(s.costs, COST_PROFILE_NAMES)}; profiles: ${COST_PROFILE_NAMES.join(', ')}`);
  }
  for (const key of Object.keys(s.cost_overrides)) {
    if (!(COST_KEYS as string[]).includes(key)) throw new InputError(`cost_overrides.${key}`, `unknown cost "${key}"${didYouMean(key, COST_KEYS)}`);
  }

  const ctx = systemContext(s);
  const sysctl = sysctlValues(ctx, s.sysctl, (name, fn) => at(`sysctl["${name}"]`, fn));
  const config = s.kernel;
  const hz = knob(kernel.hz, config.hz, ctx);
  const softirqMode = knob(kernel.softirqMode, config.softirq_mode, ctx);
  const sched = knob(kernel.sched, config.sched, ctx);
  const idleExitUs = knob(kernel.idleExitUs, config.idle_exit_us, ctx);
  const irqTimeAccounting = knob(kernel.irqTimeAccounting, config.irq_time_accounting, ctx);
  const migrationCostNs = knob(kernel.schedMigrationCostNs, config.sched_migration_cost_ns, ctx);

  const machine = resolveMachine(s);
  const xdpMaps = resolveXdpMaps(s);
  const nics = s.nics.map((nic, i) => resolveNic(nic, i, s));
  for (const nic of nics) {
    if (nic.numaNode >= machine.nodes)
      throw new InputError(
        `nics[${nic.index}].numa_node`,
        `node ${nic.numaNode} does not exist (the machine has ${machine.nodes === 1 ? 'node 0' : `nodes 0-${machine.nodes - 1}`}: machine.numa_nodes)`,
      );
  }
  const cgroups = cgroupTree(s.cgroups).map((name) => {
    const c = s.cgroups[name] ?? {};
    // No cpuset.cpus: the group is not restricted (null, as the result reports it), not "all CPUs".
    const cpus = c['cpuset.cpus'] === undefined ? null : knob(cgroupKnobs.cpusetCpus, c['cpuset.cpus'], ctx, name);
    const max = knob(cgroupKnobs.cpuMax, c['cpu.max'], ctx, name);
    return { name, parent: parentCgroup(name), cpus, quotaUs: max.quotaUs, periodUs: max.periodUs, weight: knob(cgroupKnobs.cpuWeight, c['cpu.weight'], ctx, name) };
  });
  const apps = s.apps.map((a, i) => resolveApp(a, i, s, nics));
  checkXskBinds(apps, nics);
  const routes = resolveRoutes(s);
  const flows = s.flows.map((f, i) => resolveFlow(f, i, s, nics, routes));

  return {
    warnings: [...unmodelledWarnings(s), ...adjustedWarnings(s, nics), ...idleReaderWarnings(apps, flows)],
    name: s.name,
    description: s.description,
    narrative: s.narrative,
    seed: s.seed,
    durationNs: Math.round(s.duration_ms * 1e6),
    warmupNs: s.warmup_ms === 'auto' ? 0 : Math.round(s.warmup_ms * 1e6),
    warmupAuto: s.warmup_ms === 'auto',
    variability: { costCv: s.variability.cost_cv, wireJitterPs: Math.round(s.variability.wire_jitter_ns * 1000), randomPhase: s.variability.random_phase },
    hz,
    softirqMode,
    sched,
    idleExitNs: Math.round(idleExitUs * 1000),
    irqTimeAccounting,
    migrationCostNs,
    cpus: s.cpus,
    machine,
    costProfile: s.costs,
    costs: costTable(s.costs, s.cost_overrides),
    nics,
    sysctl,
    cgroups,
    apps,
    timeline: [],
    flows,
    netfilter: { host: netns(s.netfilter.host), container: netns(s.netfilter.container) },
    xdpMaps,
    routes,
    veth: { gro: s.veth.gro === 'on', rpsCpus: at('veth.rps_cpus', () => limits.existingCpus(parseCpuMask(s.veth.rps_cpus), s.cpus, 'rps_cpus')) },
  };
}

function netns(n: Scenario['netfilter']['host']): ResolvedNetns {
  return {
    conntrack: n.conntrack,
    nat: n.nat,
    rules: { PREROUTING: n.rules.PREROUTING ?? 0, INPUT: n.rules.INPUT ?? 0, FORWARD: n.rules.FORWARD ?? 0, POSTROUTING: n.rules.POSTROUTING ?? 0 },
  };
}

/**
 * Everything a scenario may say that the model does not act on yet: the run goes on, and these
 * sentences go to stderr and into the result, so no setting is ignored silently.
 */
function unmodelledWarnings(s: Scenario): string[] {
  const w: string[] = [];
  s.nics.forEach((n, i) => {
    if (n.features.ntuple !== 'on') return;
    if (!DRIVERS[n.driver as keyof typeof DRIVERS].rxFlowSteer) {
      w.push(`nics[${i}].features.ntuple: ${n.driver} has no ndo_rx_flow_steer, so ntuple gives no accelerated RFS (Flow Director filters are not modelled)`);
    } else if (!(Number(s.sysctl['net.core.rps_sock_flow_entries'] ?? 0) > 0) || !Object.values(n.queues).some((q) => (q.rps_flow_cnt ?? 0) > 0)) {
      w.push(`nics[${i}].features.ntuple: accelerated RFS needs RFS configured (net.core.rps_sock_flow_entries and rps_flow_cnt on the RX queues); it does nothing here`);
    }
  });
  return w;
}

/**
 * Values the driver adjusted rather than rejected (ixgbe clamps a ring below its minimum and rounds
 * to a multiple of 8; ice rounds rx-usecs to its 2 µs ITR granularity): the run uses the adjusted
 * value, as `ethtool -g` / `ethtool -c` would show it afterwards.
 */
function adjustedWarnings(s: Scenario, nics: ResolvedNic[]): string[] {
  const w: string[] = [];
  s.nics.forEach((n, i) => {
    const r = nics[i]!;
    const ring = n.ring.rx;
    if (ring !== undefined && ring !== r.ringSize) w.push(`nics[${i}].ring.rx: ${r.driver.name} uses ${r.ringSize} descriptors, not ${ring} (ethtool -g ${n.name} shows ${r.ringSize})`);
    const usecs = n.coalesce['rx-usecs'];
    if (usecs !== undefined && usecs !== r.rxUsecs) w.push(`nics[${i}].coalesce.rx-usecs: ${r.driver.name} uses ${r.rxUsecs}, not ${usecs} (ethtool -c ${n.name} shows ${r.rxUsecs})`);
  });
  return w;
}

/** A reader that no flow reaches sleeps for the whole run: most likely a typo in an address. */
function idleReaderWarnings(apps: ResolvedApp[], flows: ResolvedFlow[]): string[] {
  const w: string[] = [];
  for (const a of apps) {
    if (a.kind === 'cpu-hog' || a.kind === 'af-xdp-reader') continue;
    if (a.kind === 'stream-writer') {
      if (!flows.some((f) => f.sender === a.index)) w.push(`apps[${a.index}] "${a.name}": no veth-local flow names it as its sender; it sends nothing`);
      continue;
    }
    if (!a.listen) {
      w.push(`apps[${a.index}] "${a.name}": a ${a.kind} without listen reads nothing and sleeps for the whole run`);
      continue;
    }
    const l = a.listen;
    const proto = a.kind === 'stream-reader' ? 'tcp' : 'udp';
    const reached = flows.some((f) => f.proto === proto && (a.kind === 'rr-server') === (f.rr !== null) && sameEndpoint(f.dst, l));
    const what = a.kind === 'rr-server' ? 'request/response flow' : `${proto} flow`;
    if (!reached) w.push(`apps[${a.index}] "${a.name}": no ${what} goes to ${l.text}; it sleeps for the whole run`);
  }
  for (const f of flows) {
    if (f.rr && !apps.some((a) => a.kind === 'rr-server' && a.listen && sameEndpoint(f.dst, a.listen))) {
      w.push(`flows[${f.index}] "${f.name}": no rr-server listens on ${f.dst.text}; its requests are never answered (after ${f.rr.concurrency} the client waits for ever)`);
    } else if (!f.rr) {
      // A closed port is a scenario's choice (a flood to the discard port): say nothing when no
      // reader of the flow's kind is there at all. When readers of its kind listen elsewhere, the
      // destination is most likely a typo for one of them.
      const kind = f.proto === 'tcp' ? 'stream-reader' : 'udp-sink';
      const readers = apps.filter((a) => a.kind === kind && a.listen);
      if (readers.length === 0 || readers.some((a) => sameEndpoint(f.dst, a.listen!))) continue;
      const answer = f.proto === 'tcp' ? 'answered with a RST, which stops its sender' : 'counted UdpNoPorts and answered with ICMP port unreachable (rate limited)';
      const there = readers.map((a) => `"${a.name}" on ${a.listen!.text}`).join(', ');
      w.push(`flows[${f.index}] "${f.name}": no ${kind} listens on ${f.dst.text} (${there} does); its packets are ${answer}, then dropped (NO_SOCKET)`);
    }
  }
  return w;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.family === b.family && a.port === b.port && a.addr.every((x, i) => x === b.addr[i]);
}

/** Addresses × ports of one side of a flow. */
const tupleCount = (e: Endpoint): number => e.addrCount * (e.portHi - e.port + 1);

function unique(names: string[], list: string, key: string): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) throw new InputError(`${list}[${i}].${key}`, `"${n}" is used twice; names must be unique`);
    seen.add(n);
  });
}

function resolveNic(nic: NicConfig, index: number, s: Scenario): ResolvedNic {
  const p = `nics[${index}]`;
  const driver = DRIVERS[nic.driver as keyof typeof DRIVERS];
  let ctx = nicContext(s, nic);
  const mtu = knob(device.mtu, nic.mtu, ctx, index);
  const queues = knob(ethtool.combined, nic.channels.combined, ctx, index);
  const ringSize = knob(ethtool.ringRx, nic.ring.rx, ctx, index);
  const rxUsecs = knob(ethtool.rxUsecs, nic.coalesce['rx-usecs'], ctx, index);
  ctx = { ...ctx, queues, rxUsecs };
  const rxFrames = knob(ethtool.rxFrames, nic.coalesce['rx-frames'], ctx, index);
  const txWorkLimit = knob(ethtool.txFramesIrq, nic.coalesce['tx-frames-irq'], ctx, index);
  const adaptiveRx = knob(ethtool.adaptiveRx, nic.coalesce['adaptive-rx'], ctx, index);
  const keyBytes = knob(ethtool.hkey, nic.rss.hkey, ctx, index);

  const indirSpec = nic.rss.indir;
  let indir: Int32Array;
  if (!indirSpec) indir = indirDefault(driver.indirSize, queues);
  else {
    // Errors name the form given (`rss.indir.weight`), as ethtool -X names its argument.
    const spec = at(`${p}.rss.indir.${Object.keys(indirSpec)[0]}`, () => ethtool.indir.check(indirSpec, ctx));
    if ('equal' in spec) indir = indirEqual(driver.indirSize, spec.equal);
    else if ('weight' in spec) indir = indirWeights(driver.indirSize, spec.weight);
    else indir = Int32Array.from(spec.table);
  }

  const flowHash = nic.rss['rx-flow-hash'] ?? {};
  const irqAffinity = Array.from({ length: queues }, (_, q) => valueOf(irq.smpAffinityList, undefined, queueContext(ctx, q)));
  for (const [key, list] of Object.entries(nic.irq_affinity)) {
    const q = Number(key);
    if (q >= queues) throw new InputError(jsonPath(irq.smpAffinityList, index, key), `queue ${q} does not exist (${nic.name} has ${queues} queues, 0-${queues - 1})`);
    irqAffinity[q] = knob(irq.smpAffinityList, list, queueContext(ctx, q), index, key);
  }
  // netif_napi_add: a NAPI starts as the device's threaded says (dev->threaded); napi-set changes one.
  const deviceThreaded: NapiThreaded = knob(device.threaded, nic.threaded, ctx, index) ? 'enabled' : 'disabled';
  const rxQueues: ResolvedNic['rxQueues'] = Array.from({ length: queues }, (_, q) => ({
    rpsCpus: valueOf(queue.rpsCpus, undefined, queueContext(ctx, q)),
    rpsFlowCnt: valueOf(queue.rpsFlowCnt, undefined, queueContext(ctx, q)),
    irqSuspendTimeoutNs: valueOf(queue.irqSuspendTimeout, undefined, queueContext(ctx, q)),
    threaded: deviceThreaded,
  }));
  for (const [key, cfg] of Object.entries(nic.queues)) {
    const q = Number(key.slice(3));
    if (q >= queues) throw new InputError(`${p}.queues["${key}"]`, `${key} does not exist (${nic.name} has ${queues} RX queues, rx-0..rx-${queues - 1})`);
    const qctx = queueContext(ctx, q);
    rxQueues[q] = {
      rpsCpus: knob(queue.rpsCpus, cfg.rps_cpus, qctx, index, key),
      rpsFlowCnt: knob(queue.rpsFlowCnt, cfg.rps_flow_cnt, qctx, index, key),
      irqSuspendTimeoutNs: knob(queue.irqSuspendTimeout, cfg.irq_suspend_timeout, qctx, index, key),
      threaded: cfg.threaded === undefined ? deviceThreaded : knob(queue.threaded, cfg.threaded, qctx, index, key),
    };
  }

  return {
    index,
    name: nic.name,
    driver,
    speedGbps: knob(ethtool.speed, nic.speed_gbps, ctx, index),
    mtu,
    queues,
    ringSize,
    rxUsecs,
    rxFrames,
    txWorkLimit,
    adaptiveRx,
    gro: knob(ethtool.gro, nic.features.gro, ctx, index),
    rxhash: knob(ethtool.rxhash, nic.features.rxhash, ctx, index),
    ntuple: knob(ethtool.ntuple, nic.features.ntuple, ctx, index),
    rssKey: Uint8Array.from(keyBytes),
    indir,
    udpHashPorts: {
      v4: knob(ethtool.flowHashUdp4, flowHash.udp4, ctx, index),
      v6: knob(ethtool.flowHashUdp6, flowHash.udp6, ctx, index),
    },
    irqAffinity,
    rxQueues,
    napiDeferHardIrqs: knob(device.napiDeferHardIrqs, nic.napi_defer_hard_irqs, ctx, index),
    groFlushTimeoutNs: knob(device.groFlushTimeout, nic.gro_flush_timeout, ctx, index),
    threaded: knob(device.threaded, nic.threaded, ctx, index),
    rxMode: nic.rx_mode,
    dmaLatencyNs: nic.dma_latency_ns ?? 600,
    numaNode: nic.numa_node,
    pause: {
      autoneg: knob(ethtool.pauseAutoneg, nic.pause.autoneg, ctx, index),
      rx: knob(ethtool.pauseRx, nic.pause.rx, ctx, index),
      tx: knob(ethtool.pauseTx, nic.pause.tx, ctx, index),
    },
    partnerHonoursPause: nic.link_partner.pause === 'honour',
    upstreamBufferBytes: nic.link_partner.buffer_bytes,
    xdp: resolveXdp(s, index, queues),
  };
}

/** cpuset.cpus.effective: the group's cpuset.cpus within its parent's effective CPUs (the parent's when they do not overlap or it has none); null: every CPU. */
function effectiveCpuset(s: Scenario, name: string, ctx: ReturnType<typeof systemContext>): number[] | null {
  const parent = parentCgroup(name);
  const inherited = parent === null ? null : effectiveCpuset(s, parent, ctx);
  const own = s.cgroups[name]?.['cpuset.cpus'];
  if (own === undefined) return inherited;
  const mine = knob(cgroupKnobs.cpusetCpus, own, ctx, name);
  if (inherited === null) return mine;
  const both = mine.filter((c) => inherited.includes(c));
  return both.length > 0 ? both : inherited;
}

function resolveApp(a: AppConfig, index: number, s: Scenario, nics: ResolvedNic[]): ResolvedApp {
  const p = `apps[${index}]`;
  const ctx = systemContext(s);
  const cpus = knob(appKnobs.cpus, a.cpus, ctx, index);
  const groups = cgroupTree(s.cgroups);
  if (a.cgroup !== undefined && !groups.includes(a.cgroup)) {
    throw new InputError(`${p}.cgroup`, `no cgroup "${a.cgroup}"${didYouMean(a.cgroup, groups)}`);
  }
  // cpuset.cpus narrows what sched_setaffinity allows (cpuset_cpus_allowed), through the
  // group's cpuset.cpus.effective: its own CPUs within its parent's effective ones.
  const set = a.cgroup === undefined ? null : effectiveCpuset(s, a.cgroup, ctx);
  if (set !== null) {
    const both = cpus.filter((c) => set.includes(c));
    if (both.length === 0) {
      throw new InputError(`${p}.cpus`, `CPUs ${a.cpus ?? 'all'} and cgroup "${a.cgroup}" cpuset.cpus.effective ${formatCpuList(set)} have none in common (sched_setaffinity: EINVAL)`);
    }
    cpus.splice(0, cpus.length, ...both);
  }
  const listen = a.listen === undefined ? null : at(`${p}.listen`, () => parseEndpoint(a.listen!));
  if (listen && listen.portHi !== listen.port) throw new InputError(`${p}.listen`, 'a socket listens on one port');
  if (listen && listen.addrCount !== 1) throw new InputError(`${p}.listen`, 'a socket listens on one address');
  if (a.recv_size !== undefined && !appKnobs.recvSize.appKinds!.includes(a.kind))
    throw new InputError(`${p}.recv_size`, `only a stream-reader has recv_size (a ${a.kind} ${a.kind === 'udp-sink' ? 'reads whole datagrams; batch sets how many per recvmmsg' : 'reads no stream'})`);
  if (a.batch !== undefined && !appKnobs.batch.appKinds!.includes(a.kind))
    throw new InputError(`${p}.batch`, `only a udp-sink (datagrams per recvmmsg) or an af-xdp-reader (frames per pass) has batch`);
  const xsk = resolveXsk(a, p, index, s, nics);
  for (const [key, k] of [
    ['busy_poll', appKnobs.busyPoll],
    ['prefer_busy_poll', appKnobs.preferBusyPoll],
    ['busy_poll_budget', appKnobs.busyPollBudget],
  ] as const) {
    if (a[key] !== undefined && !k.appKinds!.includes(a.kind)) throw new InputError(`${p}.${key}`, `only a socket reader (${k.appKinds!.join(', ')}) busy-polls; a ${a.kind} reads no socket`);
  }
  for (const k of [appKnobs.epoll, ...appKnobs.EPOLL_PARAMS]) {
    const key = k.name as 'epoll';
    if (a[key] !== undefined && !k.appKinds!.includes(a.kind)) throw new InputError(`${p}.${key}`, `only an event loop (${k.appKinds!.join(', ')}) waits in epoll_wait; a ${a.kind} does not`);
  }
  const epoll = knob(appKnobs.epoll, a.epoll, ctx, index);
  for (const k of appKnobs.EPOLL_PARAMS) {
    const key = k.name as 'epoll_busy_poll_usecs';
    if (a[key] !== undefined && !epoll) throw new InputError(`${p}.${key}`, `EPIOCSPARAMS is an ioctl on an epoll instance: set "epoll": true`);
  }
  if (a.service_us !== undefined && a.kind !== 'rr-server') throw new InputError(`${p}.service_us`, 'only an rr-server serves requests');
  if (a.kind === 'cpu-hog' || a.kind === 'stream-writer') {
    const what = a.kind === 'cpu-hog' ? 'a cpu-hog reads no socket; it only burns CPU' : 'a stream-writer sends (its flow names it as sender); it reads nothing';
    for (const key of ['listen', 'rate', 'user_ns_per_kb'] as const) {
      if (a[key] !== undefined) throw new InputError(`${p}.${key}`, what);
    }
  }
  return {
    index,
    name: a.name,
    kind: a.kind,
    cpus,
    cgroup: a.cgroup ?? null,
    listen,
    nice: knob(appKnobs.nice, a.nice, ctx, index),
    recvSize: knob(appKnobs.recvSize, a.recv_size, ctx, index),
    // xdpsock's default --batch-size is 64.
    batch: a.kind === 'af-xdp-reader' && a.batch === undefined ? 64 : knob(appKnobs.batch, a.batch, ctx, index),
    rateBps: knob(appKnobs.rate, a.rate, ctx, index),
    userNsPerKb: a.user_ns_per_kb ?? 0,
    serviceNs: Math.round((a.service_us ?? 0) * 1000),
    busyPollUs: knob(appKnobs.busyPoll, a.busy_poll, ctx, index),
    preferBusyPoll: knob(appKnobs.preferBusyPoll, a.prefer_busy_poll, ctx, index),
    busyPollBudget: knob(appKnobs.busyPollBudget, a.busy_poll_budget, ctx, index),
    epoll: epoll
      ? {
          busyPollUsecs: knob(appKnobs.epollBusyPollUsecs, a.epoll_busy_poll_usecs, ctx, index),
          busyPollBudget: knob(appKnobs.epollBusyPollBudget, a.epoll_busy_poll_budget, ctx, index),
          preferBusyPoll: knob(appKnobs.epollPreferBusyPoll, a.epoll_prefer_busy_poll, ctx, index),
        }
      : null,
    xsk,
  };
}

/**
 * An af-xdp-reader's socket: xsk_bind's checks (the device and queue exist: EINVAL; XDP_ZEROCOPY on a
 * driver without zero-copy: EOPNOTSUPP) and xsk_map_update_elem's (the key within max_entries: E2BIG).
 */
function resolveXsk(a: AppConfig, p: string, index: number, s: Scenario, nics: ResolvedNic[]): ResolvedXsk | null {
  const ctx = systemContext(s);
  if (a.kind !== 'af-xdp-reader') {
    if (a.xsk !== undefined) throw new InputError(`${p}.xsk`, `only an af-xdp-reader binds an AF_XDP socket (this app is a ${a.kind})`);
    if (a.work_ns !== undefined) throw new InputError(`${p}.work_ns`, `only an af-xdp-reader has work_ns (per frame); a ${a.kind} takes user_ns_per_kb`);
    for (const k of appKnobs.XSK_KNOBS) {
      const key = k.name as 'xsk_mode';
      if (a[key] !== undefined) throw new InputError(`${p}.${key}`, `only an af-xdp-reader has an AF_XDP socket (this app is a ${a.kind})`);
    }
    return null;
  }
  if (a.listen !== undefined) throw new InputError(`${p}.listen`, 'an af-xdp-reader reads an AF_XDP socket bound to a device queue (xsk), not an address');
  for (const key of ['rate', 'user_ns_per_kb', 'recv_size', 'epoll'] as const) {
    if (a[key] !== undefined) throw new InputError(`${p}.${key}`, `an af-xdp-reader does not take ${key} (its per-frame work is work_ns)`);
  }
  if (!a.xsk) throw new InputError(`${p}.xsk`, 'an af-xdp-reader binds a socket: give xsk {"dev", "queue", "map"}');
  const devName = a.xsk.dev ?? nics[0]!.name;
  const nic = nics.find((n) => n.name === devName);
  if (!nic) {
    const names = nics.map((n) => n.name);
    throw new InputError(`${p}.xsk.dev`, `no device "${devName}" in nics${didYouMean(devName, names)}; devices: ${names.join(', ')}`);
  }
  // xsk_bind(): qid >= dev->real_num_rx_queues is EINVAL.
  if (a.xsk.queue >= nic.queues) throw new InputError(`${p}.xsk.queue`, `queue ${a.xsk.queue} does not exist on ${nic.name} (${nic.queues} RX queues, 0-${nic.queues - 1}; bind: EINVAL)`);
  const maps = Object.entries(s.xdp_maps);
  const xskMaps = maps.filter(([, m]) => m.type === 'xskmap').map(([n]) => n);
  const mapIndex = maps.findIndex(([n]) => n === a.xsk!.map);
  const entry = maps[mapIndex]?.[1];
  if (!entry || entry.type !== 'xskmap')
    throw new InputError(
      `${p}.xsk.map`,
      `no xskmap "${a.xsk.map}" in xdp_maps${didYouMean(a.xsk.map, xskMaps)}${xskMaps.length ? `; xskmaps: ${xskMaps.join(', ')}` : ' (xdp_maps defines none: add {"type": "xskmap"})'}`,
    );
  // xsk_map_update_elem(): a key >= max_entries is E2BIG.
  if (a.xsk.queue >= entry.max_entries) throw new InputError(`${p}.xsk.queue`, `key ${a.xsk.queue} is outside xskmap "${a.xsk.map}" (max_entries ${entry.max_entries}; E2BIG)`);
  const mode = knob(appKnobs.xskMode, a.xsk_mode, ctx, index);
  // xp_assign_dev(): XDP_ZEROCOPY needs ndo_bpf(XDP_SETUP_XSK_POOL) and ndo_xsk_wakeup; without
  // them the bind fails (force_zc) or, without flags, falls back to copy mode.
  if (mode === 'zerocopy' && !nic.driver.xskZeroCopy.supported)
    throw new InputError(`${p}.xsk_mode`, `the ${nic.driver.name} driver has no AF_XDP zero-copy (bind with XDP_ZEROCOPY: EOPNOTSUPP); use "copy" or "auto"`);
  return {
    nic: nic.index,
    queue: a.xsk.queue,
    map: mapIndex,
    zeroCopy: mode === 'zerocopy' || (mode === 'auto' && nic.driver.xskZeroCopy.supported),
    needWakeup: knob(appKnobs.needWakeup, a.need_wakeup, ctx, index),
    frames: knob(appKnobs.umemFrames, a.umem_frames, ctx, index),
    frameSize: knob(appKnobs.frameSize, a.frame_size, ctx, index),
    fillSize: knob(appKnobs.fillRing, a.fill_ring, ctx, index),
    rxSize: knob(appKnobs.rxRing, a.rx_ring, ctx, index),
    poll: knob(appKnobs.xskPoll, a.xsk_poll, ctx, index),
    workNs: a.work_ns ?? 0,
  };
}

/** xp_assign_dev(): a queue that already has a socket's buffer pool refuses a second bind with EBUSY (shared UMEM is not modelled). */
function checkXskBinds(apps: ResolvedApp[], nics: ResolvedNic[]): void {
  const seen = new Map<string, number>();
  for (const a of apps) {
    if (!a.xsk) continue;
    const key = `${a.xsk.nic}/${a.xsk.queue}`;
    const other = seen.get(key);
    if (other !== undefined) throw new InputError(`apps[${a.index}].xsk.queue`, `queue ${a.xsk.queue} of ${nics[a.xsk.nic]!.name} already has the socket of apps[${other}] (bind: EBUSY)`);
    seen.set(key, a.index);
  }
}

/** A "forward" flow's route: UDP from the wire, its destination covered by one route of `routes` (the NIC it leaves by). */
function forwardRoute(f: FlowConfig, p: string, dst: Endpoint, routes: readonly ResolvedRoute[]): number {
  if (f.proto !== 'udp') throw new InputError(`${p}.proto`, 'a forwarded flow is modelled for UDP (a forwarded TCP flow would need the far end\'s ACKs); use "udp"');
  if (f.rr) throw new InputError(`${p}.rr`, 'a forwarded flow has no server on this host; remove rr');
  if (dst.family !== 4) throw new InputError(`${p}.dst`, 'rxsim forwards IPv4 (ip_forward) only');
  const route = lookupRoute(routes, dst);
  if (route === null) {
    const known = routes.map((r) => r.text).join(', ');
    throw new InputError(`${p}.dst`, `${f.dst} matches no single route; add one to routes (e.g. {"dst": "10.1.0.0/16", "dev": "eth1"})${known ? `; routes: ${known}` : ''}`);
  }
  return route.dev;
}

function resolveFlow(f: FlowConfig, index: number, s: Scenario, nics: ResolvedNic[], routes: readonly ResolvedRoute[]): ResolvedFlow {
  const p = `flows[${index}]`;
  const src = at(`${p}.src`, () => parseEndpoint(f.src));
  const dst = at(`${p}.dst`, () => parseEndpoint(f.dst));
  if (src.family !== dst.family) throw new InputError(`${p}.dst`, `is IPv${dst.family} but src is IPv${src.family}`);
  const nicName = f.nic ?? nics[0]!.name;
  const nic = nics.find((n) => n.name === nicName);
  if (!nic)
    throw new InputError(
      `${p}.nic`,
      `no NIC "${nicName}"${didYouMean(
        nicName,
        nics.map((n) => n.name),
      )}`,
    );
  const rate = at(`${p}.rate`, () => parseRate(f.rate));
  const maxFrame = nic.mtu + ETH_OVERHEAD;
  const raw = f.size === 'mtu' ? [{ size: maxFrame, weight: 1 }] : f.size === 'imix' ? IMIX : typeof f.size === 'number' ? [{ size: f.size, weight: 1 }] : f.size;
  raw.forEach((e) => {
    if (e.size < MIN_FRAME || e.size > maxFrame) {
      const what = f.size === 'imix' ? `IMIX includes ${e.size}-byte frames, which` : `a ${e.size}-byte frame`;
      throw new InputError(`${p}.size`, `${what} is outside ${MIN_FRAME}..${maxFrame} (frames include the 14-byte header and FCS; MTU ${nic.mtu} allows ${maxFrame})`);
    }
  });
  const total = raw.reduce((a, e) => a + e.weight, 0);
  const sizes = raw.map((e) => ({ size: e.size, weight: e.weight / total }));
  if (f.arrival === 'onoff' && (f.burst === undefined || f.gap_us === undefined)) {
    throw new InputError(p, 'arrival "onoff" needs "burst" (frames per burst) and "gap_us" (silence between bursts)');
  }
  if (f.arrival !== 'onoff' && (f.burst !== undefined || f.gap_us !== undefined)) {
    throw new InputError(`${p}.${f.burst !== undefined ? 'burst' : 'gap_us'}`, 'only applies to arrival "onoff"');
  }
  for (const [key, e] of [
    ['src', src],
    ['dst', dst],
  ] as const) {
    if (f.proto === 'tcp' && (e.portHi !== e.port || e.addrCount !== 1)) {
      throw new InputError(`${p}.${key}`, `${e.addrCount !== 1 ? 'an address' : 'a port'} range is for open-loop (udp) generators; give each TCP connection its own flow`);
    }
  }
  const tuples = tupleCount(src) * tupleCount(dst);
  if (tuples > MAX_TUPLES) throw new InputError(`${p}.src`, `${f.src} to ${f.dst} is ${tuples} 5-tuples; a flow may cycle through at most ${MAX_TUPLES}`);
  if (f.proto === 'udp' && f.rtt_us !== undefined && !f.rr) throw new InputError(`${p}.rtt_us`, 'only applies to tcp and request/response flows (UDP senders are open-loop)');
  if (f.rr) {
    if (f.proto !== 'udp') throw new InputError(`${p}.rr`, 'request/response is modelled for UDP (netperf UDP_RR); use "proto": "udp"');
    if (f.rate !== 'line') throw new InputError(`${p}.rate`, 'a request/response client is closed-loop: its rate follows from the responses; remove rate');
    if (f.arrival !== 'cbr') throw new InputError(`${p}.arrival`, 'a request/response client is closed-loop; remove arrival');
    if (f.path === 'veth-local') throw new InputError(`${p}.path`, 'a request/response client comes from the wire');
    if (f.rtt_us !== undefined && f.rtt_us <= 0) throw new InputError(`${p}.rtt_us`, 'must be above 0 (the response takes time to come back)');
  }
  if (f.proto === 'udp' && f.write_size !== undefined) throw new InputError(`${p}.write_size`, 'only applies to tcp flows');
  if (f.proto === 'tcp' && f.arrival !== 'cbr') throw new InputError(`${p}.arrival`, 'a TCP sender is clocked by ACKs; arrival applies to udp flows');
  if (f.proto === 'tcp' && f.rtt_us !== undefined && f.rtt_us <= 0) throw new InputError(`${p}.rtt_us`, 'must be above 0 (the ACK clock needs a delay)');
  let sender: number | null = null;
  if (f.path === 'veth-local') {
    if (f.proto !== 'tcp') throw new InputError(`${p}.proto`, 'a veth-local flow is a TCP connection from a stream-writer; use "tcp"');
    if (f.sender === undefined) throw new InputError(`${p}.sender`, 'a veth-local flow needs its sender: the name of a stream-writer app');
    sender = s.apps.findIndex((a) => a.name === f.sender);
    if (sender < 0)
      throw new InputError(
        `${p}.sender`,
        `no app "${f.sender}"${didYouMean(
          f.sender,
          s.apps.map((a) => a.name),
        )}`,
      );
    if (s.apps[sender]!.kind !== 'stream-writer') throw new InputError(`${p}.sender`, `"${f.sender}" is a ${s.apps[sender]!.kind}; the sender must be a stream-writer`);
    for (const key of ['rtt_us', 'nic'] as const) {
      if (f[key] !== undefined) throw new InputError(`${p}.${key}`, 'does not apply to a veth-local flow (no NIC, no wire; the ACK comes back at once)');
    }
    if (f.rate !== 'line') throw new InputError(`${p}.rate`, 'a stream-writer sends as fast as the window lets it; remove rate (or "line")');
  } else if (f.sender !== undefined) {
    throw new InputError(`${p}.sender`, 'only a veth-local flow has a sender app (the others come from the wire)');
  }
  const egress = f.path === 'forward' ? forwardRoute(f, p, dst, routes) : -1;
  const stopMs = f.stop_ms ?? s.duration_ms;
  if (stopMs <= f.start_ms) throw new InputError(`${p}.stop_ms`, `${stopMs} must be after start_ms (${f.start_ms})`);
  return {
    index,
    name: f.name,
    proto: f.proto,
    src,
    dst,
    nic: nic.index,
    rate,
    sizes,
    arrival: f.arrival,
    burst: f.burst ?? 1,
    gapNs: Math.round((f.gap_us ?? 0) * 1000),
    startNs: Math.round(f.start_ms * 1e6),
    stopNs: Math.round(stopMs * 1e6),
    rttNs: Math.round((f.rtt_us ?? 20) * 1000),
    tuples,
    path: f.path,
    ttl: f.ttl ?? 64,
    egress,
    writeSize: f.write_size ?? 131072,
    sender,
    rr: f.rr ? { concurrency: f.rr.concurrency, responseBytes: f.rr.response_size ?? null } : null,
  };
}
