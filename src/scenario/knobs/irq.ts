import { ValueError } from '../errors.ts';
import * as limits from '../limits.ts';
import { formatCpuList, formatCpuMask, parseCpuList, parseCpuMask } from '../units.ts';
import { defineKnob, text, type QueueContext } from './types.ts';

/**
 * /proc/irq/<n>/smp_affinity and smp_affinity_list of the NIC's queue vectors: the CPUs the
 * interrupt may go to (kernel/irq/proc.c: write_irq_affinity parses the mask or the list; an
 * empty one is EINVAL). In the scenario both are the `irq_affinity` entry of the queue, as a list.
 */

/** The CPUs as the kernel keeps them: every CPU must exist and at least one must be given. */
function affinity(cpus: number[], ctx: QueueContext, file: string): number[] {
  limits.existingCpus(cpus, ctx.cpus, file);
  if (cpus.length === 0) throw new ValueError('an empty affinity mask is rejected (write_irq_affinity: EINVAL)');
  return cpus;
}

const DESCRIPTION = "CPUs the queue's MSI-X vector may interrupt; the vector-matrix allocator picks one of them.";
const DEFAULT_TEXT = "queue i on CPU i % CPUs (the driver's affinity hint)";

export const smpAffinityList = defineKnob<string, number[], QueueContext>({
  name: 'smp_affinity_list',
  kind: 'irq',
  path: 'nics[].irq_affinity["<queue>"]',
  where: '/proc/irq/<n>/smp_affinity_list',
  command: 'echo {value} > /proc/irq/{irq}/smp_affinity_list',
  type: text('cpu list'),
  default: ({ queue, cpus }) => String(queue % cpus),
  defaultText: DEFAULT_TEXT,
  range: 'existing CPUs, not empty',
  check: (value, ctx) => affinity(parseCpuList(value), ctx, 'smp_affinity_list'),
  store: (cpus) => formatCpuList(cpus),
  description: DESCRIPTION,
  source: 'kernel/irq/proc.c: write_irq_affinity',
  runtime: true,
});

export const smpAffinity = defineKnob<string, number[], QueueContext>({
  name: 'smp_affinity',
  kind: 'irq',
  sameFieldAs: 'smp_affinity_list',
  path: 'nics[].irq_affinity["<queue>"]',
  where: '/proc/irq/<n>/smp_affinity',
  command: 'echo {value} > /proc/irq/{irq}/smp_affinity',
  type: text('hex cpumask'),
  default: ({ queue, cpus }) => formatCpuMask([queue % cpus], cpus),
  defaultText: DEFAULT_TEXT,
  range: 'existing CPUs, not empty',
  check: (value, ctx) => affinity(parseCpuMask(value), ctx, 'smp_affinity'),
  store: (cpus) => formatCpuList(cpus),
  description: `${DESCRIPTION} The same setting as smp_affinity_list, as a hex bitmap.`,
  source: 'kernel/irq/proc.c: write_irq_affinity',
  runtime: true,
});

export const IRQ_KNOBS = [smpAffinityList, smpAffinity];
