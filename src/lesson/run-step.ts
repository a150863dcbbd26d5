import { evaluateExpectations, type ExpectationOutcome } from '../metrics/expect.ts';
import { collectResult, type Result } from '../metrics/result.ts';
import { simulate } from '../model/simulate.ts';
import { loadScenario } from '../scenario/load.ts';
import { TraceRecorder } from '../trace/recorder.ts';
import { findChoice, LESSON_TRACE_EVENTS, type FoundEvent } from './event-selector.ts';
import type { ResolvedStep } from './load.ts';

/** One run of a step's scenario: its result and, when asked for, the trace the browser records. */
export interface StepRun {
  result: Result;
  trace: TraceRecorder | null;
  warmupNs: number;
}

/** What a step's claims are checked against: the run's result, and where the step jumps to. */
export interface StepSubject {
  result: Result;
  /** ns from the start of the run, or null when its event never happened. */
  atNs: number | null;
  event: FoundEvent | null;
}

/** Run a step's scenario text with a seed; `traced`: record per poll from the end of the warm-up, as the browser does. */
export function runStepScenario(text: string, seed: number | undefined, traced: boolean): StepRun {
  const { resolved } = loadScenario(text, seed === undefined ? {} : { seed });
  const trace = traced ? new TraceRecorder({ detail: 'poll', capacity: LESSON_TRACE_EVENTS, fromNs: resolved.warmupNs }) : null;
  const kernel = simulate(resolved, trace ? { trace } : {});
  // Wall time is the CLI's to measure; a lesson's claims are on the simulated run.
  return { result: collectResult(kernel, 0), trace, warmupNs: resolved.warmupNs };
}

/** Where the step jumps to in a run (its time, or its event found in the run's trace). */
export function stepSubject(s: ResolvedStep, run: StepRun): StepSubject {
  const sel = s.step.at_event;
  if (!sel) return { result: run.result, event: null, atNs: Math.round(s.step.at_ms! * 1e6) };
  const event = run.trace ? findChoice(run.trace, sel, run.warmupNs) : null;
  return { result: run.result, event, atNs: event?.ns ?? null };
}

/** The step's claims on its run (`step.at_ms` is where it jumps to); a step whose event never happened fails with that said. */
export function checkStep(s: ResolvedStep, subject: StepSubject): ExpectationOutcome[] {
  const target = { ...subject.result, step: { at_ms: subject.atNs === null ? undefined : subject.atNs / 1e6 } };
  const out = evaluateExpectations(target, s.step.expect);
  if (s.step.at_event && subject.atNs === null) {
    out.unshift({
      metric: 'step.at_event',
      condition: `an event as at_event selects (${[s.step.at_event]
        .flat()
        .map((e) => e.tracepoint)
        .join(' or ')})`,
      actual: undefined,
      pass: false,
      why: 'the run has no such event: the step would jump nowhere',
    });
  }
  return out;
}
