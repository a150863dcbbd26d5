import * as limits from '../limits.ts';
import { parseCpuMask } from '../units.ts';
import { defineKnob, text, uint, type AnyKnob, type QueueContext } from './types.ts';

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

/** irq_suspend_timeout is an unsigned long in ns (napi_config); rxsim keeps integers exactly up to 2^53 - 1. */
const suspendType = uint('irq_suspend_timeout in ns', 0, Number.MAX_SAFE_INTEGER);
export const irqSuspendTimeout = defineKnob<number, number, QueueContext>({
  name: 'irq_suspend_timeout',
  kind: 'queue',
  path: 'nics[].queues["rx-<n>"].irq_suspend_timeout',
  where: 'netlink netdev napi-set irq-suspend-timeout of the NAPI of rx-<n> (6.13+; no sysfs file)',
  command: `ynl --family netdev --do napi-set --json '{"id": {napi}, "irq-suspend-timeout": {value}}'`,
  type: suspendType,
  unit: 'ns',
  default: 0,
  range: '0..ULONG_MAX',
  check: (value) => suspendType.check(value),
  description:
    "How long this queue's NAPI keeps its interrupt suspended while an epoll busy poller with prefer_busy_poll finds events (napi_suspend_irqs); it replaces gro_flush_timeout and napi_defer_hard_irqs in napi_complete_done and busy_poll_stop while prefer-busy-poll is set.",
  source: 'net/core/dev.c: napi_suspend_irqs',
});

export const QUEUE_KNOBS = [rpsCpus, rpsFlowCnt, irqSuspendTimeout];

/** Per-NAPI settings with no sysfs file: only netlink's napi-set writes them. */
export const NAPI_SET_KNOBS: readonly AnyKnob[] = [irqSuspendTimeout];
