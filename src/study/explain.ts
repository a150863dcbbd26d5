/**
 * `rxsim explain`: read one run's result the way a receive-path engineer reads mpstat,
 * softnet_stat, ethtool -S, nstat and the queues together, and name per flow what limited it —
 * a CPU (and in which contexts), a queue limit, the receive window, the wire, the sender, the
 * latency path — with the chain of cause and effect in the kernel's terms. Every statement cites
 * the result path that shows it, so a reader (or the browser) can go to the number.
 *
 * It works on the result alone (the resolved scenario is in result.run.scenario): counters, CPU
 * shares, per-task times, per-flow drops by place, per-flow stage waits and the TCP sender's
 * tcpi_rwnd_limited. It does not parse narratives. Thresholds are stated where they are used.
 */
import type { LimitKind } from '../metrics/limit-kinds.ts';
import type { ExpectationOutcome } from '../metrics/expect.ts';
import type { FlowResult, Result } from '../metrics/result.ts';
import { DRIVERS, type DriverName } from '../model/nic/drivers.ts';
import type { ExplainClaim, Scenario } from '../scenario/schema.ts';

/**
 * What limited a flow (LIMIT_KINDS):
 *   wire            the flow runs at the link's rate
 *   offered-load    the sender offers less than the host can take, and the host takes all of it
 *   cpu             a CPU that serves the flow has no idle time left
 *   queue           a queue's length limit drops packets while the CPU that drains it has time
 *   receive-window  TCP: the receive window holds the sender back with no CPU saturated
 *   latency         a closed-loop (request/response) flow: its rate is its latency
 *   no-listener     nothing listens on the flow's port: every packet ends at the socket lookup
 *   not-forwarded   a flow not for this host that every packet ends at the route: forwarding off (ip_error) or TTL expired
 *   xdp-program     an XDP program drops the flow, by design
 *   idle            the flow offered nothing in the window
 */
export type { LimitKind };

/** A number in the result that shows a statement, and where to look. */
export interface Evidence {
  /** The result path (as `rxsim check` and sweeps name metrics). */
  path: string;
  value: number | string | null;
  /** The browser view that shows it. */
  view: 'flows' | 'cpus' | 'tasks' | 'counters' | 'queues' | 'latency' | 'sockets';
}

export interface ChainLink {
  text: string;
  evidence: Evidence[];
}

/** Where the CPU time of the limiting CPU went, in % of the window. */
export interface CpuContexts {
  cpu: number;
  hardirq: number;
  softirq_inline: number;
  ksoftirqd: number;
  napi_threads: number;
  reader: number;
  other_tasks: number;
  idle: number;
  tasks: { comm: string; pct: number; soft_pct: number }[];
}

/** A remedy a kernel engineer would try for the cause, as the commands to apply it. */
export interface Remedy {
  name: string;
  /** What it changes in the kernel's terms, and what it should do. */
  why: string;
  /** The commands that apply it, in order, in the apply grammar (what a user would type): RFS needs the global table and each queue's, deferred interrupts need gro_flush_timeout too. */
  commands: string[];
  /** What it leaves in place, when that is the known reason it may help only partly (RPS leaves the driver and GRO on the interrupt's CPU). */
  leaves?: string;
}

/** A flow's drops at one place, with the `SKB_DROP_REASON_*` of those that were skbs (kfree_skb_reason). */
export interface Loss {
  place: string;
  packets: number;
  pct_of_offered: number;
  reasons: { reason: string; packets: number }[];
}

export interface FlowExplanation {
  flow: string;
  proto: string;
  path: string;
  /** A "forward" flow's packets leave by another device: delivered_pct counts them (forwarded_pps their rate), as a delivery of this host's. */
  outcome: { offered_gbps: number; delivered_gbps: number; goodput_gbps: number; delivered_pct: number | null; line_gbps: number; transactions_per_sec?: number; forwarded_pps?: number };
  limit: { kind: LimitKind; resource: string; summary: string; cpu?: number; place?: string; stage?: string };
  /** Mechanisms at work, as stable tags (tests and the browser key on them). */
  mechanisms: string[];
  /** Mean wait per stage of its delivered segments, and each stage's share of the total. */
  waits: { stage: 'ring' | 'stack' | 'socket'; mean_us: number; share_pct: number }[];
  /** Where its packets were lost: by place, and within a place by the kernel's drop reason (skb drops only). */
  losses: Loss[];
  cpu: CpuContexts | null;
  chain: ChainLink[];
  remedies: Remedy[];
}

export interface Explanation {
  scenario: string;
  seed: number;
  digest: string;
  flows: FlowExplanation[];
}

/** A CPU with at most this much idle time (%) has none to give: mpstat's %idle ≈ 0. */
export const SATURATED_IDLE_PCT = 2;
/** A flow at this share of what the link carries is at the wire's rate. */
const AT_LINE = 0.97;
/** A context or task with this share of a CPU (%) counts as one of the CPU's jobs. */
const SIGNIFICANT_PCT = 5;

const num = (x: number | null | undefined): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const portOf = (addr: string): string => addr.slice(addr.lastIndexOf(':') + 1);
const hostOf = (addr: string): string => addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');

/** The context a flow is read in: the scenario, its NIC and queues, its reader. */
interface FlowContext {
  r: Result;
  sc: Scenario;
  f: FlowResult;
  index: number;
  nic: Scenario['nics'][number] | undefined;
  nicResult: Result['nics'][number] | undefined;
  irqCpus: number[];
  /** The flow's applications: those that read it (listening on its destination) and, for a local flow, its writer. */
  readers: Scenario['apps'];
  readerCpus: number[];
  rr: NonNullable<Result['rr']>[number] | undefined;
}

/** Explain every flow of a run of `sc` (the scenario with its apply commands folded in, as loaded), or only `flowName`. */
export function explain(r: Result, sc: Scenario, flowName?: string): Explanation {
  const flows = r.flows.map((f, i) => ({ f, i })).filter(({ f }) => flowName === undefined || f.name === flowName);
  return { scenario: r.scenario, seed: r.seed, digest: r.digest, flows: flows.map(({ f, i }) => explainFlow(contextOf(r, sc, f, i))) };
}

function contextOf(r: Result, sc: Scenario, f: FlowResult, index: number): FlowContext {
  const def = sc.flows[index]!;
  const nic = sc.nics.find((n) => n.name === f.nic);
  const nicResult = r.nics.find((n) => n.name === f.nic);
  const irqCpus = [...new Set(f.rx_queues.map((q) => nicResult?.queues[q]?.irq_cpu).filter((c): c is number => typeof c === 'number'))];
  const port = portOf(def.dst);
  const host = hostOf(def.dst);
  const listening = sc.apps.filter((a) => a.listen !== undefined && portOf(a.listen) === port);
  const readers = listening.filter((a) => ['0.0.0.0', '::', host].includes(hostOf(a.listen!))).length > 0 ? listening.filter((a) => ['0.0.0.0', '::', host].includes(hostOf(a.listen!))) : listening;
  // A local flow (pod to pod over veth) has its writer among its applications: veth_xmit queues
  // to the writer's CPU backlog and NET_RX runs there, at the local_bh_enable of its send.
  const writer = def.sender !== undefined ? sc.apps.filter((a) => a.name === def.sender) : [];
  const cpusOf = (apps: Scenario['apps']): number[] => [...new Set(r.tasks.filter((t) => apps.some((a) => a.name === t.comm)).map((t) => t.cpu))];
  const readerCpus = cpusOf(readers);
  const rr = (r.rr ?? []).find((x) => x.flow === f.name);
  return { r, sc, f, index, nic, nicResult, irqCpus: f.path === 'veth-local' ? cpusOf(writer) : irqCpus, readers: [...readers, ...writer], readerCpus, rr };
}

/** The time of `cpu` by context, in % of the window. */
export function cpuContexts(r: Result, cpu: number, readers: readonly string[]): CpuContexts {
  const c = r.cpus[cpu]!;
  const windowMs = r.sim.window_ns / 1e6;
  const pct = (ms: number): number => (windowMs > 0 ? (100 * ms) / windowMs : 0);
  const on = r.tasks.filter((t) => t.cpu === cpu);
  const ksoftirqd = on.filter((t) => t.comm === `ksoftirqd/${cpu}`).reduce((a, t) => a + pct(t.soft_ms + t.sys_ms + t.usr_ms), 0);
  const napiThreads = on.filter((t) => t.comm.startsWith('napi/')).reduce((a, t) => a + pct(t.sys_ms + t.usr_ms + t.soft_ms), 0);
  const isReader = (comm: string): boolean => readers.includes(comm);
  const plain = on.filter((t) => !t.comm.startsWith('ksoftirqd/') && !t.comm.startsWith('napi/'));
  const reader = plain.filter((t) => isReader(t.comm)).reduce((a, t) => a + pct(t.usr_ms + t.sys_ms), 0);
  const other = plain.filter((t) => !isReader(t.comm)).reduce((a, t) => a + pct(t.usr_ms + t.sys_ms), 0);
  const tasks = on
    .map((t) => ({ comm: t.comm, pct: round(pct(t.usr_ms + t.sys_ms + (t.comm.startsWith('ksoftirqd/') ? t.soft_ms : 0))), soft_pct: t.comm.startsWith('ksoftirqd/') ? 0 : round(pct(t.soft_ms)) }))
    .filter((t) => t.pct > 0 || t.soft_pct > 0)
    .sort((a, b) => b.pct - a.pct);
  return {
    cpu,
    hardirq: round(c.irq),
    softirq_inline: round(Math.max(0, c.soft - ksoftirqd)),
    ksoftirqd: round(ksoftirqd),
    napi_threads: round(napiThreads),
    reader: round(reader),
    other_tasks: round(other),
    idle: round(c.idle),
    tasks,
  };
}

/** What the link carries of this flow at most: payload for goodput (TCP: MSS of MTU), frames for L2. */
function lineGbps(cx: FlowContext): number {
  return cx.nic?.speed_gbps ?? (cx.f.path === 'veth-local' ? Infinity : 10);
}

function explainFlow(cx: FlowContext): FlowExplanation {
  const { f } = cx;
  const pct = deliveredPctOf(f);
  const deliveredPct = pct === null ? null : round(pct, 2);
  const line = lineGbps(cx);
  const outcome: FlowExplanation['outcome'] = {
    offered_gbps: f.offered_gbps,
    delivered_gbps: f.delivered_gbps,
    goodput_gbps: f.goodput_gbps,
    delivered_pct: deliveredPct,
    line_gbps: Number.isFinite(line) ? line : 0,
    ...(cx.rr ? { transactions_per_sec: cx.rr.transactions_per_sec } : {}),
    ...(f.forwarded_pps !== undefined ? { forwarded_pps: f.forwarded_pps } : {}),
  };
  const waits = waitsOf(f);
  const losses = Object.entries(f.drops)
    .map(([place, packets]): Loss => ({ place, packets, pct_of_offered: f.offered > 0 ? round((100 * packets) / f.offered, 2) : 0, reasons: reasonsAt(f, place) }))
    .sort((a, b) => b.packets - a.packets);
  const base = { flow: f.name, proto: f.proto, path: f.path, outcome, waits, losses };
  const verdict = classify(cx, losses, line);
  return { ...base, ...verdict, remedies: distinctRemedies(verdict.remedies) };
}

/** The flow's skb drops at `place` by kernel drop reason, most first. */
function reasonsAt(f: FlowResult, place: string): Loss['reasons'] {
  return Object.entries(f.drop_reasons?.[place] ?? {})
    .map(([reason, packets]) => ({ reason, packets }))
    .sort((a, b) => b.packets - a.packets || a.reason.localeCompare(b.reason));
}

/** The evidence of a loss: the flow's drops at the place, and each drop reason's count there. */
function lossEvidence(cx: FlowContext, l: Loss): Evidence[] {
  return [ev(`flows[${cx.f.name}].drops.${l.place}`, l.packets, 'flows'), ...l.reasons.map((r) => ev(`flows[${cx.f.name}].drop_reasons.${l.place}.${r.reason}`, r.packets, 'flows'))];
}

/** The drop reasons of a loss in words: kfree_skb_reason's reasons, or why there is none (no skb yet). */
function reasonText(l: Loss): string {
  if (l.reasons.length > 0) return `; kfree_skb reason ${l.reasons.map((r) => (l.reasons.length > 1 ? `${r.reason} ${r.packets}` : r.reason)).join(', ')}`;
  return NO_SKB_PLACES.has(l.place) ? '; no skb was built, so kfree_skb_reason has no reason for it' : '';
}

/** Places where a frame is lost before an skb exists: the kernel has no skb_drop_reason for them. */
const NO_SKB_PLACES = new Set(['wire', 'nic_ring', 'nic_missed', 'xdp', 'cpumap', 'devmap']);

function waitsOf(f: FlowResult): FlowExplanation['waits'] {
  const s = f.stages_us;
  if (!s) return [];
  const total = s.ring + s.stack + s.socket;
  return (['ring', 'stack', 'socket'] as const).map((stage) => ({ stage, mean_us: s[stage], share_pct: total > 0 ? round((100 * s[stage]) / total) : 0 }));
}

type Verdict = Pick<FlowExplanation, 'limit' | 'mechanisms' | 'cpu' | 'chain' | 'remedies'>;

/** The flow's CPUs that have no idle time, the most involved first: interrupt and reader CPU, then the interrupt CPU, then the reader's, then RPS targets. */
function saturatedCpus(cx: FlowContext): number[] {
  const { r } = cx;
  const rpsTargets = rpsCpus(cx);
  const involved = [...new Set([...cx.irqCpus, ...cx.readerCpus, ...rpsTargets])];
  const score = (c: number): number => (cx.irqCpus.includes(c) ? 2 : 0) + (cx.readerCpus.includes(c) ? 1.5 : 0) + (rpsTargets.includes(c) ? 1 : 0);
  return involved.filter((c) => r.cpus[c] !== undefined && r.cpus[c].idle <= SATURATED_IDLE_PCT).sort((a, b) => score(b) - score(a) || a - b);
}

/** The CPUs the flow's queues steer to with RPS (rps_cpus masks of its queues). */
function rpsCpus(cx: FlowContext): number[] {
  const out: number[] = [];
  for (const q of cx.f.rx_queues) {
    const mask = cx.nic?.queues?.[`rx-${q}`]?.rps_cpus;
    if (!mask) continue;
    const bits = BigInt(`0x${mask.replace(/,/g, '') || '0'}`);
    for (let c = 0; c < cx.r.cpus.length; c++) if ((bits >> BigInt(c)) & 1n) out.push(c);
  }
  return [...new Set(out)];
}

function classify(cx: FlowContext, losses: Loss[], line: number): Verdict {
  const { f } = cx;
  if (f.offered === 0) return plain('idle', 'nothing offered', `${f.name} offered no packets in the window.`, []);
  const readers = cx.readers.map((a) => a.name);
  const saturated = saturatedCpus(cx);
  // A forwarded flow's rate: the offered L2 rate in the share that left by its route's device.
  const rate = f.proto === 'tcp' ? f.goodput_gbps / tcpPayloadShare(cx) : f.forwarded !== undefined ? (f.offered_gbps * f.forwarded) / f.offered : f.delivered_gbps;
  const atLine = Number.isFinite(line) && rate >= AT_LINE * line;
  const dropped = losses.reduce((a, l) => a + l.packets, 0);
  const only = (place: string): boolean => dropped > 0 && (losses.find((l) => l.place === place)?.packets ?? 0) / dropped >= 0.99;

  if (cx.rr) return latencyVerdict(cx, saturated, readers);
  if (only('xdp')) return withContext(cx, xdpVerdict(cx, losses), readers);
  const devmapLoss = losses.find((l) => l.place === 'devmap' && l.pct_of_offered >= 1);
  if (devmapLoss && saturated.length === 0) return withContext(cx, devmapVerdict(cx, devmapLoss), readers);
  if (f.delivered === 0 && only('no_socket')) return withContext(cx, noListenerVerdict(cx, losses, saturated, readers), readers);
  if (f.forwarded === 0 && (only('route') || only('ttl'))) return withContext(cx, notForwardedVerdict(cx, losses, saturated, readers), readers);
  if (atLine) return withContext(cx, wireVerdict(cx, line, saturated, readers), readers);
  // A datagram flow the host delivers whole is not limited by a saturated CPU it crosses (TCP is
  // different: its sender slows down to what gets through, so "all delivered" says nothing).
  const whole = f.proto !== 'tcp' && dropped === 0 && (deliveredPctOf(f) ?? 0) >= 99.5;
  if (saturated.length > 0 && !whole) return cpuVerdict(cx, saturated, readers, losses);
  // Losses of at least 1 % of what the flow offered limit it; fewer are reported, not blamed.
  const queueLoss = losses.find((l) => l.place !== 'no_socket' && l.place !== 'xdp' && l.pct_of_offered >= 1);
  if (queueLoss) return queueVerdict(cx, queueLoss);
  if (f.proto === 'tcp' && num(f.rwnd_limited_pct) >= 20) return windowVerdict(cx);
  if (f.delivered === 0 && losses.some((l) => l.place === 'no_socket')) return withContext(cx, noListenerVerdict(cx, losses, saturated, readers), readers);
  return withContext(cx, offeredVerdict(cx, saturated, losses), readers);
}

/** Packets of the flow the host took to their end — its socket, or (forwarded) the route's device — in per cent of those offered. */
const deliveredPctOf = (f: FlowResult): number | null => (f.offered > 0 ? (100 * (f.delivered + (f.forwarded ?? 0))) / f.offered : null);

/** Mechanisms on the flow's interrupt CPU that are at work although it does not limit the flow: who runs NET_RX and who is charged for it. */
const CONTEXT_TAGS = ['ksoftirqd', 'threaded-napi', 'softirq-charged-to-task', 'hardirq-livelock'];

function withContext(cx: FlowContext, v: Verdict, readers: string[]): Verdict {
  const cpu = cx.irqCpus[0];
  if (cpu === undefined || v.limit.kind === 'cpu') return v;
  const ctx = cpuContexts(cx.r, cpu, readers);
  const keep = cpuMechanisms(cx, cpu, ctx).filter((x) => CONTEXT_TAGS.includes(x.tag));
  return { ...v, mechanisms: [...new Set([...v.mechanisms, ...keep.map((x) => x.tag), ...observedTags(cx)])], cpu: v.cpu ?? ctx, chain: [...v.chain, ...linksOf(keep)] };
}

/** Receive-path features the run shows at work for the flow (counters, not configuration). */
function observedTags(cx: FlowContext): string[] {
  const tags: string[] = [];
  if ((cx.nicResult?.arfs_steered ?? 0) > 0) tags.push('arfs');
  if (cx.r.ipis.some((i) => i.sent > 0 && cx.irqCpus.includes(i.cpu))) tags.push('rps-ipi');
  if (cx.f.rx_queues.some((q) => num(cx.nicResult?.queues[q]?.xdp?.redirect) > 0)) tags.push('xdp-redirect');
  const eth = cx.r.ethtool_S[cx.f.nic] ?? {};
  // napi_defer_hard_irqs with gro_flush_timeout: the device interrupt stays off while polls find work.
  if (num(cx.nic?.napi_defer_hard_irqs) > 0 && num(cx.nic?.gro_flush_timeout) > 0 && cx.r.interrupts.per_packet < 0.01) tags.push('defer-hard-irqs');
  const honoured = cx.nic?.link_partner.pause === 'honour';
  if (honoured && Object.entries(eth).some(([k, v]) => /xoff/.test(k) && v > 0)) tags.push('pause');
  return tags;
}

/** TCP goodput per wire Gbit/s: MSS over the frame on the wire (MTU + Ethernet header, FCS, preamble and gap: 38 bytes; TCP/IP headers with timestamps: 52). */
function tcpPayloadShare(cx: FlowContext): number {
  const mtu = cx.nic?.mtu ?? 1500;
  return (mtu - 52) / (mtu + 38);
}

function plain(kind: LimitKind, resource: string, summary: string, chain: ChainLink[]): Verdict {
  return { limit: { kind, resource, summary }, mechanisms: [], cpu: null, chain, remedies: [] };
}

const ev = (path: string, value: number | string | null | undefined, view: Evidence['view']): Evidence => ({ path, value: value ?? null, view });

function flowEv(cx: FlowContext, key: keyof FlowResult): Evidence {
  return ev(`flows[${cx.f.name}].${key}`, cx.f[key] as number, 'flows');
}

function cpuEv(cx: FlowContext, cpu: number, key: 'idle' | 'soft' | 'sys' | 'usr' | 'irq' | 'ksoftirqd'): Evidence {
  return ev(`cpus[${cpu}].${key}`, cx.r.cpus[cpu]![key], 'cpus');
}

function taskEv(cx: FlowContext, comm: string, key: 'soft_ms' | 'sys_ms' | 'usr_ms' | 'wait_ms'): Evidence {
  const t = cx.r.tasks.find((x) => x.comm === comm);
  return ev(`tasks[${comm}].${key}`, t ? t[key] : null, 'tasks');
}

/** The mechanisms on a saturated CPU, as tags, with the links of the chain that show them. */
/** A mechanism found at work, as a tag, with the chain link that shows it (none for a tag the other links already show). */
interface Finding {
  tag: string;
  link?: ChainLink;
}

const linksOf = (found: readonly Finding[]): ChainLink[] => found.flatMap((x) => (x.link ? [x.link] : []));

function cpuMechanisms(cx: FlowContext, cpu: number, ctx: CpuContexts): Finding[] {
  const found: Finding[] = [];
  const add = (tag: string, link?: ChainLink): void => {
    found.push({ tag, link });
  };
  const r = cx.r;
  const softTotal = ctx.softirq_inline + ctx.ksoftirqd;
  const irqHere = cx.irqCpus.includes(cpu);
  if (irqHere && ctx.hardirq >= 50) {
    add('hardirq-livelock', {
      text: `CPU ${cpu} spends ${ctx.hardirq} % in hard interrupts: the handler does the receive work and re-enables the interrupt, so under overload the next interrupt comes before anything else runs (receive livelock).`,
      evidence: [cpuEv(cx, cpu, 'irq')],
    });
  }
  if (ctx.softirq_inline >= SIGNIFICANT_PCT) {
    const charged = ctx.tasks.filter((t) => t.soft_pct >= 1);
    if (charged.length > 0) {
      add('softirq-charged-to-task', {
        text: `NET_RX runs at irq_exit on top of the running task (${charged.map((t) => `${t.comm}: ${t.soft_pct} %`).join(', ')} of the window), and is charged to it.`,
        evidence: charged.map((t) => taskEv(cx, t.comm, 'soft_ms')),
      });
    }
  }
  if (ctx.ksoftirqd >= SIGNIFICANT_PCT) {
    add('ksoftirqd', {
      text: `handle_softirqs hands NET_RX to ksoftirqd/${cpu} (restart limit, 2 ms, or need_resched): ksoftirqd/${cpu} runs ${ctx.ksoftirqd} % of the window as an ordinary thread the scheduler shares out.`,
      evidence: [cpuEv(cx, cpu, 'ksoftirqd'), taskEv(cx, `ksoftirqd/${cpu}`, 'soft_ms')],
    });
  }
  if (ctx.napi_threads >= SIGNIFICANT_PCT) {
    add('threaded-napi', { text: `The NAPI kthread polls in task context (${ctx.napi_threads} % of CPU ${cpu}, shown as %sys).`, evidence: [cpuEv(cx, cpu, 'sys')] });
  }
  const squeeze = r.napi.time_squeeze[cpu] ?? 0;
  if (squeeze > 0) {
    add('time-squeeze', {
      text: `net_rx_action ran out of netdev_budget or netdev_budget_usecs ${squeeze} times on CPU ${cpu} (softnet_stat time_squeeze) with NAPIs still on its poll list.`,
      evidence: [ev(`napi.time_squeeze[${cpu}]`, squeeze, 'counters')],
    });
  }
  if (ctx.reader >= SIGNIFICANT_PCT && softTotal + ctx.hardirq >= SIGNIFICANT_PCT) {
    add('softirq-and-reader-share-cpu', {
      text: `CPU ${cpu} does two jobs: the receive softirq (${round(softTotal)} %${ctx.hardirq >= 1 ? `, hard interrupts ${ctx.hardirq} %` : ''}) and the reader's recvmsg and copy (${ctx.reader} %), with ${ctx.idle} % idle.`,
      evidence: [cpuEv(cx, cpu, 'soft'), cpuEv(cx, cpu, 'sys'), cpuEv(cx, cpu, 'idle')],
    });
  } else if (ctx.reader >= SIGNIFICANT_PCT) {
    add('reader-bound', {
      text: `The reader needs all of CPU ${cpu}: ${ctx.reader} % in its own context (recvmsg, the copy, its work), ${ctx.idle} % idle.`,
      evidence: [cpuEv(cx, cpu, 'sys'), cpuEv(cx, cpu, 'usr'), cpuEv(cx, cpu, 'idle')],
    });
  } else if (softTotal + ctx.hardirq + ctx.napi_threads >= 50) {
    add('softirq-bound', {
      text: `Receive processing alone fills CPU ${cpu}: softirq ${round(softTotal)} %, hard interrupts ${ctx.hardirq} %, NAPI threads ${ctx.napi_threads} %, ${ctx.idle} % idle.`,
      evidence: [cpuEv(cx, cpu, 'soft'), cpuEv(cx, cpu, 'irq'), cpuEv(cx, cpu, 'idle')],
    });
  }
  if (ctx.other_tasks >= SIGNIFICANT_PCT) {
    const others = ctx.tasks.filter((t) => !t.comm.startsWith('ksoftirqd/') && !t.comm.startsWith('napi/') && !cx.readers.some((a) => a.name === t.comm) && t.pct >= 1);
    add('other-task', {
      text: `Other tasks take ${ctx.other_tasks} % of CPU ${cpu} (${others.map((t) => `${t.comm} ${t.pct} %`).join(', ')}).`,
      evidence: others.map((t) => taskEv(cx, t.comm, 'usr_ms')),
    });
  }
  if (!cx.irqCpus.includes(cpu) && rpsCpus(cx).includes(cpu)) add('rps');
  else if (rpsCpus(cx).length > 0) add('rps-partial');
  return found;
}

function cpuVerdict(cx: FlowContext, saturated: number[], readers: string[], losses: Loss[]): Verdict {
  const cpu = saturated[0]!;
  const ctx = cpuContexts(cx.r, cpu, readers);
  // Several of the flow's queues, each on its own saturated CPU: the same limit on each.
  const alike = saturated.filter((c) => cx.irqCpus.includes(c) === cx.irqCpus.includes(cpu));
  const found = cpuMechanisms(cx, cpu, ctx);
  const tags = found.map((x) => x.tag);
  const chain: ChainLink[] = linksOf(found);
  const f = cx.f;
  if (f.proto === 'tcp' && num(f.rwnd_limited_pct) >= 5) {
    tags.push('rwnd-limited');
    chain.push({
      text: `The reader copies slower than the softirq fills the socket, so the advertised window closes: the sender had data it could not send ${f.rwnd_limited_pct} % of the window (tcpi_rwnd_limited) and the flow settles at ${f.goodput_gbps} Gbit/s.`,
      evidence: [flowEv(cx, 'rwnd_limited_pct'), flowEv(cx, 'goodput_gbps')],
    });
  }
  const sock = cx.r.sockets.find((s) => cx.readers.some((a) => a.name === s.app));
  if (sock && sock.copied_bytes > 0 && sock.copied_llc_pct < 50) {
    tags.push('copy-from-dram');
    chain.push({
      text: `Only ${sock.copied_llc_pct} % of the bytes the reader copied were still in the LLC (DDIO): the socket queue outgrew what DMA keeps in cache, and the copy reads DRAM.`,
      evidence: [ev(`sockets[${sock.socket}].copied_llc_pct`, sock.copied_llc_pct, 'sockets')],
    });
  }
  for (const l of losses) {
    if (l.place === 'no_socket' || l.place === 'xdp') continue;
    tags.push(`drops-${l.place}`);
    chain.push({
      text: `What the CPU cannot take is lost at ${placeText(l.place)}: ${l.packets} packets (${l.pct_of_offered} % of offered${reasonText(l)}).`,
      evidence: lossEvidence(cx, l),
    });
  }
  const jobs = [
    ctx.softirq_inline + ctx.ksoftirqd >= SIGNIFICANT_PCT ? 'receive softirq' : '',
    ctx.hardirq >= SIGNIFICANT_PCT ? 'hard interrupts' : '',
    ctx.napi_threads >= SIGNIFICANT_PCT ? 'NAPI threads' : '',
    ctx.reader >= SIGNIFICANT_PCT ? 'the reader' : '',
    ctx.other_tasks >= SIGNIFICANT_PCT ? 'other tasks' : '',
  ].filter(Boolean);
  const which = alike.length > 1 ? `CPUs ${alike.join(',')} are` : `CPU ${cpu} is`;
  const summary = `${which} saturated (${ctx.idle} % idle${alike.length > 1 ? ` on CPU ${cpu}` : ''}) by ${jobs.join(' and ') || 'receive work'}.`;
  return {
    limit: { kind: 'cpu', resource: alike.length > 1 ? `cpus ${alike.join(',')}` : `cpu ${cpu}`, summary, cpu },
    mechanisms: [...new Set([...tags, ...observedTags(cx)])],
    cpu: ctx,
    chain,
    remedies: cpuRemedies(cx, cpu, ctx, tags),
  };
}

function placeText(place: string): string {
  const names: Record<string, string> = {
    nic_ring: 'the RX ring (no free descriptor: rx_missed_errors / rx_no_dma_resources)',
    nic_missed: "the NIC's packet buffer (rx_missed_errors)",
    wire: 'the switch, before the NIC (its buffer, while PAUSE holds the port)',
    backlog: 'the backlog (enqueue_to_backlog: netdev_max_backlog, softnet_stat dropped)',
    flow_limit: 'the backlog flow limit (softnet_stat flow_limit_count)',
    veth: "the veth peer's ring (veth_xdp_rx)",
    socket: 'the socket (sk_rcvbuf full: UdpRcvbufErrors / TcpExtTCPRcvQDrop)',
    tcp_dup: 'TCP (duplicate segments)',
    no_socket: 'the socket lookup (no socket: UdpNoPorts)',
    xdp: 'the XDP program',
    route: 'the route (ip_error: not for this host and net.ipv4.ip_forward is 0; Ip InAddrErrors)',
    ttl: 'ip_forward (TTL expired: Ip InHdrErrors, ICMP time exceeded)',
    qdisc: "the egress device's qdisc (pfifo_fast at txqueuelen while the driver has stopped the TX queue)",
  };
  return names[place] ?? place;
}

function queueVerdict(cx: FlowContext, loss: Loss): Verdict {
  const link: ChainLink = {
    text: `Packets are lost at ${placeText(loss.place)}: ${loss.packets} (${loss.pct_of_offered} % of offered${reasonText(loss)}), while the CPUs that drain it still have idle time — the queue's length limit, not the CPU, decides under bursts.`,
    evidence: [...lossEvidence(cx, loss), ...cx.irqCpus.map((c) => cpuEv(cx, c, 'idle'))],
  };
  return {
    limit: { kind: 'queue', resource: loss.place, summary: `The ${loss.place} queue's limit drops ${loss.pct_of_offered} % of the flow with CPU time to spare.`, place: loss.place },
    mechanisms: [`drops-${loss.place}`],
    cpu: null,
    chain: [link],
    remedies: queueRemedies(cx, loss.place),
  };
}

function windowVerdict(cx: FlowContext): Verdict {
  return {
    limit: { kind: 'receive-window', resource: 'receive window', summary: `The receive window holds the sender back ${cx.f.rwnd_limited_pct} % of the window with no CPU saturated.` },
    mechanisms: ['rwnd-limited'],
    cpu: null,
    chain: [
      {
        text: `The sender had data it could not send ${cx.f.rwnd_limited_pct} % of the window (tcpi_rwnd_limited): the socket's receive buffer (tcp_rmem, rcv_ssthresh) bounds what is in flight.`,
        evidence: [flowEv(cx, 'rwnd_limited_pct'), flowEv(cx, 'goodput_gbps')],
      },
    ],
    remedies: [
      {
        name: 'larger receive buffer',
        why: 'tcp_rmem[2] bounds the window the receiver can advertise (tcp_rcv_space_adjust grows sk_rcvbuf up to it)',
        commands: ['sysctl -w net.ipv4.tcp_rmem="4096 131072 33554432"'],
      },
    ],
  };
}

function wireVerdict(cx: FlowContext, line: number, saturated: number[], readers: string[]): Verdict {
  const f = cx.f;
  const chain: ChainLink[] = [
    {
      text: `${f.name} runs at the link's rate: ${f.delivered_gbps} Gbit/s delivered of ${line} Gbit/s${f.proto === 'tcp' ? ` (goodput ${f.goodput_gbps})` : ''}.`,
      evidence: [flowEv(cx, 'delivered_gbps'), flowEv(cx, 'goodput_gbps')],
    },
  ];
  const tags = ['line-rate'];
  let cpu: CpuContexts | null = null;
  if (saturated.length > 0) {
    cpu = cpuContexts(cx.r, saturated[0]!, readers);
    tags.push('cpu-at-edge');
    chain.push({ text: `CPU ${cpu.cpu} has only ${cpu.idle} % idle: the host keeps up, at its edge.`, evidence: [cpuEv(cx, cpu.cpu, 'idle')] });
  }
  return { limit: { kind: 'wire', resource: `${f.nic} link`, summary: `The wire: ${f.name} gets the link's rate.` }, mechanisms: tags, cpu, chain, remedies: [] };
}

function offeredVerdict(cx: FlowContext, saturated: number[], losses: Loss[]): Verdict {
  const f = cx.f;
  const chain: ChainLink[] = [
    {
      text: `The host takes what ${f.name} offers: ${f.delivered_gbps} of ${f.offered_gbps} Gbit/s${saturated.length === 0 ? ', with idle time on every CPU of its path' : ''}.`,
      evidence: [flowEv(cx, 'offered_gbps'), flowEv(cx, 'delivered_gbps'), ...cx.irqCpus.map((c) => cpuEv(cx, c, 'idle'))],
    },
  ];
  const tags: string[] = [];
  if (saturated.length > 0) {
    tags.push('cpu-at-edge');
    chain.push({ text: `CPU ${saturated[0]} on its path has no idle time, yet the flow gets through: other work on that CPU pays.`, evidence: [cpuEv(cx, saturated[0]!, 'idle')] });
  }
  for (const l of losses) {
    tags.push(`drops-${l.place}`);
    chain.push({
      text: `A few packets are lost at ${placeText(l.place)}: ${l.packets} (${l.pct_of_offered} % of offered${reasonText(l)}), too few to limit the flow.`,
      evidence: lossEvidence(cx, l),
    });
  }
  const dominant = dominantWait(f);
  if (dominant?.stage === 'ring') {
    tags.push('interrupt-moderation');
    chain.push(moderationLink(cx, dominant));
  }
  return {
    limit: { kind: 'offered-load', resource: 'the sender', summary: `The sender: ${f.name} offers ${f.offered_gbps} Gbit/s and the host keeps up.` },
    mechanisms: tags,
    cpu: null,
    chain,
    remedies: [],
  };
}

function dominantWait(f: FlowResult): { stage: 'ring' | 'stack' | 'socket'; mean_us: number } | null {
  const s = f.stages_us;
  if (!s) return null;
  const stage = (['ring', 'stack', 'socket'] as const).reduce((a, b) => (s[b] > s[a] ? b : a));
  return { stage, mean_us: s[stage] };
}

function moderationLink(cx: FlowContext, wait: { mean_us: number }): ChainLink {
  const q = cx.nicResult?.queues[cx.f.rx_queues[0] ?? 0];
  const itr = q?.itr_usecs ?? null;
  return {
    text: `Most of the latency is the wait in the ring before a poll, ${wait.mean_us} µs on average: interrupt moderation holds the interrupt${itr !== null ? ` (the vector's interval: ${itr} µs)` : ''}.`,
    evidence: [ev(`flows[${cx.f.name}].stages_us.ring`, wait.mean_us, 'latency'), ...(q ? [ev(`nics[${cx.f.nic}].queues[${q.queue}].itr_usecs`, itr, 'queues')] : [])],
  };
}

function latencyVerdict(cx: FlowContext, saturated: number[], readers: string[]): Verdict {
  const f = cx.f;
  const rr = cx.rr!;
  const chain: ChainLink[] = [
    {
      text: `${f.name} is a closed loop (${rr.concurrency} transaction${rr.concurrency === 1 ? '' : 's'} in flight): its rate is set by its latency, ${rr.transactions_per_sec} transactions/s at p50 ${rr.latency_us.p50} µs.`,
      evidence: [ev(`rr[${f.name}].transactions_per_sec`, rr.transactions_per_sec, 'latency'), ev(`rr[${f.name}].latency_us.p50`, rr.latency_us.p50, 'latency')],
    },
  ];
  const tags: string[] = [];
  const busy = busyPolling(cx);
  if (busy) tags.push('busy-poll');
  const dominant = dominantWait(f);
  const serverCpu = cx.readerCpus[0];
  const stage = dominant?.stage ?? 'ring';
  const limit = { kind: 'latency' as const, resource: `${stage} wait`, summary: `Latency: the transactions wait longest in the ${stage} stage.`, stage };
  if (serverCpu !== undefined && saturated.includes(serverCpu) && !busy) {
    // The server's CPU has no idle time: either receive work (and other tasks) leave the server
    // too little of it, or the server's own work fills it and requests queue for the server.
    const ctx = cpuContexts(cx.r, serverCpu, readers);
    const found = cpuMechanisms(cx, serverCpu, ctx);
    const mechTags = found.map((x) => x.tag);
    const starved = ctx.reader < ctx.softirq_inline + ctx.ksoftirqd + ctx.hardirq + ctx.napi_threads + ctx.other_tasks;
    chain.push(...linksOf(found));
    chain.push({
      text: starved
        ? `The requests wait ${f.stages_us?.socket ?? '?'} µs on average in the server's socket: the server runs in what the receive work leaves of CPU ${serverCpu}.`
        : `The server's own work fills CPU ${serverCpu} (${ctx.reader} %): requests queue for it, ${f.stages_us?.socket ?? '?'} µs on average in its socket.`,
      evidence: [ev(`flows[${f.name}].stages_us.socket`, f.stages_us?.socket ?? null, 'latency'), cpuEv(cx, serverCpu, 'idle')],
    });
    return {
      limit: {
        ...limit,
        summary: starved ? `Latency: CPU ${serverCpu} is saturated by receive work and the server waits for it.` : `Latency: the server's CPU ${serverCpu} is saturated by the server itself.`,
        cpu: serverCpu,
      },
      mechanisms: [...new Set([...tags, ...mechTags, starved ? 'server-starved' : 'server-bound'])],
      cpu: ctx,
      chain,
      remedies: starved ? cpuRemedies(cx, serverCpu, ctx, mechTags) : [],
    };
  }
  if (busy) {
    const c = serverCpu !== undefined ? cx.r.cpus[serverCpu] : undefined;
    chain.push({
      text: `The server busy-polls its NAPI instead of sleeping until the interrupt${c ? `: CPU ${serverCpu} shows ${c.sys} % sys and ${c.idle} % idle` : ''}.`,
      evidence: c ? [cpuEv(cx, serverCpu!, 'sys'), cpuEv(cx, serverCpu!, 'idle')] : [],
    });
  }
  if (dominant?.stage === 'ring') {
    if (!busy) tags.push('interrupt-moderation');
    chain.push(moderationLink(cx, dominant));
  } else if (dominant) {
    tags.push(`wait-${dominant.stage}`);
    chain.push({
      text: `The largest wait is in the ${dominant.stage} stage: ${dominant.mean_us} µs on average.`,
      evidence: [ev(`flows[${f.name}].stages_us.${dominant.stage}`, dominant.mean_us, 'latency')],
    });
  }
  return {
    limit,
    mechanisms: tags,
    cpu: null,
    chain,
    remedies: busy ? [] : latencyRemedies(cx),
  };
}

/** Does the flow's reader busy-poll (SO_BUSY_POLL or net.core.busy_read; an epoll loop: EPIOCSPARAMS or net.core.busy_poll)? */
function busyPolling(cx: FlowContext): boolean {
  const sys = cx.sc.sysctl ?? {};
  const global = num(sys['net.core.busy_read'] as number) > 0 || num(sys['net.core.busy_poll'] as number) > 0;
  const epollBusy = (a: (typeof cx.readers)[number]): boolean =>
    a.epoll === true && (num(a.epoll_busy_poll_usecs) > 0 || a.epoll_prefer_busy_poll === true || num(sys['net.core.busy_poll'] as number) > 0);
  return cx.readers.some((a) => epollBusy(a) || (a.epoll !== true && (a.busy_poll === undefined ? global : a.busy_poll > 0)));
}

/** A devmap entry's counters (trace_xdp_devmap_xmit: bq_xmit_all's ndo_xdp_xmit calls, frames sent and dropped). */
type DevmapEntry = { map: string; index: number; dev: string; xmit: { calls: number; sent: number; drops: number } };

function devmapEntries(r: Result): DevmapEntry[] {
  const out: DevmapEntry[] = [];
  for (const m of r.xdp_maps ?? []) {
    if (m.type !== 'devmap') continue;
    (m.entries as { dev: string; xmit: DevmapEntry['xmit'] }[]).forEach((e, index) => out.push({ map: m.name, index, dev: e.dev, xmit: e.xmit }));
  }
  return out;
}

/**
 * An XDP_REDIRECT through a devmap that loses frames while the RX CPUs have time: either the
 * target device's XDP TX ring is full — bq_xmit_all sends what ndo_xdp_xmit takes and frees the
 * rest (kernel/bpf/devmap.c), the ring drained only as fast as the target's wire sends — or the
 * target has no XDP program, so __xdp_enqueue refuses every frame (-EOPNOTSUPP) before any bulk
 * queue. Both end at the devmap; the first is the egress wire's limit, the second a setup error.
 */
function devmapVerdict(cx: FlowContext, loss: Loss): Verdict {
  const entries = devmapEntries(cx.r);
  const full = entries.filter((e) => e.xmit.drops > 0);
  const lost = `${loss.packets} of its frames (${loss.pct_of_offered} % of offered) are dropped at the devmap`;
  const idle = cx.irqCpus.map((c) => cpuEv(cx, c, 'idle'));
  if (full.length === 0) {
    return {
      limit: { kind: 'queue', resource: 'devmap', summary: `The devmap refuses ${cx.f.name}: its target has no XDP program, so no XDP TX ring.`, place: 'devmap' },
      mechanisms: ['drops-devmap', 'devmap-no-target'],
      cpu: null,
      chain: [
        {
          text: `${cx.f.name} is redirected by XDP into a devmap, and ${lost}: the target device has no XDP program (NETDEV_XDP_ACT_NDO_XMIT unset), so __xdp_enqueue refuses each frame with -EOPNOTSUPP (xdp_redirect_err, xdp_exception) and ndo_xdp_xmit is never called.`,
          evidence: [...lossEvidence(cx, loss), ...entries.map((e) => ev(`xdp_maps[${e.map}].entries[${e.index}].xmit.calls`, e.xmit.calls, 'counters'))],
        },
      ],
      remedies: [],
    };
  }
  const windowS = cx.r.sim.window_ns / 1e9;
  const chain: ChainLink[] = full.map((e) => {
    const tx = cx.r.ethtool_S[e.dev]?.tx_packets ?? 0;
    return {
      text: `${cx.f.name} is redirected by XDP through devmap ${e.map} to ${e.dev}, and ${lost}: bq_xmit_all finds ${e.dev}'s XDP TX ring full and frees what ndo_xdp_xmit cannot take (${e.xmit.drops} frames, trace_xdp_devmap_xmit drops; ${e.xmit.sent} sent). The ring drains only as fast as ${e.dev}'s wire sends: ${round(tx / windowS / 1e6, 2)} Mpps left by it, while the RX CPUs have idle time.`,
      evidence: [
        ...lossEvidence(cx, loss),
        ev(`xdp_maps[${e.map}].entries[${e.index}].xmit.drops`, e.xmit.drops, 'counters'),
        ev(`xdp_maps[${e.map}].entries[${e.index}].xmit.sent`, e.xmit.sent, 'counters'),
        ev(`ethtool_S.${e.dev}.tx_packets`, tx, 'counters'),
        ...idle,
      ],
    };
  });
  const devs = [...new Set(full.map((e) => e.dev))].join(', ');
  return {
    limit: { kind: 'wire', resource: `${devs} link (egress)`, summary: `The egress wire: ${devs} sends slower than XDP redirects ${cx.f.name} to it, and the devmap drops the rest.`, place: 'devmap' },
    mechanisms: ['drops-devmap', 'egress-wire'],
    cpu: null,
    chain,
    remedies: [],
  };
}

function xdpVerdict(cx: FlowContext, losses: Loss[]): Verdict {
  const l = losses.find((x) => x.place === 'xdp')!;
  return {
    limit: { kind: 'xdp-program', resource: `${cx.f.nic} XDP program`, summary: `An XDP program drops ${cx.f.name} in the driver, by design.`, place: 'xdp' },
    mechanisms: ['xdp-drop'],
    cpu: null,
    chain: [
      {
        text:
          l.reasons.length > 0
            ? `Generic XDP runs the program on each skb at __netif_receive_skb_core and it returns XDP_DROP: ${l.packets} packets (${l.pct_of_offered} % of offered${reasonText(l)}).`
            : `The driver runs the XDP program on each frame before an skb exists and it returns XDP_DROP: ${l.packets} packets (${l.pct_of_offered} % of offered${reasonText(l)}).`,
        evidence: [...lossEvidence(cx, l), ...cx.irqCpus.map((c) => cpuEv(cx, c, 'idle'))],
      },
    ],
    remedies: [],
  };
}

function noListenerVerdict(cx: FlowContext, losses: Loss[], saturated: number[], readers: string[]): Verdict {
  const l = losses.find((x) => x.place === 'no_socket')!;
  const chain: ChainLink[] = [
    {
      text: `Nothing listens on ${cx.sc.flows[cx.index]!.dst}: __udp4_lib_rcv finds no socket and frees each datagram (UdpNoPorts, SKB_DROP_REASON_NO_SOCKET): ${l.packets} packets.`,
      evidence: [...lossEvidence(cx, l), ev('nstat.UdpNoPorts', cx.r.nstat.UdpNoPorts ?? null, 'counters')],
    },
  ];
  return {
    limit: { kind: 'no-listener', resource: 'no socket', summary: `No socket: ${cx.f.name} ends at the socket lookup, by design.`, place: 'no_socket' },
    mechanisms: ['no-socket'],
    cpu: saturated.length > 0 ? cpuContexts(cx.r, saturated[0]!, readers) : null,
    chain,
    remedies: [],
  };
}

/** A "forward" flow whose every packet ends at the route: ip_error with forwarding off, or ip_forward's TTL check. */
function notForwardedVerdict(cx: FlowContext, losses: FlowExplanation['losses'], saturated: number[], readers: string[]): Verdict {
  const off = (losses[0]?.place ?? 'route') === 'route';
  const l = losses[0]!;
  const chain: ChainLink[] = [
    off
      ? {
          text: `${cx.sc.flows[cx.index]!.dst} is not an address of this host and net.ipv4.ip_forward is 0: ip_route_input_slow gives the packets an error route and ip_error frees them (InAddrErrors, SKB_DROP_REASON_IP_INADDRERRORS, no ICMP): ${l.packets} packets.`,
          evidence: [ev(`flows[${cx.f.name}].drops.route`, l.packets, 'flows'), ev('nstat.IpInAddrErrors', cx.r.nstat.IpInAddrErrors ?? null, 'counters')],
        }
      : {
          text: `The packets arrive with TTL 1: ip_forward's too_many_hops frees them (InHdrErrors, SKB_DROP_REASON_IP_INHDR) and answers ICMP time exceeded within the ICMP rate limits: ${l.packets} packets.`,
          evidence: [ev(`flows[${cx.f.name}].drops.ttl`, l.packets, 'flows'), ev('nstat.IpInHdrErrors', cx.r.nstat.IpInHdrErrors ?? null, 'counters')],
        },
  ];
  return {
    limit: {
      kind: 'not-forwarded',
      resource: off ? 'ip_forward off' : 'TTL',
      summary: off ? `Forwarding is off: ${cx.f.name} ends at the route.` : `${cx.f.name}'s TTL expires here.`,
      place: l.place,
    },
    mechanisms: [off ? 'forwarding-off' : 'ttl-expired'],
    cpu: saturated.length > 0 ? cpuContexts(cx.r, saturated[0]!, readers) : null,
    chain,
    remedies: off
      ? [
          {
            name: 'turn forwarding on',
            why: 'devinet_sysctl_forward sets every device forwarding: ip_route_input_slow then builds a forwarding route and dst_input is ip_forward',
            commands: ['sysctl -w net.ipv4.ip_forward=1'],
          },
        ]
      : [],
  };
}

// ---- Remedies: what a kernel engineer would try, as commands ----

/** CPUs with this much idle time (%) can take work. */
const IDLE_FOR_WORK = 90;

function idleCpus(cx: FlowContext, exclude: readonly number[]): number[] {
  return cx.r.cpus.filter((c) => c.idle >= IDLE_FOR_WORK && !exclude.includes(c.cpu)).map((c) => c.cpu);
}

const maskOf = (cpus: readonly number[]): string => cpus.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16);

/** One command per queue of the flow: `echo VALUE > /sys/class/net/DEV/queues/rx-Q/FILE`. */
const perQueue = (cx: FlowContext, file: string, value: string | number): string[] => cx.f.rx_queues.map((q) => `echo ${value} > /sys/class/net/${cx.f.nic}/queues/rx-${q}/${file}`);

/** RFS: the global socket flow table (net.core.rps_sock_flow_entries, read by rps_record_sock_flow) and each queue's flow table (rps_flow_cnt, read by get_rps_cpu). */
const rfsCommands = (cx: FlowContext): string[] => ['sysctl -w net.core.rps_sock_flow_entries=32768', ...perQueue(cx, 'rps_flow_cnt', 4096)];

/** The flow's NIC driver profile (none for a local flow). */
function driverOf(cx: FlowContext): (typeof DRIVERS)[DriverName] | undefined {
  const d = cx.nic?.driver as DriverName | undefined;
  return d !== undefined && d in DRIVERS ? DRIVERS[d] : undefined;
}

/** Does the flow's NIC driver implement ndo_rx_flow_steer (accelerated RFS)? */
const hasRxFlowSteer = (cx: FlowContext): boolean => driverOf(cx)?.rxFlowSteer === true;

function cpuRemedies(cx: FlowContext, cpu: number, ctx: CpuContexts, tags: readonly string[]): Remedy[] {
  const out: Remedy[] = [];
  const f = cx.f;
  const dev = f.nic;
  const queue = f.rx_queues[0];
  const irq = queue !== undefined ? cx.nicResult?.queues[queue]?.irq : undefined;
  const spare = idleCpus(cx, [cpu, ...cx.irqCpus, ...cx.readerCpus]);
  const target = spare[0];
  const reader = cx.readers[0];
  const irqHere = cx.irqCpus.includes(cpu);
  const nicFlow = f.path !== 'veth-local' && queue !== undefined;
  if (target !== undefined && reader && ctx.reader >= SIGNIFICANT_PCT && irqHere) {
    out.push({ name: `move the reader to CPU ${target}`, why: `${reader.name} and the interrupt's softirq stop sharing CPU ${cpu}`, commands: [`taskset -c ${target} ${reader.name}`] });
  }
  if (target !== undefined && irq !== undefined && irqHere) {
    out.push({
      name: `move the interrupt to CPU ${target}`,
      why: `the hard interrupt, the driver's poll, GRO and the stack move to CPU ${target}`,
      commands: [`echo ${target} > /proc/irq/${irq}/smp_affinity_list`],
    });
  }
  // A third task on the CPU: moving one of the two receive jobs still leaves it beside the other.
  if (spare.length >= 2 && irq !== undefined && reader && irqHere && ctx.reader >= SIGNIFICANT_PCT && ctx.other_tasks >= SIGNIFICANT_PCT) {
    out.push({
      name: `move the interrupt to CPU ${spare[0]} and the reader to CPU ${spare[1]}`,
      why: `the receive softirq, ${reader.name} and the other tasks each get a CPU of their own`,
      commands: [`echo ${spare[0]} > /proc/irq/${irq}/smp_affinity_list`, `taskset -c ${spare[1]} ${reader.name}`],
    });
  }
  if (target !== undefined && nicFlow && irqHere && !tags.includes('rps')) {
    out.push({
      name: `RPS to CPU ${target}`,
      why: `get_rps_cpu moves the protocol work (from __netif_receive_skb_core on) to CPU ${target}`,
      commands: perQueue(cx, 'rps_cpus', maskOf([target])),
      leaves: `the driver's poll and GRO on CPU ${cpu}`,
    });
  }
  if (tags.includes('softirq-bound') && spare.length >= 3 && nicFlow) {
    const spread = [cpu, ...spare.slice(0, 3)];
    out.push({
      name: `RPS over CPUs ${spread.join(',')}`,
      why: 'the stack work of one queue spread by the flow hash',
      commands: perQueue(cx, 'rps_cpus', maskOf(spread)),
      leaves: `the driver's poll and GRO on CPU ${cpu}, and each 5-tuple on one CPU`,
    });
  }
  // The reader runs elsewhere: RFS steers the protocol pass to its CPU (get_rps_cpu with the
  // socket flow table); with ntuple filters and ndo_rx_flow_steer the NIC moves the whole flow.
  // TCP only: an unconnected UDP socket never records its flow's hash (__udp_queue_rcv_skb calls
  // sock_rps_save_rxhash only with inet_daddr set), so recvmsg's sock_rps_record_flow steers nothing.
  const readerElsewhere = cx.readerCpus.find((c) => !cx.irqCpus.includes(c));
  if (readerElsewhere !== undefined && nicFlow && irqHere && f.proto === 'tcp' && (cx.sc.sysctl?.['net.core.rps_sock_flow_entries'] ?? 0) === 0) {
    out.push({
      name: `RFS to the reader's CPU ${readerElsewhere}`,
      why: `rps_record_sock_flow records the reader's CPU at recvmsg and get_rps_cpu sends the flow's skbs to that CPU's backlog`,
      commands: rfsCommands(cx),
      leaves: `the driver's poll and GRO on CPU ${cpu}, and adds an IPI per batch`,
    });
    if (hasRxFlowSteer(cx) && (cx.nicResult?.queues.length ?? 1) > 1) {
      out.push({
        name: `aRFS to the reader's CPU ${readerElsewhere}`,
        why: `set_rps_cpu calls ndo_rx_flow_steer: the NIC installs a filter that steers the flow to the queue whose interrupt is on CPU ${readerElsewhere}`,
        commands: [...rfsCommands(cx), `ethtool -K ${dev} ntuple on`],
      });
    }
  }
  // Several 5-tuples on fewer queues than CPUs: RSS spreads them over more queues (and vectors).
  const queues = cx.nicResult?.queues.length ?? 0;
  if (nicFlow && f.tuples > 1 && f.rx_queues.length === 1 && queues < cx.r.cpus.length && tags.includes('softirq-bound')) {
    const n = Math.min(cx.r.cpus.length, Math.max(4, 2 * queues));
    out.push({ name: `${n} queues`, why: `RSS spreads the flow's ${f.tuples} 5-tuples over ${n} RX queues, each with its own interrupt and NAPI`, commands: [`ethtool -L ${dev} combined ${n}`] });
  }
  if (tags.includes('ksoftirqd') && ctx.reader + ctx.other_tasks >= SIGNIFICANT_PCT && nicFlow && num(cx.nic?.threaded) === 0) {
    out.push({ name: 'threaded NAPI', why: 'the poll runs in a kthread the scheduler places, not in ksoftirqd beside the task', commands: [`echo 1 > /sys/class/net/${dev}/threaded`] });
  }
  // Hard interrupts take a share of the CPU: keep the device interrupt masked while polls find work.
  if (nicFlow && irqHere && ctx.hardirq >= SIGNIFICANT_PCT && num(cx.nic?.napi_defer_hard_irqs) === 0) {
    out.push({
      name: 'defer hard interrupts',
      why: 'napi_complete_done arms the gro_flush_timeout hrtimer instead of re-enabling the interrupt while napi_defer_hard_irqs polls in a row find work',
      commands: [`echo 2 > /sys/class/net/${dev}/napi_defer_hard_irqs`, `echo 20000 > /sys/class/net/${dev}/gro_flush_timeout`],
    });
  }
  if (tags.includes('time-squeeze')) {
    out.push({
      name: 'larger NAPI budget',
      why: 'net_rx_action polls longer before it gives the CPU back (time_squeeze)',
      commands: ['sysctl -w net.core.netdev_budget=600', 'sysctl -w net.core.netdev_budget_usecs=8000'],
      leaves: 'the work on the CPU as it was: a larger budget gives no time a saturated CPU does not have',
    });
  }
  out.push(...xdpRemedies(cx, cpu));
  if (f.drops.backlog) out.push(backlogRemedy());
  if (f.drops.nic_ring || f.drops.nic_missed) out.push(ringRemedy(dev, 'more descriptors absorb longer softirq gaps'));
  return out;
}

/** An XDP program the scenario defines but the NIC does not run, where other flows on the CPU end unread (no socket): drop them in the driver. */
function xdpRemedies(cx: FlowContext, cpu: number): Remedy[] {
  const programs = Object.keys(cx.sc.xdp_programs ?? {});
  if (programs.length === 0 || cx.nic?.xdp !== undefined || cx.f.path === 'veth-local') return [];
  const unwanted = cx.r.flows.filter((g) => g.nic === cx.f.nic && g.name !== cx.f.name && (g.drops.no_socket ?? 0) > 0);
  if (unwanted.length === 0) return [];
  return [
    {
      name: `XDP filter ${programs[0]}`,
      why: `the driver drops ${unwanted.map((g) => g.name).join(', ')} before an skb exists, so CPU ${cpu} spends no stack work on it`,
      commands: [`ip link set dev ${cx.f.nic} xdpdrv obj ${programs[0]}`],
    },
  ];
}

const backlogRemedy = (): Remedy => ({ name: 'longer backlog', why: 'enqueue_to_backlog drops above net.core.netdev_max_backlog', commands: ['sysctl -w net.core.netdev_max_backlog=10000'] });
const ringRemedy = (dev: string, why: string): Remedy => ({ name: 'larger RX ring', why, commands: [`ethtool -G ${dev} rx 4096`] });

function queueRemedies(cx: FlowContext, place: string): Remedy[] {
  const dev = cx.f.nic;
  if (place === 'backlog') return [backlogRemedy()];
  if (place === 'nic_ring' || place === 'nic_missed') return [ringRemedy(dev, 'more descriptors absorb longer gaps between polls')];
  if (place === 'socket') return [{ name: 'larger socket buffer', why: 'sk_rcvbuf bounds what waits for the reader', commands: ['sysctl -w net.core.rmem_default=4194304 net.core.rmem_max=4194304'] }];
  return [];
}

function latencyRemedies(cx: FlowContext): Remedy[] {
  const dev = cx.f.nic;
  const ownBusyPoll = cx.readers.filter((a) => a.epoll !== true && a.busy_poll !== undefined).map((a) => a.name);
  return [
    {
      name: 'interrupt right away',
      why: 'rx-usecs 0: no moderation delay before the interrupt',
      // ixgbe has no adaptive-rx switch (ixgbe_set_coalesce: rx-usecs 1 is its adaptive mode, 0 turns EITR off).
      commands: [driverOf(cx)?.moderation.kind === 'eitr' ? `ethtool -C ${dev} rx-usecs 0` : `ethtool -C ${dev} adaptive-rx off rx-usecs 0`],
    },
    {
      name: 'busy polling',
      why: 'the reader polls the NAPI itself instead of waiting for the interrupt and a wake-up: net.core.busy_read is the SO_BUSY_POLL of every new socket (sock_init_data), net.core.busy_poll the budget of poll, select and epoll (ep_busy_loop)',
      commands: ['sysctl -w net.core.busy_read=50', 'sysctl -w net.core.busy_poll=50'],
      // A reader that sets SO_BUSY_POLL itself (sk_setsockopt writes sk_ll_usec) keeps its own value: the sysctl is only the default.
      ...(ownBusyPoll.length > 0
        ? { leaves: `the SO_BUSY_POLL that ${ownBusyPoll.join(', ')} set${ownBusyPoll.length === 1 ? 's' : ''} itself (apps[].busy_poll): sk_setsockopt's value overrides the sysctl's default` }
        : {}),
    },
  ];
}

/** One remedy per set of commands (two causes can suggest the same change), in the order found. */
function distinctRemedies(rs: readonly Remedy[]): Remedy[] {
  const seen = new Set<string>();
  return rs.filter((r) => {
    const key = JSON.stringify(r.commands);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The explanation as text: per flow the outcome, the limit, the chain with its evidence, the remedies. */
export function explanationText(e: Explanation): string {
  const lines: string[] = [`${e.scenario} (seed ${e.seed})`];
  for (const f of e.flows) {
    const o = f.outcome;
    lines.push(
      '',
      o.forwarded_pps !== undefined
        ? `flow ${f.flow} (${f.proto}, ${f.path}): ${o.forwarded_pps} packets/s forwarded of ${o.offered_gbps} Gbit/s offered${o.delivered_pct !== null ? ` (${o.delivered_pct} % of packets)` : ''}`
        : `flow ${f.flow} (${f.proto}, ${f.path}): ${o.transactions_per_sec !== undefined ? `${o.transactions_per_sec} transactions/s, ` : ''}${o.delivered_gbps} of ${o.offered_gbps} Gbit/s offered delivered${o.delivered_pct !== null ? ` (${o.delivered_pct} % of packets)` : ''}`,
    );
    lines.push(`  limit: ${f.limit.kind} — ${f.limit.summary}`);
    if (f.mechanisms.length > 0) lines.push(`  mechanisms: ${f.mechanisms.join(', ')}`);
    if (f.cpu) {
      const c = f.cpu;
      lines.push(
        `  CPU ${c.cpu}: hardirq ${c.hardirq} %, softirq inline ${c.softirq_inline} %, ksoftirqd ${c.ksoftirqd} %, NAPI threads ${c.napi_threads} %, reader ${c.reader} %, other tasks ${c.other_tasks} %, idle ${c.idle} %`,
      );
    }
    if (f.waits.length > 0) lines.push(`  waits (mean): ${f.waits.map((w) => `${w.stage} ${w.mean_us} µs (${w.share_pct} %)`).join(', ')}`);
    if (f.losses.length > 0) lines.push(`  losses: ${f.losses.map((l) => `${l.place} ${l.packets} (${l.pct_of_offered} %${l.reasons.map((r) => `, ${r.reason} ${r.packets}`).join('')})`).join(', ')}`);
    lines.push('  why:');
    f.chain.forEach((link, i) => {
      lines.push(`   ${i + 1}. ${link.text}`);
      if (link.evidence.length > 0) lines.push(`      [${link.evidence.map((x) => `${x.path} = ${x.value}`).join('; ')}]`);
    });
    if (f.remedies.length > 0) {
      lines.push('  remedies to try:');
      for (const r of f.remedies) lines.push(`   - ${r.name}: ${r.why}${r.leaves ? ` (it leaves ${r.leaves})` : ''}`, ...r.commands.map((c) => `       ${c}`));
    }
  }
  return lines.join('\n');
}

/**
 * A scenario's `explain` claims against the explanation of a run, as expectation outcomes (so
 * `rxsim check` and its reporters show them beside the metric expectations): the flow's limit, its
 * resource if the claim names one, and every mechanism the claim lists.
 */
export function evaluateExplainClaims(result: Result, scenario: Scenario): ExpectationOutcome[] {
  const claims: readonly ExplainClaim[] = scenario.explain;
  if (claims.length === 0) return [];
  const e = explain(result, scenario);
  return claims.map((c) => {
    const f = e.flows.find((x) => x.flow === c.flow);
    const condition = [`limit ${c.limit}`, c.resource ? `(${c.resource})` : '', c.mechanisms.length > 0 ? `with ${c.mechanisms.join(', ')}` : ''].filter(Boolean).join(' ');
    const found = f ? [`limit ${f.limit.kind} (${f.limit.resource})`, f.mechanisms.length > 0 ? `with ${f.mechanisms.join(', ')}` : ''].filter(Boolean).join(' ') : 'no such flow';
    const pass = f !== undefined && f.limit.kind === c.limit && (c.resource === undefined || f.limit.resource === c.resource) && c.mechanisms.every((m) => f.mechanisms.includes(m));
    return { metric: `explain flows[${c.flow}]`, condition, actual: undefined, actualText: found, pass, why: c.why };
  });
}
