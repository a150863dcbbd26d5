import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { costTable } from '../../src/model/costs.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { scaleByClass } from '../../src/study/cost-classes.ts';
import { measuredValues, observedMetric } from '../../src/study/measure-observation.ts';
import { parseSeriesCsv } from '../../src/study/series-csv.ts';
import { expectBadInput, rxsimIn } from './binary.ts';
import { CALIBRATION_SCENARIOS } from '../fixtures/calibration-scenarios.ts';

const dir = mkdtempSync(join(tmpdir(), 'rxsim-calibrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const xdp = CALIBRATION_SCENARIOS.xdp!;
const write = (name: string, json: unknown): string => {
  writeFileSync(join(dir, name), JSON.stringify(json, null, 2));
  return name;
};

describe('rxsim calibrate (command)', () => {
  it('fits, writes a costs file with provenance, and a scenario loads it relative to itself', async () => {
    write('xdp.json', xdp);
    // cpus[0].soft of this scenario on baremetal-10g with the driver class ×1.3 (test/study/calibrate.test.ts)
    write('obs.json', { fit: ['driver', 'netfilter'], observations: [{ name: 'xdp flood', scenario: './xdp.json', measured: { 'cpus[0].soft': 85.26 } }] });
    const r = await rxsimIn(dir, 'calibrate', 'obs.json', '--out', 'lab.costs.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^driver +1\.(29|30|31)\d +[\d.]+ +fitted$/m);
    expect(r.stdout).toMatch(/^netfilter +1\.000 .*not identifiable: no observation depends on it/m);
    expect(r.stdout).toMatch(/xdp flood: cpus\[0\]\.soft .*-2\d\.\d\d % → [+-]0\.\d\d %/);
    const file = JSON.parse(readFileSync(join(dir, 'lab.costs.json'), 'utf8')) as { format: string; name: string; base: string; costs: Record<string, number>; provenance: Record<string, unknown> };
    expect([file.format, file.name, file.base]).toEqual(['rxsim-costs/1', 'lab', 'baremetal-10g']);
    expect(file.costs.rx_descriptor).toBeGreaterThan(70 * 1.25);
    expect(file.costs.ip_rcv).toBe(60);
    expect(Object.keys(file.provenance)).toEqual(expect.arrayContaining(['observations', 'residuals_before', 'residuals_after', 'unidentified', 'factors']));

    write('uses.json', { ...xdp, costs: './lab.costs.json' });
    write('inline.json', { ...xdp, costs: 'baremetal-10g', cost_overrides: file.costs });
    const [a, b] = await Promise.all([rxsimIn(dir, 'run', 'uses.json', '--json'), rxsimIn(dir, 'run', 'inline.json', '--json')]);
    expect(a.code, a.stderr).toBe(0);
    const soft = (out: string): number => (JSON.parse(out) as { cpus: { soft: number }[] }).cpus[0]!.soft;
    expect(soft(a.stdout)).toBe(soft(b.stdout));
    expect(Math.abs(soft(a.stdout) - 85.26)).toBeLessThan(85.26 * 0.01);
  }, 60_000);

  it('refuses bad input with one line', async () => {
    write('xdp.json', xdp);
    write('obs.json', { observations: [{ name: 'x', scenario: './xdp.json', measured: { 'cpus[0].soft': 80 } }] });
    const [out, base, missing, scenario] = await Promise.all([
      rxsimIn(dir, 'calibrate', 'obs.json', '--out', 'lab.json'),
      rxsimIn(dir, 'calibrate', 'obs.json', '--base', 'baremetal10g', '--out', 'x.costs.json'),
      rxsimIn(dir, 'calibrate', 'nope.json', '--out', 'x.costs.json'),
      rxsimIn(dir, 'run', write('bad-costs.json', { ...xdp, costs: './none.costs.json' })),
    ]);
    expectBadInput(out, /--out lab\.json: expected a file named <name>\.costs\.json/);
    expectBadInput(base, /--base baremetal10g: unknown cost profile "baremetal10g" \(did you mean "baremetal-10g"\?\)/);
    expectBadInput(missing, /nope\.json: no such observations file/);
    expectBadInput(scenario, /none\.costs\.json: no such costs file/);
  }, 60_000);

  it('takes a measure file as an observation: a series of the run with the driver class ×1.3 gives back ≈1.3', async () => {
    // The fixture: the same scenario on baremetal-10g with the driver costs ×1.3, its series written
    // as rxsim measure writes a real machine's (the same CSV), so the truth is known.
    write('xdp.json', xdp);
    write('truth.json', { ...xdp, duration_ms: 6, warmup_ms: 1, costs: 'baremetal-10g', cost_overrides: scaleByClass(costTable('baremetal-10g', {}), { driver: 1.3 }) });
    const made = await rxsimIn(dir, 'run', 'truth.json', '--series-ms', '0.5', '--series-out', 'measured.csv');
    expect(made.code, made.stderr).toBe(0);
    write('obs-measure.json', { fit: ['driver', 'netfilter'], observations: [{ name: 'xdp flood', scenario: './xdp.json', measure: { file: 'measured.csv' } }] });
    const r = await rxsimIn(dir, 'calibrate', 'obs-measure.json', '--out', 'm.costs.json');
    expect(r.code, r.stderr).toBe(0);
    const driver = Number(/^driver +([\d.]+) /m.exec(r.stdout)?.[1]);
    expect(Math.abs(driver - 1.3)).toBeLessThan(1.3 * 0.05);
    // The values it fitted: the per-CPU shares and the interrupt rate of the file.
    expect(r.stdout).toMatch(/xdp flood: cpus\[0\]\.soft /);
    expect(r.stdout).toMatch(/xdp flood: interrupts\.per_sec /);
  }, 60_000);

  it('a measure file that is missing or not a series is refused with one line', async () => {
    write('xdp.json', xdp);
    write('not-series.json', { hello: 1 });
    write('obs-missing.json', { observations: [{ name: 'x', scenario: './xdp.json', measure: { file: 'gone.csv' } }] });
    write('obs-wrong.json', { observations: [{ name: 'x', scenario: './xdp.json', measure: { file: 'not-series.json' } }] });
    write('obs-none.json', { observations: [{ name: 'x', scenario: './xdp.json' }] });
    const [missing, wrong, none] = await Promise.all([
      rxsimIn(dir, 'calibrate', 'obs-missing.json', '--out', 'x.costs.json'),
      rxsimIn(dir, 'calibrate', 'obs-wrong.json', '--out', 'x.costs.json'),
      rxsimIn(dir, 'calibrate', 'obs-none.json', '--out', 'x.costs.json'),
    ]);
    expectBadInput(missing, /gone\.csv: no such measure file/);
    expectBadInput(wrong, /observations\[0\]\.measure\.file not-series\.json: expected rxsim series CSV with the header time_ms,metric,value/);
    expectBadInput(none, /observations\[0\]\.measured: expected "measured" \(values by metric path\) or "measure"/);
  }, 60_000);

  it('reduces a series over its window: shares and interrupts as the result names them, counters as per-second rates', () => {
    const csv = [
      'time_ms,metric,value',
      '10,cpus.0.soft,40',
      '20,cpus.0.soft,60',
      '30,cpus.0.soft,90',
      '10,interrupts_per_sec,1000',
      '20,interrupts_per_sec,3000',
      '30,interrupts_per_sec,9000',
      '20,nstat_per_sec.IpInReceives,500000',
      '20,nstat_per_sec.IpOutRequests,7',
      '20,softirqs_per_sec.NET_RX.cpu0,123',
    ].join('\n');
    const t = parseSeriesCsv(csv, 'm.csv');
    expect(measuredValues(t, { toMs: 20 }, 'm.csv')).toEqual({ 'cpus[0].soft': 50, 'interrupts.per_sec': 2000, 'per_sec(nstat.IpInReceives)': 500000 });
    expect(measuredValues(t, { fromMs: 10, metrics: ['cpus[0].soft', 'per_sec(nstat.IpOutRequests)'] }, 'm.csv')).toEqual({ 'cpus[0].soft': 75, 'per_sec(nstat.IpOutRequests)': 7 });
    expect(() => measuredValues(t, { metrics: ['cpus[1].soft'] }, 'm.csv')).toThrow(/m\.csv: metrics: "cpus\[1\]\.soft" is not in the series/);
    // the model side of a rate: the counter over the window, per second
    const result = { sim: { window_ns: 2e6 }, nstat: { IpInReceives: 1000 } };
    expect(observedMetric(result, 'per_sec(nstat.IpInReceives)')).toBe(500000);
  });

  it('a costs file cannot be read where there is no file system (the browser): one line says what to do', () => {
    expect(() => loadScenario(JSON.stringify({ ...xdp, costs: './lab.costs.json' }))).toThrow(/costs: "\.\/lab\.costs\.json" is a costs file, which rxsim run, check and trace read/);
  });
});
