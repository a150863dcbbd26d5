import type { ExpectationOutcome } from './expect.ts';

/**
 * What `rxsim check` found, in the formats CI systems read: text (the default), JUnit XML (one
 * test case per expectation, grouped by scenario and seed), TAP 13, or JSON. Pure formatting: the
 * CLI writes the string.
 */
export interface CheckedRun {
  scenario: string;
  /** The seed, when several were run (--seeds). */
  seed?: number;
  digest: string;
  wallMs: number;
  outcomes: ExpectationOutcome[];
}

export const REPORTERS = ['text', 'junit', 'tap', 'json'] as const;
export type Reporter = (typeof REPORTERS)[number];

const label = (r: CheckedRun): string => (r.seed === undefined ? r.scenario : `${r.scenario} seed ${r.seed}`);
const actualOf = (o: ExpectationOutcome): string => (o.actual === undefined ? 'missing' : String(o.actual));
const line = (o: ExpectationOutcome): string => `${o.metric} = ${actualOf(o)}, expected ${o.condition}`;

export function formatCheck(runs: readonly CheckedRun[], reporter: Reporter): string {
  if (reporter === 'json') return `${JSON.stringify({ passed: count(runs, true), failed: count(runs, false), runs }, null, 2)}\n`;
  if (reporter === 'tap') return tap(runs);
  if (reporter === 'junit') return junit(runs);
  return text(runs);
}

function count(runs: readonly CheckedRun[], pass: boolean): number {
  return runs.reduce((a, r) => a + r.outcomes.filter((o) => o.pass === pass).length, 0);
}

function text(runs: readonly CheckedRun[]): string {
  const out: string[] = [];
  for (const r of runs) {
    out.push(`${label(r)} (${r.wallMs.toFixed(0)} ms wall, digest ${r.digest.slice(0, 12)})`);
    if (r.outcomes.length === 0) out.push('  (no expectations)');
    for (const o of r.outcomes) out.push(`  ${o.pass ? 'PASS' : 'FAIL'}  ${line(o)}${o.why ? `  — ${o.why}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

function tap(runs: readonly CheckedRun[]): string {
  const all = runs.flatMap((r) => r.outcomes.map((o) => ({ r, o })));
  const out = ['TAP version 13', `1..${all.length}`];
  all.forEach(({ r, o }, i) => {
    out.push(`${o.pass ? 'ok' : 'not ok'} ${i + 1} - ${label(r)}: ${line(o)}`);
    if (o.why) out.push(`  ---\n  why: ${JSON.stringify(o.why)}\n  actual: ${JSON.stringify(o.actual ?? null)}\n  ...`);
  });
  return `${out.join('\n')}\n`;
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function junit(runs: readonly CheckedRun[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="rxsim check" tests="${count(runs, true) + count(runs, false)}" failures="${count(runs, false)}">`];
  for (const r of runs) {
    const failures = r.outcomes.filter((o) => !o.pass).length;
    out.push(`  <testsuite name="${xml(label(r))}" tests="${r.outcomes.length}" failures="${failures}" time="${(r.wallMs / 1000).toFixed(3)}">`);
    out.push(`    <properties><property name="digest" value="${r.digest}"/></properties>`);
    for (const o of r.outcomes) {
      const name = xml(`${o.metric} ${o.condition}`);
      const message = xml(`${line(o)}${o.why ? ` — ${o.why}` : ''}`);
      if (o.pass) out.push(`    <testcase classname="${xml(label(r))}" name="${name}"><system-out>${message}</system-out></testcase>`);
      else out.push(`    <testcase classname="${xml(label(r))}" name="${name}"><failure message="${message}" type="expectation">${message}</failure></testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
