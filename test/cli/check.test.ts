import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
});
