import { MS } from '../../engine/time.ts';
import { Acct, type Task, type TaskYield } from '../task.ts';

/** A busy loop's chunk: preemption happens at interrupt returns anyway, this only bounds bookkeeping. */
const HOG_CHUNK_NS = MS;

/** cpu-hog: a competing busy task that runs in user mode forever. */
export function* cpuHog(task: Task): Generator<TaskYield, void, void> {
  task.acct = Acct.USR;
  for (;;) yield HOG_CHUNK_NS;
}
