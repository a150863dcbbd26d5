import { deviceVectors } from './device-vectors.ts';
import type { HostFs } from './host-fs.ts';
import { parseEthtoolStats, parseInterrupts, parseProcStat, parseSnmp, parseSoftirqs, parseSoftnetStat, type CpuTable } from './proc-text.ts';

/**
 * `rxsim measure`: the counters of a real machine sampled over time, turned into the series
 * rxsim writes for a simulated run (`rxsim run --series-out`: tidy CSV `time_ms,metric,value`,
 * src/metrics/series.ts: seriesCsv), so one plot draws both. The metrics a simulated run also has
 * keep its names and units: `interrupts_per_sec` (the device's vectors), `cpus.N.usr|sys|irq|soft|idle`
 * (percent of the interval, as mpstat). Counters only a real machine gives are added under their
 * kernel names: `interrupts_per_sec.<vector>`, `softirqs_per_sec.NET_RX` (and `.cpuN` for NET_RX
 * and NET_TX), `softnet_per_sec.processed` (and `.cpuN`), `nstat_per_sec.UdpInDatagrams`,
 * `ethtool_per_sec.<dev>.<counter>`, `devices.<dev>.rx_packets_per_sec`.
 */

/** The text read at one moment. */
export interface MeasureSample {
  /** Milliseconds since the first sample (a monotonic clock). */
  tMs: number;
  stat: string;
  interrupts: string;
  softirqs: string;
  softnet: string;
  snmp: string;
  netstat: string;
  devices: { name: string; ethtoolStats: string | null; rxPackets: string | null }[];
}

/** Read every counter once (a few files: cheap enough for 10 ms intervals). */
export function readSample(fs: HostFs, devs: readonly string[], tMs: number): MeasureSample {
  return {
    tMs,
    stat: fs.read('/proc/stat') ?? '',
    interrupts: fs.read('/proc/interrupts') ?? '',
    softirqs: fs.read('/proc/softirqs') ?? '',
    softnet: fs.read('/proc/net/softnet_stat') ?? '',
    snmp: fs.read('/proc/net/snmp') ?? '',
    netstat: fs.read('/proc/net/netstat') ?? '',
    devices: devs.map((name) => ({ name, ethtoolStats: fs.ethtool(name, ['-S']), rxPackets: fs.read(`/sys/class/net/${name}/statistics/rx_packets`) })),
  };
}

/** A measured series: interval ends and one column per metric. */
export interface MeasuredSeries {
  t_ms: number[];
  metrics: Map<string, number[]>;
}

/** Counters of one sample, by metric name (cumulative). */
function counters(fs: HostFs, s: MeasureSample): { rates: Map<string, number>; cpus: Map<number, { usr: number; sys: number; irq: number; soft: number; idle: number }> } {
  const rates = new Map<string, number>();
  const irqs = parseInterrupts(s.interrupts);
  let deviceIrqs = 0;
  for (const d of s.devices) {
    for (const { row } of deviceVectors(fs, d.name, irqs)) {
      deviceIrqs += sum(row.counts);
      rates.set(`interrupts_per_sec.${row.name}`, sum(row.counts));
    }
  }
  rates.set('interrupts_per_sec', deviceIrqs);
  const softirqs = parseSoftirqs(s.softirqs);
  addTable(rates, 'softirqs_per_sec', softirqs);
  // NET_RX and NET_TX per CPU too: where the receive work runs (RPS, IRQ affinity).
  for (const r of softirqs.rows) if (r.key === 'NET_RX' || r.key === 'NET_TX') r.counts.forEach((v, i) => rates.set(`softirqs_per_sec.${r.key}.cpu${softirqs.cpus[i] ?? i}`, v));
  const softnet = parseSoftnetStat(s.softnet);
  for (const r of softnet) rates.set(`softnet_per_sec.processed.cpu${r.cpu}`, r.processed);
  for (const k of ['processed', 'dropped', 'time_squeeze', 'received_rps', 'flow_limit_count'] as const)
    rates.set(
      `softnet_per_sec.${k}`,
      softnet.reduce((a, r) => a + r[k], 0),
    );
  for (const [k, v] of Object.entries({ ...parseSnmp(s.snmp), ...parseSnmp(s.netstat) })) rates.set(`nstat_per_sec.${k}`, v);
  for (const d of s.devices) {
    if (d.rxPackets !== null && /^\d+\s*$/.test(d.rxPackets)) rates.set(`devices.${d.name}.rx_packets_per_sec`, Number(d.rxPackets));
    if (d.ethtoolStats) for (const [k, v] of Object.entries(parseEthtoolStats(d.ethtoolStats))) rates.set(`ethtool_per_sec.${d.name}.${k}`, v);
  }
  // mpstat's classes: %usr is user + nice here (the simulated tasks have no nice class of their
  // own), %idle takes iowait and steal, so a CPU's five shares add up to 100.
  const cpus = new Map<number, { usr: number; sys: number; irq: number; soft: number; idle: number }>();
  for (const c of parseProcStat(s.stat)) cpus.set(c.cpu, { usr: c.user + c.nice, sys: c.system, irq: c.irq, soft: c.softirq, idle: c.idle + c.iowait + c.steal });
  return { rates, cpus };
}

function sum(xs: readonly number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  return t;
}

function addTable(out: Map<string, number>, prefix: string, t: CpuTable): void {
  for (const r of t.rows) out.set(`${prefix}.${r.key}`, sum(r.counts));
}

const CLASSES = ['usr', 'sys', 'irq', 'soft', 'idle'] as const;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Differences between successive samples: counters per second (whole numbers, as the simulated
 * series), CPU classes in percent of each CPU's ticks in the interval. A counter that never moved
 * is left out, except the ones a simulated run also has.
 */
export function measuredSeries(fs: HostFs, samples: readonly MeasureSample[]): MeasuredSeries {
  const read = samples.map((s) => counters(fs, s));
  const t_ms: number[] = [];
  const metrics = new Map<string, number[]>();
  const push = (k: string, v: number, i: number): void => {
    let col = metrics.get(k);
    if (!col) metrics.set(k, (col = new Array<number>(i).fill(0)));
    col.push(v);
  };
  for (let i = 1; i < read.length; i++) {
    const dt = (samples[i]!.tMs - samples[i - 1]!.tMs) / 1000;
    if (!(dt > 0)) continue;
    const idx = t_ms.length;
    t_ms.push(Math.round(samples[i]!.tMs));
    const a = read[i - 1]!;
    const b = read[i]!;
    for (const [k, v] of b.rates) push(k, Math.round(Math.max(0, v - (a.rates.get(k) ?? v)) / dt), idx);
    for (const [cpu, c] of b.cpus) {
      const p = a.cpus.get(cpu);
      if (!p) continue;
      const total = CLASSES.reduce((acc, k) => acc + (c[k] - p[k]), 0);
      for (const k of CLASSES) push(`cpus.${cpu}.${k}`, total > 0 ? r2((100 * (c[k] - p[k])) / total) : k === 'idle' ? 100 : 0, idx);
    }
  }
  for (const [k, col] of metrics) {
    while (col.length < t_ms.length) col.push(0);
    if (!k.startsWith('cpus.') && k !== 'interrupts_per_sec' && col.every((v) => v === 0)) metrics.delete(k);
  }
  return { t_ms, metrics };
}

/** The series as rxsim's tidy CSV (src/metrics/series.ts: seriesCsv), metrics in name order with the CPUs last as there. */
export function measuredCsv(s: MeasuredSeries): string {
  const rows: string[] = ['time_ms,metric,value'];
  const keys = [...s.metrics.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) s.metrics.get(k)!.forEach((v, i) => rows.push(`${s.t_ms[i]},${/[",\n]/.test(k) ? `"${k.replace(/"/g, '""')}"` : k},${v}`));
  return rows.join('\n') + '\n';
}

function rank(k: string): number {
  if (k === 'interrupts_per_sec') return 0;
  if (k.startsWith('cpus.')) return 2;
  return 1;
}
