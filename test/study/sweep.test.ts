import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { diffResults, diffSweeps } from '../../src/study/diff.ts';
import { sweepHtml } from '../../src/study/html.ts';
import { extractMetric, metricProblem } from '../../src/study/metrics.ts';
import { loadRun, parseVary, parseVaryApply, prepareSweep, runSpec, shardRuns, sweepSpecFromFile, toSweepFile, type SweepSpec } from '../../src/study/sweep.ts';
import { formatRows, layoutOf, parseCsv, parseRows, summarizeRows, type SweepRow } from '../../src/study/table.ts';
import { parseJobs, parseSeeds, parseShard, parseValueList } from '../../src/study/values.ts';
import { inputError, scenario } from '../helpers.ts';

const tiny = () => scenario({ duration_ms: 2 });

function spec(over: Partial<SweepSpec> = {}): SweepSpec {
  return { scenario: tiny(), scenarioLabel: 'tiny.json', axes: [], seeds: null, metrics: null, ...over };
}

describe('value lists, seeds, shards, jobs', () => {
  it('reads lists, ranges (a..b:step, downwards, fractional) and JSON lists', () => {
    expect(parseValueList('90..110:2', 'x')).toEqual([90, 92, 94, 96, 98, 100, 102, 104, 106, 108, 110]);
    expect(parseValueList('1,5..7,abc,"q"', 'x')).toEqual([1, 5, 6, 7, 'abc', 'q']);
    expect(parseValueList('0.1..0.3:0.1', 'x')).toEqual([0.1, 0.2, 0.3]);
    expect(parseValueList('5..1:2', 'x')).toEqual([5, 3, 1]);
    expect(parseValueList('["0,2","1"]', 'x')).toEqual(['0,2', '1']);
    expect(inputError(() => parseValueList('1,,2', '--vary "a=1,,2"'))).toMatch(/--vary "a=1,,2": empty value/);
    expect(inputError(() => parseValueList('1..3:0', 'x'))).toMatch(/the step must be positive/);
  });

  it('seeds: N is 1..N, or a list; 0 is refused; shard I/N with 1 ≤ I ≤ N; jobs ≥ 1', () => {
    expect(parseSeeds('5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseSeeds('1,5,9')).toEqual([1, 5, 9]);
    expect(parseSeeds('10..12')).toEqual([10, 11, 12]);
    expect(inputError(() => parseSeeds('0'))).toMatch(/--seeds "0": expected a count N ≥ 1/);
    expect(inputError(() => parseSeeds('1,1'))).toMatch(/appears twice/);
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(inputError(() => parseShard('3/2'))).toMatch(/--shard "3\/2": expected I\/N with 1 ≤ I ≤ N/);
    expect(inputError(() => parseShard('0/2'))).toMatch(/expected I\/N/);
    expect(parseJobs('2')).toBe(2);
    expect(inputError(() => parseJobs('0'))).toMatch(/--jobs "0": expected a number of worker threads ≥ 1/);
  });

  it('--vary splits at the first =, --vary-apply at the first = after the last {}', () => {
    expect(parseVary('sysctl["net.core.netdev_budget"]=300,600')).toMatchObject({ kind: 'set', name: 'sysctl["net.core.netdev_budget"]', values: [300, 600] });
    expect(parseVaryApply('sysctl -w net.core.netdev_budget={}=300,600')).toMatchObject({ kind: 'apply', name: 'sysctl -w net.core.netdev_budget={}', values: [300, 600] });
    expect(inputError(() => parseVaryApply('ethtool -C eth0 rx-usecs 5=1'))).toMatch(/expected "<command with \{\}>"=<v1>/);
    expect(inputError(() => parseVary('nics[0].=1'))).toMatch(/cannot read the path/);
  });
});

describe('sweep definition', () => {
  const axes = [parseVary('nics[0].coalesce.rx-usecs=10,50'), parseVaryApply('sysctl -w net.core.netdev_budget={}=300,600,900')];

  it('enumerates the axes in order (the first outermost), values in order, seeds innermost', () => {
    const s = prepareSweep(spec({ axes, seeds: [1, 2] }));
    expect([s.points, s.runs]).toEqual([6, 12]);
    const order = Array.from({ length: s.runs }, (_, r) => runSpec(s, r)).map((r) => `${r.valueIndex.join('')}:${r.seed}`);
    expect(order).toEqual(['00:1', '00:2', '01:1', '01:2', '02:1', '02:2', '10:1', '10:2', '11:1', '11:2', '12:1', '12:2']);
    const { resolved } = loadRun(s, runSpec(s, 9));
    expect(resolved.seed).toBe(2);
    expect(resolved.sysctl['net.core.netdev_budget']).toBe(600);
  });

  it('shards partition the runs: run id mod N = I - 1', () => {
    const s = prepareSweep(spec({ axes, seeds: [1, 2] }));
    const shards = [1, 2, 3].map((index) => shardRuns(s, { index, count: 3 }).map((r) => r.run));
    expect(shards[1]).toEqual([1, 4, 7, 10]);
    expect(shards.flat().sort((a, b) => a - b)).toEqual(shardRuns(s).map((r) => r.run));
  });

  it('has a hash of what decides its rows: canonical (key order does not matter), and the same from its sweep file', () => {
    const a = prepareSweep(spec({ axes, seeds: [1, 2] }));
    const reordered = Object.fromEntries(Object.entries(tiny()).reverse());
    expect(prepareSweep(spec({ scenario: reordered, axes, seeds: [1, 2] })).hash).toBe(a.hash);
    expect(prepareSweep(spec({ axes, seeds: [1, 3] })).hash).not.toBe(a.hash);
    expect(prepareSweep(spec({ axes: [axes[0]!], seeds: [1, 2] })).hash).not.toBe(a.hash);
    expect(prepareSweep(spec({ axes, seeds: [1, 2], metrics: ['packets.offered'] })).hash).not.toBe(a.hash);
    const file = JSON.parse(JSON.stringify(toSweepFile(a))) as unknown;
    expect(prepareSweep(sweepSpecFromFile(file, 'saved.json', () => ({ text: '', label: '' }))).hash).toBe(a.hash);
  });

  it('reads a sweep file with a scenario path, ranges as strings and seeds as a count', () => {
    const file = {
      scenario: 'tiny.json',
      axes: [
        { vary: 'nics[0].coalesce.rx-usecs', values: '10..30:10' },
        { vary_apply: 'sysctl -w net.core.netdev_budget={}', values: [300] },
      ],
      seeds: 2,
    };
    const s = sweepSpecFromFile(file, 'sweep.json', (p) => ({ text: JSON.stringify(tiny()), label: p }));
    expect(s.axes.map((a) => a.values)).toEqual([[10, 20, 30], [300]]);
    expect(s.seeds).toEqual([1, 2]);
    expect(inputError(() => sweepSpecFromFile({ scenario: 'x.json', axis: [] }, 'sweep.json', () => ({ text: '{}', label: 'x' })))).toMatch(
      /sweep\.json: axis: unknown key "axis" \(did you mean "axes"\?\)/,
    );
  });

  it('reads a number as text where the field takes text, as --set does (a CPU list)', () => {
    const s = prepareSweep(spec({ scenario: { ...tiny(), apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '0' }] }, axes: [parseVary('apps[0].cpus=0,1')] }));
    expect(s.axes[0]!.values).toEqual(['0', '1']);
    expect(inputError(() => prepareSweep(spec({ scenario: { ...tiny(), apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9' }] }, axes: [parseVary('apps[0].cpus=0,7')] })))).toMatch(
      /^--vary apps\[0\]\.cpus=7: the CPU list names CPU 7, but the scenario has 2 CPUs/,
    );
  });

  it('default metrics: those of the default set the result has', () => {
    expect(prepareSweep(spec()).metrics).toEqual(['throughput.delivered_gbps', 'flows[0].goodput_gbps', 'latency_us.p50', 'latency_us.p99', 'interrupts.per_sec', 'packets.dropped.*']);
    expect(prepareSweep(spec({ scenario: { ...tiny(), flows: [] } })).metrics).not.toContain('flows[0].goodput_gbps');
  });

  it('refuses before any run: an unknown metric (nearest name), a value a knob rejects (its axis and value), a bad point', () => {
    expect(inputError(() => prepareSweep(spec({ metrics: ['throughput.delivered_gbs'] })))).toMatch(
      /--metric "throughput\.delivered_gbs": no such metric in the result \(did you mean "throughput\.delivered_gbps"\?\)/,
    );
    expect(inputError(() => prepareSweep(spec({ axes: [parseVary('nics[0].coalesce.rx-usecs=10,2000')] })))).toMatch(
      /^--vary nics\[0\]\.coalesce\.rx-usecs=2000: rx-usecs 2000 is above ixgbe's maximum of 1022/,
    );
    expect(inputError(() => prepareSweep(spec({ axes: [parseVary('nics[0].coalesce.rx-usec=10')] })))).toMatch(/unknown key "rx-usec" \(did you mean "rx-usecs"\?\)/);
    expect(inputError(() => prepareSweep(spec({ axes: [parseVary('cpus=2,4'), parseVaryApply('ethtool -C eth0 rx-usecs {}=10,5000')] })))).toMatch(
      /^--vary-apply "ethtool -C eth0 rx-usecs \{\}"=5000: token "5000": rx-usecs 5000 is above/,
    );
    expect(inputError(() => prepareSweep(spec({ axes: [parseVary('seed=1,2')] })))).toMatch(/use --seeds/);
    expect(inputError(() => prepareSweep(spec({ scenario: { ...tiny(), durration_ms: 3 }, axes: [parseVary('cpus=2,3')] })))).toMatch(
      /^tiny\.json: durration_ms: unknown key "durration_ms" \(did you mean "duration_ms"\?\)/,
    );
    expect(inputError(() => prepareSweep(spec({ metrics: ['seed'] })))).toMatch(/a column of the rows already/);
  });
});

describe('metrics', () => {
  const result = collectResult(simulate(loadScenarioObject(tiny()).resolved), 0);

  it('reads paths as rxsim check does, and sums a * path', () => {
    expect(extractMetric(result, 'packets.offered')).toBe(result.packets.offered);
    expect(extractMetric(result, 'packets.dropped.*')).toBe(Object.values(result.packets.dropped).reduce((a, b) => a + b, 0));
    expect(extractMetric(result, 'cpus[*].idle')).toBeCloseTo(
      result.cpus.reduce((a, c) => a + c.idle, 0),
      9,
    );
    expect(metricProblem(result, 'latency_us.p99')).toBeUndefined();
    expect(metricProblem(result, 'latency_us')).toMatch(/not a number but an object \(pick a field: p50, p90/);
    expect(metricProblem(result, 'flows[3].goodput_gbps')).toMatch(/did you mean "flows\[0\]\.goodput_gbps"/);
  });
});

describe('rows, summary, diff, page', () => {
  const layout = { axes: ['sysctl["net.core.netdev_budget"]', 'apps[0].cpus'], metrics: ['m', 'packets.dropped.*'] };
  const row = (run: number, budget: number, cpus: string, seed: number, m: number | null): SweepRow => ({
    run,
    labels: [String(budget), cpus],
    values: [budget, cpus],
    seed,
    metrics: [m, 0],
    digest: `d${run}`,
    sweep: 'h',
    runs: 4,
  });
  const rows = [row(0, 300, '0,1', 1, 1.5), row(1, 300, '0,1', 2, 2.5), row(2, 600, 'x "y"', 1, null), row(3, 600, 'x "y"', 2, 4)];

  it('CSV quotes what needs it and reads back the same rows; JSONL too; a partial last line is left out', () => {
    const csv = formatRows(rows, layout, 'csv');
    expect(csv.split('\n')[0]).toBe('run,"sysctl[""net.core.netdev_budget""]",apps[0].cpus,seed,m,packets.dropped.*,digest,sweep,runs');
    expect(csv).toContain('0,300,"0,1",1,1.5,0,d0,h,4\n');
    expect(csv).toContain('2,600,"x ""y""",1,,0,d2,h,4\n');
    const back = parseRows(csv, 'csv', 'a.csv');
    expect(back.layout).toEqual(layout);
    expect(back.rows.map((r) => [r.run, r.labels, r.metrics])).toEqual(rows.map((r) => [r.run, r.labels, r.metrics]));
    expect(formatRows(back.rows, layout, 'csv')).toBe(csv);
    const cut = parseRows(csv.slice(0, -5), 'csv', 'a.csv');
    expect([cut.rows.length, cut.partial, cut.complete]).toEqual([3, true, csv.lastIndexOf('\n', csv.length - 2) + 1]);
    const jsonl = formatRows(rows, layout, 'jsonl');
    expect(formatRows(parseRows(jsonl, 'jsonl', 'a.jsonl').rows, layout, 'jsonl')).toBe(jsonl);
    expect(parseRows(jsonl.slice(0, -3), 'jsonl', 'a.jsonl').rows).toHaveLength(3);
    expect(parseCsv('a,b\r\n1,2\r\n').records).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('summarizes per point, leaving nulls out', () => {
    const points = summarizeRows(layout, rows);
    expect(points.map((p) => p.labels)).toEqual([
      ['300', '0,1'],
      ['600', 'x "y"'],
    ]);
    expect(points[0]!.stats[0]).toMatchObject({ n: 2, mean: 2, min: 1.5, max: 2.5 });
    expect(points[1]!.stats[0]).toMatchObject({ n: 1, mean: 4, sd: null });
    expect(points[1]!.stats[1]).toMatchObject({ n: 2, mean: 0, sd: 0, ci95_lo: 0, ci95_hi: 0 });
  });

  it('diffs two sweeps per point and metric, and two results per path', () => {
    const a = parseRows(formatRows(rows, layout, 'csv'), 'csv', 'a.csv');
    const d = diffSweeps(a, a, 0.05);
    expect(d.rows.map((r) => r.test.status)).toEqual(['tested', 'identical', 'too-few', 'identical']);
    expect(d.rows.map((r) => r.test.p)).toEqual([1, 1, null, 1]);
    expect(d.rows.some((r) => r.significant)).toBe(false);
    const x = collectResult(simulate(loadScenarioObject(tiny()).resolved), 0);
    const y = collectResult(simulate(loadScenarioObject(tiny(), { apply: ['ethtool -C eth0 rx-usecs 100'] }).resolved), 0);
    expect(diffResults(x, x)).toEqual([]);
    const changed = diffResults(x, y);
    expect(changed.find((r) => r.path === 'interrupts.total')?.delta).toBe(y.interrupts.total - x.interrupts.total);
    expect(changed.some((r) => r.path === 'sim.wall_ms')).toBe(false);
    expect(diffResults(x, y, true).length).toBeGreaterThan(changed.length);
  });

  it('draws an HTML page with d3 and the data inlined', () => {
    const html = sweepHtml({ title: 't', subtitle: 's', layout, points: summarizeRows(layout, rows), d3Source: '/* d3 </script> */' });
    expect(html).toContain('/* d3 <\\/script> */');
    expect(html).toContain('"metrics":["m","packets.dropped.*"]');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  it('layoutOf follows the sweep', () => {
    const s = prepareSweep(spec({ axes: [parseVary('cpus=2,3')], metrics: ['packets.offered'] }));
    expect(layoutOf(s)).toEqual({ axes: ['cpus'], metrics: ['packets.offered'] });
  });
});
