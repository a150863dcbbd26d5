import { InputError, didYouMean } from '../scenario/errors.ts';
import { loadScenario, parseJson } from '../scenario/load.ts';
import { firstIssueAsError } from '../scenario/zod-errors.ts';
import { lessonSchema, type Lesson, type LessonStep } from './schema.ts';

/** A step ready to run: the scenario text it runs (its scenario, or the previous step's, with its `apply` commands added). */
export interface ResolvedStep {
  index: number;
  step: LessonStep;
  /** The shipped scenario the step's run starts from. */
  scenarioName: string;
  /** The scenario JSON the step runs (what the browser loads into its editor). */
  text: string;
  warmupNs: number;
  durationNs: number;
}

export interface LoadedLesson {
  lesson: Lesson;
  steps: ResolvedStep[];
}

/**
 * Lesson JSON text → validated lesson with every step's scenario resolved and loaded once (so a
 * misspelt scenario name, an apply command the grammar refuses or a time past the end of the run
 * is bad input at its JSON path, before anything runs). `scenarioText(name)` returns a shipped
 * scenario's text, or undefined; `names` lists them for the nearest-name hint.
 */
export function loadLesson(text: string, scenarioText: (name: string) => string | undefined, names: readonly string[]): LoadedLesson {
  const raw = parseJson(text);
  const parsed = lessonSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw firstIssueAsError(parsed.error.issues, lessonSchema);
  const lesson = parsed.data;
  const steps: ResolvedStep[] = [];
  let prev: { name: string; obj: Record<string, unknown> } | null = null;
  lesson.steps.forEach((step, i) => {
    const where = `steps[${i}]`;
    let base = prev;
    if (step.scenario !== undefined) {
      const t = scenarioText(step.scenario);
      if (t === undefined) throw new InputError(`${where}.scenario`, `"${step.scenario}" is not a shipped scenario${didYouMean(step.scenario, names)}`);
      base = { name: step.scenario, obj: parseJson(t) as Record<string, unknown> };
    }
    if (!base) throw new InputError(where, 'needs "scenario": the first step has no previous step whose scenario it could change');
    const own = Array.isArray(base.obj.apply) ? (base.obj.apply as string[]) : [];
    const obj = step.apply.length > 0 ? { ...base.obj, apply: [...own, ...step.apply] } : base.obj;
    const stepText = JSON.stringify(obj, null, 2);
    let loaded;
    try {
      loaded = loadScenario(stepText);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // An apply command of this step: name it where the lesson has it.
      const m = /^apply\[(\d+)\](.*)$/.exec(e.where);
      if (m && Number(m[1]) >= own.length) throw new InputError(`${where}.apply[${Number(m[1]) - own.length}]${m[2]}`, e.problem);
      throw new InputError(`${where} (scenario ${base.name}): ${e.where}`, e.problem);
    }
    const { warmupNs, durationNs } = loaded.resolved;
    const endMs = durationNs / 1e6;
    if (step.at_ms !== undefined && step.at_ms >= endMs) throw new InputError(`${where}.at_ms`, `${step.at_ms} is not before the end of the run (duration_ms ${endMs})`);
    const events =
      step.at_event === undefined ? [] : Array.isArray(step.at_event) ? step.at_event.map((e, k) => ({ e, at: `${where}.at_event[${k}]` })) : [{ e: step.at_event, at: `${where}.at_event` }];
    for (const { e, at } of events) {
      const after = e.after_ms;
      if (after !== undefined && after >= endMs) throw new InputError(`${at}.after_ms`, `${after} is not before the end of the run (duration_ms ${endMs})`);
      if (after !== undefined && after * 1e6 < warmupNs) throw new InputError(`${at}.after_ms`, `${after} is inside the warm-up (${warmupNs / 1e6} ms): the trace starts at its end`);
    }
    steps.push({ index: i, step, scenarioName: base.name, text: stepText, warmupNs, durationNs });
    prev = { name: base.name, obj };
  });
  return { lesson, steps };
}

/** A lesson file is told from a scenario file by its `steps` list (a scenario has none). */
export function isLessonText(text: string): boolean {
  try {
    const raw = JSON.parse(text) as unknown;
    return raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Array.isArray((raw as Record<string, unknown>).steps);
  } catch {
    return false;
  }
}
