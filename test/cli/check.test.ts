import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenario } from '../helpers.ts';

/** `rxsim check`: a misspelt metric is bad input (exit 2, before any run), not a failed expectation. */
const BIN = fileURLToPath(new URL('../../src/cli/rxsim.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rxsim-check-'));
const check = (...files: string[]) => spawnSync(process.execPath, [BIN, 'check', ...files], { encoding: 'utf8', timeout: 60_000 });

function file(name: string, expect: unknown[]): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify({ ...scenario({ name, duration_ms: 3 }), expect }));
  return p;
}

describe('rxsim check', () => {
  it('refuses an unknown metric with its nearest name and exit 2, before running anything', () => {
    const failing = file('fails', [{ metric: 'throughput.delivered_gbps', '>=': 1000, why: 'fails' }]);
    const typo = file('typo', [{ metric: 'flows[0].goodput_gpbs', '>=': 0, why: 'typo' }]);
    const r = check(failing, typo);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/typo\.json: expect\[0\]\.metric "flows\[0\]\.goodput_gpbs": no such metric in the result \(did you mean "flows\[0\]\.goodput_gbps"\?\)/);
    expect(r.stdout).not.toMatch(/PASS|FAIL/); // nothing ran
  });

  it('accepts metric paths by name and fails a real regression with exit 1', () => {
    const named = file('named', [{ metric: 'flows[f].offered', '>': 0, why: 'the flow by its name' }]);
    const failing = file('fails2', [{ metric: 'flows[f].offered', '>': 1e12, why: 'cannot hold' }]);
    expect(check(named).status).toBe(0);
    const r = check(named, failing);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}flows\[f\]\.offered/);
  });

  it('--version prints the package version', () => {
    const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a run records the overrides it was given and the scenario as it ran; the report says how it differs from the file', () => {
    const f = file('over', [{ metric: 'packets.offered', '>': 0, why: 'x' }]);
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'run', f, ...args], { encoding: 'utf8', timeout: 60_000 });
    const json = run('--json', '--set', 'nics[0].ring.rx=1024', '--apply', 'ethtool -C eth0 rx-usecs 20');
    const r = JSON.parse(json.stdout) as { digest: string; run: { overrides: { set: string[]; apply: string[] }; scenario: { nics: { ring: { rx: number }; coalesce: Record<string, number> }[] } } };
    expect(r.run.overrides).toEqual({ set: ['nics[0].ring.rx=1024'], apply: ['ethtool -C eth0 rx-usecs 20'] });
    expect(r.run.scenario.nics[0]!.ring.rx).toBe(1024);
    expect(r.run.scenario.nics[0]!.coalesce['rx-usecs']).toBe(20);
    const text = run('--set', 'nics[0].ring.rx=1024').stdout;
    expect(text).toMatch(/this run differs from .*over\.json: --set nics\[0\]\.ring\.rx=1024/);
    // The record is not part of the digest: overriding a field with its own value changes nothing.
    const plain = JSON.parse(run('--json').stdout) as { digest: string };
    const same = JSON.parse(run('--json', '--set', 'duration_ms=3').stdout) as { digest: string };
    expect(same.digest).toBe(plain.digest);
  });

  it('--seeds N runs every scenario with seeds 1..N; --set and --apply apply to each', () => {
    const f = file('seeds', [{ metric: 'packets.offered', '>': 0, why: 'x' }]);
    const r = spawnSync(process.execPath, [BIN, 'check', f, '--seeds', '3', '--set', 'nics[0].ring.rx=1024'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/seeds seed 1 /);
    expect(r.stdout).toMatch(/seeds seed 3 /);
    expect(r.stdout).toMatch(/3\/3 expectations passed in 1 scenario × 3 seeds/);
    const bad = spawnSync(process.execPath, [BIN, 'check', f, '--seeds', '0'], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
  });

  it('reports as JUnit XML, TAP 13 or JSON for a CI system, one test case per expectation with the actual value and the why', () => {
    const pass = file('rep-pass', [{ metric: 'packets.offered', '>': 0, why: 'traffic arrives' }]);
    const fail = file('rep-fail', [{ metric: 'packets.offered', '<': 0, why: 'cannot <hold>' }]);
    const rep = (reporter: string, ...extra: string[]) => spawnSync(process.execPath, [BIN, 'check', pass, fail, '--reporter', reporter, ...extra], { encoding: 'utf8', timeout: 60_000 });
    const junit = rep('junit');
    expect(junit.status).toBe(1);
    expect(junit.stdout).toMatch(/^<\?xml version="1\.0"/);
    expect(junit.stdout).toMatch(/<testsuites name="rxsim check" tests="2" failures="1">/);
    expect(junit.stdout.match(/<testcase /g)).toHaveLength(2);
    expect(junit.stdout).toMatch(/<failure message="packets\.offered = \d+, expected &lt; 0 — cannot &lt;hold&gt;" type="expectation">/);
    const tap = rep('tap').stdout;
    expect(tap).toMatch(/^TAP version 13\n1\.\.2\n/);
    expect(tap).toMatch(/\nok 1 - rep-pass: packets\.offered = \d+, expected > 0\n/);
    expect(tap).toMatch(/\nnot ok 2 - rep-fail: /);
    const json = JSON.parse(rep('json').stdout) as { passed: number; failed: number; runs: { scenario: string; outcomes: { pass: boolean; why: string }[] }[] };
    expect([json.passed, json.failed]).toEqual([1, 1]);
    expect(json.runs[1]!.outcomes[0]!.why).toBe('cannot <hold>');
    const out = join(dir, 'report.xml');
    const written = rep('junit', '--out', out);
    expect(written.stdout.trim()).toBe('1/2 expectations passed in 2 scenarios');
    const untimed = (x: string) => x.replace(/ time="[\d.]+"/g, ''); // wall time differs between runs
    expect(untimed(readFileSync(out, 'utf8'))).toBe(untimed(junit.stdout));
  });
});
