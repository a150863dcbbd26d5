import { ValueError } from '../errors.ts';
import * as limits from '../limits.ts';
import { formatCpuList, formatCpuMask, parseCpuList, parseCpuMask } from '../units.ts';
import { irqFile } from './kinds.ts';
import { text, type QueueContext } from './types.ts';

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

/** What both files share: the default in words, the range, the list the kernel keeps, the writer. */
const AFFINITY = {
  defaultText: "queue i on CPU i % CPUs (the driver's affinity hint)",
  range: 'existing CPUs, not empty',
  store: (cpus: number[]) => formatCpuList(cpus),
  source: 'kernel/irq/proc.c: write_irq_affinity',
  runtime: true,
};

export const smpAffinityList = irqFile<string, number[]>('smp_affinity_list', {
  ...AFFINITY,
  type: text('cpu list'),
  default: ({ queue, cpus }) => String(queue % cpus),
  check: (value, ctx) => affinity(parseCpuList(value), ctx, 'smp_affinity_list'),
  description: DESCRIPTION,
});

export const smpAffinity = irqFile<string, number[]>('smp_affinity', {
  ...AFFINITY,
  sameFieldAs: 'smp_affinity_list',
  type: text('hex cpumask'),
  default: ({ queue, cpus }) => formatCpuMask([queue % cpus], cpus),
  check: (value, ctx) => affinity(parseCpuMask(value), ctx, 'smp_affinity'),
  description: `${DESCRIPTION} The same setting as smp_affinity_list, as a hex bitmap.`,
});

export const IRQ_KNOBS = [smpAffinityList, smpAffinity];
