/**
 * Linux IRQ numbers of the NICs' MSI-X vectors, as /proc/interrupts and /proc/irq/<n>/ show them.
 * Real numbers depend on allocation order at boot; rxsim numbers them deterministically: the
 * first NIC's queue vectors from IRQ_BASE upward, then its "other" vector if the driver has one,
 * then the next NIC. `echo … > /proc/irq/<n>/smp_affinity_list` in `apply` uses the same numbers.
 */
export const IRQ_BASE = 128;

export interface VectorInfo {
  irq: number;
  nic: number;
  /** Queue index, or -1 for the "other" (link/misc) vector. */
  queue: number;
}

export function numberVectors(nics: readonly { queues: number; hasOther: boolean }[]): VectorInfo[] {
  const out: VectorInfo[] = [];
  let irq = IRQ_BASE;
  nics.forEach((n, nic) => {
    for (let q = 0; q < n.queues; q++) out.push({ irq: irq++, nic, queue: q });
    if (n.hasOther) out.push({ irq: irq++, nic, queue: -1 });
  });
  return out;
}
