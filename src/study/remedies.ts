/**
 * The counterfactual half of `rxsim explain`: each remedy for a flow's limit run with the same
 * seeds as the unchanged scenario, and its effect on the flow's own measure of success — goodput
 * for TCP, transactions per second for a request/response flow, delivered Gbit/s otherwise — as
 * a difference of means with a Welch confidence interval, so "it helps" is a claim with an error bar.
 *
 * The runs are one sweep (prepareSweep) with one axis, the scenario's `apply` list: its first value
 * is the list as it is (the unchanged scenario), each further value that list followed by one
 * remedy's commands. `rxsim explain` runs it in worker threads and the browser's Explain panel in
 * the Sweep tab's Web Worker pool; both summarize the same rows with `remedyResults`, so their
 * figures are the same for the same scenario and seeds.
 */
import type { Explanation, FlowExplanation } from './explain.ts';
import { summarize, welch, type Summary, type WelchResult } from './stats.ts';
import { prepareSweep, type Sweep } from './sweep.ts';
import { alignedTable, fmtNumber } from './table.ts';

export interface RemedyResult {
  flow: string;
  remedy: string;
  commands: string[];
  metric: string;
  baseline: Summary;
  with_remedy: Summary;
  effect: WelchResult;
  /**
   * The verdict at 95 %: helps, hurts, or no significant change; "helps partly" when it helps but
   * its interval lies wholly below the best remedy's (RPS that leaves the driver and GRO where they were).
   */
  verdict: 'helps' | 'helps partly' | 'hurts' | 'no significant change';
  /** For a limiting CPU: its idle share (%) over the replicas, without and with the remedy (`cpus[N].idle`). */
  cpu_idle?: { cpu: number; baseline: number | null; with_remedy: number | null };
  /** Why a remedy that does not fully help falls short, from its own runs (and what it leaves in place); absent when it helps. */
  why_not?: string;
}

/**
 * The flow's measure of success, as a result path. A UDP flood to a port nothing listens on
 * delivers nothing by design: its measure is how many datagrams the stack got through to the
 * socket lookup (__udp4_lib_rcv counts UdpNoPorts and frees them, SKB_DROP_REASON_NO_SOCKET), the
 * receive path's throughput for it — when it is the run's only such flow, so that the counter
 * (present in every result, unlike a flow's drops at a place) is its own.
 */
export function remedyMetric(f: FlowExplanation, e?: Explanation): string {
  if (f.outcome.transactions_per_sec !== undefined) return `rr[${f.flow}].transactions_per_sec`;
  if (f.outcome.forwarded_pps !== undefined) return `flows[${f.flow}].forwarded_pps`;
  const closedPort = (g: FlowExplanation): boolean => g.losses.some((l) => l.place === 'no_socket');
  if (f.proto === 'udp' && f.outcome.delivered_gbps === 0 && closedPort(f) && e !== undefined && e.flows.filter(closedPort).length === 1) return 'nstat.UdpNoPorts';
  return f.proto === 'tcp' ? `flows[${f.flow}].goodput_gbps` : `flows[${f.flow}].delivered_gbps`;
}

/** The metrics each remedy run records: the flow's measure of success, then the limiting CPU's idle share. */
export function remedyMetrics(f: FlowExplanation, e?: Explanation): string[] {
  return [remedyMetric(f, e), ...(f.limit.cpu !== undefined ? [`cpus[${f.limit.cpu}].idle`] : [])];
}

/**
 * The sweep that proves a flow's remedies (of explanation `e`): axis `apply`, value 0 the scenario's
 * own apply list, value i + 1 that list and remedy i's commands; `seeds` for every value. Checked as every sweep is (each
 * point loaded and probed), so a remedy the scenario cannot take is an InputError naming it.
 */
export function remedySweep(scenario: Record<string, unknown>, label: string, f: FlowExplanation, seeds: number[], e?: Explanation): Sweep {
  const own = Array.isArray(scenario.apply) ? (scenario.apply as unknown[]) : [];
  const values = [own, ...f.remedies.map((r) => [...own, ...r.commands])];
  return prepareSweep({ scenario, scenarioLabel: label, axes: [{ kind: 'set', name: 'apply', values, source: `remedies of flow ${f.flow}` }], seeds, metrics: remedyMetrics(f, e) });
}

/** The remedies' results from the sweep's runs: `metricsOf(run)` is a run's metrics in the sweep's order (runs are point-major: the unchanged scenario's seeds first). */
export function remedyResults(f: FlowExplanation, sweep: Sweep, metricsOf: (run: number) => readonly (number | null)[] | undefined): RemedyResult[] {
  const n = sweep.seeds.length;
  const column = (point: number, m: number): (number | null)[] => Array.from({ length: n }, (_, s) => metricsOf(point * n + s)?.[m] ?? null);
  const results = summarizeRemedies(f, sweep.metrics[0]!, column(0, 0), (i) => column(i + 1, 0));
  const cpu = f.limit.cpu;
  if (cpu === undefined || sweep.metrics.length < 2) return results.map((r, i) => withWhyNot(f, r, i));
  const idle0 = summarize(column(0, 1)).mean;
  return results.map((r, i) => withWhyNot(f, { ...r, cpu_idle: { cpu, baseline: idle0, with_remedy: summarize(column(i + 1, 1)).mean } }, i));
}

/** Each remedy's replicas (`valuesOf(i)`) against the baseline's, in the remedies' order. */
export function summarizeRemedies(f: FlowExplanation, metric: string, baseline: readonly (number | null)[], valuesOf: (i: number) => readonly (number | null)[]): RemedyResult[] {
  const base = summarize(baseline);
  const out = f.remedies.map((r, i): RemedyResult => {
    const values = valuesOf(i);
    const effect = welch(baseline, values);
    const significant = effect.status === 'tested' && effect.p !== null && effect.p < 0.05;
    const diff = effect.diff ?? 0;
    const verdict: RemedyResult['verdict'] = significant || (effect.status === 'no-variance' && diff !== 0) ? (diff > 0 ? 'helps' : 'hurts') : 'no significant change';
    return { flow: f.flow, remedy: r.name, commands: [...r.commands], metric, baseline: base, with_remedy: summarize(values), effect, verdict };
  });
  return markPartial(out);
}

/** A CPU with at most this much idle time (%) has none to give (explain's SATURATED_IDLE_PCT). */
const SATURATED = 2;
const pct = (x: number | null): string => (x === null ? '?' : `${fmtNumber(x, 3)} %`);

/**
 * Why a remedy falls short, read from its own runs: the limiting CPU still has no idle time (the
 * work it moved was not what filled it), or it has time now and something else holds the flow —
 * with what the remedy is known to leave in place (RPS: the driver's poll and GRO).
 */
function withWhyNot(f: FlowExplanation, r: RemedyResult, i: number): RemedyResult {
  const leaves = f.remedies[i]!.leaves;
  if (r.verdict === 'helps') return r;
  if (!r.cpu_idle) return leaves ? { ...r, why_not: `it leaves ${leaves}` } : r;
  const { cpu, baseline, with_remedy } = r.cpu_idle;
  const still = with_remedy !== null && with_remedy <= SATURATED;
  const measured = still
    ? `CPU ${cpu} still has no idle time with it (cpus[${cpu}].idle ${pct(baseline)} → ${pct(with_remedy)})`
    : `CPU ${cpu} gains idle time (cpus[${cpu}].idle ${pct(baseline)} → ${pct(with_remedy)}) but the flow gains ${r.verdict === 'helps partly' ? 'less than with the best remedy' : 'nothing'}: another limit takes over`;
  return { ...r, why_not: leaves ? `${measured}; it leaves ${leaves}` : measured };
}

/** A helping remedy whose interval lies wholly below the best helping remedy's helps only partly. */
function markPartial(rs: RemedyResult[]): RemedyResult[] {
  const helping = rs.filter((r) => r.verdict === 'helps' && r.effect.ci_lo !== null);
  const best = helping.reduce<RemedyResult | null>((b, r) => (b === null || r.effect.diff! > b.effect.diff! ? r : b), null);
  if (!best) return rs;
  return rs.map((r) => (r.verdict === 'helps' && r !== best && r.effect.ci_hi !== null && r.effect.ci_hi < best.effect.ci_lo! ? { ...r, verdict: 'helps partly' } : r));
}

const n3 = (x: number | null): string => fmtNumber(x, 4);

/** The remedies as a table: per remedy the metric's mean with and without it, the difference with its 95 % CI, and the verdict; then why those that fall short do, and the commands. */
export function remedyTable(rs: readonly RemedyResult[], seeds: readonly number[]): string {
  const rows = rs.map((r) => [
    r.flow,
    r.remedy,
    r.metric,
    n3(r.baseline.mean),
    n3(r.with_remedy.mean),
    r.effect.diff === null ? '' : `${r.effect.diff >= 0 ? '+' : ''}${n3(r.effect.diff)}`,
    r.effect.ci_lo === null ? '' : `[${n3(r.effect.ci_lo)}, ${n3(r.effect.ci_hi)}]`,
    r.verdict,
  ]);
  const head = `remedies, each run with seeds ${seeds.join(',')} against the unchanged scenario (Welch 95 % CI of the difference):`;
  const whyNot = rs.filter((r) => r.why_not).map((r) => `  ${r.remedy} — ${r.verdict}: ${r.why_not}`);
  const commands = rs.flatMap((r) => [`  ${r.remedy}:`, ...r.commands.map((c) => `    ${c}`)]);
  return [
    head,
    alignedTable(['flow', 'remedy', 'metric', 'now', 'with it', 'change', '95 % CI', 'verdict'], rows).trimEnd(),
    ...(whyNot.length > 0 ? ['', 'why some fall short:', ...whyNot] : []),
    '',
    'to apply:',
    ...commands,
  ].join('\n');
}
