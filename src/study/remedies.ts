/**
 * The counterfactual half of `rxsim explain`: each remedy for a flow's limit run with the same
 * seeds as the unchanged scenario, and its effect on the flow's own measure of success — goodput
 * for TCP, transactions per second for a request/response flow, delivered Gbit/s otherwise — as
 * a difference of means with a Welch confidence interval, so "it helps" is a claim with an error bar.
 */
import type { FlowExplanation } from './explain.ts';
import { summarize, welch, type Summary, type WelchResult } from './stats.ts';
import { alignedTable, fmtNumber } from './table.ts';

export interface RemedyResult {
  flow: string;
  remedy: string;
  command: string;
  metric: string;
  baseline: Summary;
  with_remedy: Summary;
  effect: WelchResult;
  /**
   * The verdict at 95 %: helps, hurts, or no significant change; "helps partly" when it helps but
   * its interval lies wholly below the best remedy's (RPS that leaves the driver and GRO where they were).
   */
  verdict: 'helps' | 'helps partly' | 'hurts' | 'no significant change';
}

/** The flow's measure of success, as a result path. */
export function remedyMetric(f: FlowExplanation): string {
  if (f.outcome.transactions_per_sec !== undefined) return `rr[${f.flow}].transactions_per_sec`;
  if (f.outcome.forwarded_pps !== undefined) return `flows[${f.flow}].forwarded_pps`;
  return f.proto === 'tcp' ? `flows[${f.flow}].goodput_gbps` : `flows[${f.flow}].delivered_gbps`;
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
    return { flow: f.flow, remedy: r.name, command: r.command, metric, baseline: base, with_remedy: summarize(values), effect, verdict };
  });
  return markPartial(out);
}

/** A helping remedy whose interval lies wholly below the best helping remedy's helps only partly. */
function markPartial(rs: RemedyResult[]): RemedyResult[] {
  const helping = rs.filter((r) => r.verdict === 'helps' && r.effect.ci_lo !== null);
  const best = helping.reduce<RemedyResult | null>((b, r) => (b === null || r.effect.diff! > b.effect.diff! ? r : b), null);
  if (!best) return rs;
  return rs.map((r) => (r.verdict === 'helps' && r !== best && r.effect.ci_hi !== null && r.effect.ci_hi < best.effect.ci_lo! ? { ...r, verdict: 'helps partly' } : r));
}

const n3 = (x: number | null): string => fmtNumber(x, 4);

/** The remedies as a table: per remedy the metric's mean with and without it, the difference with its 95 % CI, and the verdict. */
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
  return `${head}\n${alignedTable(['flow', 'remedy', 'metric', 'now', 'with it', 'change', '95 % CI', 'verdict'], rows)}\n${rs.map((r) => `  ${r.remedy}: ${r.command}`).join('\n')}`;
}
