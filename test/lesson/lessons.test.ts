import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findChoice, findEvent } from '../../src/lesson/event-selector.ts';
import { loadLesson } from '../../src/lesson/load.ts';
import { checkStep, runStepScenario, stepSubject, type StepRun } from '../../src/lesson/run-step.ts';
import { lessonJsonSchema, type EventSelector } from '../../src/lesson/schema.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { toFtrace, TraceRecorder } from '../../src/trace/index.ts';
import { inputError, scenario } from '../helpers.ts';

/** Lessons (lessons/*.json): their format, their bad input, and that every claim holds on its run for every seed. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCENARIOS = join(ROOT, 'sim-scenarios');
const LESSONS = join(ROOT, 'lessons');
const shippedNames = readdirSync(SCENARIOS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5));
const shipped = (name: string) => (shippedNames.includes(name) ? readFileSync(join(SCENARIOS, `${name}.json`), 'utf8') : undefined);
const files = readdirSync(LESSONS)
  .filter((f) => f.endsWith('.json'))
  .sort();

/** A lesson over small test scenarios (`a`, a UDP flow at 100 kpps; `b`, the same at 200 kpps). */
const small: Record<string, string> = {
  a: JSON.stringify(scenario({ name: 'a', duration_ms: 6, warmup_ms: 1 })),
  b: JSON.stringify(scenario({ name: 'b', duration_ms: 6, warmup_ms: 1, flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '200kpps', size: 64 }] })),
};
const step = (over: Record<string, unknown> = {}) => ({
  title: 't',
  at_ms: 2,
  views: ['path'],
  question: 'q?',
  explanation: 'e.',
  expect: [{ metric: 'packets.offered', '>': 0 }],
  ...over,
});
const lessonText = (steps: unknown[], over: Record<string, unknown> = {}) => JSON.stringify({ name: 'l', title: 'L', summary: 's', steps, ...over });
const load = (steps: unknown[], over: Record<string, unknown> = {}) => loadLesson(lessonText(steps, over), (n) => small[n], Object.keys(small));

/** Run every step of a loaded lesson with a seed (steps on the same scenario share a run) and return the failed claims. */
function failures(text: string, seed: number | undefined, scenarioText = shipped, names = shippedNames) {
  const { lesson, steps } = loadLesson(text, scenarioText, names);
  const runs = new Map<string, StepRun>();
  const traced = new Set(steps.filter((s) => s.step.at_event).map((s) => s.text));
  return steps.flatMap((s) => {
    let run = runs.get(s.text);
    if (!run) runs.set(s.text, (run = runStepScenario(s.text, seed, traced.has(s.text))));
    return checkStep(s, stepSubject(s, run))
      .filter((o) => !o.pass)
      .map((o) => `${lesson.name} step ${s.index + 1}: ${o.metric} = ${o.actual}, expected ${o.condition}`);
  });
}

describe('lesson files', () => {
  it('seven or more ship, and lesson.schema.json is what `rxsim schema --lesson` prints', () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
    expect(JSON.parse(readFileSync(join(ROOT, 'lesson.schema.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(lessonJsonSchema())));
  });

  describe.each(files)('%s', (file) => {
    const text = readFileSync(join(LESSONS, file), 'utf8');
    const { lesson, steps } = loadLesson(text, shipped, shippedNames);

    it('is named after its file, points at the schema, and every step asks, explains and backs its explanation with claims', () => {
      expect(`${lesson.name}.json`).toBe(file);
      expect((JSON.parse(text) as { $schema?: string }).$schema).toBe('../lesson.schema.json');
      expect(steps.length).toBeGreaterThanOrEqual(2);
      for (const s of steps) {
        expect(s.step.question).toMatch(/\?/);
        expect(s.step.explanation.length).toBeGreaterThan(80);
        expect(s.step.expect.every((e) => e.why)).toBe(true);
        expect(s.step.stages.length).toBeGreaterThan(0);
      }
    });

    // A lesson must not contradict the run the student sees, whichever seed it is run with.
    it.each([1, 2, 3, 4, 5])('every claim holds with seed %i', (seed) => {
      expect(failures(text, seed)).toEqual([]);
    });
  });
});

describe('lesson format', () => {
  it('a step without a scenario runs the previous one with its apply commands added', () => {
    const { steps } = load([step({ scenario: 'a' }), step({ apply: ['ethtool -C eth0 rx-usecs 100'] }), step({ apply: ['sysctl -w net.core.netdev_budget=600'] })]);
    const applied = steps.map((s) => (JSON.parse(s.text) as { apply?: string[] }).apply ?? []);
    expect(applied).toEqual([[], ['ethtool -C eth0 rx-usecs 100'], ['ethtool -C eth0 rx-usecs 100', 'sysctl -w net.core.netdev_budget=600']]);
    expect(steps.map((s) => s.scenarioName)).toEqual(['a', 'a', 'a']);
    expect(loadScenario(steps[2]!.text).resolved.nics[0]!.rxUsecs).toBe(100);
  });

  it('bad input names the JSON path, what was expected and the nearest valid name', () => {
    expect(inputError(() => load([step({ scenario: 'aa' })]))).toMatch(/^steps\[0\]\.scenario: "aa" is not a shipped scenario \(did you mean "a"\?\)/);
    expect(inputError(() => load([step({ scenario: 'a', stages: ['socket', 'sockett'] })]))).toMatch(/^steps\[0\]\.stages\[1\]: "sockett" is not one of .*\(did you mean "socket"\?\)/);
    expect(inputError(() => load([step({ scenario: 'a', explanaton: 'x' })]))).toMatch(/^steps\[0\]\.explanaton: unknown key "explanaton" \(did you mean "explanation"\?\)/);
    expect(inputError(() => load([step()]))).toMatch(/^steps\[0\]: needs "scenario"/);
    expect(inputError(() => load([step({ scenario: 'a' }), step({ apply: ['ethtool -C eth0 rx-usec 100'] })]))).toMatch(/^steps\[1\]\.apply\[0\]: .*rx-usec.*did you mean "rx-usecs"/);
    expect(inputError(() => load([step({ scenario: 'a', at_ms: 6 })]))).toMatch(/^steps\[0\]\.at_ms: 6 is not before the end of the run \(duration_ms 6\)/);
    expect(inputError(() => load([step({ scenario: 'a', at_event: { tracepoint: 'napi_poll' } })]))).toMatch(/^steps\[0\]: needs exactly one of "at_ms", "at_event"/);
    expect(inputError(() => load([step({ scenario: 'a', at_ms: undefined, at_event: { tracepoint: 'napi_pol' } })]))).toMatch(/^steps\[0\]\.at_event(\.tracepoint)?: .*napi_poll/);
    expect(inputError(() => load([step({ scenario: 'a', at_ms: undefined, at_event: { tracepoint: 'napi_poll', after_ms: 0.5 } })]))).toMatch(
      /^steps\[0\]\.at_event\.after_ms: 0\.5 is inside the warm-up \(1 ms\)/,
    );
  });

  it('a claim that contradicts the run fails, and so does a step whose event never happens', () => {
    const text = lessonText([
      step({ scenario: 'a', expect: [{ metric: 'packets.offered', '>=': 900, why: 'claims twice what 100 kpps offer in 5 ms' }] }),
      step({ at_ms: undefined, at_event: { tracepoint: 'sched_switch', contains: 'next_comm=nobody' } }),
      step({ scenario: 'b', expect: [{ metric: 'packets.offered', '>=': 900, why: 'holds at 200 kpps' }] }),
    ]);
    const failed = failures(text, 1, (n) => small[n], Object.keys(small));
    expect(failed, failed.join('\n')).toHaveLength(2);
    expect(failed[0]).toMatch(/^l step 1: packets\.offered = \d+, expected >= 900/);
    expect(failed[1]).toMatch(/^l step 2: step\.at_event = undefined/);
  });
});

describe('event selectors', () => {
  const { resolved } = loadScenario(small.a!);
  const trace = new TraceRecorder({ detail: 'poll', capacity: 1 << 20, fromNs: resolved.warmupNs });
  simulate(resolved, { trace });
  /** The ftrace lines as the download prints them: task, CPU, time (s) and the event. */
  const lines = toFtrace(trace)
    .split('\n')
    .flatMap((l) => {
      const m = /^\s*(\S+)-\d+\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$/.exec(l);
      return m ? [{ task: m[1]!, cpu: Number(m[2]), ns: Math.round(Number(m[3]) * 1e9), tracepoint: m[4]!, text: `${m[4]}: ${m[5]}` }] : [];
    });

  it('find the event the ftrace text shows: its tracepoint, CPU, task, text, from a time, the nth', () => {
    const cases: EventSelector[] = [
      { tracepoint: 'irq_handler_entry', contains: 'name=eth0', nth: 1 },
      { tracepoint: 'irq_handler_entry', cpu: 0, nth: 2 },
      { tracepoint: 'napi_poll', contains: 'device eth0', nth: 3 },
      { tracepoint: 'softirq_entry', task: 'swapper/0', nth: 2, after_ms: 3 },
    ];
    for (const sel of cases) {
      const want = lines.filter(
        (l) =>
          l.tracepoint === sel.tracepoint &&
          l.ns >= (sel.after_ms ?? 1) * 1e6 &&
          (sel.cpu === undefined || l.cpu === sel.cpu) &&
          (sel.task === undefined || l.task === sel.task) &&
          (sel.contains === undefined || l.text.includes(sel.contains)),
      )[sel.nth - 1];
      expect(want, JSON.stringify(sel)).toBeDefined();
      const got = findEvent(trace, sel, resolved.warmupNs);
      // ftrace prints µs; the selector keeps ns.
      expect(Math.abs(got!.ns - want!.ns)).toBeLessThan(1000);
      expect({ cpu: got!.cpu, task: got!.task, line: `${sel.tracepoint}: ${got!.line.replace(/^\w+: /, '')}` }).toEqual({ cpu: want!.cpu, task: want!.task, line: want!.text });
    }
  });

  it('a list of selectors takes the first that happens', () => {
    const none = { tracepoint: 'sched_switch' as const, contains: 'next_comm=nobody', nth: 1 };
    const irq = { tracepoint: 'irq_handler_entry' as const, nth: 1 };
    expect(findEvent(trace, none, resolved.warmupNs)).toBeNull();
    expect(findChoice(trace, [none, irq], resolved.warmupNs)).toEqual(findEvent(trace, irq, resolved.warmupNs));
  });
});
