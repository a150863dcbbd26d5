import type { Simulator } from '../engine/simulator.ts';
import type { TimelineChange } from '../scenario/resolve.ts';
import type { Task } from './task.ts';

export interface TimelineHost {
  readonly sim: Simulator;
  readonly sched: { setAffinity(task: Task, cpus: number[]): void };
  /** The task of each app (by app index). */
  appTask(app: number): Task;
  /** echo LIST > /proc/irq/N/smp_affinity_list for a NIC queue's vector. */
  setIrqAffinity(nic: number, queue: number, cpus: number[]): void;
}

/**
 * The scenario's timeline: at each entry's time, tasks move (taskset → sched_setaffinity) and
 * IRQs are re-pinned (smp_affinity_list), as an operator would do on a running machine.
 */
export function scheduleTimeline(k: TimelineHost, changes: readonly TimelineChange[]): void {
  const event = k.sim.on((i) => {
    const change = changes[i]!;
    for (const a of change.apps) k.sched.setAffinity(k.appTask(a.app), a.cpus);
    for (const q of change.irqs) k.setIrqAffinity(q.nic, q.queue, q.cpus);
  });
  changes.forEach((change, i) => k.sim.at(change.atNs, event, i));
}
