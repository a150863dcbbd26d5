/// <reference lib="webworker" />
import { formatReport } from '../src/metrics/report.ts';
import { collectResult, type Result } from '../src/metrics/result.ts';
import { simulate } from '../src/model/simulate.ts';
import { InputError } from '../src/scenario/errors.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { findChoice } from '../src/lesson/event-selector.ts';
import type { EventChoice } from '../src/lesson/schema.ts';
import { PacketFollower, toChromeTrace, toFtrace, TraceRecorder, vizData, type FollowedPacket, type VizData } from '../src/trace/index.ts';

/**
 * The engine runs here, off the page's thread: load and validate the scenario, run it with a
 * per-poll trace (bounded), report progress, and post the result, the text report and what the
 * views draw. Cancelling terminates the worker (the page starts a new one).
 */
export type WorkerRequest =
  | {
      id: number;
      type: 'run';
      text: string;
      seed?: number;
      /** Step mode's window start (default: the end of the warm-up). */
      stepFromNs?: number;
      /** A lesson step's event: the result says when it happened (eventNs). */
      seekEvent?: EventChoice;
    }
  | { id: number; type: 'trace'; format: 'perfetto' | 'ftrace' }
  /** Follow the first packet of flow `flow` arriving at or after `afterNs`: the last run's scenario run again with the probe (it does not change the run). */
  | { id: number; type: 'follow'; flow: number; afterNs: number };
export type WorkerResponse =
  | { id: number; type: 'progress'; done: number; total: number }
  | {
      id: number;
      type: 'result';
      result: Result;
      report: string;
      warnings: string[];
      viz: VizData;
      traceMs: number;
      stepFromNs: number;
      /** The seekEvent's time (ns), null if it did not happen. */ eventNs: number | null;
    }
  | { id: number; type: 'error'; error: string; where: string; problem: string }
  | { id: number; type: 'trace'; name: string; text: string }
  | { id: number; type: 'follow'; followed: FollowedPacket };

/** Trace buffer size: a 100 ms 10 GbE run at per-poll detail fits (≈30 bytes per event). */
const TRACE_EVENTS = 1 << 20;
/** Step mode replays this much of the run at packet detail, from the end of the warm-up. */
const STEP_WINDOW_NS = 1_000_000;
const MAX_STEPS = 4000;

/** The last run's trace, kept for a download (Perfetto JSON or ftrace text) of exactly what the views show. */
let last: { name: string; trace: TraceRecorder; text: string; seed: number | undefined } | null = null;

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  if (m.type === 'trace') {
    if (!last) return;
    const text = m.format === 'perfetto' ? JSON.stringify(toChromeTrace(last.trace, last.name)) : toFtrace(last.trace);
    self.postMessage({ id: m.id, type: 'trace', name: `${last.name}.${m.format === 'perfetto' ? 'perfetto.json' : 'ftrace.txt'}`, text } satisfies WorkerResponse);
    return;
  }
  if (m.type === 'follow') {
    if (!last) return;
    const { resolved } = loadScenario(last.text, last.seed === undefined ? {} : { seed: last.seed });
    const follower = new PacketFollower(m.flow, m.afterNs);
    // A recorder that keeps nothing: the probe needs only its hooks (irq_handler_entry).
    simulate(resolved, { trace: new TraceRecorder({ capacity: 1, fromNs: Infinity, follow: follower }) });
    self.postMessage({ id: m.id, type: 'follow', followed: follower.result() } satisfies WorkerResponse);
    return;
  }
  const { id, text, seed, stepFromNs, seekEvent } = m;
  try {
    const { resolved } = loadScenario(text, seed === undefined ? {} : { seed });
    // The trace starts at the end of the warm-up; so does the earliest step window.
    const stepFrom = Math.max(resolved.warmupNs, Math.min(stepFromNs ?? resolved.warmupNs, resolved.durationNs - STEP_WINDOW_NS));
    const trace = new TraceRecorder({ detail: 'poll', capacity: TRACE_EVENTS, fromNs: resolved.warmupNs, packetFromNs: stepFrom, packetToNs: stepFrom + STEP_WINDOW_NS });
    let lastPost = 0;
    const t0 = performance.now();
    const kernel = simulate(resolved, {
      trace,
      // 1 ms series as `rxsim run` records them: the report's steady-state check and intervals.
      seriesNs: 1_000_000,
      progressEveryNs: 500_000,
      onProgress: (done, total) => {
        const now = performance.now();
        if (now - lastPost < 50 && done < total) return;
        lastPost = now;
        self.postMessage({ id, type: 'progress', done, total } satisfies WorkerResponse);
      },
    });
    const result = collectResult(kernel, performance.now() - t0);
    last = { name: resolved.name, trace, text, seed };
    const t1 = performance.now();
    // A lesson step's event: step mode's list starts there (per poll; per packet only inside the recorded window).
    const eventNs = seekEvent ? (findChoice(trace, seekEvent, resolved.warmupNs)?.ns ?? null) : null;
    const stepAt = eventNs === null ? stepFrom : Math.max(resolved.warmupNs, Math.min(eventNs, resolved.durationNs - STEP_WINDOW_NS));
    const viz = vizData(trace, kernel, { stepFromNs: stepAt, stepToNs: stepAt + STEP_WINDOW_NS, maxSteps: MAX_STEPS });
    const response: WorkerResponse = {
      id,
      type: 'result',
      result,
      report: formatReport(result, resolved.description),
      warnings: resolved.warnings,
      viz,
      traceMs: performance.now() - t1,
      stepFromNs: stepAt,
      eventNs,
    };
    const s = viz.spans;
    self.postMessage(response, [s.cpu.buffer, s.start.buffer, s.dur.buffer, s.cls.buffer, s.pid.buffer, ...viz.series.flatMap((x) => [x.t.buffer, x.v.buffer])]);
  } catch (err) {
    const response: WorkerResponse =
      err instanceof InputError
        ? { id, type: 'error', error: err.message, where: err.where, problem: err.problem }
        : { id, type: 'error', error: `internal error: ${(err as Error).message}`, where: '', problem: (err as Error).message };
    self.postMessage(response);
  }
};
