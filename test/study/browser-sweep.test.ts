import { describe, expect, it } from 'vitest';
import { parseAxis, rowOf, runOne, sweepFromForm, type SweepForm } from '../../src/study/browser-sweep.ts';
import { shardRuns } from '../../src/study/sweep.ts';
import { formatRows, layoutOf } from '../../src/study/table.ts';
import { scenario } from '../helpers.ts';

/** The Sweep tab's form → the CLI's sweep; problems land under the field that caused them. */
const form = (over: Partial<SweepForm> = {}): SweepForm => ({ scenarioText: JSON.stringify(scenario({ duration_ms: 2 })), scenarioLabel: 'tiny', axes: [], seeds: '', metrics: [], ...over });

describe('the browser sweep form (src/study/browser-sweep.ts)', () => {
  it('reads an axis with {} as --vary-apply (quotes as a shell would drop them), anything else as --vary', () => {
    expect(parseAxis('nics[0].coalesce.rx-usecs=10..30:10')).toMatchObject({ kind: 'set', name: 'nics[0].coalesce.rx-usecs', values: [10, 20, 30] });
    expect(parseAxis('"sysctl -w net.core.netdev_budget={}"=300,600')).toMatchObject({ kind: 'apply', name: 'sysctl -w net.core.netdev_budget={}', values: [300, 600] });
    expect(parseAxis('sysctl -w net.core.netdev_budget={}=300')).toMatchObject({ kind: 'apply', name: 'sysctl -w net.core.netdev_budget={}', values: [300] });
  });

  it('puts each problem under its field, with the message rxsim sweep prints', () => {
    const problem = (over: Partial<SweepForm>) => {
      const r = sweepFromForm(form(over));
      if (!('problem' in r)) throw new Error('expected a problem');
      return r.problem;
    };
    expect(problem({ axes: ['', 'nics[0].coalesce.rx-usecs=10..30:-1'] })).toEqual({ field: { axis: 1 }, message: expect.stringMatching(/the step must be positive/) as string });
    expect(problem({ axes: ['nics[0].coalesce.rx-usecs=10', 'nics[0].coalesce.rx-usecs=2000'] }).field).toEqual({ axis: 1 });
    expect(problem({ axes: ['nics[0].coalesce.rx-usecs=2000'] })).toEqual({ field: { axis: 0 }, message: expect.stringMatching(/^--vary nics\[0\]\.coalesce\.rx-usecs=2000: .*1022/) as string });
    expect(problem({ axes: ['nics[0].coalesce.rx-usec=10'] }).field).toEqual({ axis: 0 });
    expect(problem({ seeds: '0' }).field).toBe('seeds');
    expect(problem({ metrics: ['throughput.delivered_gbs'] })).toEqual({ field: 'metrics', message: expect.stringMatching(/did you mean "throughput\.delivered_gbps"/) as string });
    expect(problem({ scenarioText: '{"name": ' }).field).toBe('scenario');
  });

  it('runs give the rows the CLI formats: run order, digests, the sweep hash', () => {
    const r = sweepFromForm(form({ axes: ['nics[0].coalesce.rx-usecs=10,50'], seeds: '2' }));
    if (!('sweep' in r)) throw new Error(r.problem.message);
    const s = r.sweep;
    const runs = shardRuns(s);
    const rows = [...runs].reverse().map((spec) => {
      const a = runOne(s, spec);
      if ('error' in a) throw new Error(a.error);
      return rowOf(s, spec, a);
    });
    const csv = formatRows(
      [...rows].sort((a, b) => a.run - b.run),
      layoutOf(s),
      'csv',
    )
      .trim()
      .split('\n');
    expect(csv).toHaveLength(5);
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(['0,10,1', '1,10,2', '2,50,1', '3,50,2']);
    expect(csv[1]).toMatch(new RegExp(`,[0-9a-f]{64},${s.hash},4$`));
  });
});
