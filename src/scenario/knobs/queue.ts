import * as limits from '../limits.ts';
import { parseCpuMask } from '../units.ts';
import { ValueError } from '../errors.ts';
import { kernelAtLeast } from './kernel-config.ts';
import { queueFile } from './kinds.ts';
import { count } from './values.ts';
import { oneOf, text, uint, type AnyKnob } from './types.ts';

/** Per-RX-queue sysfs files, /sys/class/net/<dev>/queues/rx-<n>/<attr> (net/core/net-sysfs.c). */

export const rpsCpus = queueFile<string, number[]>('rps_cpus', {
  type: text('hex cpumask'),
  default: '0',
  range: 'existing CPUs',
  // store_rps_map: bitmap_parse of the hex mask; CPUs that do not exist are an error here.
  check: (value, ctx) => limits.existingCpus(parseCpuMask(value), ctx.cpus, 'rps_cpus'),
  description: "CPUs that get_rps_cpu may steer this queue's packets to (RPS; 0 = off).",
  source: 'net/core/dev.c: get_rps_cpu',
});

const flowCntType = uint('rps_flow_cnt');
export const rpsFlowCnt = queueFile<number, number>('rps_flow_cnt', {
  type: flowCntType,
  unit: 'entries',
  default: 0,
  range: '0..2^29 (rounded up to a power of two)',
  check: (value) => limits.rpsFlowCount(flowCntType.check(value)),
  description: "Entries of this queue's RFS flow table (rps_dev_flow_table; 0 = RFS off on the queue).",
  source: 'net/core/dev.c: get_rps_cpu',
});

/** irq_suspend_timeout is an unsigned long in ns (napi_config); rxsim keeps integers exactly up to 2^53 - 1. */
export const irqSuspendTimeout = queueFile<number, number>('irq_suspend_timeout', {
  where: 'netlink netdev napi-set irq-suspend-timeout of the NAPI of rx-<n> (6.13+; no sysfs file)',
  command: `ynl --family netdev --do napi-set --json '{"id": {napi}, "irq-suspend-timeout": {value}}'`,
  ...count('irq_suspend_timeout in ns', 0, Number.MAX_SAFE_INTEGER),
  unit: 'ns',
  default: 0,
  range: '0..ULONG_MAX',
  description:
    "How long this queue's NAPI keeps its interrupt suspended while an epoll busy poller with prefer_busy_poll finds events (napi_suspend_irqs); only that timer reads it (6.18): between the loop's polls the vector stays masked through napi_defer_hard_irqs and gro_flush_timeout, which must be set too.",
  source: 'net/core/dev.c: napi_suspend_irqs',
});

/** enum netdev_napi_threaded (include/uapi/linux/netdev.h) as netlink's napi-set names it. */
export type NapiThreaded = 'disabled' | 'enabled' | 'busy-poll';
export const threaded = queueFile<NapiThreaded, NapiThreaded>('threaded', {
  where: 'netlink netdev napi-set threaded of the NAPI of rx-<n> (no sysfs file; the device-wide /sys/class/net/<dev>/threaded sets every NAPI to 0 or 1)',
  command: `ynl --family netdev --do napi-set --json '{"id": {napi}, "threaded": "{value}"}'`,
  type: oneOf(['disabled', 'enabled', 'busy-poll']),
  default: 'disabled',
  defaultText: 'the device\'s threaded (nics[].threaded: 0 "disabled", 1 "enabled")',
  range: 'disabled, enabled, busy-poll (6.19+)',
  // netdev-genl-gen.c: NETDEV_A_NAPI_THREADED is NLA_POLICY_MAX(NLA_U32, 1) in 6.18;
  // NETDEV_NAPI_THREADED_BUSY_POLL (2) came with commit c18d4b190a46, in 6.19.
  check: (value, ctx) => {
    if (value === 'busy-poll' && !kernelAtLeast(ctx, '6.19'))
      throw new ValueError(`"busy-poll" needs kernel ≥ 6.19 (NETDEV_NAPI_THREADED_BUSY_POLL; kernel.version is ${ctx.version ?? '6.18'}): "disabled" or "enabled"`);
    return value;
  },
  description: 'This NAPI polled by its own napi/<dev>-<id> kthread ("enabled"), or by a kthread that busy-polls it without sleeping and keeps its interrupt masked ("busy-poll", 6.19+).',
  source: 'net/core/dev.c: napi_threaded_poll',
});

export const QUEUE_KNOBS = [rpsCpus, rpsFlowCnt, irqSuspendTimeout, threaded];

/** Per-NAPI settings with no sysfs file: only netlink's napi-set writes them. */
export const NAPI_SET_KNOBS: readonly AnyKnob[] = [irqSuspendTimeout, threaded];
