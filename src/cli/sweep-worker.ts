/**
 * A worker thread of `rxsim sweep`: it receives the sweep (scenario, axes, metrics) once, then
 * runs one run per message — load the point's scenario with the run's seed, simulate, collect the
 * result — and answers with the run's metrics and digest (not the whole result: a result is
 * large, and structured cloning it would cost more than the run of a small scenario).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../scenario/errors.ts';
import { measureRun, type RunTask, type WorkerSweep } from '../study/browser-sweep.ts';

export type { RunTask, WorkerSweep };

export type RunAnswer = { run: number; metrics: (number | null)[]; digest: string; wallMs: number } | { run: number; error: { input: boolean; where: string; problem: string; stack: string } };

/** One run, in whatever thread calls it (the shared measureRun), timed. */
export function runOne(sweep: WorkerSweep, task: RunTask): RunAnswer {
  try {
    const t0 = performance.now();
    const m = measureRun(sweep, task);
    return { run: task.run, ...m, wallMs: performance.now() - t0 };
  } catch (e) {
    const input = e instanceof InputError;
    return { run: task.run, error: { input, where: input ? e.where : '', problem: input ? e.problem : String(e), stack: (e as Error)?.stack ?? String(e) } };
  }
}

/** What the pool hands each worker: the sweep, under a key that says this thread is one of ours. */
export interface WorkerInit {
  rxsimSweep: WorkerSweep;
}

// The sweep comes with the worker's start (workerData) or, for a pool started before the sweep
// was checked, as the first message; tasks follow.
const init = workerData as Partial<WorkerInit> | { rxsimSweepLater: true } | null;
if (parentPort && init && ('rxsimSweep' in init || 'rxsimSweepLater' in init)) {
  const port = parentPort;
  let sweep: WorkerSweep | null = 'rxsimSweep' in init ? (init.rxsimSweep ?? null) : null;
  port.on('message', (m: RunTask | WorkerInit) => {
    if ('rxsimSweep' in m) sweep = m.rxsimSweep;
    else port.postMessage(runOne(sweep!, m));
  });
}
