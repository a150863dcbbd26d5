import { Acct, type Task, type TaskYield } from '../task.ts';

/** A busy loop's chunk: preemption happens at interrupt returns anyway, this only bounds bookkeeping. */
const HOG_CHUNK_NS = 1_000_000;

/** cpu-hog: a competing busy task that runs in user mode forever. */
export function* cpuHog(task: Task): Generator<TaskYield, void, void> {
  task.acct = Acct.USR;
  for (;;) yield HOG_CHUNK_NS;
}
