import type { Napi } from './napi.ts';
import type { Task } from './task.ts';

/**
 * What the model reports to an optional tracer (src/trace implements it). Calls are guarded
 * with `k.trace?.`, so a run without tracing pays one null check per hook.
 */
export interface TraceHooks {
  irqRaise(cpu: number, desc: number): void;
  irqEntry(cpu: number, desc: number): void;
  softirqFrame(cpu: number, begin: boolean, ksoftirqd: boolean): void;
  softirqEntry(cpu: number, vec: number): void;
  softirqExit(cpu: number, vec: number): void;
  napiPoll(cpu: number, napi: Napi, work: number, budget: number): void;
  sched(cpu: number, prev: Task | null, next: Task | null): void;
  wakeup(cpu: number, task: Task, from: number): void;
}
