import { XskMap } from '../model/xskmap.ts';
import type { XskResult } from '../model/xsk.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import canonicalize from 'canonicalize';
import type { CgroupResult } from '../model/cgroup-sched.ts';
import type { CpuResult } from '../model/cpu.ts';
import { CpuMap } from '../model/cpumap.ts';
import type { DevMap } from '../model/devmap.ts';
import type { DdioNodeResult } from '../model/ddio.ts';
import { groReport, type GroResult } from '../model/gro.ts';
import type { Kernel } from '../model/kernel.ts';
import type { NicResult } from '../model/nic/nic.ts';
import { NAPI_POLL_WEIGHT } from '../model/napi.ts';
import type { PacketQueue } from '../model/packet.ts';
import { DROP_PLACES, FORWARD_DROP_PLACES, type DropReasonRow, type FlowCounters } from '../model/rx-accounting.ts';
import type { SocketResult } from '../model/socket.ts';
import { MODELLED_SOFTIRQS, SOFTIRQ_NAMES } from '../model/softirq.ts';
import type { SchedDomainResult } from '../model/load-balance.ts';
import type { SkbDeferResult } from '../model/skb-defer.ts';
import type { TaskResult } from '../model/task.ts';
import { formatInterrupts, formatSoftirqs, formatSoftnetStat } from './procfs.ts';
import { r2, r3 } from './round.ts';
import { statisticsResult, type CiResult, type SeriesResult, type SteadyStateResult } from './series.ts';

export type { CgroupResult, CiResult, CpuResult, GroResult, NicResult, SeriesResult, SocketResult, SteadyStateResult, TaskResult };

/**
 * The result of a run, with stable keys (README, "Result format"). Numbers are rounded so that
 * the canonical JSON — and so the digest — is the same in Node and in the browser.
 */
export interface Result {
  scenario: string;
  seed: number;
  digest: string;
  /** Scenario settings the model does not act on yet. */
  warnings: string[];
  /** warmup_ns: where the window starts (the scenario's warmup_ms, or the one "auto" chose); simulated_ns − window_ns, so outside the digest. */
  sim: { events: number; simulated_ns: number; window_ns: number; wall_ms: number; peak_packets_in_flight: number; warmup_ns: number };
  /** xdp_tx (with an XDP program attached): packets an XDP program sent back out, a conservation term of their own. */
  /** forwarded (with a "forward" flow): packets the stack forwarded out of a device (ip_forward → dev_queue_xmit), a term of their own; xsk (with an xskmap): frames in AF_XDP RX rings, not yet read. */
  packets: { offered: number; delivered: number; in_flight: number; xdp_tx?: number; xdp_redirect?: number; xsk?: number; forwarded?: number; dropped: Record<string, number> };
  /**
   * The skb drops of those packets by the kernel's drop reason and the function that freed them,
   * as `perf trace -e skb:kfree_skb` or dropwatch list them (skbs: events; packets: the segments
   * they held). The NIC's own drops have no skb and are not here (see ethtool_S).
   */
  drop_reasons: DropReasonRow[];
  /** rx_cores_per_gbps: CPUs' worth of hardirq + softirq time per delivered Gbit/s (L2). */
  throughput: { offered_gbps: number; delivered_gbps: number; delivered_pps: number; rx_cores_per_gbps: number | null };
  /** Passes through __netif_receive_skb_core (softnet_stat `processed`, all CPUs), and per skb the NICs' NAPIs handed up. */
  stack: { processed: number; passes_per_skb: number | null };
  flows: FlowResult[];
  /** Null fields when no counted packet was delivered. */
  latency_us: { p50: number | null; p90: number | null; p99: number | null; p999: number | null; max: number | null; mean: number | null; samples: number };
  cpus: CpuResult[];
  tasks: TaskResult[];
  /** Load balancing per CPU and scheduling domain, as /proc/schedstat counts it. */
  sched_domains: SchedDomainResult[];
  /** Per CPU: skbs other CPUs' readers queued back to it to free (skb_attempt_defer_free), its flushes and kick IPIs. */
  skb_defer: SkbDeferResult[];
  interrupts: { total: number; per_sec: number; per_packet: number };
  proc: { softnet_stat: string; interrupts: string; softirqs: string };
  ethtool_S: Record<string, Record<string, number>>;
  napi: { polls: number; pkts_per_poll: number[]; time_squeeze: number[] };
  nics: NicResult[];
  queues: QueueResult[];
  /** Counters under their MIB names, as `nstat -az` prints them. */
  nstat: Record<string, number>;
  /** GRO over all NAPIs: skbs in and out, segments per skb handed up (histogram 1..64), flush reasons. */
  gro: GroResult;
  /** RPS IPIs sent and received per CPU. */
  ipis: { cpu: number; sent: number; received: number }[];
  /** Where the time goes, per segment: wire → driver poll (ring and interrupt wait), poll → socket (the stack), socket → application. */
  latency_stages_us: { ring: StageLatency; stack: StageLatency; socket: StageLatency };
  sockets: SocketResult[];
  /** With xdp_maps: each cpumap's entries, as xdp_redirect_cpu prints them (cpumap-enqueue per entry, cpumap-kthread), and their rings. */
  xdp_maps?: (ReturnType<CpuMap['report']> | ReturnType<DevMap['report']> | ReturnType<XskMap['report']>)[];
  /** With AF_XDP sockets: each one's getsockopt(XDP_STATISTICS) and its application's reads. */
  xsks?: XskResult[];
  /** Per NUMA node: its CPUs, L3 and DDIO's share of it, and the bytes NICs DMA'd into its LLC or past it to DRAM (ddio.ts). */
  numa_nodes: DdioNodeResult[];
  /** Per cgroup: CPU time of its tasks (interrupt time charged to them included) and cpu.stat. */
  cgroups: CgroupResult[];
  /** Request/response flows: transactions completed in the window and their latency as the client sees it (request sent → response received). */
  rr: { flow: string; concurrency: number; transactions: number; transactions_per_sec: number; latency_us: Result['latency_us'] }[];
  /**
   * Output analysis (src/metrics/series.ts, docs/statistics.md), outside the digest: per-interval
   * series (`rxsim run --series-ms`, default 1 ms), the window's stationarity check (MSER-5 on
   * the goodput series) and 95 % confidence intervals by batch means (null: too short a window).
   * Present when series were recorded (SimulateOptions.seriesNs), and with warmup_ms "auto".
   */
  /** How the CLI ran it: the overrides given and the effective scenario (after --set, the apply lists and defaults). Not digested. */
  run?: RunRecord;
  series?: SeriesResult;
  steady_state?: SteadyStateResult;
  ci?: CiResult | null;
}

/** What a run was asked for beyond its file. */
export interface RunRecord {
  file: string;
  overrides: { seed?: number; duration_ms?: number; set: string[]; apply: string[] };
  /** The scenario as it ran: the file with the overrides, every apply command folded in, every default filled. */
  scenario: unknown;
}

export interface StageLatency {
  p50: number | null;
  p99: number | null;
  mean: number | null;
}

export interface FlowResult {
  name: string;
  proto: string;
  nic: string;
  /** 5-tuples of the flow (more than 1 with port ranges). */
  tuples: number;
  /** RX queues its tuples hash to, ascending. */
  rx_queues: number[];
  /** RSS hash of its first tuple. */
  rss_hash: string;
  offered: number;
  delivered: number;
  dropped: number;
  /** A "forward" flow: its packets forwarded out of the route's device (per arrival cohort, as delivered) and their rate over the window. */
  forwarded?: number;
  forwarded_pps?: number;
  offered_gbps: number;
  delivered_gbps: number;
  /** Application payload delivered per second (what iperf3 reports). */
  goodput_gbps: number;
  path: string;
  /** TCP: segments the sender retransmitted, and RTO expiries. */
  retransmits?: number;
  rtos?: number;
  /**
   * TCP from a remote sender: the share of the window it had data it could not send because the
   * receive window was full (tcp_info.tcpi_rwnd_limited, TCP_CHRONO_RWND_LIMITED), in %.
   */
  rwnd_limited_pct?: number;
  /** Its dropped packets by place (packets.dropped's places, the nonzero ones). */
  drops: Record<string, number>;
  /**
   * Its skb drops by place and kernel drop reason (`SKB_DROP_REASON_*`, as kfree_skb reports
   * them): `{ socket: { SKB_DROP_REASON_PROTO_MEM: 12 } }`. Drops without an skb (the NIC's, a
   * native XDP_DROP) have no reason and are only in `drops`.
   */
  drop_reasons: Record<string, Record<string, number>>;
  /** Mean wait of its delivered segments per stage (µs; latency_stages_us per flow), null when none was delivered in the window. */
  stages_us: { ring: number; stack: number; socket: number } | null;
}

/** A flow's nonzero drops by place. */
function dropsByPlace(c: FlowCounters): Record<string, number> {
  const out: Record<string, number> = {};
  DROP_PLACES.forEach((p, i) => {
    if (c.droppedAt[i]! > 0) out[p] = c.droppedAt[i]!;
  });
  return out;
}

/** Little's law inputs for a queue over the window: L (time-average length), λ (departures/s), W (mean sojourn). */
export interface QueueResult {
  queue: string;
  mean_length: number;
  departures_per_sec: number;
  mean_sojourn_us: number;
  peak: number;
}

export function collectResult(k: Kernel, wallMs: number): Result {
  const s = k.scenario;
  const st = k.accounting;
  const tot = st.totals();
  const windowNs = k.sim.now - k.windowStart;
  const windowS = windowNs / 1e9;
  const ncpus = k.cpus.length;
  const lat = st.latency;

  // The XDP terms appear when a device has a program (results without XDP keep their form).
  const xdp = s.nics.some((n) => n.xdp !== null);
  // xdp_redirect and dropped.cpumap appear with xdp_maps.
  const maps = k.xdpMaps.length > 0;
  // packets.xsk and dropped.xsk appear with an xskmap.
  const xskmap = k.xdpMaps.some((m) => m instanceof XskMap);
  // forwarded and the forwarding drop places appear with a "forward" flow.
  const fwd = s.flows.some((f) => f.path === 'forward');
  const packets = {
    offered: tot.offered,
    delivered: tot.delivered,
    in_flight: st.inFlight,
    ...(xdp ? { xdp_tx: st.xdpTx } : {}),
    ...(maps ? { xdp_redirect: st.xdpRedirect } : {}),
    ...(xskmap ? { xsk: st.xsk } : {}),
    ...(fwd ? { forwarded: st.forwarded } : {}),
    dropped: Object.fromEntries(
      DROP_PLACES.filter((p) => (xdp || p !== 'xdp') && (maps || (p !== 'cpumap' && p !== 'devmap')) && (xskmap || p !== 'xsk') && (fwd || !FORWARD_DROP_PLACES.includes(p))).map((p) => [
        p,
        st.dropped[p],
      ]),
    ),
  };
  const drop_reasons = st.dropReasons();
  // Rates count L2 bytes without the FCS (what rx_bytes counts), over the window.
  const gbps = (bytes: number, pkts: number): number => (windowS > 0 ? r3(((bytes - 4 * pkts) * 8) / windowS / 1e9) : 0);

  const flows: FlowResult[] = s.flows.map((f) => {
    const c = st.flows[f.index]!;
    const nic = k.nics[f.nic]!;
    const rss = nic.rss[f.index]!;
    const local = f.path === 'veth-local';
    const remote = k.sockets.senders[f.index];
    const sender = remote ?? k.sockets.localSenders[f.index];
    return {
      name: f.name,
      proto: f.proto,
      nic: local ? 'veth' : nic.cfg.name,
      tuples: f.tuples,
      rx_queues: local ? [] : rss.queues(),
      rss_hash: `0x${rss.hash(0).toString(16).padStart(8, '0')}`,
      offered: c.offered,
      delivered: c.delivered,
      dropped: c.dropped,
      ...(f.path === 'forward' ? { forwarded: c.forwarded, forwarded_pps: windowS > 0 ? Math.round(c.windowForwarded / windowS) : 0 } : {}),
      offered_gbps: gbps(c.offeredBytes, c.offered),
      delivered_gbps: gbps(c.windowDeliveredBytes, c.windowDelivered),
      goodput_gbps: windowS > 0 ? r3((c.windowPayload * 8) / windowS / 1e9) : 0,
      path: f.path,
      ...(sender ? { retransmits: sender.retransmits, rtos: sender.rtos } : {}),
      ...(remote && windowNs > 0 ? { rwnd_limited_pct: r2((100 * remote.rwndLimitedNs(k.sim.now)) / windowNs) } : {}),
      drops: dropsByPlace(c),
      drop_reasons: st.flowDropReasons(f.index),
      stages_us: c.stageSamples > 0 ? { ring: r3(c.stageSum[0]! / c.stageSamples / 1e3), stack: r3(c.stageSum[1]! / c.stageSamples / 1e3), socket: r3(c.stageSum[2]! / c.stageSamples / 1e3) } : null,
    };
  });

  const cpus: CpuResult[] = k.cpus.map((cpu) => cpu.report(k.softirq.ksoftirqd[cpu.id]!));
  const tasks: TaskResult[] = k.tasks.all.map((t) => t.report());

  let deviceIrqs = 0;
  for (const nic of k.nics) for (const d of nic.irqDesc) deviceIrqs += k.irqs.descs[d]!.counts.reduce((a, b) => a + b, 0);

  const pollHist = new Array<number>(NAPI_POLL_WEIGHT + 1).fill(0);
  let polls = 0;
  for (const nic of k.nics) {
    for (const n of nic.napis) {
      polls += n.polls;
      n.workHist.forEach((c, i) => (pollHist[i]! += c));
    }
  }

  const ethtool: Record<string, Record<string, number>> = Object.fromEntries(k.nics.map((nic) => [nic.cfg.name, nic.ethtoolStats()]));
  const nics: NicResult[] = k.nics.map((nic) => nic.report(k.irqs));

  const queueResult = (name: string, qs: PacketQueue[]): QueueResult => {
    const area = qs.reduce((a, q) => a + q.area, 0);
    const dep = qs[qs.length - 1]!.departures;
    const soj = qs[qs.length - 1]!.sojournSum;
    return {
      queue: name,
      mean_length: windowNs > 0 ? r3(area / windowNs) : 0,
      departures_per_sec: windowS > 0 ? r3(dep / windowS) : 0,
      mean_sojourn_us: dep > 0 ? r3(soj / dep / 1000) : 0,
      peak: Math.max(...qs.map((q) => q.peak)),
    };
  };
  const queues: QueueResult[] = [];
  for (const nic of k.nics) for (const q of nic.queues) queues.push(queueResult(`${nic.cfg.name}/rx-${q.index}/ring`, [q.ring]));
  k.softnet.forEach((sd) => queues.push(queueResult(`cpu${sd.cpu}/backlog`, [sd.inputPktQueue, sd.processQueue])));
  for (const sock of k.sockets.sockets) queues.push(queueResult(`socket${sock.index}`, [sock.queue]));
  for (const m of k.xdpMaps) if (m instanceof CpuMap) for (const e of m.entries) queues.push(queueResult(e.kthread.comm, [e.ring]));

  const cpumapGros = k.xdpMaps.flatMap((m) => (m instanceof CpuMap ? m.entries.map((e) => e.gro) : []));
  const gros = [...k.nics.flatMap((n) => n.pollers.map((p) => p.gro)), ...k.veth.queues().map((q) => q.gro), ...cpumapGros];
  /** µs of a histogram's value, null while the histogram is empty. */
  const usOf =
    (h: typeof lat) =>
    (ns: number): number | null =>
      h.count === 0 ? null : r3(ns / 1000);
  const latencyOf = (h: typeof lat): Result['latency_us'] => {
    const at = usOf(h);
    return { p50: at(h.quantile(0.5)), p90: at(h.quantile(0.9)), p99: at(h.quantile(0.99)), p999: at(h.quantile(0.999)), max: at(h.max), mean: at(h.mean()), samples: h.count };
  };
  const stage = (h: typeof lat): StageLatency => {
    const at = usOf(h);
    return { p50: at(h.quantile(0.5)), p99: at(h.quantile(0.99)), mean: at(h.mean()) };
  };

  const proc = {
    softnet_stat: formatSoftnetStat(k.softnet.map((sd) => sd.stat())),
    interrupts: formatInterrupts(
      [...k.irqs.descs.filter((d) => d.irq >= 0), ...k.irqs.descs.filter((d) => d.irq < 0)].map((d) => ({
        irq: d.irq,
        label: d.label,
        counts: d.counts,
        chip: d.chip,
        hwirq: d.hwirq,
        name: d.name,
      })),
      ncpus,
      Math.max(0, ...k.irqs.descs.map((d) => d.irq)) + 1,
    ),
    softirqs: formatSoftirqs(
      MODELLED_SOFTIRQS.map((v) => ({ name: SOFTIRQ_NAMES[v]!, counts: k.softirq.counts[v]! })),
      ncpus,
    ),
  };

  const result: Result = {
    scenario: s.name,
    seed: s.seed,
    digest: '',
    warnings: s.warnings,
    sim: { events: k.sim.dispatched, simulated_ns: k.sim.now, window_ns: windowNs, wall_ms: r3(wallMs), peak_packets_in_flight: k.pool.peak, warmup_ns: k.windowStart },
    packets,
    drop_reasons,
    throughput: {
      offered_gbps: gbps(tot.offeredBytes, tot.offered),
      delivered_gbps: gbps(tot.windowDeliveredBytes, tot.windowDelivered),
      delivered_pps: windowS > 0 ? Math.round(tot.windowDelivered / windowS) : 0,
      rx_cores_per_gbps: null,
    },
    stack: { processed: k.softnet.reduce((a, sd) => a + sd.processed, 0), passes_per_skb: null },
    flows,
    latency_us: latencyOf(lat),
    cpus,
    tasks,
    sched_domains: k.balance.report(),
    skb_defer: k.skbDefer.report(),
    interrupts: {
      total: deviceIrqs,
      per_sec: windowS > 0 ? Math.round(deviceIrqs / windowS) : 0,
      per_packet: tot.windowDelivered > 0 ? r3(deviceIrqs / tot.windowDelivered) : 0,
    },
    proc,
    ethtool_S: ethtool,
    napi: { polls, pkts_per_poll: pollHist, time_squeeze: k.softnet.map((sd) => sd.timeSqueeze) },
    nics,
    queues,
    nstat: k.snmp.report(),
    gro: groReport(gros),
    ipis: k.softnet.map((sd) => ({ cpu: sd.cpu, sent: sd.ipiSent, received: sd.receivedRps })),
    latency_stages_us: { ring: stage(st.latencyRing), stack: stage(st.latencyStack), socket: stage(st.latencySocket) },
    rr: k.sockets.rrClients
      .filter((c) => c !== undefined)
      .map((c) => ({
        flow: c.flow.name,
        concurrency: c.flow.rr!.concurrency,
        transactions: c.transactions,
        transactions_per_sec: windowS > 0 ? Math.round(c.transactions / windowS) : 0,
        latency_us: latencyOf(c.latency),
      })),
    cgroups: k.groups.report(),
    sockets: k.sockets.sockets.map((sock) => sock.report(s.apps[sock.app]!.name)),
    numa_nodes: k.ddio.report(),
    ...(maps ? { xdp_maps: k.xdpMaps.map((m) => m.report()) } : {}),
    ...(xskmap ? { xsks: k.xsks.filter((x) => x !== undefined).map((x) => x.report(windowNs)) } : {}),
  };
  const deliveredGbps = result.throughput.delivered_gbps;
  if (deliveredGbps > 0) result.throughput.rx_cores_per_gbps = r3(cpus.reduce((a, c) => a + c.irq + c.soft, 0) / 100 / deliveredGbps);
  // The skbs the devices built: in their drivers, or in a cpumap kthread from their frames.
  const nicSkbs = k.nics.reduce((a, n) => a + n.pollers.reduce((b, p) => b + p.gro.counters.delivered, 0), 0) + cpumapGros.reduce((a, g) => a + g.counters.delivered, 0);
  if (nicSkbs > 0) result.stack.passes_per_skb = r3(result.stack.processed / nicSkbs);
  Object.assign(result, statisticsResult(k));
  result.digest = digestOf(result);
  return result;
}

/**
 * SHA-256 (hex) of the canonical JSON (RFC 8785) of the result without wall-clock fields and the
 * digest itself. Also left out: what observes the run rather than being its outcome — the series,
 * the steady-state check and the confidence intervals depend on the interval they were recorded
 * at (`--series-ms 1` and `2` are the same run), and adding them would have changed every
 * shipped scenario's digest — and `sim.warmup_ns`, which is simulated_ns − window_ns. A warm-up
 * that warmup_ms "auto" chose changes the run, so the digest still tells it.
 */
export function digestOf(result: Result): string {
  const copy = { ...result, digest: undefined, run: undefined, series: undefined, steady_state: undefined, ci: undefined, sim: { ...result.sim, wall_ms: undefined, warmup_ns: undefined } };
  return bytesToHex(sha256(utf8ToBytes(canonicalize(copy)!)));
}

/**
 * Read a metric from a result: "throughput.delivered_gbps", "cpus[2].soft", or with a list entry
 * named instead of numbered — "flows[iperf3].goodput_gbps", "tasks[ksoftirqd/4].soft_ms",
 * "sockets[iperf3].drops", "nics[eth0].queues[rx-4].drops", "cgroups[docker].softirq_ms" — so an
 * expectation does not break when a task or a flow is added before the one it means.
 */
export function metricValue(result: unknown, path: string): number | undefined {
  let cur: unknown = result;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) && !/^\d+$/.test(part) ? entryNamed(cur, part) : (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'number' ? cur : undefined;
}

/** The entry of a result list a name means: its `name`, `comm` (tasks), `app` (sockets), or `rx-N` (queues). */
export function entryNamed(list: readonly unknown[], name: string): unknown {
  const queue = /^rx-(\d+)$/.exec(name);
  return list.find((e) => {
    if (e === null || typeof e !== 'object') return false;
    const o = e as Record<string, unknown>;
    return o.name === name || o.comm === name || o.app === name || o.flow === name || (queue !== null && o.queue === Number(queue[1]));
  });
}
