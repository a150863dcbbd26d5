import { SPAN_CLASSES, type VizData, type VizSeries } from './viz.ts';
import type { SpanClass } from './names.ts';

/**
 * The replay's frames: the state of the machine at one instant, read from what the recorder kept
 * (the queue lengths it wrote when they changed, the CPU spans, device interrupts and RPS IPIs).
 * Nothing is re-simulated and nothing is per packet, so a frame costs a few binary searches.
 */
export interface ReplayFrame {
  t: number;
  /** Each recorded queue (ring, backlog, socket) and its length at t. */
  queues: { name: string; kind: VizSeries['kind']; value: number; limit: number; unit: VizSeries['unit'] }[];
  /** What each CPU runs at t. */
  cpus: { cpu: number; cls: SpanClass; task: string }[];
  /** Device interrupts that entered in (t − window, t]: the CPU and the ring its vector serves. */
  irqs: { cpu: number; ring: string; t: number }[];
  /** RPS IPIs sent in (t − window, t]. */
  ipis: { from: number; to: number; t: number }[];
}

/** Index of the last element of sorted `ts` that is ≤ t, or -1. */
export function lastAtOrBefore(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * A queue's length at t: its last recorded value at or before t (the recorder writes changes
 * only, sampled at interrupts, polls and context switches). NaN before the first: the window
 * opens on a queue that may already hold frames, and its length is not known until it is sampled.
 */
export function seriesAt(s: VizSeries, t: number): number {
  const i = lastAtOrBefore(s.t, t);
  return i < 0 ? NaN : s.v[i]!;
}

/** Per CPU, its spans' indices in start order (built once per run). */
export function spansByCpu(viz: VizData): Int32Array[] {
  const per: number[][] = Array.from({ length: viz.cpus }, () => []);
  const s = viz.spans;
  const order = Array.from(s.start.keys()).sort((a, b) => s.start[a]! - s.start[b]! || a - b);
  for (const i of order) per[s.cpu[i]!]!.push(i);
  return per.map((a) => Int32Array.from(a));
}

export function frameAt(viz: VizData, byCpu: Int32Array[], t: number, windowNs: number): ReplayFrame {
  const s = viz.spans;
  const cpus = byCpu.map((idx, cpu): ReplayFrame['cpus'][number] => {
    // The span containing t: the last starting at or before t, if it has not ended.
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.start[idx[mid]!]! <= t) lo = mid + 1;
      else hi = mid;
    }
    const i = lo > 0 ? idx[lo - 1]! : -1;
    if (i < 0 || s.start[i]! + s.dur[i]! <= t) return { cpu, cls: 'idle', task: `swapper/${cpu}` };
    const cls = SPAN_CLASSES[s.cls[i]!]!;
    const pid = s.pid[i]!;
    return { cpu, cls, task: pid < 0 ? `swapper/${cpu}` : (viz.tasks.find((x) => x.pid === pid)?.comm ?? `pid ${pid}`) };
  });
  const irqs: ReplayFrame['irqs'] = [];
  for (let i = lastAtOrBefore(viz.irqs.t, t); i >= 0 && viz.irqs.t[i]! > t - windowNs; i--) irqs.push({ cpu: viz.irqs.cpu[i]!, ring: viz.irqRing[viz.irqs.desc[i]!] ?? '', t: viz.irqs.t[i]! });
  const ipis: ReplayFrame['ipis'] = [];
  for (let i = lastAtOrBefore(viz.ipis.t, t); i >= 0 && viz.ipis.t[i]! > t - windowNs; i--) ipis.push({ from: viz.ipis.from[i]!, to: viz.ipis.to[i]!, t: viz.ipis.t[i]! });
  return {
    t,
    queues: viz.series.map((q) => ({ name: q.name, kind: q.kind, value: seriesAt(q, t), limit: q.limit, unit: q.unit })),
    cpus,
    irqs,
    ipis,
  };
}

/** The times at which something the replay draws changes (queue lengths, interrupts, IPIs), sorted, unique: for stepping event to event. */
export function changeTimes(viz: VizData): Float64Array {
  let n = viz.irqs.t.length + viz.ipis.t.length;
  for (const q of viz.series) n += q.t.length;
  const all = new Float64Array(n);
  let j = 0;
  for (const q of viz.series) {
    all.set(q.t, j);
    j += q.t.length;
  }
  all.set(viz.irqs.t, j);
  all.set(viz.ipis.t, j + viz.irqs.t.length);
  all.sort();
  let u = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[u - 1]) all[u++] = all[i]!;
  return all.slice(0, u);
}

/** The next change after t (or t itself if none), and the previous one before t. */
export function nextChange(times: Float64Array, t: number): number {
  const i = lastAtOrBefore(times, t) + 1;
  return i < times.length ? times[i]! : t;
}

export function prevChange(times: Float64Array, t: number): number {
  let i = lastAtOrBefore(times, t);
  if (i >= 0 && times[i] === t) i--;
  return i >= 0 ? times[i]! : t;
}
