import type { ExpectationOutcome } from '../metrics/expect.ts';
import type { BaselineCheck, MetricComparison } from './baseline.ts';

/**
 * What `rxsim check` found, in the formats CI systems read: text (the default), JUnit XML (one
 * test case per expectation, grouped by scenario and seed, and one per baseline metric), TAP 13,
 * or JSON. Pure formatting: the CLI writes the string.
 */
export interface CheckedRun {
  scenario: string;
  /** The seed, when several were run (--seeds). */
  seed?: number;
  digest: string;
  wallMs: number;
  outcomes: ExpectationOutcome[];
}

/** The comparison with a baseline, when `--baseline` was given. */
export interface BaselineReport {
  file: string;
  alpha: number;
  exact: boolean;
  checks: BaselineCheck[];
}

export const REPORTERS = ['text', 'junit', 'tap', 'json'] as const;
export type Reporter = (typeof REPORTERS)[number];

const label = (r: CheckedRun): string => (r.seed === undefined ? r.scenario : `${r.scenario} seed ${r.seed}`);
const actualOf = (o: ExpectationOutcome): string => o.actualText ?? (o.actual === undefined ? 'missing' : String(o.actual));
const line = (o: ExpectationOutcome): string => `${o.metric} = ${actualOf(o)}, expected ${o.condition}`;

export function formatCheck(runs: readonly CheckedRun[], reporter: Reporter, baseline?: BaselineReport): string {
  const cases = baseline ? baselineCases(baseline) : [];
  if (reporter === 'json') {
    const changed = cases.filter((c) => !c.pass).length;
    return `${JSON.stringify({ passed: count(runs, true), failed: count(runs, false), runs, ...(baseline ? { baseline: { ...baseline, changed } } : {}) }, null, 2)}\n`;
  }
  if (reporter === 'tap') return tap(runs, cases);
  if (reporter === 'junit') return junit(runs, cases);
  return text(runs) + (baseline ? baselineText(baseline) : '');
}

/** One baseline test case: a metric or a digest of one scenario. */
interface BaselineCase {
  scenario: string;
  name: string;
  pass: boolean;
  message: string;
}

const num = (x: number | null): string => (x === null ? 'none' : String(+x.toPrecision(4)));
const signed = (x: number): string => `${x > 0 ? '+' : x < 0 ? '-' : ''}${num(Math.abs(x))}`;

/** "5.55 ± 0.35 (n 5) → 4.91 ± 0.4 (n 5): Δ -0.64 (-11.5 %), 99 % CI [-1.1, -0.2], p 0.004; tolerance 5 % (0.278)". */
export function comparisonLine(m: MetricComparison, alpha: number): string {
  const side = (s: MetricComparison['base']): string => `${num(s.mean)}${s.sd !== null && s.sd > 0 ? ` ± ${num(s.sd)}` : ''} (n ${s.n})`;
  const w = m.welch;
  const parts = [`${side(m.base)} → ${side(m.now)}`];
  if (w.diff !== null) {
    const rel = m.base.mean ? ` (${signed((w.diff / Math.abs(m.base.mean)) * 100)} %)` : '';
    const ci = w.ci_lo !== null && w.ci_hi !== null && w.status === 'tested' ? `, ${+((1 - alpha) * 100).toPrecision(3)} % CI [${num(w.ci_lo)}, ${num(w.ci_hi)}]` : '';
    const p = w.status === 'no-variance' ? ', no spread in either sample' : w.p !== null ? `, p ${w.p < 1e-4 ? w.p.toExponential(1) : num(w.p)}` : '';
    parts.push(`Δ ${signed(w.diff)}${rel}${ci}${p}`);
  }
  parts.push(`tolerance ${m.tolerance}`);
  return parts.join(': ').replace(/: (tolerance)/, '; $1');
}

const VERDICT: Record<MetricComparison['verdict'], string> = { same: 'same', noise: 'not significant', 'within-tolerance': 'significant, within tolerance', changed: 'CHANGED' };

function baselineCases(b: BaselineReport): BaselineCase[] {
  const out: BaselineCase[] = [];
  for (const c of b.checks) {
    if (c.missing) out.push({ scenario: c.scenario, name: 'baseline entry', pass: true, message: `no entry in ${b.file}: nothing compared (add it with --update-baseline)` });
    for (const m of c.metrics) out.push({ scenario: c.scenario, name: m.metric, pass: m.verdict !== 'changed', message: `${m.metric} ${VERDICT[m.verdict]}: ${comparisonLine(m, b.alpha)}` });
    for (const d of c.digests)
      out.push({
        scenario: c.scenario,
        name: `digest seed ${d.seed}`,
        pass: d.pass,
        message: d.pass ? `seed ${d.seed}: digest ${d.now.slice(0, 12)} as in the baseline` : `seed ${d.seed}: digest ${d.now.slice(0, 12)}, the baseline has ${d.base ? d.base.slice(0, 12) : 'none'}`,
      });
  }
  return out;
}

/** Text: what changed, and what moved significantly but within its tolerance; the rest is counted. */
function baselineText(b: BaselineReport): string {
  const out = [`baseline ${b.file} (${b.exact ? 'digests' : `Welch's test at α = ${b.alpha}, and the tolerance`}):`];
  for (const c of b.checks) {
    if (c.missing) {
      out.push(`  ${c.scenario}: no entry in the baseline (add it with --update-baseline)`);
      continue;
    }
    const shown = [
      ...c.metrics
        .filter((m) => m.verdict === 'changed' || m.verdict === 'within-tolerance')
        .map((m) => `    ${m.verdict === 'changed' ? 'CHANGED' : 'within '} ${m.metric}  ${comparisonLine(m, b.alpha)}`),
      ...c.digests.filter((d) => !d.pass).map((d) => `    CHANGED seed ${d.seed}: digest ${d.now.slice(0, 12)}, the baseline has ${d.base ? d.base.slice(0, 12) : 'none'}`),
    ];
    const n = c.metrics.length + c.digests.length;
    out.push(`  ${c.scenario}: ${n} ${b.exact ? 'digests' : 'metrics'}${shown.length ? '' : ', none changed'}`);
    out.push(...shown);
  }
  return `${out.join('\n')}\n`;
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

function tap(runs: readonly CheckedRun[], cases: readonly BaselineCase[]): string {
  const all = runs.flatMap((r) => r.outcomes.map((o) => ({ r, o })));
  const out = ['TAP version 13', `1..${all.length + cases.length}`];
  all.forEach(({ r, o }, i) => {
    out.push(`${o.pass ? 'ok' : 'not ok'} ${i + 1} - ${label(r)}: ${line(o)}`);
    if (o.why) out.push(`  ---\n  why: ${JSON.stringify(o.why)}\n  actual: ${JSON.stringify(o.actual ?? null)}\n  ...`);
  });
  cases.forEach((c, i) => out.push(`${c.pass ? 'ok' : 'not ok'} ${all.length + i + 1} - baseline ${c.scenario}: ${c.message}`));
  return `${out.join('\n')}\n`;
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function junit(runs: readonly CheckedRun[], cases: readonly BaselineCase[]): string {
  const caseFailures = cases.filter((c) => !c.pass).length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="rxsim check" tests="${count(runs, true) + count(runs, false) + cases.length}" failures="${count(runs, false) + caseFailures}">`,
  ];
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
  for (const scenario of [...new Set(cases.map((c) => c.scenario))]) {
    const mine = cases.filter((c) => c.scenario === scenario);
    const suite = xml(`baseline ${scenario}`);
    out.push(`  <testsuite name="${suite}" tests="${mine.length}" failures="${mine.filter((c) => !c.pass).length}">`);
    for (const c of mine) {
      const message = xml(c.message);
      if (c.pass) out.push(`    <testcase classname="${suite}" name="${xml(c.name)}"><system-out>${message}</system-out></testcase>`);
      else out.push(`    <testcase classname="${suite}" name="${xml(c.name)}"><failure message="${message}" type="baseline">${message}</failure></testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
