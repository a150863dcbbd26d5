import { SOFTIRQ_NAMES } from '../model/softirq.ts';
import { CPU_HARDIRQ, CPU_IDLE, CPU_SOFTIRQ, CPU_SWITCH } from '../model/trace-hooks.ts';
import { EV } from './buffer.ts';
import type { TraceRecorder } from './recorder.ts';

/** What a CPU span is, as the timeline colours it. */
export type SpanClass = 'idle' | 'hardirq' | 'softirq' | 'ksoftirqd' | 'napi-thread' | 'app' | 'switch';

export function spanClass(rec: TraceRecorder, what: number, pid: number): SpanClass {
  if (what === CPU_IDLE) return 'idle';
  if (what === CPU_HARDIRQ) return 'hardirq';
  if (what === CPU_SOFTIRQ) return 'softirq';
  if (what === CPU_SWITCH) return 'switch';
  const kind = rec.tasks.get(pid)?.kind;
  // A kworker or a cpumap kthread is drawn with the per-CPU kernel threads (ksoftirqd's colour).
  return kind === 'ksoftirqd' || kind === 'kworker' || kind === 'cpumap' ? 'ksoftirqd' : kind === 'napi' ? 'napi-thread' : 'app';
}

/**
 * The task current on each CPU when the buffer starts (a window or an overwritten buffer begins
 * mid-run): from each CPU's first span (its pid) or context switch (its prev), -1 for idle.
 */
export function initialCurrent(rec: TraceRecorder): Int32Array {
  const b = rec.buf;
  const curr = new Int32Array(rec.machine.cpus).fill(-1);
  const first = new Float64Array(rec.machine.cpus).fill(Infinity);
  // One pass in write order (no sort): per CPU the earliest such event, the first written on a tie.
  for (let i = 0; i < b.length; i++) {
    const s = b.slot(i);
    const type = b.type[s];
    if (type !== EV.SPAN && type !== EV.SCHED_SWITCH) continue;
    const cpu = b.cpu[s]!;
    if (b.t[s]! >= first[cpu]!) continue;
    first[cpu] = b.t[s]!;
    curr[cpu] = type === EV.SPAN ? b.b[s]! : b.a[s]!;
  }
  return curr;
}

/** `comm` of a pid, `swapper/N` for the idle task (pid -1 here, 0 in the kernel). */
export function comm(rec: TraceRecorder, pid: number, cpu: number): string {
  return pid < 0 ? `swapper/${cpu}` : (rec.tasks.get(pid)?.comm ?? `pid${pid}`);
}

export function softirqName(vec: number): string {
  return SOFTIRQ_NAMES[vec] ?? String(vec);
}

/** The IRQ number (as in /proc/interrupts) and action name of an IRQ descriptor. */
export function irqOf(rec: TraceRecorder, desc: number): { irq: string; name: string } {
  const d = rec.machine.irqs[desc];
  if (!d) return { irq: String(desc), name: '' };
  return { irq: d.irq >= 0 ? String(d.irq) : d.label, name: d.irq >= 0 ? d.name : d.label === 'LOC' ? 'local_timer' : d.label === 'RES' ? 'reschedule' : 'call_function' };
}

export function napiDev(rec: TraceRecorder, id: number): string {
  return rec.machine.napis.get(id) ?? '?';
}
