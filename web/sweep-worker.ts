/// <reference lib="webworker" />
import { runOne, type RunAnswer, type RunTask, type WorkerSweep } from '../src/study/browser-sweep.ts';

/**
 * One worker of the Sweep tab's pool: it receives the sweep (scenario, axes, metrics) once, then
 * runs one run per message — the same `runOne` path as `rxsim sweep`'s worker threads — and
 * answers with the run's metrics and digest (not the whole result: cloning it would cost more
 * than a small run).
 */
export type SweepWorkerRequest = { type: 'init'; sweep: WorkerSweep } | ({ type: 'run' } & RunTask);
export type SweepWorkerResponse = RunAnswer;

let sweep: WorkerSweep | null = null;

self.onmessage = (e: MessageEvent<SweepWorkerRequest>) => {
  const m = e.data;
  if (m.type === 'init') {
    sweep = m.sweep;
    return;
  }
  const answer: SweepWorkerResponse = sweep ? runOne(sweep, m) : { run: m.run, error: 'the sweep worker was not initialised' };
  self.postMessage(answer);
};
