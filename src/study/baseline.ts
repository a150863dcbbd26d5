import { z } from 'zod';
import { InputError } from '../scenario/errors.ts';
import { firstIssueAsError } from '../scenario/zod-errors.ts';
import { extractMetric, metricProblem } from './metrics.ts';
import { moments, welchMoments, type WelchResult } from './stats.ts';

/**
 * Baselines for `rxsim check --baseline FILE`: per scenario, the metrics that matter as n, mean
 * and sd over seeded replicas, and each replica's digest. A later check runs the same replicas
 * and calls a metric CHANGED only when it moved significantly — Welch's t-test from the two
 * samples' moments at level `alpha` — *and* by more than its tolerance. The first condition
 * keeps seed noise out; the second keeps out differences too small to matter, which with many
 * replicas a test finds significant. `--exact` compares digests instead (the model's own CI:
 * any change of any rule shows). See docs/ci.md.
 */

export const BASELINE_FORMAT = 1;
/** Seeds of a new baseline: five replicas give a 95 % interval about ±1.2 sd wide (t₀.₉₇₅,₄ = 2.78 / √5). */
export const DEFAULT_BASELINE_SEEDS = [1, 2, 3, 4, 5];
/** Level of the test. 0.01 rather than 0.05: a baseline holds hundreds of metrics, and at 0.05 one in twenty unchanged ones would be significant by chance (the tolerance then decides, but the report stays quieter). */
export const DEFAULT_ALPHA = 0.01;

const tolerance = z
  .object({
    rel: z.number().min(0).optional().describe('relative to |baseline mean| (0.05 = 5 %)'),
    abs: z.number().min(0).optional().describe("absolute, in the metric's unit"),
  })
  .strict();
export type Tolerance = z.infer<typeof tolerance>;

/** Patterns over metric paths (`*` matches any characters) → tolerance. */
const tolerances = z.record(z.string().min(1), tolerance);
export type Tolerances = z.infer<typeof tolerances>;

const metricStats = z
  .object({
    n: z.number().int().min(0),
    mean: z.number().nullable(),
    sd: z.number().min(0).nullable(),
  })
  .strict();
export type MetricStats = z.infer<typeof metricStats>;

const scenarioBaseline = z
  .object({
    file: z.string().describe('the scenario file the baseline was made from (informational)'),
    digests: z.record(z.string().regex(/^\d+$/), z.string()).describe('seed → digest of that run'),
    tolerance: tolerances.optional().describe('tolerances for this scenario, before the file-wide ones'),
    metrics: z.record(z.string().min(1), metricStats),
  })
  .strict();
export type ScenarioBaseline = z.infer<typeof scenarioBaseline>;

export const baselineSchema = z
  .object({
    rxsim_baseline: z.literal(BASELINE_FORMAT),
    rxsim_version: z.string().describe('the rxsim that wrote it'),
    seeds: z.array(z.number().int().min(0)).min(1),
    alpha: z.number().gt(0).lt(1).describe("level of Welch's test"),
    overrides: z
      .object({ set: z.array(z.string()), apply: z.array(z.string()) })
      .strict()
      .describe('the --set and --apply the baseline was made with'),
    tolerance: tolerances.describe('file-wide tolerances: the most specific matching pattern wins'),
    scenarios: z.record(z.string(), scenarioBaseline).describe('by scenario name'),
  })
  .strict();
export type Baseline = z.infer<typeof baselineSchema>;

/**
 * The tolerances a new baseline starts with (edit them in the file; `--update-baseline` keeps
 * them). A change must exceed max(rel × |baseline mean|, abs):
 *  - 5 % for anything else (throughput, goodput, interrupt rates);
 *  - CPU shares in percentage points of one CPU: 2 points, because a share near 0 has no useful
 *    relative scale;
 *  - latency percentiles 10 %: a percentile of a few hundred samples per replica moves more than
 *    a mean;
 *  - drop counts 10 % and at least 20 packets: a count near zero is all noise in relative terms.
 */
export const DEFAULT_TOLERANCES: Tolerances = {
  '*': { rel: 0.05 },
  'cpus[*]': { abs: 2 },
  'latency_us.*': { rel: 0.1 },
  'packets.dropped.*': { rel: 0.1, abs: 20 },
};

/** The JSON Schema of baseline files (`rxsim schema --baseline`). */
export function baselineJsonSchema(): object {
  const schema = z.toJSONSchema(baselineSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://rxsim.invalid/baseline.schema.json', title: 'rxsim baseline' };
}

/** Parse and validate a baseline file's object; errors name the JSON path. */
export function parseBaseline(raw: unknown, file: string): Baseline {
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) {
    const e = firstIssueAsError(parsed.error.issues, baselineSchema);
    throw new InputError(`${file}: ${e.where}`, e.problem);
  }
  return parsed.data;
}

/** A result's list entries by name where names are unique (flows[iperf3]), else by index. */
function entryKeys(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const names = list.map((e) => (e && typeof e === 'object' && typeof (e as { name?: unknown }).name === 'string' ? (e as { name: string }).name : null));
  const unique = names.every((n) => n !== null && !/[[\].]/.test(n)) && new Set(names).size === names.length;
  return list.map((_, i) => (unique ? names[i]! : String(i)));
}

/**
 * The metrics a baseline keeps for a scenario: its expectations' metrics, then goodput per flow,
 * drops per place, each CPU's idle share (and usr/sys/irq/soft on the CPUs any replica used),
 * p50/p99 latency and interrupts per second. Paths that a result lacks are left out.
 */
export function baselineMetricPaths(results: readonly unknown[], expectationMetrics: readonly string[]): string[] {
  const first = results[0] as Record<string, unknown> | undefined;
  if (!first) return [...expectationMetrics];
  const out: string[] = [...expectationMetrics];
  const flows = first.flows as unknown[] | undefined;
  entryKeys(flows).forEach((key) => out.push(`flows[${key}].goodput_gbps`));
  const dropped = (first.packets as { dropped?: Record<string, unknown> } | undefined)?.dropped ?? {};
  for (const place of Object.keys(dropped)) out.push(`packets.dropped.${place}`);
  const cpus = (first.cpus as { idle?: number }[] | undefined) ?? [];
  cpus.forEach((_, i) => {
    out.push(`cpus[${i}].idle`);
    const used = results.some((r) => ((r as { cpus?: { idle?: number }[] }).cpus?.[i]?.idle ?? 100) < 100);
    if (used) for (const field of ['usr', 'sys', 'irq', 'soft']) out.push(`cpus[${i}].${field}`);
  });
  out.push('latency_us.p50', 'latency_us.p99', 'interrupts.per_sec');
  // A path the result has (a latency that is null because nothing was delivered included: if it
  // later has a value, that is a change).
  return [...new Set(out)].filter((p) => expectationMetrics.includes(p) || metricProblem(first, p) === undefined);
}

/** Six significant digits: enough for any test at the replicas' spread, and a file that diffs cleanly. */
const round6 = (x: number | null): number | null => (x === null ? null : Number(x.toPrecision(6)));

/** n, mean and sd of a metric over replicas (nulls left out). */
export function metricStatsOf(values: readonly (number | null)[]): MetricStats {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const m = moments(xs);
  return { n: m.n, mean: round6(m.mean), sd: m.variance === null ? null : round6(Math.sqrt(m.variance)) };
}

/** A scenario's baseline entry from its replicas' results (seeds in the same order). */
export function scenarioBaselineOf(file: string, seeds: readonly number[], results: readonly { digest: string }[], expectationMetrics: readonly string[], keep?: ScenarioBaseline): ScenarioBaseline {
  const metrics: Record<string, MetricStats> = {};
  for (const path of baselineMetricPaths(results, expectationMetrics)) metrics[path] = metricStatsOf(results.map((r) => extractMetric(r, path)));
  const digests: Record<string, string> = {};
  seeds.forEach((s, i) => (digests[String(s)] = results[i]!.digest));
  return { file, digests, ...(keep?.tolerance ? { tolerance: keep.tolerance } : {}), metrics };
}

/**
 * `*` matches any run of characters, everything else literally; a pattern covers the metrics
 * below what it matches too (`cpus[*]` covers `cpus[3].soft`).
 */
function patternMatches(pattern: string, path: string): boolean {
  const body = pattern
    .split('*')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}(?:$|(?=[.[]))`).test(path);
}

/** The literal characters of a pattern: the more, the more specific. */
const specificity = (pattern: string): number => pattern.replaceAll('*', '').length + (pattern.includes('*') ? 0 : 1e6);

/** The tolerance of a metric: the scenario's most specific matching pattern, else the file's, else none (exact). */
export function toleranceFor(path: string, scenario: Tolerances | undefined, file: Tolerances): { pattern: string; tolerance: Tolerance } | null {
  for (const set of [scenario ?? {}, file]) {
    const best = Object.keys(set)
      .filter((p) => patternMatches(p, path))
      .sort((a, b) => specificity(b) - specificity(a) || a.localeCompare(b))[0];
    if (best !== undefined) return { pattern: best, tolerance: set[best]! };
  }
  return null;
}

/** The smallest change the tolerance lets count: max(rel × |mean|, abs). */
export function toleranceLimit(t: Tolerance | undefined, baseMean: number | null): number {
  if (!t) return 0;
  return Math.max((t.rel ?? 0) * Math.abs(baseMean ?? 0), t.abs ?? 0);
}

export type Verdict = 'same' | 'noise' | 'within-tolerance' | 'changed';

export interface MetricComparison {
  metric: string;
  base: MetricStats;
  now: MetricStats;
  welch: WelchResult;
  /** The limit a change must exceed, and the pattern it came from. */
  limit: number;
  tolerance: string;
  verdict: Verdict;
}

/**
 * One metric against its baseline. CHANGED needs p < alpha and |Δ| > limit; a metric present on
 * one side only (a latency that became null) is CHANGED too.
 */
export function compareMetric(metric: string, base: MetricStats, nowValues: readonly (number | null)[], alpha: number, tol: { pattern: string; tolerance: Tolerance } | null): MetricComparison {
  // Both sides at the file's precision: a deterministic metric compared with its own rounded
  // value would otherwise differ in the seventh digit with no spread, i.e. "significantly".
  const now = metricStatsOf(nowValues);
  const asMoments = (s: MetricStats) => ({ n: s.n, mean: s.mean, variance: s.sd === null ? null : s.sd * s.sd });
  const w = welchMoments(asMoments(base), asMoments(now), 1 - alpha);
  const limit = toleranceLimit(tol?.tolerance, base.mean);
  const tolerance = tol ? describeTolerance(tol.tolerance, limit) : 'none';
  let verdict: Verdict;
  if ((base.mean === null) !== (now.mean === null)) verdict = 'changed';
  else if (w.diff === null || w.diff === 0) verdict = 'same';
  else if (w.status === 'too-few') {
    // A side with fewer than two values has no spread to test against (a metric null in most
    // replicas): the tolerance alone decides.
    verdict = Math.abs(w.diff) > limit ? 'changed' : 'within-tolerance';
  } else if (w.p === null || w.p >= alpha) verdict = 'noise';
  else verdict = Math.abs(w.diff) > limit ? 'changed' : 'within-tolerance';
  return { metric, base, now, welch: w, limit, tolerance, verdict };
}

function describeTolerance(t: Tolerance, limit: number): string {
  const parts = [t.rel !== undefined ? `${+(t.rel * 100).toPrecision(3)} %` : '', t.abs !== undefined ? `${t.abs} abs` : ''].filter(Boolean);
  return `${parts.join(', ') || '0'} (${+limit.toPrecision(3)})`;
}

export interface DigestComparison {
  seed: number;
  base: string | undefined;
  now: string;
  pass: boolean;
}

/** What `check --baseline` found for one scenario. */
export interface BaselineCheck {
  scenario: string;
  /** No entry in the baseline: nothing to compare (not a failure; --update-baseline adds it). */
  missing: boolean;
  metrics: MetricComparison[];
  digests: DigestComparison[];
}

/** Compare a scenario's replicas (results in `seeds` order) with its baseline entry. */
export function checkAgainstBaseline(
  scenario: string,
  entry: ScenarioBaseline | undefined,
  baseline: Baseline,
  seeds: readonly number[],
  results: readonly { digest: string }[],
  exact: boolean,
): BaselineCheck {
  if (!entry) return { scenario, missing: true, metrics: [], digests: [] };
  if (exact) {
    const digests = seeds.map((seed, i) => {
      const base = entry.digests[String(seed)];
      const now = results[i]!.digest;
      return { seed, base, now, pass: base === now };
    });
    return { scenario, missing: false, metrics: [], digests };
  }
  const metrics = Object.entries(entry.metrics).map(([metric, base]) =>
    compareMetric(
      metric,
      base,
      results.map((r) => extractMetric(r, metric)),
      baseline.alpha,
      toleranceFor(metric, entry.tolerance, baseline.tolerance),
    ),
  );
  return { scenario, missing: false, metrics, digests: [] };
}

export const baselineFailures = (c: BaselineCheck): number => c.metrics.filter((m) => m.verdict === 'changed').length + c.digests.filter((d) => !d.pass).length;

/** The file's text: keys in a stable order (scenarios by name), two-space indent, a final newline. */
export function baselineText(b: Baseline): string {
  const scenarios: Record<string, ScenarioBaseline> = {};
  for (const name of Object.keys(b.scenarios).sort()) scenarios[name] = b.scenarios[name]!;
  const ordered: Baseline = {
    rxsim_baseline: b.rxsim_baseline,
    rxsim_version: b.rxsim_version,
    seeds: b.seeds,
    alpha: b.alpha,
    overrides: b.overrides,
    tolerance: b.tolerance,
    scenarios,
  };
  // One line per metric, tolerance and seed list: a change to one value is a one-line diff.
  return `${JSON.stringify(ordered, null, 2)
    .replace(/\{\n\s+"n": ([^,\n]+),\n\s+"mean": ([^,\n]+),\n\s+"sd": ([^,\n]+)\n\s+\}/g, '{ "n": $1, "mean": $2, "sd": $3 }')
    .replace(/\{\n\s+("(?:rel|abs)": [^,\n]+)(?:,\n\s+("(?:rel|abs)": [^,\n]+))?\n\s+\}/g, (_m, a: string, b?: string) => `{ ${a}${b ? `, ${b}` : ''} }`)
    .replace(
      /"seeds": \[([\d,\s]*)\]/,
      (_m, list: string) =>
        `"seeds": [${list
          .split(',')
          .map((x) => x.trim())
          .join(', ')}]`,
    )}\n`;
}
