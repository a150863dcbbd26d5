import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { costTable } from '../../src/model/costs.ts';
import { expectBadInput, rxsimIn } from './binary.ts';

/**
 * `rxsim check --baseline`: record replicas of a scenario, then compare later runs with them. The
 * scenario is the shipped one-flow TCP receive (iperf3 on CPU 1, the interrupt on CPU 0), whose
 * reader copies cache-cold data: a 20 % dearer cold copy must show, seed noise must not.
 */
const dir = mkdtempSync(join(tmpdir(), 'rxsim-baseline-'));
const scenarioFile = join(dir, 'tcp.json');
const baseline = join(dir, 'baseline.json');
const check = (...args: string[]) => rxsimIn(dir, 'check', scenarioFile, '--baseline', baseline, ...args);
// The reader on CPU 1 copies from the LLC (DDIO) what the softirq on CPU 0 handled: 30 % dearer
// is ≈ +3 points of its CPU (20 % would sit at the 2-point tolerance: the copy is ≈10 % of it).
const dearerCopy = `cost_overrides.copy_kb_llc=${Math.round(costTable('baremetal-10g', {}).copy_kb_llc * 1.3)}`;

beforeAll(async () => {
  copyFileSync(new URL('../../sim-scenarios/tcp-10g-gro-on.json', import.meta.url), scenarioFile);
  const r = await check('--update-baseline');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/recorded the baseline .*baseline\.json: 1 scenario, \d+ metrics, seeds 1,2,3,4,5/);
}, 120_000);

describe('rxsim check --baseline', () => {
  it('records per metric n, mean and sd over seeds 1..5, each seed’s digest, and the default tolerances', () => {
    const b = JSON.parse(readFileSync(baseline, 'utf8')) as {
      seeds: number[];
      tolerance: Record<string, unknown>;
      scenarios: Record<string, { digests: Record<string, string>; metrics: Record<string, { n: number; mean: number; sd: number }> }>;
    };
    expect(b.seeds).toEqual([1, 2, 3, 4, 5]);
    expect(Object.keys(b.tolerance)).toContain('*');
    const entry = b.scenarios['tcp-10g-gro-on']!;
    expect(Object.keys(entry.digests)).toEqual(['1', '2', '3', '4', '5']);
    const goodput = entry.metrics['flows[iperf3].goodput_gbps']!;
    expect(goodput.n).toBe(5);
    expect(goodput.mean).toBeGreaterThan(9);
    // Replicas differ (variability): the spread is recorded, not zero.
    expect(entry.metrics['cpus[1].sys']!.sd).toBeGreaterThan(0);
  });

  it('other seeds (6..10) are noise: no change, exit 0', async () => {
    const r = await check('--seeds', '6..10');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/no change against the baseline .*\(\d+ metrics compared\)/);
  }, 120_000);

  it('a 30 % dearer copy from the LLC is caught: the reader’s CPU share changed, exit 1, with the difference, its interval and the tolerance', async () => {
    const r = await check('--set', dearerCopy);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/CHANGED cpus\[1\]\.sys {2}[\d.]+ ± [\d.]+ \(n 5\) → [\d.]+ ± [\d.]+ \(n 5\): Δ \+[\d.]+ \(\+[\d.]+ %\), 99 % CI \[[\d.]+, [\d.]+\], p [\d.e-]+; tolerance 2 abs \(2\)/);
    expect(r.stdout).toMatch(/\d+ metrics? changed against the baseline/);
  }, 120_000);

  it('a tolerance edited in the file decides: 50 % lets the same change pass, and --update-baseline keeps the edit', async () => {
    const b = JSON.parse(readFileSync(baseline, 'utf8')) as { scenarios: Record<string, { tolerance?: unknown }> };
    const edited = join(dir, 'lenient.json');
    b.scenarios['tcp-10g-gro-on']!.tolerance = { '*': { rel: 0.5 }, 'cpus[*]': { abs: 20 } };
    writeFileSync(edited, JSON.stringify(b));
    const lenient = await rxsimIn(dir, 'check', scenarioFile, '--baseline', edited, '--set', dearerCopy);
    expect(lenient.code, lenient.stdout).toBe(0);
    expect(lenient.stdout).toMatch(/within  cpus\[1\]\.sys .*tolerance 20 abs \(20\)/);
    const updated = await rxsimIn(dir, 'check', scenarioFile, '--baseline', edited, '--update-baseline');
    expect(updated.code).toBe(0);
    const after = JSON.parse(readFileSync(edited, 'utf8')) as { scenarios: Record<string, { tolerance?: unknown }> };
    expect(after.scenarios['tcp-10g-gro-on']!.tolerance).toEqual({ '*': { rel: 0.5 }, 'cpus[*]': { abs: 20 } });
  }, 120_000);

  it('--exact compares digests: the same seeds pass, any model change fails', async () => {
    const same = await check('--exact');
    expect(same.code, same.stdout).toBe(0);
    const changed = await check('--exact', '--set', dearerCopy);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/CHANGED seed 1: digest [0-9a-f]{12}, the baseline has [0-9a-f]{12}/);
  }, 120_000);

  it('JUnit, TAP and JSON reports carry one case per baseline metric', async () => {
    const out = join(dir, 'junit.xml');
    const r = await check('--set', dearerCopy, '--reporter', 'junit', '--out', out);
    expect(r.code).toBe(1);
    const xml = readFileSync(out, 'utf8');
    expect(xml).toMatch(/<testsuite name="baseline tcp-10g-gro-on" tests="\d+" failures="[1-9]\d*">/);
    expect(xml).toMatch(/<testcase classname="baseline tcp-10g-gro-on" name="cpus\[1\]\.sys"><failure message="cpus\[1\]\.sys CHANGED: /);
    const tap = await check('--reporter', 'tap');
    expect(tap.code).toBe(0);
    expect(tap.stdout).toMatch(/^ok \d+ - baseline tcp-10g-gro-on: flows\[iperf3\]\.goodput_gbps /m);
    const json = await check('--reporter', 'json');
    const j = JSON.parse(json.stdout) as { baseline: { changed: number; checks: { metrics: { metric: string; verdict: string }[] }[] } };
    expect(j.baseline.changed).toBe(0);
    expect(j.baseline.checks[0]!.metrics.map((m) => m.metric)).toContain('cpus[1].sys');
  }, 120_000);

  it('bad input, before any run: an unknown metric in the baseline, a missing file, options that need --baseline, one seed, a malformed file', async () => {
    const b = JSON.parse(readFileSync(baseline, 'utf8')) as { scenarios: Record<string, { metrics: Record<string, unknown> }> };
    const metrics = b.scenarios['tcp-10g-gro-on']!.metrics;
    metrics['flows[iperf].goodput_gbps'] = metrics['flows[iperf3].goodput_gbps'];
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify(b));
    expectBadInput(
      await rxsimIn(dir, 'check', scenarioFile, '--baseline', typo),
      /typo\.json: scenarios\.tcp-10g-gro-on\.metrics\["flows\[iperf\]\.goodput_gbps"\]: no such metric in the result \(did you mean "flows\[iperf3\]\.goodput_gbps"\?\)/,
    );
    expectBadInput(await rxsimIn(dir, 'check', scenarioFile, '--baseline', join(dir, 'none.json')), /--baseline .*none\.json: no such file \(record one with --update-baseline\)/);
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
    expectBadInput(await rxsimIn(dir, 'check', scenarioFile, '--exact'), /--exact: needs --baseline FILE/);
    expectBadInput(await check('--seed', '3'), /--seed 3: a comparison with a baseline needs at least 2 seeds/);
    expectBadInput(await check('--exact', '--seeds', '6..7'), /--seeds: --exact compares digests of the baseline's seeds \(1,2,3,4,5\)/);
    expectBadInput(await rxsimIn(dir, 'check', scenarioFile, '--baseline', join(dir, 'one-seed.json'), '--update-baseline', '--seed', '3'), /--seed 3: a baseline needs at least 2 seeds/);
    const other = join(dir, 'other.json');
    copyFileSync(new URL('../../sim-scenarios/rps-backlog-drops.json', import.meta.url), other);
    const two = join(dir, 'two.json');
    copyFileSync(baseline, two);
    expectBadInput(
      await rxsimIn(dir, 'check', other, '--baseline', two, '--update-baseline', '--seeds', '6..7'),
      /--seeds: the baseline's other scenarios \(tcp-10g-gro-on\) were recorded with seeds 1,2,3,4,5/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, readFileSync(baseline, 'utf8').replace('"alpha": 0.01', '"alpha": 2'));
    expectBadInput(await rxsimIn(dir, 'check', scenarioFile, '--baseline', bad), /bad\.json: alpha: /);
  }, 120_000);
});
