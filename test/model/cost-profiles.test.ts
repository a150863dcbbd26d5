import { describe, expect, it } from 'vitest';
import { COST_KEYS, COST_PROFILE_NAMES, COST_PROFILES, LLC_GEOMETRY } from '../../src/model/costs.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';

describe('cost profiles', () => {
  it('every profile has every cost, each with what it covers and its source, and the L3 of its machine', () => {
    for (const name of COST_PROFILE_NAMES) {
      const p = COST_PROFILES[name]!;
      expect(Object.keys(p).sort(), name).toEqual([...COST_KEYS].sort());
      for (const key of COST_KEYS) {
        expect(p[key].ns, `${name}.${key}`).toBeGreaterThanOrEqual(0);
        expect(p[key].what.length, `${name}.${key}`).toBeGreaterThan(10);
        expect(p[key].source.length, `${name}.${key}`).toBeGreaterThan(0);
      }
      expect(LLC_GEOMETRY[name], name).toBeDefined();
      expect(() => loadScenarioObject({ name: 'p', duration_ms: 1, costs: name, nics: [{ name: 'eth0' }] }), name).not.toThrow();
    }
  });

  it("the publication machines' profiles name the publication or say a value is an assumption", () => {
    for (const [name, paper] of [
      ['xdp-paper-2018', 'Høiland-Jørgensen et al., CoNEXT 2018'],
      ['cai-2021', 'Cai et al., SIGCOMM 2021'],
    ] as const) {
      for (const key of COST_KEYS) {
        const source = COST_PROFILES[name]![key].source;
        expect(source.startsWith(paper) || source.startsWith('assumption:'), `${name}.${key}: ${source}`).toBe(true);
      }
    }
  });
});
