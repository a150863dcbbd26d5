import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/load.ts';
import { expectBadInput, rxsimIn } from './binary.ts';

const dir = mkdtempSync(join(tmpdir(), 'rxsim-calibrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const xdp = {
  name: 'cal-xdp',
  duration_ms: 2,
  warmup_ms: 0.5,
  cpus: 1,
  nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
  xdp_programs: { 'drop-all': { program: [], default: 'drop' } },
  apply: ['ethtool -A eth0 rx off tx off', 'ip link set dev eth0 xdpdrv obj drop-all'],
  flows: [{ name: 'flood', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
};
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

  it('a costs file cannot be read where there is no file system (the browser): one line says what to do', () => {
    expect(() => loadScenario(JSON.stringify({ ...xdp, costs: './lab.costs.json' }))).toThrow(/costs: "\.\/lab\.costs\.json" is a costs file, which rxsim run, check and trace read/);
  });
});
