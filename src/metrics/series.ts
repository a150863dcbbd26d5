import type { Kernel } from '../model/kernel.ts';
import type { PacketQueue } from '../model/packet.ts';
import { DROP_PLACES, type DropPlace } from '../model/rx-accounting.ts';
import { Acct } from '../model/task.ts';
import { bucketOf, quantileOfBuckets } from './histogram.ts';
import { r2, r3 } from './round.ts';
import { batchesCorrelated, batchMeansCi, isTransient, MSER_BATCH, mser5, type MserResult } from './steady-state.ts';

/**
 * Per-interval time series of a run's main rates, and the statistics drawn from them: the
 * stationarity check of the window (MSER-5) and within-run confidence intervals (batch means).
 * docs/statistics.md describes both.
 *
 * Recording adds no simulator event and changes no state the model reads: simulate() runs the
 * simulator in interval steps (running to a time and on from it dispatches the same events in
 * the same order) and the recorder reads cumulative counters at each step, keeping differences.
 * The one call it makes into a part, Cpu.account(), only brings the CPU's /proc/stat
 * accumulators up to now (integer ns, so the sums are exact however often it is called).
 */

/** The default interval of `rxsim run` (and of the pilot run of `warmup_ms: "auto"`). */
export const DEFAULT_SERIES_NS = 1_000_000;
/** At most this many intervals per series: a longer window doubles the interval until it fits. */
export const MAX_SERIES_POINTS = 10_000;
/** At most this many latency-histogram snapshots per run (batch boundaries fall on them). */
const MAX_LATENCY_BLOCKS = 250;
/** Batch means: this many batches when the window allows (Schmeiser 1982: 10 to 30; few large batches are the safer side), at least MIN_BATCHES. */
const CI_BATCHES = 10;
const MIN_BATCHES = 5;
/**
 * A goodput interval wider than ±5 % of its mean cannot separate the effects a tuning experiment
 * looks for (a few percent): the window is too short, or holds a transient longer than MSER-5
 * can find (more than half of it).
 */
export const IMPRECISE_PCT = 5;
/** A batch p99 from fewer latency samples than this is mostly its maximum: no p99 interval then. */
const MIN_P99_SAMPLES = 100;

/** The interval a window of `windowNs` gets: the requested one (≥ 1 ns), doubled until at most MAX_SERIES_POINTS intervals fit. */
export function seriesInterval(requestedNs: number, windowNs: number): number {
  let ns = Math.max(1, Math.round(requestedNs));
  while (Math.ceil(windowNs / ns) > MAX_SERIES_POINTS) ns *= 2;
  return ns;
}

/** The integral ∫ length dt of a queue up to `t`, read without touching the queue. */
function areaAt(q: PacketQueue, t: number): number {
  return q.area + (t > q.lastChange ? q.length * (t - q.lastChange) : 0);
}

/** Buckets of a latency histogram that grew over one block of intervals. */
interface LatencyBlock {
  index: Int32Array;
  count: Float64Array;
}

/**
 * Records the series over a window: construct it at the start of the window (after the warm-up's
 * reset), call `sample()` at each interval end (`nextAt`) and once at the end of the window.
 *
 * Counters, as read at each interval end: payload bytes delivered to applications per flow
 * (RxAccounting.windowPayload: what `goodput_gbps` counts), drops per place, device interrupts,
 * CPU time per /proc/stat class, and the occupancy integrals (∫ length dt) of each RX ring and
 * each CPU's backlog (input_pkt_queue + process_queue). Occupancies are time averages over the
 * interval, not samples at its end. The NIC lands frames in its ring lazily (when the driver or
 * the interrupt logic looks, typically within one moderation interval), so a ring's occupancy
 * and its `nic_ring`/`nic_missed`/`wire` drops may show in the interval after the one they
 * happened in; sums over the window are exact, as is everything else per interval.
 */
export class SeriesRecorder {
  readonly intervalNs: number;
  /** Full intervals in the window; a last, shorter interval is recorded but left out of the statistics. */
  readonly fullIntervals: number;
  /** Full intervals per latency snapshot. */
  readonly blockIntervals: number;
  /** Next interval end inside the window (Infinity after the last): simulate() stops there. */
  nextAt: number;
  /** Interval end times (simulated ns). */
  readonly ends: number[] = [];
  /** Column layout of a row (differences of the cumulative counters over one interval). */
  readonly flowNames: string[];
  readonly ringNames: string[];
  readonly ncpus: number;
  private readonly width: number;
  private rows = new Float64Array(0);
  private readonly prev: Float64Array;
  private readonly cur: Float64Array;
  private readonly rings: PacketQueue[];
  private readonly backlogs: [PacketQueue, PacketQueue][];
  private readonly deviceIrqs: Float64Array[];
  readonly latencyBlocks: LatencyBlock[] = [];
  private readonly latencyPrev: Float64Array;

  constructor(
    k: Kernel,
    intervalNs: number,
    /** Window start and end (simulated ns). */
    readonly startNs: number,
    readonly endNs: number,
    /** The interval asked for (intervalNs differs when the window needed fewer points). */
    readonly requestedNs = intervalNs,
  ) {
    this.intervalNs = intervalNs;
    this.fullIntervals = Math.floor((endNs - startNs) / intervalNs);
    this.blockIntervals = Math.max(1, Math.ceil(this.fullIntervals / MAX_LATENCY_BLOCKS));
    this.flowNames = k.flows.map((f) => f.name);
    this.rings = k.nics.flatMap((nic) => nic.queues.map((q) => q.ring));
    this.ringNames = k.nics.flatMap((nic) => nic.queues.map((q) => `${nic.cfg.name}/rx-${q.index}`));
    this.backlogs = k.softnet.map((sd) => [sd.inputPktQueue, sd.processQueue]);
    this.deviceIrqs = k.nics.flatMap((nic) => nic.irqDesc.map((d) => k.irqs.descs[d]!.counts));
    this.ncpus = k.cpus.length;
    this.width = this.flowNames.length + DROP_PLACES.length + 1 + 5 * this.ncpus + this.rings.length + this.ncpus;
    this.prev = new Float64Array(this.width);
    this.cur = new Float64Array(this.width);
    this.read(k, this.prev);
    this.latencyPrev = Float64Array.from(k.accounting.latency.counts);
    this.nextAt = startNs + intervalNs < endNs ? startNs + intervalNs : Infinity;
  }

  /** Column offsets in a row. */
  get columns(): { payload: number; drops: number; irqs: number; cpu: number; ring: number; backlog: number } {
    const payload = 0;
    const drops = payload + this.flowNames.length;
    const irqs = drops + DROP_PLACES.length;
    const cpu = irqs + 1;
    const ring = cpu + 5 * this.ncpus;
    return { payload, drops, irqs, cpu, ring, backlog: ring + this.rings.length };
  }

  get length(): number {
    return this.ends.length;
  }

  /** Value of column `col` in interval `i`. */
  at(i: number, col: number): number {
    return this.rows[i * this.width + col]!;
  }

  private read(k: Kernel, out: Float64Array): void {
    const t = k.sim.now;
    let o = 0;
    for (const f of k.accounting.flows) out[o++] = f.windowPayload;
    for (let i = 0; i < DROP_PLACES.length; i++) out[o++] = k.accounting.droppedIn(i);
    let irqs = 0;
    for (const counts of this.deviceIrqs) for (let c = 0; c < counts.length; c++) irqs += counts[c]!;
    out[o++] = irqs;
    for (const cpu of k.cpus) {
      cpu.account(); // /proc/stat up to now: an accumulator only (see the file comment)
      for (let c = 0; c < 5; c++) out[o++] = cpu.time[c]!;
    }
    for (const q of this.rings) out[o++] = areaAt(q, t);
    for (const [a, b] of this.backlogs) out[o++] = areaAt(a, t) + areaAt(b, t);
  }

  /** Close the interval ending now. */
  sample(k: Kernel): void {
    const t = k.sim.now;
    const i = this.ends.length;
    const prevEnd = i === 0 ? this.startNs : this.ends[i - 1]!;
    if (t <= prevEnd) return;
    this.read(k, this.cur);
    if ((i + 1) * this.width > this.rows.length) {
      const grown = new Float64Array(Math.max(64 * this.width, this.rows.length * 2));
      grown.set(this.rows);
      this.rows = grown;
    }
    const base = i * this.width;
    for (let c = 0; c < this.width; c++) {
      // Occupancy integrals can lag behind a lazily landed frame (see the class comment): never below 0.
      this.rows[base + c] = Math.max(0, this.cur[c]! - this.prev[c]!);
      this.prev[c] = this.cur[c]!;
    }
    this.ends.push(t);
    const full = t - prevEnd === this.intervalNs && i < this.fullIntervals;
    if (full && (i + 1) % this.blockIntervals === 0) this.snapshotLatency(k);
    const next = t + this.intervalNs;
    this.nextAt = next < this.endNs ? next : Infinity;
  }

  private snapshotLatency(k: Kernel): void {
    const h = k.accounting.latency;
    const counts = h.counts;
    const prev = this.latencyPrev;
    // Only buckets between the window's smallest and largest latency can have grown.
    const lo = h.count > 0 ? bucketOf(h.min) : 0;
    const hi = h.count > 0 ? bucketOf(h.max) + 1 : 0;
    let n = 0;
    for (let b = lo; b < hi; b++) if (counts[b] !== prev[b]) n++;
    const block: LatencyBlock = { index: new Int32Array(n), count: new Float64Array(n) };
    let j = 0;
    for (let b = lo; b < hi; b++) {
      if (counts[b] === prev[b]) continue;
      block.index[j] = b;
      block.count[j++] = counts[b]! - prev[b]!;
      prev[b] = counts[b]!;
    }
    this.latencyBlocks.push(block);
  }

  /** Payload bytes delivered in each full interval, all flows together (what MSER-5 looks at). */
  goodputBytes(): Float64Array {
    const { payload } = this.columns;
    const out = new Float64Array(Math.min(this.fullIntervals, this.length));
    for (let i = 0; i < out.length; i++) for (let f = 0; f < this.flowNames.length; f++) out[i]! += this.at(i, payload + f);
    return out;
  }
}

// ---- where simulate() leaves what it recorded for collectResult ----

export interface RunStatistics {
  recorder: SeriesRecorder | null;
  /** Put the series themselves in the result (else only what is drawn from them). */
  publishSeries: boolean;
  /** warmup_ms "auto": the warm-up chosen and the pilot run's MSER-5 (null: the pilot had too few intervals). */
  auto: { warmupNs: number; pilot: MserResult | null; intervalNs: number } | null;
}

const statistics = new WeakMap<Kernel, RunStatistics>();

export function setRunStatistics(k: Kernel, s: RunStatistics): void {
  statistics.set(k, s);
}

export function runStatisticsOf(k: Kernel): RunStatistics | undefined {
  return statistics.get(k);
}

// ---- the result ----

/** Per-interval series over the window (not part of the digest: see Result). */
export interface SeriesResult {
  interval_ms: number;
  /** Present when the window needed the interval doubled to stay within MAX_SERIES_POINTS points. */
  requested_interval_ms?: number;
  /** Window start (simulated ms) and the end of each interval. */
  start_ms: number;
  t_ms: number[];
  /** Payload delivered to applications (what iperf3 reports), all flows and per flow, Gbit/s. */
  goodput_gbps: number[];
  flows: { name: string; goodput_gbps: number[] }[];
  /** Drops per second by place, for the places with any drop in the window. */
  drops_per_sec: Partial<Record<DropPlace, number[]>>;
  interrupts_per_sec: number[];
  /** Percent of each interval, as mpstat. */
  cpus: { cpu: number; usr: number[]; sys: number[]; irq: number[]; soft: number[]; idle: number[] }[];
  /** Time-average occupancy over each interval. */
  rings: { queue: string; mean_length: number[] }[];
  backlogs: { cpu: number; mean_length: number[] }[];
}

/** The stationarity check of the window (MSER-5 on the goodput series). */
export interface SteadyStateResult {
  method: 'MSER-5';
  /** The series checked: total goodput per interval over the window's full intervals. */
  metric: 'goodput_gbps';
  interval_ms: number;
  observations: number;
  batch_size: number;
  /** Optimal truncation from the window start (null: fewer than 20 intervals). */
  truncation_ms: number | null;
  /** The truncation removes a bias above the tolerance (1 % and 2 standard errors). */
  transient: boolean | null;
  /** The minimum is at the end of the search range (half the window); with a transient, the window may hold no steady state. */
  at_search_limit: boolean;
  /** Mean goodput over the full intervals, and after the truncation (Gbit/s); bias of the former, percent of the latter. */
  window_goodput_gbps: number | null;
  steady_goodput_gbps: number | null;
  bias_pct: number | null;
  /** With a transient: the warm-up that removes it, and the duration that keeps the window's length. */
  suggested_warmup_ms: number | null;
  suggested_duration_ms: number | null;
  /** warmup_ms "auto": the warm-up chosen (the pilot's truncation if it is a transient, else 0), and the pilot run's check (from t = 0). */
  auto_warmup_ms?: number;
  pilot?: { truncation_ms: number | null; transient: boolean | null; at_search_limit: boolean; observations: number };
}

/** Within-run 95 % confidence intervals by batch means over the steady part of the window. */
export interface CiResult {
  method: 'batch-means';
  confidence: number;
  batches: number;
  batch_ms: number;
  /** The part of the window the batches cover (simulated ms). */
  from_ms: number;
  to_ms: number;
  goodput_gbps: [number, number];
  goodput_mean_gbps: number;
  /** Half-width of the goodput interval, percent of its mean (null when nothing was delivered); above IMPRECISE_PCT the report warns. */
  goodput_half_width_pct: number | null;
  flows: { name: string; goodput_gbps: [number, number]; mean_gbps: number }[];
  /** Sectioning: centred on the p99 over the batches' part of the window, width from the batch p99s. Null with too few samples per batch. */
  p99_us: [number, number] | null;
  p99_point_us: number | null;
  /** Lag-1 autocorrelation of the total-goodput batch means, and whether it is too large for the intervals to be trusted. */
  lag1_autocorrelation: number;
  batches_correlated: boolean;
}

const gbpsOf = (bytes: number, ns: number): number => (ns > 0 ? (bytes * 8) / ns : 0);
const msOf = (ns: number): number => r3(ns / 1e6);

/** The series, steady state and confidence intervals of a run, as result fields (empty when nothing was recorded). */
export function statisticsResult(k: Kernel): { series?: SeriesResult; steady_state?: SteadyStateResult; ci?: CiResult | null } {
  const stats = runStatisticsOf(k);
  const rec = stats?.recorder;
  if (!stats || !rec) return {};
  const out: { series?: SeriesResult; steady_state?: SteadyStateResult; ci?: CiResult | null } = {};
  if (stats.publishSeries) out.series = seriesResult(rec);
  const m = mser5(rec.goodputBytes());
  const steady = steadyState(rec, m);
  if (stats.auto) {
    const p = stats.auto.pilot;
    steady.auto_warmup_ms = msOf(stats.auto.warmupNs);
    steady.pilot = {
      truncation_ms: p ? msOf(p.truncation * stats.auto.intervalNs) : null,
      transient: p ? isTransient(p) : null,
      at_search_limit: p?.atLimit ?? false,
      observations: p?.observations ?? 0,
    };
  }
  out.steady_state = steady;
  // Below the tolerance a truncation's bias reduction is within the noise: the batches then cover
  // the whole window, so the interval is about the goodput the result reports.
  out.ci = confidenceIntervals(k, rec, m && steady.transient ? m.truncation : 0);
  return out;
}

function seriesResult(rec: SeriesRecorder): SeriesResult {
  const n = rec.length;
  const col = rec.columns;
  const len = (i: number): number => rec.ends[i]! - (i === 0 ? rec.startNs : rec.ends[i - 1]!);
  const column = (c: number, f: (v: number, ns: number) => number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(f(rec.at(i, c), len(i)));
    return out;
  };
  const perSec = (v: number, ns: number): number => Math.round(v / (ns / 1e9));
  const drops: Partial<Record<DropPlace, number[]>> = {};
  DROP_PLACES.forEach((p, j) => {
    const values = column(col.drops + j, perSec);
    if (values.some((v) => v > 0)) drops[p] = values;
  });
  const cpus: SeriesResult['cpus'] = [];
  for (let cpu = 0; cpu < rec.ncpus; cpu++) {
    const pct: number[][] = [[], [], [], [], []];
    const c0 = col.cpu + 5 * cpu;
    for (let i = 0; i < n; i++) {
      let total = 0;
      for (let c = 0; c < 5; c++) total += rec.at(i, c0 + c);
      for (let c = 0; c < 5; c++) pct[c]!.push(total > 0 ? r2((100 * rec.at(i, c0 + c)) / total) : 0);
    }
    cpus.push({ cpu, usr: pct[Acct.USR]!, sys: pct[Acct.SYS]!, irq: pct[Acct.IRQ]!, soft: pct[Acct.SOFT]!, idle: pct[Acct.IDLE]! });
  }
  const mean = (v: number, ns: number): number => r3(v / ns);
  return {
    interval_ms: msOf(rec.intervalNs),
    ...(rec.requestedNs !== rec.intervalNs ? { requested_interval_ms: msOf(rec.requestedNs) } : {}),
    start_ms: msOf(rec.startNs),
    t_ms: rec.ends.map(msOf),
    goodput_gbps: Array.from({ length: n }, (_, i) => {
      let bytes = 0;
      for (let f = 0; f < rec.flowNames.length; f++) bytes += rec.at(i, col.payload + f);
      return r3(gbpsOf(bytes, len(i)));
    }),
    flows: rec.flowNames.map((name, f) => ({ name, goodput_gbps: column(col.payload + f, (v, ns) => r3(gbpsOf(v, ns))) })),
    drops_per_sec: drops,
    interrupts_per_sec: column(col.irqs, perSec),
    cpus,
    rings: rec.ringNames.map((queue, q) => ({ queue, mean_length: column(col.ring + q, mean) })),
    backlogs: Array.from({ length: rec.ncpus }, (_, cpu) => ({ cpu, mean_length: column(col.backlog + cpu, mean) })),
  };
}

function steadyState(rec: SeriesRecorder, m: MserResult | null): SteadyStateResult {
  const I = rec.intervalNs;
  const base: SteadyStateResult = {
    method: 'MSER-5',
    metric: 'goodput_gbps',
    interval_ms: msOf(I),
    observations: Math.min(rec.fullIntervals, rec.length),
    batch_size: MSER_BATCH,
    truncation_ms: null,
    transient: null,
    at_search_limit: false,
    window_goodput_gbps: null,
    steady_goodput_gbps: null,
    bias_pct: null,
    suggested_warmup_ms: null,
    suggested_duration_ms: null,
  };
  if (!m) return base;
  const transient = isTransient(m);
  const truncNs = m.truncation * I;
  const warmupMs = Math.ceil((rec.startNs + truncNs) / 1e6 - 1e-9);
  return {
    ...base,
    truncation_ms: msOf(truncNs),
    transient,
    at_search_limit: m.atLimit,
    window_goodput_gbps: r3(gbpsOf(m.mean, I)),
    steady_goodput_gbps: r3(gbpsOf(m.steadyMean, I)),
    bias_pct: m.steadyMean !== 0 ? r2((100 * (m.mean - m.steadyMean)) / m.steadyMean) : null,
    suggested_warmup_ms: transient ? warmupMs : null,
    suggested_duration_ms: transient ? Math.ceil((rec.endNs + truncNs) / 1e6 - 1e-9) : null,
  };
}

/**
 * Batch means over the full intervals after `truncation` intervals: k = CI_BATCHES batches (fewer
 * when the window is short, at least MIN_BATCHES) of equal length, on latency-snapshot
 * boundaries; intervals left over go at the start (they extend the truncation).
 */
function confidenceIntervals(k: Kernel, rec: SeriesRecorder, truncation: number): CiResult | null {
  const B = rec.blockIntervals;
  const firstBlock = Math.ceil(truncation / B);
  const blocks = rec.latencyBlocks.length - firstBlock;
  const nb = Math.min(CI_BATCHES, blocks);
  if (nb < MIN_BATCHES) return null;
  const per = Math.floor(blocks / nb); // blocks per batch
  const start = firstBlock + (blocks - nb * per); // first block of the first batch
  const batchIntervals = per * B;
  const batchNs = batchIntervals * rec.intervalNs;
  const col = rec.columns;
  const nflows = rec.flowNames.length;
  const flowRates = Array.from({ length: nflows }, () => new Float64Array(nb));
  const total = new Float64Array(nb);
  const p99s = new Float64Array(nb);
  let p99ok = true;
  const lat = k.accounting.latency;
  // Per batch, the latency buckets that grew (summed from its blocks into `acc`, then cleared),
  // and over all batches (`all`): quantiles as the window's histogram gives them.
  const acc = new Float64Array(lat.counts.length);
  const all = new Float64Array(lat.counts.length);
  let allCount = 0;
  let allLo = acc.length;
  let allHi = 0;
  for (let j = 0; j < nb; j++) {
    const i0 = (start + j * per) * B;
    let sum = 0;
    for (let f = 0; f < nflows; f++) {
      let bytes = 0;
      for (let i = i0; i < i0 + batchIntervals; i++) bytes += rec.at(i, col.payload + f);
      flowRates[f]![j] = gbpsOf(bytes, batchNs);
      sum += bytes;
    }
    total[j] = gbpsOf(sum, batchNs);
    let count = 0;
    let lo = acc.length;
    let hi = 0;
    for (let b = start + j * per; b < start + (j + 1) * per; b++) {
      const blk = rec.latencyBlocks[b]!;
      const n = blk.index.length;
      if (n === 0) continue;
      for (let x = 0; x < n; x++) {
        acc[blk.index[x]!]! += blk.count[x]!;
        all[blk.index[x]!]! += blk.count[x]!;
        count += blk.count[x]!;
      }
      lo = Math.min(lo, blk.index[0]!); // indices ascend within a block
      hi = Math.max(hi, blk.index[n - 1]! + 1);
    }
    if (count < MIN_P99_SAMPLES) p99ok = false;
    p99s[j] = quantileOfBuckets(acc, count, 0.99, lat.max, lo, hi);
    acc.fill(0, lo, Math.max(lo, hi));
    allCount += count;
    allLo = Math.min(allLo, lo);
    allHi = Math.max(allHi, hi);
  }
  const g = batchMeansCi(total);
  const p99 = p99ok ? batchMeansCi(p99s, quantileOfBuckets(all, allCount, 0.99, lat.max, allLo, allHi)) : null;
  const interval = (c: { lo: number; hi: number }, round: (x: number) => number): [number, number] => [round(Math.max(0, c.lo)), round(c.hi)];
  const fromNs = rec.startNs + start * B * rec.intervalNs;
  return {
    method: 'batch-means',
    confidence: 0.95,
    batches: nb,
    batch_ms: msOf(batchNs),
    from_ms: msOf(fromNs),
    to_ms: msOf(fromNs + nb * batchNs),
    goodput_gbps: interval(g, r3),
    goodput_mean_gbps: r3(g.mean),
    goodput_half_width_pct: g.mean > 0 ? r2((100 * g.halfWidth) / g.mean) : null,
    flows: rec.flowNames.map((name, f) => {
      const c = batchMeansCi(flowRates[f]!);
      return { name, goodput_gbps: interval(c, r3), mean_gbps: r3(c.mean) };
    }),
    p99_us: p99 ? interval({ lo: p99.lo / 1000, hi: p99.hi / 1000 }, r3) : null,
    p99_point_us: p99 ? r3(p99.mean / 1000) : null,
    lag1_autocorrelation: r3(g.lag1),
    batches_correlated: batchesCorrelated(g.lag1, nb),
  };
}

/** The series as tidy CSV: one row per interval and metric (`time_ms` is the interval's end, simulated). */
export function seriesCsv(s: SeriesResult): string {
  const rows: string[] = ['time_ms,metric,value'];
  const quote = (x: string): string => (/[",\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);
  const add = (metric: string, values: number[]): void => {
    const m = quote(metric);
    values.forEach((v, i) => rows.push(`${s.t_ms[i]},${m},${v}`));
  };
  add('goodput_gbps', s.goodput_gbps);
  for (const f of s.flows) add(`flows.${f.name}.goodput_gbps`, f.goodput_gbps);
  for (const [place, values] of Object.entries(s.drops_per_sec)) add(`drops_per_sec.${place}`, values);
  add('interrupts_per_sec', s.interrupts_per_sec);
  for (const c of s.cpus) for (const cls of ['usr', 'sys', 'irq', 'soft', 'idle'] as const) add(`cpus.${c.cpu}.${cls}`, c[cls]);
  for (const r of s.rings) add(`rings.${r.queue}.mean_length`, r.mean_length);
  for (const b of s.backlogs) add(`backlogs.${b.cpu}.mean_length`, b.mean_length);
  return rows.join('\n') + '\n';
}
