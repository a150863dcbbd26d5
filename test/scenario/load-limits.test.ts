import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/scenario/errors.ts';
import { loadScenario, MAX_NESTING } from '../../src/scenario/load.ts';
import { scenario } from '../helpers.ts';

/** Bad input the CLI met in practice: each is one InputError naming where, never a crash or a silent choice. */

const text = (over: Record<string, unknown> = {}) => JSON.stringify(scenario(over));
function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return `${e.where}: ${e.problem}`;
    throw e;
  }
  throw new Error('no error');
}

describe('loading a scenario', () => {
  it('refuses nesting deeper than the limit before parsing (100,000 levels used to overflow the stack)', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(problem(() => loadScenario(deep))).toMatch(new RegExp(`^line 1, column ${MAX_NESTING + 1}: nesting deeper than ${MAX_NESTING} levels`));
    // Brackets inside strings do not count.
    expect(() => loadScenario(text({ description: '['.repeat(200) }))).not.toThrow();
  });

  it('names a duplicated key instead of keeping the last value', () => {
    const dup = text().replace('"duration_ms":5', '"duration_ms":5,"duration_ms":7');
    expect(problem(() => loadScenario(dup))).toBe('duration_ms: "duration_ms" is given twice in this object; JSON keys must be unique (the first value would be lost)');
    const nested = text().replace('"driver":"ixgbe"', '"driver":"ixgbe","driver":"ice"');
    expect(problem(() => loadScenario(nested))).toMatch(/^nics\[0\]\.driver: "driver" is given twice/);
  });

  it('--set on a list index that does not exist says so (it used to report a duplicated name or a missing field)', () => {
    expect(problem(() => loadScenario(text(), { set: ['nics[1].ring.rx=1024'] }))).toBe('--set "nics[1].ring.rx=1024": nics[1] does not exist: it has 1 (nics[0])');
    expect(problem(() => loadScenario(text(), { set: ['nics[5].ring.rx=1024'] }))).toMatch(/nics\[5\] does not exist/);
  });

  it('--set of a number where the field takes text (a CPU list) means the text', () => {
    const apps = [{ name: 'hog', kind: 'cpu-hog' }];
    const { resolved } = loadScenario(text({ apps }), { set: ['apps[0].cpus=1'] });
    expect(resolved.apps[0]!.cpus).toEqual([1]);
    // A number where a number belongs is not turned into text.
    expect(loadScenario(text(), { set: ['nics[0].ring.rx=1024'] }).resolved.nics[0]!.ringSize).toBe(1024);
  });

  it('--duration-ms and --set duration_ms meet the same limit with the same words (the option used to skip it)', () => {
    expect(problem(() => loadScenario(text(), { durationMs: 20_000 }))).toBe('--duration-ms 20000: 20000 is above the maximum 10000');
    expect(problem(() => loadScenario(text(), { set: ['duration_ms=20000'] }))).toBe('duration_ms: 20000 is above the maximum 10000');
    expect(loadScenario(text(), { durationMs: 7 }).resolved.durationNs).toBe(7_000_000);
  });

  it('warns when the driver adjusts a value instead of rejecting it, as ethtool -g would show', () => {
    const { resolved } = loadScenario(text(), { set: ['nics[0].ring.rx=3'] });
    expect(resolved.nics[0]!.ringSize).toBe(64);
    expect(resolved.warnings).toContain('nics[0].ring.rx: ixgbe uses 64 descriptors, not 3 (ethtool -g eth0 shows 64)');
  });
});
