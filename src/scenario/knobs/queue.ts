import * as limits from '../limits.ts';
import { parseCpuMask } from '../units.ts';
import { defineKnob, text, uint, type QueueContext } from './types.ts';

/** Per-RX-queue sysfs files, /sys/class/net/<dev>/queues/rx-<n>/<attr> (net/core/net-sysfs.c). */

export const rpsCpus = defineKnob<string, number[], QueueContext>({
  name: 'rps_cpus',
  kind: 'queue',
  path: 'nics[].queues["rx-<n>"].rps_cpus',
  where: '/sys/class/net/<dev>/queues/rx-<n>/rps_cpus',
  command: 'echo {value} > /sys/class/net/{dev}/queues/rx-{queue}/rps_cpus',
  type: text('hex cpumask'),
  default: '0',
  range: 'existing CPUs',
  // store_rps_map: bitmap_parse of the hex mask; CPUs that do not exist are an error here.
  check: (value, ctx) => limits.existingCpus(parseCpuMask(value), ctx.cpus, 'rps_cpus'),
  description: "CPUs that get_rps_cpu may steer this queue's packets to (RPS; 0 = off).",
  source: 'net/core/dev.c: get_rps_cpu',
});

const flowCntType = uint('rps_flow_cnt');
export const rpsFlowCnt = defineKnob<number, number, QueueContext>({
  name: 'rps_flow_cnt',
  kind: 'queue',
  path: 'nics[].queues["rx-<n>"].rps_flow_cnt',
  where: '/sys/class/net/<dev>/queues/rx-<n>/rps_flow_cnt',
  command: 'echo {value} > /sys/class/net/{dev}/queues/rx-{queue}/rps_flow_cnt',
  type: flowCntType,
  unit: 'entries',
  default: 0,
  range: '0..2^29 (rounded up to a power of two)',
  check: (value) => limits.rpsFlowCount(flowCntType.check(value)),
  description: "Entries of this queue's RFS flow table (rps_dev_flow_table; 0 = RFS off on the queue).",
  source: 'net/core/dev.c: get_rps_cpu',
});

export const QUEUE_KNOBS = [rpsCpus, rpsFlowCnt];
