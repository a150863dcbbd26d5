import { entryNamed, metricValue } from '../metrics/result.ts';
import { InputError, nearest } from '../scenario/errors.ts';

/**
 * Metrics of a sweep: result paths as `rxsim check` reads them (`throughput.delivered_gbps`,
 * `flows[0].goodput_gbps`, `cpus[4].soft`), plus `*` for "every key or index here", summed
 * (`packets.dropped.*` is every drop, `cpus[*].soft` the softirq share of all CPUs).
 */

/**
 * The metrics a sweep records when none is named: what a tuning question usually looks at —
 * throughput on the wire and to the first flow's application, latency (median and tail), the
 * interrupt rate the moderation knobs trade against it, and all drops together. Those the
 * scenario's result does not have (a scenario without flows has no `flows[0]`) are left out.
 */
export const DEFAULT_METRICS = ['throughput.delivered_gbps', 'flows[0].goodput_gbps', 'latency_us.p50', 'latency_us.p99', 'interrupts.per_sec', 'packets.dropped.*'] as const;

/** The parts of a metric path, as `metricValue` splits it. */
function parts(path: string): string[] {
  return path.match(/[^.[\]]+/g) ?? [];
}

/** The leaves a path reaches (several through `*`); undefined where a step does not exist. */
function reach(root: unknown, ps: readonly string[]): unknown[] | undefined {
  let cur: unknown[] = [root];
  for (const p of ps) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (c === null || typeof c !== 'object') return undefined;
      if (p === '*') next.push(...Object.values(c as Record<string, unknown>));
      else if (Array.isArray(c) && !/^\d+$/.test(p)) {
        // A list entry by name (flows[iperf3], tasks[ksoftirqd/4]), as metricValue reads it.
        const entry = entryNamed(c, p);
        if (entry === undefined) return undefined;
        next.push(entry);
      } else if (p in c) next.push((c as Record<string, unknown>)[p]);
      else return undefined;
    }
    cur = next;
  }
  return cur;
}

/**
 * The value of a metric in a result: a number, or null where the result has none (a latency
 * when nothing was delivered). A `*` path sums its numbers (null when every leaf is null).
 */
export function extractMetric(result: unknown, path: string): number | null {
  if (!path.includes('*')) return metricValue(result, path) ?? null;
  const leaves = reach(result, parts(path)) ?? [];
  const numbers = leaves.filter((v): v is number => typeof v === 'number');
  return numbers.length === 0 ? null : numbers.reduce((a, b) => a + b, 0);
}

export function extractMetrics(result: unknown, paths: readonly string[]): (number | null)[] {
  return paths.map((p) => extractMetric(result, p));
}

/** The name a list entry can be addressed by (as entryNamed reads it), if it has one. */
function entryName(e: unknown): string | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const o = e as Record<string, unknown>;
  for (const key of ['name', 'comm', 'app', 'flow']) if (typeof o[key] === 'string' && !/[[\].]/.test(o[key])) return o[key];
  return typeof o.queue === 'number' ? `rx-${o.queue}` : undefined;
}

/** Every numeric (or null) leaf of a result, as metric paths (`cpus[2].soft`); with `named`, list entries by name as well (`flows[iperf3].goodput_gbps`). */
export function numericPaths(result: unknown, named = false): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'number' || v === null) {
      if (path) out.push(path);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(x, `${path}[${i}]`);
        const name = named ? entryName(x) : undefined;
        if (name !== undefined) walk(x, `${path}[${name}]`);
      });
    } else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, path ? `${path}.${k}` : k);
    }
  };
  walk(result, '');
  return out;
}

/**
 * Why `path` is not a metric of this result (undefined when it is): it must reach at least one
 * leaf, and every leaf must be a number or null.
 */
export function metricProblem(result: unknown, path: string): string | undefined {
  const ps = parts(path);
  const leaves = ps.length ? reach(result, ps) : undefined;
  const expected = 'expected a numeric result path like throughput.delivered_gbps, flows[0].goodput_gbps or packets.dropped.*';
  if (leaves === undefined || leaves.length === 0) {
    // A path that names list entries is compared with named paths too (flows[iperf] → flows[iperf3]).
    const near = nearest(path, numericPaths(result, /\[[^\]]*[^\d\]*][^\]]*\]/.test(path)));
    return `no such metric in the result${near ? ` (did you mean "${near}"?)` : ''}; ${expected}`;
  }
  const bad = leaves.find((v) => typeof v !== 'number' && v !== null);
  if (bad !== undefined) {
    const keys = bad && typeof bad === 'object' ? Object.keys(bad).slice(0, 8) : [];
    if (keys.length) return `is not a number but ${Array.isArray(bad) ? 'a list' : 'an object'} (pick a field${Array.isArray(bad) ? ' like [0]' : `: ${keys.join(', ')}`}, or sum them with ${path}.*)`;
    return `is not a number but ${JSON.stringify(bad)}; ${expected}`;
  }
  return undefined;
}

/** Throw for the first metric this result does not have. `label` names where the metrics came from. */
export function checkMetrics(result: unknown, paths: readonly string[], label: (path: string) => string): void {
  for (const path of paths) {
    const problem = metricProblem(result, path);
    if (problem) throw new InputError(label(path), problem);
  }
}
