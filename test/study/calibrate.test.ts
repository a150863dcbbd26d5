import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { costTable } from '../../src/model/costs.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { calibrate, checkObservations, identifiability, observationsJsonSchema, parseObservations, type PreparedObservation } from '../../src/study/calibrate.ts';
import { scaleByClass, unclassified, type CostClass } from '../../src/study/cost-classes.ts';
import { extractMetric } from '../../src/study/metrics.ts';
import { CALIBRATION_SCENARIOS } from '../fixtures/calibration-scenarios.ts';

const METRICS: Record<string, string[]> = {
  xdp: ['cpus[0].soft'],
  udp: ['throughput.delivered_pps', 'cpus[0].soft'],
  tcp: ['cpus[1].sys', 'cpus[0].soft'],
};

/** "Measurements" of a machine whose costs are baremetal-10g scaled by `truth`: the model's own runs. */
function observe(truth: Partial<Record<CostClass, number>>): PreparedObservation[] {
  return Object.entries(CALIBRATION_SCENARIOS).map(([name, s]) => {
    const raw = { ...structuredClone(s), cost_overrides: scaleByClass(costTable('baremetal-10g', {}), truth) };
    const r = collectResult(simulate(loadScenarioObject(raw).resolved), 0);
    const measured = Object.fromEntries(METRICS[name]!.map((m) => [m, extractMetric(r, m)!]));
    // a weight other than 1 on one of them: the fit must not depend on the library's own weighting
    return { o: { name, scenario: s, apply: [], measured, weight: name === 'xdp' ? 4 : 1 }, raw: s };
  });
}

describe('rxsim calibrate', () => {
  it('puts every cost in exactly one class', () => {
    expect(unclassified()).toEqual([]);
  });

  it('recovers the class factors a machine was simulated with (driver ×1.3, copy ×0.8) within 5 %, and reports the class no observation depends on', () => {
    const obs = observe({ driver: 1.3, copy: 0.8 });
    const cal = calibrate(obs, { base: 'baremetal-10g', fit: ['driver', 'stack', 'copy', 'netfilter'] });
    expect(cal.factors.driver).toBeGreaterThan(1.3 * 0.95);
    expect(cal.factors.driver).toBeLessThan(1.3 * 1.05);
    expect(cal.factors.copy).toBeGreaterThan(0.8 * 0.95);
    expect(cal.factors.copy).toBeLessThan(0.8 * 1.05);
    expect(cal.factors.stack).toBeGreaterThan(0.95);
    expect(cal.factors.stack).toBeLessThan(1.05);
    expect(cal.unidentified.map((u) => u.class)).toEqual(['netfilter']);
    expect(cal.factors.netfilter).toBe(1);
    expect([cal.fixed, cal.fitted.sort()]).toEqual([
      ['entry', 'sched'],
      ['copy', 'driver', 'stack'],
    ]);
    // the fit explains the data better than the base profile did
    const worst = (rs: { residual: number }[]): number => Math.max(...rs.map((r) => Math.abs(r.residual)));
    expect(worst(cal.after)).toBeLessThan(worst(cal.before));
    expect(worst(cal.after)).toBeLessThan(2);
    expect(cal.converged).toBe(true);
  }, 90_000);

  it("calls a class whose effect is a multiple of another one's not identifiable, and one without effect unused", () => {
    const cols = new Map<CostClass, number[]>([
      ['driver', [1, 0.5, 0]],
      ['stack', [0, 1, 1]],
      ['copy', [2, 1, 0]],
      ['netfilter', [0, 0, 0]],
    ]);
    const { identifiable, unidentified } = identifiability(cols);
    expect(identifiable).toEqual(['copy', 'stack']);
    expect(unidentified.map((u) => [u.class, u.why.split(' ')[0]])).toEqual([
      ['driver', 'its'],
      ['netfilter', 'no'],
    ]);
  });

  it('refuses bad observations with one line naming the JSON path', () => {
    const bad = (json: unknown): string => {
      try {
        parseObservations(json, 'obs.json');
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(bad({ observations: [] })).toMatch(/^obs\.json: observations: /);
    expect(bad({ fit: ['drivers'], observations: [{ name: 'a', scenario: 'a.json', measured: { 'cpus[0].soft': 50 } }] })).toMatch(/^obs\.json: fit\[0\]: .*driver/);
    expect(bad({ observations: [{ name: 'a', scenario: 'a.json', measured: {} }] })).toMatch(/^obs\.json: observations\[0\]\.measured: expected at least one measured value/);
    expect(bad({ observations: [{ name: 'a', scenario: 'a.json', measured: { x: 1 }, seeds: 3 }] })).toMatch(/^obs\.json: observations\[0\]/);
    const prepared: PreparedObservation[] = [{ o: { name: 'a', scenario: CALIBRATION_SCENARIOS.xdp!, apply: [], measured: { 'cpus[0].sofft': 50 }, weight: 1 }, raw: CALIBRATION_SCENARIOS.xdp! }];
    expect(() => checkObservations(prepared, 'baremetal-10g')).toThrow(/observations\[0\]\.measured\["cpus\[0\]\.sofft"\]: .*soft/);
  });

  it('has a JSON Schema for editors (rxsim schema --observations)', () => {
    const schema = observationsJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['base', 'fit', 'observations']));
    expect(schema.required).toEqual(['observations']);
  });
});
