import { InputError } from '../scenario/errors.ts';
import { extractMetric } from './metrics.ts';
import type { SeriesTable } from './series-csv.ts';

/**
 * A `measure` file as a calibrate observation: the series `rxsim measure --out` writes (or
 * `rxsim run --series-out`: the same CSV) reduced over the measured window to the values the fit
 * compares with a run's result — per-CPU shares as mpstat shows them, the device interrupts per
 * second, and packet rates from the counters.
 *
 * Series names → result metrics:
 *   cpus.N.usr|sys|irq|soft|idle      → cpus[N].usr … (per cent of the window; the mean of the intervals)
 *   interrupts_per_sec                → interrupts.per_sec
 *   nstat_per_sec.<Counter>           → per_sec(nstat.<Counter>)         (the counter over the run's window, per second)
 *   ethtool_per_sec.<dev>.<counter>   → per_sec(ethtool_S.<dev>.<counter>)
 *   softnet_per_sec.processed         → per_sec(stack.processed)
 * Everything else a measure writes (per-vector interrupts, softirqs by CPU, sysfs rx_packets) has
 * no counterpart in a result and is not used.
 *
 * A rate's model side is `per_sec(path)`: the result's counter at `path` divided by the window.
 */

/** The series' values kept by default: per-CPU shares, interrupts/s, and these packet rates where the series has them. */
const DEFAULT_RATES = /^(nstat\.(IpInReceives|IpForwDatagrams|UdpInDatagrams|UdpNoPorts|TcpInSegs)|ethtool_S\.[^.]+\.(rx_packets|tx_packets)|stack\.processed)$/;

/** The result metric of a series name, or null where a result has none. */
export function resultMetricOf(series: string): string | null {
  let m = /^cpus\.(\d+)\.(usr|sys|irq|soft|idle)$/.exec(series);
  if (m) return `cpus[${m[1]}].${m[2]}`;
  if (series === 'interrupts_per_sec') return 'interrupts.per_sec';
  m = /^nstat_per_sec\.(\w+)$/.exec(series);
  if (m) return `per_sec(nstat.${m[1]})`;
  m = /^ethtool_per_sec\.([^.]+)\.(\w+)$/.exec(series);
  if (m) return `per_sec(ethtool_S.${m[1]}.${m[2]})`;
  if (series === 'softnet_per_sec.processed') return 'per_sec(stack.processed)';
  return null;
}

/** The counter path inside `per_sec(…)`, or null for a plain metric. */
export function perSecInner(metric: string): string | null {
  const m = /^per_sec\((.+)\)$/.exec(metric);
  return m ? m[1]! : null;
}

/** A measured metric's value in a run's result: a plain metric path, or per_sec(counter) over the window. */
export function observedMetric(result: { sim: { window_ns: number } }, metric: string): number | null {
  const inner = perSecInner(metric);
  if (inner === null) return extractMetric(result, metric);
  const v = extractMetric(result, inner);
  return v === null || result.sim.window_ns <= 0 ? null : v / (result.sim.window_ns / 1e9);
}

export interface MeasureReduction {
  /** Only intervals ending after from_ms and at or before to_ms (the measured window), ms of the file's time axis. */
  fromMs?: number | undefined;
  toMs?: number | undefined;
  /** The result metrics to keep (default: per-CPU usr/sys/irq/soft, interrupts.per_sec and the packet rates of DEFAULT_RATES the series has). */
  metrics?: readonly string[] | undefined;
}

/** The measured values of a series over its window: each kept metric's mean over the window's intervals. `where` names the file in errors. */
export function measuredValues(table: SeriesTable, o: MeasureReduction, where: string): Record<string, number> {
  const from = o.fromMs ?? -Infinity;
  const to = o.toMs ?? Infinity;
  const all = new Map<string, number>();
  for (const [series, col] of table.metrics) {
    const metric = resultMetricOf(series);
    if (metric === null) continue;
    let sum = 0;
    let n = 0;
    col.t.forEach((t, i) => {
      if (t > from && t <= to) {
        sum += col.v[i]!;
        n++;
      }
    });
    if (n > 0) all.set(metric, sum / n);
  }
  if (all.size === 0) throw new InputError(where, `has no interval in the measured window with a metric calibrate fits (cpus.N.*, interrupts_per_sec, nstat_per_sec.*, ethtool_per_sec.*)`);
  const out: Record<string, number> = {};
  if (o.metrics) {
    for (const m of o.metrics) {
      const v = all.get(m);
      if (v === undefined) throw new InputError(`${where}: metrics`, `"${m}" is not in the series; it has ${[...all.keys()].sort().join(', ')}`);
      out[m] = v;
    }
    return out;
  }
  for (const [m, v] of all) {
    const inner = perSecInner(m);
    if (/^cpus\[\d+\]\.(usr|sys|irq|soft)$/.test(m) || m === 'interrupts.per_sec' || (inner !== null && DEFAULT_RATES.test(inner) && v > 0)) out[m] = v;
  }
  return out;
}
