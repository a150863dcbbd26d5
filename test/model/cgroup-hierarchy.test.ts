import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { EXACT } from '../helpers.ts';

/**
 * Nested cgroups (a pod sits at kubepods/<pod>/<container>): cpu.weight shares split level by
 * level, cpu.max of an ancestor throttles every task below it, cpu.stat counts the subtree, and
 * cpuset.cpus.effective narrows within the parent's CPUs.
 */

function run(sc: Record<string, unknown>): Result {
  return collectResult(simulate(loadScenarioObject({ name: 'cg', duration_ms: 220, warmup_ms: 20, cpus: 2, nics: [{ name: 'eth0' }], variability: EXACT, ...sc }).resolved), 0);
}

const task = (r: Result, comm: string) => r.tasks.find((t) => t.comm === comm)!;
const busy = (t: Result['tasks'][number]) => t.usr_ms + t.sys_ms + t.soft_ms + t.irq_ms;
const group = (r: Result, name: string) => r.cgroups.find((g) => g.name === name)!;

describe('cgroup hierarchy', () => {
  it('cpu.weight splits level by level: a root hog and kubepods halve the CPU; pod-b (300) gets 3× pod-a (100) of kubepods; its two containers split pod-b', () => {
    const r = run({
      cgroups: {
        kubepods: {},
        'kubepods/pod-a': { 'cpu.weight': 100 },
        'kubepods/pod-b': { 'cpu.weight': 300 },
        'kubepods/pod-b/c1': {},
        'kubepods/pod-b/c2': {},
      },
      apps: [
        { name: 'sys', kind: 'cpu-hog', cpus: '1' },
        { name: 'a', kind: 'cpu-hog', cpus: '1', cgroup: 'kubepods/pod-a' },
        { name: 'b1', kind: 'cpu-hog', cpus: '1', cgroup: 'kubepods/pod-b/c1' },
        { name: 'b2', kind: 'cpu-hog', cpus: '1', cgroup: 'kubepods/pod-b/c2' },
      ],
    });
    const total = ['sys', 'a', 'b1', 'b2'].reduce((s, n) => s + busy(task(r, n)), 0);
    const share = (n: string) => busy(task(r, n)) / total;
    expect(share('sys')).toBeCloseTo(0.5, 1);
    expect(share('a')).toBeCloseTo(0.125, 1);
    expect(share('b1')).toBeCloseTo(0.1875, 1);
    expect(share('b2')).toBeCloseTo(0.1875, 1);
    expect(share('b1') / share('a')).toBeGreaterThan(1.35);
    expect(share('b1') / share('a')).toBeLessThan(1.65);
    // cpu.stat usage is hierarchical: kubepods counts its pods, pod-b its containers.
    expect(group(r, 'kubepods').usage_ms).toBeCloseTo(group(r, 'kubepods/pod-a').usage_ms + group(r, 'kubepods/pod-b').usage_ms, 0);
    expect(group(r, 'kubepods/pod-b').usage_ms).toBeCloseTo(group(r, 'kubepods/pod-b/c1').usage_ms + group(r, 'kubepods/pod-b/c2').usage_ms, 0);
  });

  it('an ancestor’s cpu.max throttles a container that has no limit of its own', () => {
    const r = run({
      cgroups: { kubepods: { 'cpu.max': '20000 100000' }, 'kubepods/pod/web': {} },
      apps: [{ name: 'web', kind: 'cpu-hog', cpus: '1', cgroup: 'kubepods/pod/web' }],
    });
    // 200 ms window: 20 % of one CPU.
    expect(busy(task(r, 'web'))).toBeGreaterThan(38);
    expect(busy(task(r, 'web'))).toBeLessThan(42);
    expect(group(r, 'kubepods').nr_throttled).toBeGreaterThan(0);
    expect(group(r, 'kubepods/pod/web').nr_throttled).toBe(0);
    expect(group(r, 'kubepods/pod').max).toBe('max 100000'); // implied by the path, with defaults
  });

  it('the tighter of a child’s and its parent’s cpu.max applies', () => {
    const r = run({
      cgroups: { kubepods: { 'cpu.max': '50000 100000' }, 'kubepods/pod': { 'cpu.max': '10000 100000' } },
      apps: [{ name: 'web', kind: 'cpu-hog', cpus: '1', cgroup: 'kubepods/pod' }],
    });
    expect(busy(task(r, 'web'))).toBeGreaterThan(18);
    expect(busy(task(r, 'web'))).toBeLessThan(22);
    expect(group(r, 'kubepods/pod').nr_throttled).toBeGreaterThan(0);
  });

  it('apply writes the files of nested and implied groups, and cpuset.cpus.effective stays within the parent', () => {
    const { resolved } = loadScenarioObject(
      {
        name: 'cg',
        cpus: 4,
        nics: [{ name: 'eth0' }],
        cgroups: { kubepods: { 'cpuset.cpus': '2-3' }, 'kubepods/pod/web': { 'cpuset.cpus': '0-2' } },
        apps: [{ name: 'web', kind: 'cpu-hog', cgroup: 'kubepods/pod/web' }],
      },
      { apply: ['echo "10000 100000" > /sys/fs/cgroup/kubepods/pod/web/cpu.max', 'echo 200 > /sys/fs/cgroup/kubepods/pod/cpu.weight'] },
    );
    expect(resolved.apps[0]!.cpus).toEqual([2]);
    const web = resolved.cgroups.find((g) => g.name === 'kubepods/pod/web')!;
    expect(web.quotaUs).toBe(10000);
    expect(web.parent).toBe('kubepods/pod');
    expect(resolved.cgroups.find((g) => g.name === 'kubepods/pod')!.weight).toBe(200);
    expect(resolved.cgroups.map((g) => g.name)).toEqual(['kubepods', 'kubepods/pod', 'kubepods/pod/web']);
  });

  it('a path that names no group is refused with the nearest name', () => {
    expect(() => loadScenarioObject({ name: 'cg', nics: [{ name: 'eth0' }], cgroups: { 'kubepods/pod': {} }, apps: [{ name: 'w', kind: 'cpu-hog', cgroup: 'kubepods/pdo' }] })).toThrow(
      /apps\[0\]\.cgroup.*no cgroup "kubepods\/pdo".*kubepods\/pod/,
    );
  });
});
