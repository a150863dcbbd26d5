import { applyCommand } from '../../src/scenario/apply.ts';
import { InputError } from '../../src/scenario/errors.ts';
import { scenarioSchema, type Scenario } from '../../src/scenario/schema.ts';
import type { ScenarioObject } from '../state.ts';

/**
 * The apply list checked as it is typed, by the same parser `rxsim run` uses
 * (src/scenario/apply.ts), so a bad command is marked on its own line with the message the run
 * would give (the token, what was expected, the nearest valid name) before anything runs.
 */

/** The scenario without its apply list, or null while it does not validate (the run says why). */
function base(raw: ScenarioObject): Scenario | null {
  const r = scenarioSchema.safeParse({ ...raw, apply: [] });
  return r.success ? r.data : null;
}

function tryApply(s: Scenario, command: string, label: string): { scenario: Scenario } | { problem: string } {
  try {
    return { scenario: applyCommand(s, command, label) };
  } catch (e) {
    if (e instanceof InputError) return { problem: e.message };
    throw e;
  }
}

/** Per command of the scenario's `apply` list, in order: null, or why `rxsim` refuses it. */
export function checkApplyList(raw: ScenarioObject): (string | null)[] {
  const list = Array.isArray(raw.apply) ? (raw.apply as unknown[]).map(String) : [];
  let s = base(raw);
  return list.map((cmd, i) => {
    if (!s) return null;
    const r = tryApply(s, cmd, `apply[${i}]`);
    if ('problem' in r) return r.problem;
    s = r.scenario;
    return null;
  });
}

/** Why `command`, appended to the scenario's apply list, would be refused; null if it applies. */
export function checkNewCommand(raw: ScenarioObject, command: string): string | null {
  const list = Array.isArray(raw.apply) ? (raw.apply as unknown[]).map(String) : [];
  let s = base(raw);
  if (!s) return null;
  for (const [i, cmd] of list.entries()) {
    const r = tryApply(s, cmd, `apply[${i}]`);
    if ('problem' in r) return null; // an earlier line is already marked
    s = r.scenario;
  }
  const r = tryApply(s, command, `apply[${list.length}]`);
  return 'problem' in r ? r.problem : null;
}
