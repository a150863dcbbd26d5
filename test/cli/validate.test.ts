import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validationText } from '../../src/cli/validate.ts';
import { EXPERIMENTS, rawTableDropNs, runExperiment } from '../../src/study/validation.ts';
import { expectBadInput, rxsimIn } from './binary.ts';

describe('rxsim validate', () => {
  it('docs/VALIDATION.md is what the command generates now (rxsim validate --out docs/VALIDATION.md rewrites it)', () => {
    const file = readFileSync(new URL('../../docs/VALIDATION.md', import.meta.url), 'utf8');
    expect(validationText(), 'docs/VALIDATION.md is stale: run npx tsx src/cli/main.ts validate --out docs/VALIDATION.md').toBe(file);
  }, 120_000);

  it('a row outside its band says so, and a row without a mechanism says it is not modelled', () => {
    const raw = EXPERIMENTS.find((e) => e.id === 'raw-drop')!;
    const off = runExperiment({ ...raw, published: (1e3 / rawTableDropNs('xdp-paper-2018', false)) * 2 });
    expect(off.ratio).toBeCloseTo(0.5, 6);
    expect(off.status).toBe('OUT OF BAND');
    expect(runExperiment({ ...raw, published: 1e3 / rawTableDropNs('xdp-paper-2018', false) }).status).toBe('in band');
    // No shipped row is without a mechanism since forwarding is modelled: a row declared so.
    const none = runExperiment({ ...raw, method: 'not modelled', compute: undefined });
    expect([none.status, none.model]).toEqual(['not modelled', null]);
  });

  it('every experiment names its source, and every scenario row a file and a value', () => {
    for (const e of EXPERIMENTS) {
      expect(e.source.length, e.id).toBeGreaterThan(10);
      if (e.method === 'scenario') expect([typeof e.scenario, typeof e.value], e.id).toEqual(['string', 'function']);
    }
  });

  it('--check exits 1 on a stale file and writes nothing; without --out it is bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxsim-validate-'));
    try {
      writeFileSync(join(dir, 'V.md'), 'old\n');
      const [stale, usage] = await Promise.all([rxsimIn(dir, 'validate', '--check', '--out', 'V.md'), rxsimIn(dir, 'validate', '--check')]);
      expect(stale.code, stale.stderr).toBe(1);
      expect(stale.stderr).toMatch(/V\.md is stale: run rxsim validate --out V\.md/);
      expect(readFileSync(join(dir, 'V.md'), 'utf8')).toBe('old\n');
      expectBadInput(usage, /--check: needs --out FILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
