import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectResult, metricValue } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { explain } from '../../src/study/explain.ts';
import { summarizeRemedies } from '../../src/study/remedies.ts';

const dir = fileURLToPath(new URL('../../sim-scenarios', import.meta.url));
const run = (file: string, apply: string[] = [], seed = 1) => {
  const l = loadScenario(readFileSync(`${dir}/${file}`, 'utf8'), { seed, apply });
  const r = collectResult(simulate(l.resolved), 0);
  return { r, e: explain(r, l.scenario) };
};

describe('rxsim explain', () => {
  it("names the seed lab's co-location from the run, and moving the reader removes it", () => {
    const { e } = run('seed-lab-iperf3-on-irq-core.json');
    const f = e.flows[0]!;
    expect(f.limit.kind).toBe('cpu');
    expect(f.limit.resource).toBe('cpu 4');
    expect(f.mechanisms).toEqual(expect.arrayContaining(['softirq-and-reader-share-cpu', 'rwnd-limited']));
    expect(f.remedies.flatMap((r) => r.commands)).toEqual(expect.arrayContaining([expect.stringMatching(/^taskset -c \d+ iperf3$/), expect.stringMatching(/smp_affinity_list$/)]));
    const moved = run('seed-lab-iperf3-on-irq-core.json', f.remedies.find((r) => r.commands[0]!.startsWith('taskset'))!.commands).e.flows[0]!;
    expect(moved.limit.kind).toBe('wire');
  });

  // Every statement cites a number a reader can find: each evidence path resolves in the result to the value quoted.
  it.each(readdirSync(dir).filter((f) => f.endsWith('.json')))("%s: every piece of evidence is the result's own number", (file) => {
    const { r, e } = run(file);
    for (const f of e.flows) {
      for (const link of f.chain) {
        for (const ev of link.evidence) {
          if (typeof ev.value !== 'number') continue;
          expect(metricValue(r, ev.path), `${f.flow}: ${ev.path}`).toBe(ev.value);
        }
      }
    }
  });

  // TCP_CHRONO_RWND_LIMITED: the sender is held back by the receive window only where the reader lags.
  it('tcpi_rwnd_limited moves where the reader lags and stays 0 where it keeps up', () => {
    const lagging = run('seed-lab-iperf3-on-irq-core.json').r.flows[0]!;
    const keeping = run('seed-lab-iperf3-on-cpu1.json').r.flows[0]!;
    expect(lagging.rwnd_limited_pct).toBeGreaterThan(20);
    expect(lagging.rwnd_limited_pct).toBeLessThan(100);
    expect(keeping.rwnd_limited_pct).toBe(0);
  });

  it('calls a remedy partial when it helps but less than the best one', () => {
    const f = {
      flow: 'x',
      remedies: [
        { name: 'a', why: '', commands: ['a'] },
        { name: 'b', why: '', commands: ['b'] },
        { name: 'c', why: '', commands: ['c'] },
      ],
    } as never;
    const base = [5.6, 5.7, 5.8, 5.7, 5.6];
    const values: Record<number, number[]> = { 0: [9.4, 9.41, 9.39, 9.4, 9.42], 1: [6.8, 6.9, 6.7, 6.85, 6.75], 2: [5.6, 5.8, 5.7, 5.65, 5.75] };
    const rs = summarizeRemedies(f, 'flows[x].goodput_gbps', base, (i) => values[i]!);
    expect(rs.map((r) => r.verdict)).toEqual(['helps', 'helps partly', 'no significant change']);
  });
});
