import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { collectResult } from '../metrics/result.ts';
import { loadLesson, type LoadedLesson } from '../lesson/load.ts';
import { checkStep, runStepScenario, stepSubject, type StepRun } from '../lesson/run-step.ts';
import { simulate } from '../model/simulate.ts';
import { InputError } from '../scenario/errors.ts';
import { loadScenario } from '../scenario/load.ts';
import type { CheckedRun } from '../study/check-report.ts';
import { metricProblem } from '../study/metrics.ts';
import { PROBE_MS } from '../study/sweep.ts';
import { readText } from './io.ts';

/**
 * `rxsim check lessons/`: every step of every lesson runs (its scenario, or the previous step's
 * with its apply commands) for each seed, and its claims — the expectations behind its
 * explanation, and that its event happens — must hold. Steps that run the same scenario share a
 * run per seed.
 */

/** The shipped scenarios a lesson can name: sim-scenarios/<name>.json. */
function shippedScenarios(scenarioDir: string): { text: (name: string) => string | undefined; names: string[] } {
  const names = existsSync(scenarioDir)
    ? readdirSync(scenarioDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
        .sort()
    : [];
  return { names, text: (name) => (names.includes(name) ? readText(join(scenarioDir, `${name}.json`), 'scenario file') : undefined) };
}

/** Load and validate a lesson file; a misspelt metric is bad input at its JSON path, before anything runs. */
export function loadLessonFile(file: string, scenarioDir: string): LoadedLesson {
  const { text, names } = shippedScenarios(scenarioDir);
  let loaded: LoadedLesson;
  try {
    loaded = loadLesson(readText(file, 'lesson file'), text, names);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.where}`, e.problem);
    throw e;
  }
  const probes = new Map<string, unknown>();
  for (const s of loaded.steps) {
    let probe = probes.get(s.text);
    if (probe === undefined) {
      const { resolved } = loadScenario(s.text, { durationMs: PROBE_MS, set: ['warmup_ms=0', 'timeline=[]'] });
      probe = collectResult(simulate(resolved), 0);
      probes.set(s.text, probe);
    }
    s.step.expect.forEach((e, i) => {
      if (e.metric === 'step.at_ms') return;
      const problem = metricProblem(probe, e.metric);
      if (problem) throw new InputError(`${file}: steps[${s.index}].expect[${i}].metric "${e.metric}"`, `${problem}, or step.at_ms`);
    });
  }
  return loaded;
}

export function checkLessons(lessons: LoadedLesson[], seeds: readonly (number | undefined)[]): CheckedRun[] {
  const runs: CheckedRun[] = [];
  for (const { lesson, steps } of lessons) {
    for (const seed of seeds) {
      const cache = new Map<string, StepRun>();
      const traced = new Set(steps.filter((s) => s.step.at_event).map((s) => s.text));
      for (const s of steps) {
        let run = cache.get(s.text);
        let wallMs = 0;
        if (!run) {
          const t0 = performance.now();
          run = runStepScenario(s.text, seed, traced.has(s.text));
          wallMs = performance.now() - t0;
          cache.set(s.text, run);
        }
        runs.push({
          scenario: `${lesson.name} step ${s.index + 1}`,
          ...(seeds.length > 1 || seed !== undefined ? { seed } : {}),
          digest: run.result.digest,
          wallMs,
          outcomes: checkStep(s, stepSubject(s, run)),
        });
      }
    }
  }
  return runs;
}
