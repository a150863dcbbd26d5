import { collectResult, type Result } from '../metrics/result.ts';
import { COST_PROFILES, type CostKey } from '../model/costs.ts';
import { DRIVERS } from '../model/nic/drivers.ts';
import { simulate } from '../model/simulate.ts';
import { loadScenario } from '../scenario/load.ts';
import { extractMetric } from './metrics.ts';

/**
 * `rxsim validate`: published experiments, each run as a scenario on the cost profile of the
 * source's machine (or, where the model has no mechanism for the experiment, said so), with the
 * model's value, the published figure, their ratio and a tolerance band on the ratio. The bands
 * are set from how precisely the source states its figure and how directly the model reproduces
 * the experiment — never from the model's value — so a row outside its band is a finding.
 *
 * The validation scenarios live in validation/ (not sim-scenarios/: they are experiments of other
 * people's machines, with no expectations of their own; `rxsim check` does not run them); the seed
 * lab rows run the shipped seed-lab scenarios.
 */

export type FigureKind = 'throughput' | 'drops' | 'latency' | 'time budget' | 'queueing';

export interface Experiment {
  id: string;
  /** What was measured, in a few words. */
  what: string;
  kind: FigureKind;
  /** The published figure and its unit; for a formula, its value for each run (averaged like the model's). */
  published: number | ((r: Result) => number);
  unit: string;
  /** Acceptable model/published ratio. */
  band: [number, number];
  source: string;
  /** How the model's value is obtained. */
  method: 'scenario' | 'cost sum' | 'not modelled';
  /** Scenario file, relative to the repository root. */
  scenario?: string;
  /** A second scenario (same seeds): the model's value is value(scenario) / value(relativeTo), for a published ratio. */
  relativeTo?: string;
  profile: string;
  /** The model's value from one run's result. */
  value?: (r: Result) => number;
  /** The model's value without a run (a cost sum). */
  compute?: () => number;
  /** Why the method is what it is, or why the row is not modelled; printed under the table. */
  note: string;
}

/** Seeds every scenario row runs with; the row shows their mean and range. */
export const VALIDATION_SEEDS = [1, 2, 3];

const metric = (r: Result, path: string): number => extractMetric(r, path) ?? NaN;
const windowS = (r: Result): number => r.sim.window_ns / 1e9;

/**
 * Per-packet CPU time of a 64-byte frame from the driver to a netfilter verdict in the raw table
 * (PREROUTING), as the model charges it on a profile: the driver's clean loop (descriptor, the
 * refill amortised over its batch, the page_pool fast path for each half-page buffer, the poll
 * with its softirq entry and net_rx_action amortised over NAPI's weight of 64 — a NAPI that used
 * its weight goes on the repoll list, which net_rx_action leaves for the next NET_RX it raises, so
 * a lone NAPI pays both for every poll: net/core/dev.c: net_rx_action), GRO's bucket scan, __netif_receive_skb_core,
 * ip_rcv and one hook with one rule; conntrack adds nf_conntrack_in. test/model/cost-profiles.test.ts
 * checks this sum against a run that takes the same path (ip_error after the hook) so that a
 * step the model starts charging cannot be left out of it.
 */
export function rawTableDropNs(profile: string, conntrack: boolean): number {
  const c = (k: CostKey): number => COST_PROFILES[profile]![k].ns;
  const refillBatch = DRIVERS.generic.refillBatch;
  const napiWeight = 64; // NAPI_POLL_WEIGHT (include/linux/netdevice.h)
  const buffersPerPage = 2; // page_pool_alloc_frag_netmem: two 2048-byte buffers per 4 KiB page (rx-page-pool.ts)
  const poll = (c('napi_poll') + c('softirq_entry') + c('net_rx_action')) / napiWeight;
  const driver = c('rx_descriptor') + c('refill_batch') / refillBatch + c('refill_buffer') + c('page_pool_fast') / buffersPerPage + poll;
  return driver + c('gro_receive') + c('netif_receive_skb') + c('ip_rcv') + c('nf_hook') + c('nf_rule') + (conntrack ? c('conntrack_in') : 0);
}

const XDP_PAPER = 'Høiland-Jørgensen et al., "The eXpress Data Path", CoNEXT 2018, Fig. 3 (one core, 64 B)';
const CAI = 'Cai et al., "Understanding Host Network Stack Overheads", SIGCOMM 2021, §3.1';
const SEED_LAB = "the seed lab's notes of 2020-09-14 and 2020-09-26 (docs/seed-lab.md)";
const NO_VERDICT =
  "the model's netfilter counts the rules a packet evaluates but has no DROP verdict, so no scenario can drop in the raw table: the value is the per-packet cost the model charges for that path on this profile (driver with its page_pool and per-poll softirq work, GRO, __netif_receive_skb_core, ip_rcv, one hook and rule), as one core's rate 1/cost";

const FORWARD_NOTE =
  "flows[fwd].forwarded_pps: packets ip_forward handed to eth1's qdisc and TX ring per second of the window. Beyond the receive path to ip_rcv (the shares set from the paper's drop rates), the forwarding steps are assumptions, not fitted to this figure: fib_lookup 30, ip_forward 120, ip_output 40, dev_queue_xmit 50, ndo_start_xmit 140 (a tail write per packet) and tx_clean 60 ns, about 440 ns on top of ≈190 ns of receive path (to ip_rcv and the route, as the model charges it on this profile).";

export const EXPERIMENTS: Experiment[] = [
  {
    id: 'xdp-drop',
    what: 'XDP_DROP, one core',
    kind: 'drops',
    published: 24,
    unit: 'Mpps',
    band: [0.85, 1.15],
    source: XDP_PAPER,
    method: 'scenario',
    scenario: 'validation/xdp-paper-xdp-drop.json',
    profile: 'xdp-paper-2018',
    value: (r) => metric(r, 'packets.dropped.xdp') / windowS(r) / 1e6,
    note: 'packets.dropped.xdp per second of the window, with 30 Mpps offered to one queue (more than the core drops).',
  },
  {
    id: 'raw-drop',
    what: 'iptables raw-table drop, one core',
    kind: 'drops',
    published: 4.8,
    unit: 'Mpps',
    band: [0.85, 1.15],
    source: XDP_PAPER,
    method: 'cost sum',
    profile: 'xdp-paper-2018',
    compute: () => 1e3 / rawTableDropNs('xdp-paper-2018', false),
    note: NO_VERDICT,
  },
  {
    id: 'conntrack-drop',
    what: 'raw-table drop with conntrack, one core',
    kind: 'drops',
    published: 1.8,
    unit: 'Mpps',
    band: [0.85, 1.15],
    source: XDP_PAPER,
    method: 'cost sum',
    profile: 'xdp-paper-2018',
    compute: () => 1e3 / rawTableDropNs('xdp-paper-2018', true),
    note: `${NO_VERDICT}, plus nf_conntrack_in.`,
  },
  {
    id: 'ip-forward',
    what: 'Linux IP forwarding, one core, one route',
    kind: 'throughput',
    published: 1.74,
    unit: 'Mpps',
    band: [0.85, 1.15],
    source: XDP_PAPER.replace('Fig. 3', 'Fig. 5'),
    method: 'scenario',
    scenario: 'validation/xdp-paper-ip-forward.json',
    profile: 'xdp-paper-2018',
    value: (r) => metric(r, 'flows[fwd].forwarded_pps') / 1e6,
    note: `${FORWARD_NOTE} 5 Mpps offered to one queue (more than the core forwards), out of a second port.`,
  },
  {
    id: 'ip-forward-6-cores',
    what: 'Linux IP forwarding, six cores, one route',
    kind: 'throughput',
    published: 9.29,
    unit: 'Mpps',
    band: [0.85, 1.15],
    source: `${XDP_PAPER.replace('Fig. 3 (one core, 64 B)', 'Fig. 5 (64 B)')}: 9.29 Mpps on the machine's 6 cores`,
    method: 'scenario',
    scenario: 'validation/xdp-paper-ip-forward-6-cores.json',
    profile: 'xdp-paper-2018',
    value: (r) => metric(r, 'flows[fwd].forwarded_pps') / 1e6,
    note: `${FORWARD_NOTE} 20 Mpps offered to six queues, one per core. The model scales linearly (nothing is shared between the cores' queues, XPS gives each its own TX queue); the paper's six cores forward 5.3× one core's rate.`,
  },
  {
    id: 'cai-single-flow',
    what: 'one TCP flow, 9000 MTU, GRO, aRFS: Gbit/s per receiver core',
    kind: 'throughput',
    published: 42,
    unit: 'Gbit/s',
    band: [0.85, 1.15],
    source: CAI,
    method: 'scenario',
    scenario: 'validation/cai-single-flow.json',
    profile: 'cai-2021',
    value: (r) => metric(r, 'flows[iperf3].goodput_gbps') / (r.cpus.reduce((s, c) => s + (100 - c.idle), 0) / 100),
    note: "iperf3's goodput divided by the receiver's busy cores (every CPU's 100 − idle, in cores). The socket's receive buffer starts at 1 MB, so the core, not the window, is the limit, as in the paper. Not an independent check: cai-2021 is fitted to this figure and to the copy's half of the core (test/model/cost-profiles.test.ts).",
  },
  {
    id: 'cai-remote-node',
    what: "the same flow with the reader on the NIC's remote NUMA node: Gbit/s per core relative to the local node",
    kind: 'throughput',
    published: 0.8,
    unit: '×',
    band: [0.9, 1.1],
    source: `${CAI} (≈20 % less per core with the application on the remote NUMA node)`,
    method: 'scenario',
    scenario: 'validation/cai-single-flow-remote-node.json',
    relativeTo: 'validation/cai-single-flow.json',
    profile: 'cai-2021',
    value: (r) => metric(r, 'flows[iperf3].goodput_gbps') / (r.cpus.reduce((s, c) => s + (100 - c.idle), 0) / 100),
    note: "per-core goodput of the remote-node run divided by the local run's, seed by seed. In the model the payload is DMA'd into buffers homed on the reader's node, past the NIC's DDIO, so the copy reads local DRAM (copy_kb_dram), not remote lines: copy_kb_remote, whose value this figure fixed, is not what the run exercises.",
  },
  {
    id: 'seed-lab-cpu1',
    what: 'seed lab: iperf3 in a pod on a core without receive softirq',
    kind: 'throughput',
    published: 10,
    unit: 'Gbit/s',
    band: [0.9, 1.1],
    source: SEED_LAB,
    method: 'scenario',
    scenario: 'sim-scenarios/seed-lab-iperf3-on-cpu1.json',
    profile: 'lab-2020',
    value: (r) => metric(r, 'flows[iperf3].goodput_gbps'),
    note: "flows[iperf3].goodput_gbps of the shipped scenario. The lab's ≈10 is iperf3's rounded report on a 10 GbE link, whose goodput limit at MTU 1500 is 9.41 Gbit/s.",
  },
  {
    id: 'seed-lab-irq-core',
    what: 'seed lab: iperf3 in a pod on the core where ksoftirqd is busy',
    kind: 'throughput',
    published: 5.5,
    unit: 'Gbit/s',
    band: [0.85, 1.15],
    source: SEED_LAB,
    method: 'scenario',
    scenario: 'sim-scenarios/seed-lab-iperf3-on-irq-core.json',
    profile: 'lab-2020',
    value: (r) => metric(r, 'flows[iperf3].goodput_gbps'),
    note: 'flows[iperf3].goodput_gbps of the shipped scenario (lab-2020 was fitted to this figure).',
  },
  {
    id: 'wire-64b',
    what: '10 GbE time per 64 B frame at line rate',
    kind: 'time budget',
    published: 67.2,
    unit: 'ns',
    band: [0.99, 1.01],
    source: 'J. Brouer, "The calculations: 10Gbit/s wirespeed" (2014): (64 + 20) B × 8 / 10 Gbit/s',
    method: 'scenario',
    scenario: 'sim-scenarios/xdp-drop.json',
    profile: 'baremetal-10g',
    value: (r) => r.sim.window_ns / metric(r, 'flows[xdp].offered'),
    note: "the window divided by the frames the wire offered to one port in it (the shipped xdp-drop scenario's eth0 flood).",
  },
  {
    id: 'wire-mtu',
    what: '10 GbE frames per second at line rate, 1500-byte MTU',
    kind: 'time budget',
    published: 812744,
    unit: 'pps',
    band: [0.99, 1.01],
    source: 'J. Brouer, "The calculations: 10Gbit/s wirespeed" (2014): 10 Gbit/s / (1538 B × 8)',
    method: 'scenario',
    scenario: 'validation/wire-10g-mtu.json',
    profile: 'baremetal-10g',
    value: (r) => metric(r, 'flows[mtu].offered') / windowS(r),
    note: 'the frames the wire offered in the window, per second.',
  },
  {
    id: 'md1-socket',
    what: 'M/D/1: mean time in a UDP socket queue (wait + read) vs ρ/(2μ(1−ρ)) + 1/μ',
    kind: 'queueing',
    published: (r) => md1SojournUs(r),
    unit: 'µs',
    band: [0.85, 1.15],
    source: 'M/D/1 (Pollaczek–Khinchine with deterministic service): Wq = ρ/(2μ(1−ρ)); μ and ρ from the reader’s measured busy time per datagram',
    method: 'scenario',
    scenario: 'validation/md1-socket-queue.json',
    profile: 'baremetal-10g',
    value: (r) => metric(r, 'latency_stages_us.socket.mean'),
    note: "Poisson datagrams at 0.4 Mpps, the reader alone on CPU 1 with no cost variation (each recvmsg costs the same). The formula's figure comes from the same run (the reader's sys time per datagram is 1/μ, which includes its wake-ups), so the row tests the queue, not the costs. Arrivals at the socket are the softirq's departures, smoother than Poisson, which puts the model a little below.",
  },
];

/** M/D/1 mean sojourn (µs) for the run: service time from the reader's CPU time per datagram. */
export function md1SojournUs(r: Result): number {
  const delivered = metric(r, 'flows[dgrams].delivered');
  const s = ((metric(r, 'cpus[1].sys') / 100) * r.sim.window_ns) / delivered; // ns per datagram
  const rho = (delivered / r.sim.window_ns) * s;
  return (rho * s) / (2 * (1 - rho)) / 1000 + s / 1000;
}

export interface ValidationRow {
  e: Experiment;
  model: number | null;
  /** Range over the seeds (scenario rows). */
  min: number | null;
  max: number | null;
  published: number;
  ratio: number | null;
  status: 'in band' | 'OUT OF BAND' | 'not modelled';
}

/** Run one experiment: `text` is its scenario file's content (scenario rows), `refText` that of its relativeTo. */
export function runExperiment(e: Experiment, text?: string, refText?: string): ValidationRow {
  const fixed = typeof e.published === 'number' ? e.published : NaN;
  if (e.method === 'not modelled') return { e, model: null, min: null, max: null, published: fixed, ratio: null, status: 'not modelled' };
  let values: number[];
  let published = fixed;
  if (e.method === 'cost sum') values = [e.compute!()];
  else {
    const run = (t: string): Result[] => VALIDATION_SEEDS.map((seed) => collectResult(simulate(loadScenario(t, { seed }).resolved), 0));
    const results = run(text!);
    values = results.map((r) => e.value!(r));
    if (refText !== undefined) {
      const refs = run(refText);
      values = values.map((v, i) => v / e.value!(refs[i]!));
    }
    if (typeof e.published === 'function') published = mean(results.map(e.published));
  }
  const model = mean(values);
  const ratio = model / published;
  return {
    e,
    model,
    min: Math.min(...values),
    max: Math.max(...values),
    published,
    ratio,
    status: ratio >= e.band[0] && ratio <= e.band[1] ? 'in band' : 'OUT OF BAND',
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const fmt = (v: number | null, digits = 3): string => (v === null || !Number.isFinite(v) ? '—' : String(+v.toPrecision(digits)));

/** docs/VALIDATION.md: the table and its notes. */
export function validationMarkdown(rows: ValidationRow[]): string {
  const lines = [
    '# How far to trust rxsim: published figures against the model',
    '',
    '<!-- generated by `rxsim validate --out docs/VALIDATION.md`; test/cli/validate.test.ts fails when it is stale -->',
    '',
    `Each row is a published experiment run as a scenario on the cost profile of the source's machine (src/model/costs.ts), seeds ${VALIDATION_SEEDS.join(', ')} (the model column is their mean, the range their spread), or, where rxsim has no mechanism for the experiment, says how the value was obtained or that it is not modelled. The band is on the ratio model / published and was set from the source's precision, not from the model: a row outside it is a finding, not a test failure.`,
    '',
    '| experiment | kind | profile | method | model | range | published | ratio | band | status |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const e = r.e;
    const range = r.min !== null && r.max !== null && r.min !== r.max ? `${fmt(r.min)}–${fmt(r.max)}` : '—';
    lines.push(
      `| ${e.what} | ${e.kind} | \`${e.profile}\` | ${e.method}${e.scenario ? ` (\`${e.scenario}\`)` : ''} | ${r.model === null ? '—' : `${fmt(r.model)} ${e.unit}`} | ${range} | ${fmt(r.published)} ${e.unit} | ${fmt(r.ratio)} | ${e.band[0]}–${e.band[1]} | ${r.status === 'in band' ? 'in band' : `**${r.status}**`} |`,
    );
  }
  lines.push('', '## Sources and notes', '');
  for (const r of rows) lines.push(`- **${r.e.what}** — ${r.e.source}. ${r.e.note}`);
  lines.push('');
  return lines.join('\n');
}
