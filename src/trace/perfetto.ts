import { EV } from './buffer.ts';
import { comm, irqOf, napiDev, softirqName, spanClass } from './names.ts';

/** The slice name of a busy poller's napi_poll: the function that polled. */
const BUSY_POLLER: Record<number, string> = { [EV.BUSY_POLL]: 'napi_busy_loop', [EV.EP_BUSY_POLL]: 'ep_busy_loop' };
import type { TraceRecorder } from './recorder.ts';

/**
 * Chrome trace-event JSON (opens in ui.perfetto.dev and chrome://tracing). Per CPU two thread
 * tracks: "CPU N" with what the CPU runs (hardirq, softirq, ksoftirqd, tasks, context switches:
 * the accounting's exact slices, back to back) and "CPU N kernel" with the kernel's own nesting
 * (irq N: handler, NET_RX: net_rx_action, napi_poll inside it) — two tracks because a task's slice
 * and a softirq's can overlap without nesting (ksoftirqd's loop starts before NET_RX does), and the
 * format needs slices on one track to nest. Counter tracks for ring, backlog and socket
 * occupancy; flow arrows for RPS IPIs. Timestamps are µs (the format's unit) with ns precision.
 */
export interface ChromeTraceEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid?: number;
  dur?: number;
  cat?: string;
  id?: number;
  bp?: string;
  /** Scope of an instant event: 't' (thread). */
  s?: string;
  args?: Record<string, unknown>;
}

const us = (ns: number): number => Math.round(ns) / 1000;
const PID_CPUS = 1;
const PID_QUEUES = 2;
/** The track of a CPU's interrupt, softirq and poll slices. */
export const kernelTid = (cpu: number): number => 1000 + cpu;

export function toChromeTrace(rec: TraceRecorder, title: string): { traceEvents: ChromeTraceEvent[]; displayTimeUnit: string; otherData: Record<string, unknown> } {
  const out: ChromeTraceEvent[] = [];
  out.push({ name: 'process_name', ph: 'M', ts: 0, pid: PID_CPUS, args: { name: `${title}: CPUs` } });
  out.push({ name: 'process_name', ph: 'M', ts: 0, pid: PID_QUEUES, args: { name: 'queues' } });
  for (let cpu = 0; cpu < rec.machine.cpus; cpu++) {
    out.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID_CPUS, tid: cpu, args: { name: `CPU ${cpu}` } });
    out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: PID_CPUS, tid: cpu, args: { sort_index: 2 * cpu } });
    out.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID_CPUS, tid: kernelTid(cpu), args: { name: `CPU ${cpu} kernel` } });
    out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: PID_CPUS, tid: kernelTid(cpu), args: { sort_index: 2 * cpu + 1 } });
  }
  const b = rec.buf;
  const irqOpen = new Map<number, number>();
  const softOpen = new Map<number, number>();
  for (const { slot: i, type, cpu, t, a, b: bb } of b.events()) {
    switch (type) {
      case EV.SPAN: {
        const cls = spanClass(rec, a, bb);
        if (cls === 'idle') break;
        const name = cls === 'hardirq' ? 'hardirq' : cls === 'softirq' ? 'softirq' : cls === 'switch' ? 'context switch' : comm(rec, bb, cpu);
        out.push({ name, cat: cls, ph: 'X', ts: us(t), dur: us(b.dur[i]!), pid: PID_CPUS, tid: cpu, args: { task: comm(rec, bb, cpu) } });
        break;
      }
      case EV.IRQ_ENTRY:
        irqOpen.set(cpu, i);
        break;
      case EV.IRQ_EXIT: {
        const { irq, name } = irqOf(rec, a);
        const start = irqOpen.get(cpu);
        if (start !== undefined) out.push({ name: `irq ${irq}: ${name}`, cat: 'irq', ph: 'X', ts: us(b.t[start]!), dur: us(t - b.t[start]!), pid: PID_CPUS, tid: kernelTid(cpu) });
        irqOpen.delete(cpu);
        break;
      }
      case EV.SOFTIRQ_ENTRY:
        softOpen.set(cpu, i);
        break;
      case EV.SOFTIRQ_EXIT: {
        const start = softOpen.get(cpu);
        if (start !== undefined) out.push({ name: `${softirqName(a)} (net_rx_action)`, cat: 'softirq', ph: 'X', ts: us(b.t[start]!), dur: us(t - b.t[start]!), pid: PID_CPUS, tid: kernelTid(cpu) });
        softOpen.delete(cpu);
        break;
      }
      case EV.NAPI_POLL:
      case EV.BUSY_POLL:
      case EV.EP_BUSY_POLL:
        out.push({
          name: `${BUSY_POLLER[type] ?? 'napi_poll'} ${napiDev(rec, a)}`,
          cat: 'napi',
          ph: 'X',
          ts: us(t),
          dur: us(b.dur[i]!),
          pid: PID_CPUS,
          tid: kernelTid(cpu),
          args: { work: bb, budget: b.c[i]! },
        });
        break;
      case EV.SCHED_WAKEUP:
        out.push({ name: `wakeup ${comm(rec, a, cpu)}`, cat: 'sched', ph: 'i', s: 't', ts: us(t), pid: PID_CPUS, tid: cpu });
        break;
      case EV.NETIF_RECEIVE_SKB:
        out.push({ name: 'netif_receive_skb', cat: 'net', ph: 'i', s: 't', ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu), args: { len: a, segs: bb } });
        break;
      case EV.XDP_EXCEPTION:
        out.push({ name: 'xdp_exception', cat: 'net', ph: 'i', s: 't', ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu), args: { action: a } });
        break;
      case EV.XDP_CPUMAP_ENQUEUE:
        out.push({ name: 'xdp_cpumap_enqueue', cat: 'net', ph: 'i', s: 't', ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu), args: { processed: a, drops: bb, to_cpu: b.c[i]! & 0xffff } });
        break;
      case EV.XDP_CPUMAP_KTHREAD:
        out.push({ name: 'xdp_cpumap_kthread', cat: 'net', ph: 'i', s: 't', ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu), args: { processed: a, sched: b.c[i]! & 0xffff } });
        break;
      case EV.XDP_REDIRECT_XSK:
      case EV.XDP_REDIRECT_XSK_ZC:
        out.push({
          name: a < 0 ? 'xdp_redirect_err' : 'xdp_redirect',
          cat: 'net',
          ph: 'i',
          s: 't',
          ts: us(t),
          pid: PID_CPUS,
          tid: kernelTid(cpu),
          args: { err: a, map_index: bb, zero_copy: type === EV.XDP_REDIRECT_XSK_ZC },
        });
        break;
      case EV.XDP_DEVMAP_XMIT:
        out.push({ name: 'xdp_devmap_xmit', cat: 'net', ph: 'i', s: 't', ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu), args: { sent: a, drops: bb, to: rec.devs[b.c[i]! & 0xffff] ?? '?' } });
        break;
      case EV.XDP_REDIRECT:
        out.push({ name: bb === 0 ? 'xdp_redirect' : 'xdp_redirect_err', cat: 'net', ph: 'i', s: 't', ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu), args: { map_index: a, err: bb } });
        break;
      case EV.COUNTER: {
        const c = rec.counters[a]!;
        out.push({ name: c.name, ph: 'C', ts: us(t), pid: PID_QUEUES, args: { [c.unit]: bb } });
        break;
      }
      case EV.IPI_SEND:
        out.push({ name: 'RPS IPI', cat: 'ipi', ph: 's', id: bb, ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu), args: { to: a } });
        break;
      case EV.IPI_RECEIVE:
        if (bb > 0) out.push({ name: 'RPS IPI', cat: 'ipi', ph: 'f', bp: 'e', id: bb, ts: us(t), pid: PID_CPUS, tid: kernelTid(cpu) });
        break;
    }
  }
  return {
    traceEvents: out,
    displayTimeUnit: 'ns',
    otherData: { generator: 'rxsim', events_recorded: b.written, events_overwritten: b.overwritten, detail: rec.detail },
  };
}
