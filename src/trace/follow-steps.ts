import type { FollowedPacket, FollowStage } from './follow.ts';
import { SPAN_CLASSES, type VizData } from './viz.ts';

/** One row of a followed packet as the browser lists it: the stage, and the wait before it with its cause. */
export interface FollowStep extends FollowStage {
  /** ns since the previous stage. */
  waitNs: number;
  /** Why it waited (what the CPU that did this stage was busy with meanwhile), or ''. */
  why: string;
  /** What the CPU ran when it did the stage (softirq, ksoftirqd, a task's name for a busy poll or the copy), or ''. */
  context: string;
}

/**
 * The wait before each stage and its cause: what the CPU that did the stage spent the wait on
 * (from the recorded spans), with the frames ahead in a queue where the stage says so.
 */
export function followSteps(f: FollowedPacket, viz: VizData): FollowStep[] {
  return f.stages.map((s, i) => {
    const prev = i > 0 ? f.stages[i - 1]! : null;
    const waitNs = prev ? s.t - prev.t : 0;
    return { ...s, waitNs, why: prev && waitNs >= 1000 && s.cpu >= 0 ? busyWith(viz, s.cpu, prev.t, s.t) : '', context: s.cpu >= 0 ? contextAt(viz, s.cpu, s.t) : '' };
  });
}

/** `CPU 4 busy: 62 % app (iperf3), 30 % ksoftirqd` over [from, to), from the spans. */
export function busyWith(viz: VizData, cpu: number, from: number, to: number): string {
  const s = viz.spans;
  const byClass = new Map<string, number>();
  for (let i = 0; i < s.cpu.length; i++) {
    if (s.cpu[i] !== cpu) continue;
    const a = Math.max(from, s.start[i]!);
    const b = Math.min(to, s.start[i]! + s.dur[i]!);
    if (b <= a) continue;
    const cls = SPAN_CLASSES[s.cls[i]!]!;
    const pid = s.pid[i]!;
    const label = cls === 'app' ? `task ${viz.tasks.find((x) => x.pid === pid)?.comm ?? pid}` : cls;
    byClass.set(label, (byClass.get(label) ?? 0) + (b - a));
  }
  const total = to - from;
  const parts = [...byClass.entries()]
    .filter(([, ns]) => ns / total >= 0.05)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 3)
    .map(([label, ns]) => `${Math.round((100 * ns) / total)} % ${label}`);
  return parts.length ? `CPU ${cpu} meanwhile: ${parts.join(', ')}` : '';
}

/** The context a CPU was in at t (the span containing it): `ksoftirqd`, `softirq`, or a task's comm; '' if none recorded. */
export function contextAt(viz: VizData, cpu: number, t: number): string {
  const s = viz.spans;
  // A stage planned at the end of a span may sit on its boundary: take the span ending at t too.
  for (let i = 0; i < s.cpu.length; i++) {
    if (s.cpu[i] !== cpu || s.start[i]! > t || s.start[i]! + s.dur[i]! < t) continue;
    const cls = SPAN_CLASSES[s.cls[i]!]!;
    if (cls === 'idle' || cls === 'switch') continue;
    const pid = s.pid[i]!;
    if (cls === 'app') return viz.tasks.find((x) => x.pid === pid)?.comm ?? `pid ${pid}`;
    return cls === 'softirq' ? 'softirq' : (viz.tasks.find((x) => x.pid === pid)?.comm ?? cls);
  }
  return '';
}
