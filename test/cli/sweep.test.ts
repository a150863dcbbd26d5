import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scenario } from '../helpers.ts';
import { fileURLToPath } from 'node:url';
import { expectBadInput, rxsimIn, type Ran } from './binary.ts';

const dir = mkdtempSync(join(tmpdir(), 'rxsim-sweep-'));
const at = (name: string): string => join(dir, name);

const rxsim = (...args: string[]): Promise<Ran> => rxsimIn(dir, ...args);

function ok(r: Ran): Ran {
  expect(r.stderr, r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  return r;
}

/** Bad input: exit 2, one line on stderr naming the problem, no stack trace. */

const read = (name: string): string => readFileSync(at(name), 'utf8');

// A tiny scenario: 3 points × 2 seeds = 6 runs of 3 ms simulated.
writeFileSync(
  at('tiny.json'),
  JSON.stringify(
    scenario({
      name: 'tiny',
      duration_ms: 3,
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1003', dst: '10.0.0.2:9', rate: '200kpps', size: 64 }],
      apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }],
    }),
  ),
);
const SWEEP = ['sweep', 'tiny.json', '--vary', 'nics[0].coalesce.rx-usecs=10..50:20', '--seeds', '2'];

describe('rxsim sweep, merge, diff (the real binary)', () => {
  // The reference: --jobs 1, saving the sweep as a file and writing the summary and the page.
  let reference: Ran;
  beforeAll(async () => {
    reference = ok(await rxsim(...SWEEP, '--jobs', '1', '--out', 'j1.csv', '--summary', 'j1-summary.csv', '--html', 'j1.html', '--save-sweep', 'saved.json'));
  });

  it('writes one tidy row per run in run order, and a summary per point; --jobs 2 (from the saved sweep file) gives the same bytes', async () => {
    const lines = read('j1.csv').trim().split('\n');
    expect(lines[0]).toBe('run,nics[0].coalesce.rx-usecs,seed,throughput.delivered_gbps,flows[0].goodput_gbps,latency_us.p50,latency_us.p99,interrupts.per_sec,packets.dropped.*,digest,sweep,runs');
    expect(lines).toHaveLength(7);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(['0,10,1', '1,10,2', '2,30,1', '3,30,2', '4,50,1', '5,50,2']);
    expect(lines[1]).toMatch(/,[0-9a-f]{64},[0-9a-f]{64},6$/);
    expect(reference.stdout).toMatch(/^nics\[0\]\.coalesce\.rx-usecs +metric +n +mean +sd +ci95_lo +ci95_hi +min +max\n/);
    expect(reference.stdout).toMatch(/\n +30 +interrupts\.per_sec +2 +33333 /);
    expect(read('j1-summary.csv').split('\n')[0]).toBe('nics[0].coalesce.rx-usecs,metric,n,mean,sd,ci95_lo,ci95_hi,min,max');
    expect(reference.stderr).toMatch(/sweep [0-9a-f]{12}: 3 points × 2 seeds = 6 runs; 6 runs now/);

    const saved = JSON.parse(read('saved.json')) as { axes: unknown[]; seeds: number[] };
    expect(saved.axes).toEqual([{ vary: 'nics[0].coalesce.rx-usecs', values: [10, 30, 50] }]);
    const j2 = ok(await rxsim('sweep', 'saved.json', '--jobs', '2', '--out', 'j2.csv', '--summary', 'j2-summary.csv'));
    expect(read('j2.csv')).toBe(read('j1.csv'));
    expect(read('j2-summary.csv')).toBe(read('j1-summary.csv'));
    expect(j2.stdout).toBe(reference.stdout);
  });

  it('the HTML page inlines d3 and the data, and loads nothing from the network', () => {
    const html = read('j1.html');
    const d3 = readFileSync(fileURLToPath(new URL('../../node_modules/d3/dist/d3.min.js', import.meta.url)), 'utf8');
    expect(html).toContain(d3.slice(0, 2000));
    expect(html).toContain('"axes":["nics[0].coalesce.rx-usecs"]');
    expect(html).toContain('"metrics":["throughput.delivered_gbps","flows[0].goodput_gbps"');
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*href=/);
  });

  it('shards 1/3, 2/3, 3/3 merge into the unsharded output; merge refuses a missing, a duplicated and a foreign shard', async () => {
    // The three shards, and a foreign one: another sweep (other seeds) with the same columns.
    const runs = await Promise.all([
      ...[1, 2, 3].map((i) => rxsim(...SWEEP, '--shard', `${i}/3`, '--jobs', '1', '--out', `shard${i}.csv`)),
      rxsim('sweep', 'tiny.json', '--vary', 'nics[0].coalesce.rx-usecs=10..50:20', '--seeds', '3..4', '--shard', '3/3', '--jobs', '1', '--out', 'foreign.csv'),
    ]);
    runs.forEach(ok);
    expect(
      read('shard2.csv')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0]),
    ).toEqual(['1', '4']);
    const [merged, missing, duplicated, foreign] = await Promise.all([
      rxsim('merge', 'shard1.csv', 'shard2.csv', 'shard3.csv', '--out', 'merged.csv'),
      rxsim('merge', 'shard1.csv', 'shard3.csv', '--out', 'bad1.csv'),
      rxsim('merge', 'shard1.csv', 'shard2.csv', 'shard2.csv', 'shard3.csv', '--out', 'bad2.csv'),
      rxsim('merge', 'shard1.csv', 'shard2.csv', 'foreign.csv', '--out', 'bad3.csv'),
    ]);
    ok(merged);
    expect(read('merged.csv')).toBe(read('j1.csv'));
    expectBadInput(missing, /runs 1, 4 of sweep [0-9a-f]{12} \(6 runs\) are missing/);
    expectBadInput(duplicated, /shard2\.csv: run 1 is also in the same file given before/);
    expectBadInput(foreign, /foreign\.csv: run 2 belongs to sweep [0-9a-f]{12}, the rows before it to sweep [0-9a-f]{12}: a foreign shard/);
    for (const f of ['bad1.csv', 'bad2.csv', 'bad3.csv']) expect(existsSync(at(f))).toBe(false);
  });

  it('--resume completes a truncated output (a partial last line dropped) to the same rows; an existing output without --resume is refused, unchanged', async () => {
    const full = read('j1.csv');
    const cut = full.slice(0, full.indexOf('\n', full.indexOf('\n') + 1) + 40); // the header, run 0 and part of run 1
    writeFileSync(at('cut.csv'), cut);
    const refused = await rxsim(...SWEEP, '--out', 'cut.csv');
    expectBadInput(refused, /--out "cut\.csv": exists; add --resume to complete it/);
    expect(read('cut.csv')).toBe(cut);
    const resumed = ok(await rxsim(...SWEEP, '--jobs', '1', '--out', 'cut.csv', '--resume'));
    expect(resumed.stderr).toMatch(/5 runs now, 1 already in cut\.csv/);
    expect(read('cut.csv')).toBe(full);
    expect(resumed.stdout).toBe(reference.stdout);
  });

  it('bad input: one line, exit 2, naming the token, the expected form and the nearest name; no output file', async () => {
    const cases: [string[], RegExp][] = [
      [['--metric', 'throughput.delivered_gbs'], /--metric "throughput\.delivered_gbs": no such metric in the result \(did you mean "throughput\.delivered_gbps"\?\)/],
      [['--vary', 'nics[0].coalesce.rx-usec=10,20'], /--vary nics\[0\]\.coalesce\.rx-usec=10: unknown key "rx-usec" \(did you mean "rx-usecs"\?\)/],
      [['--vary', 'nics[0].coalesce.rx-usecs=10,2000'], /--vary nics\[0\]\.coalesce\.rx-usecs=2000: rx-usecs 2000 is above ixgbe's maximum of 1022/],
      [['--shard', '3/2'], /--shard "3\/2": expected I\/N with 1 ≤ I ≤ N/],
      [['--jobs', '0'], /--jobs "0": expected a number of worker threads ≥ 1/],
      [['--seeds', '0'], /--seeds "0": expected a count N ≥ 1 \(seeds 1\.\.N\)/],
    ];
    const results = await Promise.all(cases.map(([args], i) => rxsim('sweep', 'tiny.json', ...args, '--out', `never${i}.csv`)));
    results.forEach((r, i) => {
      expectBadInput(r, cases[i]![1]);
      expect(existsSync(at(`never${i}.csv`))).toBe(false);
    });
  });

  it('diff: two results per metric path; two sweeps per point with Welch, identical marked', async () => {
    const [a, b] = await Promise.all([rxsim('run', 'tiny.json', '--json', '--out', 'a.json'), rxsim('run', 'tiny.json', '--json', '--out', 'b.json', '--apply', 'ethtool -C eth0 rx-usecs 100')]);
    ok(a);
    ok(b);
    writeFileSync(at('j1-again.csv'), read('j1.csv'));
    const [results, sweeps, bad] = await Promise.all([rxsim('diff', 'a.json', 'b.json'), rxsim('diff', 'j1.csv', 'j1-again.csv'), rxsim('diff', 'a.json', 'j1.csv')]);
    expect(ok(results).stdout).toMatch(/\ninterrupts\.total +\d+ +\d+ +-\d+\n/);
    expect(results.stdout).not.toMatch(/wall_ms/);
    expect(ok(sweeps).stdout).toMatch(/\n +10 +interrupts\.per_sec +2 +100000 +2 +100000 +0 +0 +0 +1 +identical\n/);
    expect(sweeps.stdout).toMatch(/0 of 18 differences significant at alpha 0\.05/);
    expectBadInput(bad, /j1\.csv: is a sweep output and a\.json a result: compare two of a kind/);
  });

  it('schema --sweep prints the JSON Schema of sweep files', async () => {
    const r = ok(await rxsim('schema', '--sweep'));
    const schema = JSON.parse(r.stdout) as { title: string; properties: Record<string, unknown> };
    expect(schema.title).toBe('rxsim sweep');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['scenario', 'axes', 'seeds', 'metrics']));
  });
});
