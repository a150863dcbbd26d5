import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { knobTable } from '../../src/scenario/knobs/docs.ts';
import { scenario } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../src/cli/rxsim.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rxsim-knobs-'));

function rxsim(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, RXSIM_FROM_SOURCE: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rxsim knobs, and knob errors from the real binary', () => {
  it('lists every knob; --markdown prints the README table; --update rewrites it between the markers', () => {
    const list = rxsim('knobs');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /napi_defer_hard_irqs\n\s+nics\[\]\.napi_defer_hard_irqs\s+\/sys\/class\/net\/<dev>\/napi_defer_hard_irqs\n\s+int, polls; default 0; range 0\.\.S32_MAX; read by net\/core\/dev\.c: napi_complete_done/,
    );
    const md = rxsim('knobs', '--markdown');
    expect(md.stdout).toBe(`${knobTable()}\n`);
    const readme = join(dir, 'README.md');
    writeFileSync(readme, '# x\n\n<!-- knobs:begin -->\nold\n<!-- knobs:end -->\n\nafter\n');
    expect(rxsim('knobs', '--update', readme).code).toBe(0);
    expect(readFileSync(readme, 'utf8')).toBe(`# x\n\n<!-- knobs:begin -->\n${knobTable()}\n<!-- knobs:end -->\n\nafter\n`);
    writeFileSync(readme, 'no markers\n');
    const bad = rxsim('knobs', '--update', readme);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no <!-- knobs:begin --> … <!-- knobs:end --> markers/);
  });

  it('the same value is refused by --apply and --set with one line, exit 2, and the same words', () => {
    const file = join(dir, 'good.json');
    writeFileSync(file, JSON.stringify(scenario({ duration_ms: 1 })));
    const applied = rxsim('run', file, '--apply', 'echo 4294967296 > /sys/class/net/eth0/napi_defer_hard_irqs');
    const set = rxsim('run', file, '--set', 'nics[0].napi_defer_hard_irqs=4294967296');
    for (const r of [applied, set]) {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const problem = /: (napi_defer_hard_irqs 4294967296 is above S32_MAX.*)$/;
    expect(applied.stderr.trim()).toMatch(/--apply "echo 4294967296 > \/sys\/class\/net\/eth0\/napi_defer_hard_irqs": token "4294967296": napi_defer/);
    expect(set.stderr.trim()).toMatch(/good\.json: nics\[0\]\.napi_defer_hard_irqs: napi_defer/);
    expect(applied.stderr.trim().match(problem)![1]).toBe(set.stderr.trim().match(problem)![1]);
  });
});
