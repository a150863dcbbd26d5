import { describe, expect, it } from 'vitest';
import { metricValue } from '../../src/metrics/result.ts';

/** Metric paths address list entries by position or by name. */
const result = {
  flows: [
    { name: 'flood', goodput_gbps: 1 },
    { name: 'iperf3', goodput_gbps: 9.4 },
  ],
  tasks: [
    { comm: 'ksoftirqd/0', soft_ms: 3 },
    { comm: 'iperf3', sys_ms: 20 },
  ],
  sockets: [{ app: 'iperf3', drops: 7 }],
  nics: [
    {
      name: 'eth0',
      queues: [
        { queue: 0, drops: 1 },
        { queue: 4, drops: 5 },
      ],
    },
  ],
  cpus: [{ cpu: 0, soft: 50 }],
};

describe('metric paths', () => {
  it('read by index as before', () => {
    expect(metricValue(result, 'flows[1].goodput_gbps')).toBe(9.4);
    expect(metricValue(result, 'cpus[0].soft')).toBe(50);
  });

  it('read list entries by name: flows and cgroups by name, tasks by comm, sockets by app, queues as rx-N', () => {
    expect(metricValue(result, 'flows[iperf3].goodput_gbps')).toBe(9.4);
    expect(metricValue(result, 'tasks[ksoftirqd/0].soft_ms')).toBe(3);
    expect(metricValue(result, 'tasks[iperf3].sys_ms')).toBe(20);
    expect(metricValue(result, 'sockets[iperf3].drops')).toBe(7);
    expect(metricValue(result, 'nics[eth0].queues[rx-4].drops')).toBe(5);
  });

  it('an unknown name reads as missing, not as another entry', () => {
    expect(metricValue(result, 'flows[nope].goodput_gbps')).toBeUndefined();
    expect(metricValue(result, 'nics[eth0].queues[rx-9].drops')).toBeUndefined();
  });
});
