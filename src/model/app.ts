import type { ResolvedApp } from '../scenario/resolve.ts';
import type { Kernel } from './kernel.ts';
import { Acct, Task, type TaskYield } from './task.ts';

/** A busy loop's chunk: preemption happens at interrupt returns anyway, this only bounds bookkeeping. */
const HOG_CHUNK_NS = 1_000_000;

/** Create the task of an application (currently: cpu-hog, a competing busy task). */
export function createAppTask(k: Kernel, app: ResolvedApp): Task | null {
  if (app.kind !== 'cpu-hog') return null;
  const task = new Task(k.nextPid++, app.name, app.cpus, app.nice, 'app', app.cgroup);
  task.activity = cpuHog(task);
  task.state = 'sleeping';
  return task;
}

/** cpu-hog: runs in user mode forever. */
function* cpuHog(task: Task): Generator<TaskYield, void, void> {
  task.acct = Acct.USR;
  for (;;) yield HOG_CHUNK_NS;
}
