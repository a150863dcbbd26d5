import { ValueError } from '../errors.ts';
import { parseCpuMax } from '../units.ts';
import { cgroupFile } from './kinds.ts';
import { cpuList } from './values.ts';
import { text, uint } from './types.ts';

/** cgroup v2 files of the cpuset and cpu controllers, /sys/fs/cgroup/<path>/<file> (<path>: "pod-a", or nested as "kubepods/pod-a/web"). */

export const cpusetCpus = cgroupFile<string, number[]>('cpuset.cpus', {
  ...cpuList('cpuset.cpus', 'an empty cpuset has no CPU to run on'),
  defaultText: "the parent's (all CPUs)",
  description: "CPUs the group's tasks may run on; narrows each task's own affinity (cpuset_cpus_allowed).",
  source: 'kernel/cgroup/cpuset.c: update_cpumask',
});

export const cpuMax = cgroupFile<string, { quotaUs: number | null; periodUs: number }>('cpu.max', {
  type: text('"quota period"'),
  unit: 'µs',
  default: 'max 100000',
  range: 'quota max or >= 1000, period 1000..1000000',
  check: (value) => parseCpuMax(value),
  description: 'CFS bandwidth: the group may run quota µs per period µs ("max": unlimited), then it is throttled.',
  source: 'kernel/sched/core.c: cpu_max_write',
});

const weightType = uint('cpu.weight', 0, 10000);
export const cpuWeight = cgroupFile<number, number>('cpu.weight', {
  type: { ...weightType, jsonSchema: { minimum: 1, maximum: 10000 } },
  default: 100,
  range: '1..10000',
  check: (value) => {
    const n = weightType.check(value);
    // CGROUP_WEIGHT_MIN..CGROUP_WEIGHT_MAX
    if (n < 1 || n > 10000) throw new ValueError(`cpu.weight ${n} is outside 1..10000 (cpu_weight_write_u64: ERANGE)`);
    return n;
  },
  description: "The group's share against its siblings: it competes as one entity of weight cpu.weight × 1024 / 100.",
  source: 'kernel/sched/core.c: cpu_weight_write_u64',
});

export const CGROUP_KNOBS = [cpusetCpus, cpuMax, cpuWeight];
