import { ValueError } from '../errors.ts';
import * as limits from '../limits.ts';
import { deviceFile } from './kinds.ts';
import { count } from './values.ts';
import { oneOfNumbers, uint } from './types.ts';

/**
 * Per-device sysfs files, /sys/class/net/<dev>/<attr> (net/core/net-sysfs.c). Each store handler
 * parses with kstrtoul (netdev_store), so a value that is not an unsigned integer is EINVAL; the
 * change_* callback then applies its own limit.
 */

/** net/core/net-sysfs.c: change_napi_defer_hard_irqs rejects val > S32_MAX with -ERANGE. */
const S32_MAX = 2 ** 31 - 1;

const deferType = uint('napi_defer_hard_irqs', 0, S32_MAX);
export const napiDeferHardIrqs = deviceFile<number, number>('napi_defer_hard_irqs', {
  type: deferType,
  unit: 'polls',
  default: 0,
  range: '0..S32_MAX',
  check: (value) => {
    const n = deferType.check(value);
    if (n > S32_MAX) throw new ValueError(`napi_defer_hard_irqs ${n} is above S32_MAX (${S32_MAX}): napi_defer_hard_irqs_store returns ERANGE ("Numerical result out of range")`);
    return n;
  },
  description: 'Empty polls allowed before napi_complete_done re-enables the IRQ (with gro_flush_timeout: IRQ deferral).',
  source: 'net/core/dev.c: napi_complete_done',
  schemaDefault: true,
});

/** gro_flush_timeout is an unsigned long in ns; rxsim keeps integers exactly up to 2^53 - 1. */
export const groFlushTimeout = deviceFile<number, number>('gro_flush_timeout', {
  ...count('gro_flush_timeout in ns', 0, Number.MAX_SAFE_INTEGER),
  unit: 'ns',
  default: 0,
  range: '0..ULONG_MAX',
  description: 'hrtimer that repolls instead of re-enabling the IRQ when a poll completes (and holds GRO packets until then).',
  source: 'net/core/dev.c: napi_complete_done',
  schemaDefault: true,
});

export const threaded = deviceFile<0 | 1, boolean>('threaded', {
  type: oneOfNumbers([0, 1], () => 'expected 0 or 1 for threaded'),
  default: 0,
  range: '0 or 1',
  check: (value) => value === 1,
  description: 'Poll in napi/<dev>-<id> kthreads instead of the NET_RX softirq (threaded NAPI).',
  source: 'net/core/dev.c: ____napi_schedule',
  schemaDefault: true,
});

const mtuType = uint('the MTU');
export const mtu = deviceFile<number, number>('mtu', {
  where: '/sys/class/net/<dev>/mtu (ip link set dev <dev> mtu N)',
  command: 'ip link set dev {dev} mtu {value}',
  type: { ...mtuType, jsonSchema: { minimum: 68 } },
  unit: 'bytes',
  default: 1500,
  range: (d) => `68..${d.maxMtu}`,
  check: (value, ctx) => limits.mtu(ctx.driver, mtuType.check(value)),
  description: 'Largest IP packet; frames are MTU + 18 bytes with header and FCS.',
  source: 'net/core/dev.c: dev_validate_mtu',
  schemaDefault: true,
});

export const DEVICE_KNOBS = [napiDeferHardIrqs, groFlushTimeout, threaded, mtu];
