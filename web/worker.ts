/// <reference lib="webworker" />
import { formatReport } from '../src/metrics/report.ts';
import { collectResult, type Result } from '../src/metrics/result.ts';
import { simulate } from '../src/model/simulate.ts';
import { InputError } from '../src/scenario/errors.ts';
import { loadScenario } from '../src/scenario/load.ts';

/** The engine runs here, off the page's thread. */
export type WorkerRequest = { id: number; text: string; seed?: number };
export type WorkerResponse =
  | { id: number; ok: true; result: Result; report: string; warnings: string[] }
  | { id: number; ok: false; error: string };

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const { id, text, seed } = e.data;
  try {
    const { resolved } = loadScenario(text, seed === undefined ? {} : { seed });
    const t0 = performance.now();
    const kernel = simulate(resolved);
    const result = collectResult(kernel, performance.now() - t0);
    const response: WorkerResponse = { id, ok: true, result, report: formatReport(result, resolved.description), warnings: resolved.warnings };
    self.postMessage(response);
  } catch (err) {
    const message = err instanceof InputError ? err.message : `internal error: ${(err as Error).message}`;
    self.postMessage({ id, ok: false, error: message } satisfies WorkerResponse);
  }
};
