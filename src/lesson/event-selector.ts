import { EV } from '../trace/buffer.ts';
import { describeEvent, printTime } from '../trace/ftrace.ts';
import { KERNEL_SITES } from '../trace/kernel-functions.ts';
import { comm, initialCurrent } from '../trace/names.ts';
import type { TraceRecorder } from '../trace/recorder.ts';
import type { EventChoice, EventSelector } from './schema.ts';

/**
 * Where a lesson step jumps to: the nth event of a tracepoint at or after a time, optionally on
 * one CPU, while a task is current there, and with a text in its ftrace line ("the first
 * sched_switch to ksoftirqd/4 after the warm-up" is `{tracepoint: "sched_switch", cpu: 4,
 * contains: "next_comm=ksoftirqd/4"}`). A step may list several selectors: the first that
 * happens in the run wins. Found in the run's own trace — the one the browser records and the
 * ftrace download prints — so the time `rxsim check` verifies is the time the student sees.
 */

/** A tracepoint's short name (`sched_switch`) → the event types that print it. */
function typesOf(tracepoint: string): Set<number> {
  const out = new Set<number>();
  for (const [type, site] of Object.entries(KERNEL_SITES)) {
    if (site.tracepoint.replace(/^[a-z_]+:/, '') === tracepoint) out.add(Number(type));
  }
  return out;
}

export interface FoundEvent {
  /** When it happened (its ftrace timestamp), ns from the start of the run. */
  ns: number;
  cpu: number;
  /** The task current on the CPU (ftrace's TASK column). */
  task: string;
  /** Its ftrace line, without the task/CPU/time columns. */
  line: string;
}

/** The selected event in a recorded run, or null if the trace holds no such event. */
export function findEvent(rec: TraceRecorder, sel: EventSelector, warmupNs: number): FoundEvent | null {
  const types = typesOf(sel.tracepoint);
  const fromNs = sel.after_ms === undefined ? warmupNs : Math.round(sel.after_ms * 1e6);
  const b = rec.buf;
  // The current task per CPU, as ftrace prints it: a sched_switch line is the previous task's.
  const curr = initialCurrent(rec);
  let seen = 0;
  for (const e of b.events((s) => printTime(b, s))) {
    const pid = curr[e.cpu]!;
    if (e.type === EV.SCHED_SWITCH) curr[e.cpu] = e.b;
    if (!types.has(e.type)) continue;
    const t = printTime(b, e.slot);
    if (t < fromNs || (sel.cpu !== undefined && e.cpu !== sel.cpu)) continue;
    const task = comm(rec, pid, e.cpu);
    if (sel.task !== undefined && task !== sel.task) continue;
    // describeEvent's skb counter only matters to net:netif_receive_skb, which no selector names.
    const line = describeEvent(rec, e);
    if (line === null || (sel.contains !== undefined && !line.includes(sel.contains))) continue;
    if (++seen === sel.nth) return { ns: t, cpu: e.cpu, task, line };
  }
  return null;
}

/** A step's event: its selector's, or the first of its fallbacks that the run has. */
export function findChoice(rec: TraceRecorder, choice: EventChoice, warmupNs: number): FoundEvent | null {
  for (const sel of Array.isArray(choice) ? choice : [choice]) {
    const found = findEvent(rec, sel, warmupNs);
    if (found) return found;
  }
  return null;
}

/** The trace a lesson step records to find its event: per poll from the end of the warm-up, as the browser records it. */
export const LESSON_TRACE_EVENTS = 1 << 20;
