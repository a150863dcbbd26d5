import type { Kernel } from '../model/kernel.ts';
import { EV, isNapiPoll } from './buffer.ts';
import { describeEvent, printTime } from './ftrace.ts';
import { ARCH_IRQ_SITES, KERNEL_SITES, type KernelSite } from './kernel-functions.ts';
import { comm, initialCurrent, spanClass, type SpanClass } from './names.ts';
import type { TraceRecorder, TraceTask } from './recorder.ts';

/**
 * What the browser draws, extracted from a recorder and the finished machine as plain data and
 * typed arrays (cheap to post from the Web Worker). No DOM here.
 */
export const SPAN_CLASSES: readonly SpanClass[] = ['idle', 'hardirq', 'softirq', 'ksoftirqd', 'napi-thread', 'app', 'switch'];

/** The stage of the receive path an event belongs to (step mode highlights it). */
export type Stage = 'nic' | 'irq' | 'softirq' | 'napi' | 'backlog' | 'rps' | 'stack' | 'sched';

export interface StepEvent {
  t: number;
  cpu: number;
  task: string;
  line: string;
  tracepoint: string;
  fn: string;
  file: string;
  what: string;
  stage: Stage;
  /** Names of the queue series this event works on (the ring of a device IRQ or NAPI poll). */
  queues: string[];
}

export interface VizSeries {
  name: string;
  kind: 'ring' | 'backlog' | 'socket';
  limit: number;
  unit: 'packets' | 'bytes';
  t: Float64Array;
  v: Float64Array;
}

export interface VizData {
  cpus: number;
  fromNs: number;
  toNs: number;
  spans: { cpu: Uint16Array; start: Float64Array; dur: Float64Array; cls: Uint8Array; pid: Int32Array };
  tasks: TraceTask[];
  series: VizSeries[];
  /** End-to-end latency histogram: [low µs, high µs, count]. */
  latency: [number, number, number][];
  steps: StepEvent[];
  /** Device interrupts (irq_handler_entry) and RPS IPIs (net_rps_send_ipi) held in the buffer, for the replay. */
  irqs: { t: Float64Array; cpu: Uint16Array; desc: Int32Array };
  ipis: { t: Float64Array; from: Uint16Array; to: Uint16Array };
  /** IRQ descriptor → the ring series its vector serves ('' for the tick and IPIs). */
  irqRing: string[];
  /** The earliest time the buffer still holds (later than fromNs once the oldest events were overwritten). */
  heldFromNs: number;
  recorded: number;
  overwritten: number;
}

function stageOf(type: number, napiDev: string, c: number): Stage {
  switch (type) {
    case EV.XDP_RUN:
    case EV.XDP_REDIRECT:
      // Native XDP runs in the driver's poll; generic XDP at __netif_receive_skb_core.
      return (c >> 20) & 1 ? 'stack' : 'napi';
    case EV.IRQ_ENTRY:
    case EV.IRQ_EXIT:
      return 'irq';
    case EV.NAPI_POLL:
    case EV.BUSY_POLL:
    case EV.EP_BUSY_POLL:
      return napiDev === 'backlog' ? 'backlog' : 'napi';
    case EV.NETIF_RECEIVE_SKB:
    case EV.XDP_EXCEPTION:
    case EV.XDP_CPUMAP_ENQUEUE:
    case EV.XDP_CPUMAP_KTHREAD:
    case EV.XDP_DEVMAP_XMIT:
    case EV.XDP_REDIRECT_XSK:
    case EV.XDP_REDIRECT_XSK_ZC:
      return 'stack';
    case EV.IPI_SEND:
    case EV.IPI_RECEIVE:
      return 'rps';
    case EV.SCHED_SWITCH:
    case EV.SCHED_WAKEUP:
      return 'sched';
    default:
      return 'softirq';
  }
}

/**
 * The kernel site of an event; an interrupt's depends on its vector (a NIC's, whose driver names
 * its handler, the timer or an IPI), an XDP exception's on the driver of its device.
 */
function siteOf(rec: TraceRecorder, type: number, a: number, b: number, c: number): KernelSite {
  const site = KERNEL_SITES[type]!;
  if (type === EV.XDP_REDIRECT && (c >> 20) & 1) return { ...site, fn: 'xdp_do_generic_redirect' };
  if (type === EV.XDP_EXCEPTION) {
    const driver = rec.machine.devDriver.get(rec.devs[c] ?? '');
    if (b === 0 && driver) return { ...site, ...driver.runXdp };
  }
  if (type === EV.IRQ_ENTRY || type === EV.IRQ_EXIT) {
    const label = rec.machine.irqs[a]?.label;
    const arch = label === undefined ? undefined : ARCH_IRQ_SITES[label];
    if (arch) return { ...site, ...arch };
    const driver = rec.machine.irqDriver.get(a);
    if (driver && type === EV.IRQ_ENTRY) return { ...site, what: `a hard interrupt: the driver handler (${driver.msixHandler.fn}) schedules the vector's NAPI` };
  }
  return site;
}

/** Step-mode events: everything with a tracepoint, and bpf_prog_run_xdp's verdicts per poll, in print order, at most `max`. */
export function stepEvents(rec: TraceRecorder, fromNs: number, toNs: number, max: number): StepEvent[] {
  const b = rec.buf;
  const out: StepEvent[] = [];
  const curr = initialCurrent(rec);
  let skb = 0;
  for (const e of b.events((s) => printTime(b, s))) {
    const t = printTime(b, e.slot);
    if (e.type === EV.SCHED_SWITCH) curr[e.cpu] = e.b;
    if (t < fromNs || t >= toNs) continue;
    const line = describeEvent(rec, e, e.type === EV.NETIF_RECEIVE_SKB ? skb++ : 0);
    if (line === null) continue;
    const site = siteOf(rec, e.type, e.a, e.b, e.c);
    const ring = isNapiPoll(e.type) ? rec.machine.napiRing.get(e.a) : e.type === EV.IRQ_ENTRY || e.type === EV.IRQ_EXIT ? rec.machine.irqRing.get(e.a) : undefined;
    out.push({
      t,
      cpu: e.cpu,
      task: comm(rec, curr[e.cpu]!, e.cpu),
      line,
      tracepoint: site.tracepoint,
      fn: site.fn,
      file: site.file,
      what: site.what,
      stage: stageOf(e.type, rec.machine.napis.get(e.a) ?? '', e.c),
      queues: ring ? [ring] : [],
    });
    if (out.length >= max) break;
  }
  return out;
}

export function vizData(rec: TraceRecorder, k: Kernel, opts: { stepFromNs: number; stepToNs: number; maxSteps: number }): VizData {
  const b = rec.buf;
  let nSpans = 0;
  for (let i = 0; i < b.length; i++) if (b.type[b.slot(i)] === EV.SPAN) nSpans++;
  const spans = { cpu: new Uint16Array(nSpans), start: new Float64Array(nSpans), dur: new Float64Array(nSpans), cls: new Uint8Array(nSpans), pid: new Int32Array(nSpans) };
  const seriesT: number[][] = rec.counters.map(() => []);
  const seriesV: number[][] = rec.counters.map(() => []);
  const irqT: number[] = [];
  const irqCpu: number[] = [];
  const irqDesc: number[] = [];
  const ipiT: number[] = [];
  const ipiFrom: number[] = [];
  const ipiTo: number[] = [];
  let heldFromNs = Infinity;
  let j = 0;
  for (const e of b.events()) {
    if (e.t < heldFromNs) heldFromNs = e.t;
    if (e.type === EV.IRQ_ENTRY && rec.machine.irqRing.has(e.a)) {
      irqT.push(e.t);
      irqCpu.push(e.cpu);
      irqDesc.push(e.a);
    } else if (e.type === EV.IPI_SEND) {
      ipiT.push(e.t);
      ipiFrom.push(e.cpu);
      ipiTo.push(e.a);
    }
    if (e.type === EV.SPAN) {
      spans.cpu[j] = e.cpu;
      spans.start[j] = e.t;
      spans.dur[j] = e.dur;
      spans.cls[j] = SPAN_CLASSES.indexOf(spanClass(rec, e.a, e.b));
      spans.pid[j] = e.b;
      j++;
    } else if (e.type === EV.COUNTER) {
      seriesT[e.a]!.push(e.t);
      seriesV[e.a]!.push(e.b);
    }
  }
  return {
    cpus: rec.machine.cpus,
    fromNs: k.windowStart,
    toNs: k.sim.now,
    spans,
    tasks: [...rec.tasks.values()],
    series: rec.counters.map((c, i) => ({ name: c.name, kind: c.kind, limit: c.limit(), unit: c.unit, t: Float64Array.from(seriesT[i]!), v: Float64Array.from(seriesV[i]!) })),
    latency: k.accounting.latency.buckets().map(([lo, hi, n]) => [lo / 1000, hi / 1000, n] as [number, number, number]),
    steps: stepEvents(rec, opts.stepFromNs, opts.stepToNs, opts.maxSteps),
    irqs: { t: Float64Array.from(irqT), cpu: Uint16Array.from(irqCpu), desc: Int32Array.from(irqDesc) },
    ipis: { t: Float64Array.from(ipiT), from: Uint16Array.from(ipiFrom), to: Uint16Array.from(ipiTo) },
    irqRing: rec.machine.irqs.map((_, d) => rec.machine.irqRing.get(d) ?? ''),
    heldFromNs: b.overwritten > 0 && Number.isFinite(heldFromNs) ? Math.max(k.windowStart, heldFromNs) : k.windowStart,
    recorded: b.written,
    overwritten: b.overwritten,
  };
}
