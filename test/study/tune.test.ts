import { describe, expect, it } from 'vitest';
import { parseVary } from '../../src/study/sweep.ts';
import { checkBudget, parseBudget, parseConstraint, parseKnob, settingCommand, tune, type TuneRun } from '../../src/study/tune.ts';
import { inputError, scenario } from '../helpers.ts';

describe('tune: parsing', () => {
  it('reads --knob as a path or an apply template, --subject-to, --budget', () => {
    expect(parseKnob('nics[0].ring.rx=256,1024')).toMatchObject({ kind: 'set', name: 'nics[0].ring.rx', values: [256, 1024], source: '--knob "nics[0].ring.rx=256,1024"' });
    expect(parseKnob('ethtool -C eth0 rx-usecs {}=0..20:10')).toMatchObject({ kind: 'apply', name: 'ethtool -C eth0 rx-usecs {}', values: [0, 10, 20] });
    expect(parseConstraint(' latency_us.p99<=500 ')).toEqual({ metric: 'latency_us.p99', op: '<=', value: 500, text: 'latency_us.p99 <= 500' });
    expect(parseConstraint('flows[0].goodput_gbps >= 1.5e0').value).toBe(1.5);
    expect(inputError(() => parseConstraint('latency_us.p99 = 5'))).toMatch(/^--subject-to "latency_us.p99 = 5": expected/);
    expect(inputError(() => parseConstraint('latency_us.p99 <= fast'))).toMatch(/expected/);
    expect(inputError(() => parseBudget('0'))).toBe('--budget "0": expected a number of runs ≥ 1');
    expect(inputError(() => checkBudget({ axes: [parseKnob('nics[0].ring.rx=1,2,3')], budget: 2 }))).toMatch(/^--budget 2: the grid has 3 points/);
  });

  it('prints a path knob as the registry command with the scenario names, else as --set', () => {
    const s = scenario();
    expect(settingCommand(s, parseVary('nics[0].ring.rx=1024'), 1024)).toBe('ethtool -G eth0 rx 1024');
    expect(settingCommand(s, parseVary('sysctl["net.core.netdev_budget"]=600'), 600)).toBe('sysctl -w net.core.netdev_budget=600');
    expect(settingCommand(s, parseVary('nics[0].queues["rx-1"].rps_cpus=3'), '3')).toBe('echo 3 > /sys/class/net/eth0/queues/rx-1/rps_cpus');
    expect(settingCommand(s, parseVary('duration_ms=7'), 7)).toBe('--set duration_ms=7');
  });
});

describe('tune: the search', () => {
  // A made-up response, so the search is checked alone: the objective is -(x - 3)², the
  // constraint metric is x; the seed adds a little noise.
  const axes = [parseVary('x=0..6')];
  const evaluate = (log: TuneRun[]) => (runs: readonly TuneRun[]) => {
    log.push(...runs);
    return Promise.resolve(runs.map((r) => (r.point === null ? [-20 + r.seed / 10, 99] : [-((r.valueIndex[0]! - 3) ** 2) + r.seed / 10, r.valueIndex[0]!])));
  };
  const objective = { metric: 'y', direction: 'maximize' as const };

  it('runs the whole grid when it fits, and picks the known optimum', async () => {
    const log: TuneRun[] = [];
    const t = await tune({ axes, seeds: [1, 2, 3], objective, constraints: [], budget: 21 }, evaluate(log));
    expect(t.method).toBe('grid');
    expect(t.best!.valueIndex).toEqual([3]);
    expect(t.runs).toBe(21);
    expect(log.filter((r) => r.point === null).map((r) => r.seed)).toEqual([1, 2, 3]);
    expect(t.comparison!.diff).toBeCloseTo(20);
  });

  it('halves: 7 points × 2 seeds, the better 4 × 4, the better 2 × 8; a constraint excludes the optimum', async () => {
    const log: TuneRun[] = [];
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const t = await tune({ axes, seeds, objective, constraints: [parseConstraint('x <= 2')], budget: 40 }, evaluate(log));
    expect(t.method).toBe('successive-halving');
    expect(t.rounds).toEqual([
      { points: 7, seeds: 2 },
      { points: 4, seeds: 4 },
      { points: 2, seeds: 8 },
    ]);
    expect(t.runs).toBe(14 + 8 + 8);
    expect(t.best!.valueIndex).toEqual([2]);
    expect(t.ranking.find((r) => r.valueIndex[0] === 3)!.violated).toEqual(['x <= 2']);
    // No run twice: each round runs only the new seeds.
    const keys = log.filter((r) => r.point !== null).map((r) => `${r.point}/${r.seed}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('chooses nothing when no point is feasible', async () => {
    const t = await tune({ axes, seeds: [1], objective, constraints: [parseConstraint('x >= 10')], budget: 10 }, evaluate([]));
    expect(t.best).toBeNull();
    expect(t.baseline).toBeNull();
  });
});
