import { IRQ_BASE } from './nic/vectors.ts';

/**
 * IRQ descriptors: what /proc/interrupts lists. Device vectors (numbered as in vectors.ts) and the
 * x86 architecture rows rxsim models: LOC (local timer: scheduler tick and hrtimers such as
 * napi_watchdog), RES (rescheduling IPIs) and CAL (function-call IPIs, which carry RPS).
 *
 * Effective affinity: `smp_affinity_list` is the set of CPUs an IRQ may target; on x86 with the
 * vector-matrix allocator one CPU of that set is actually used (effective_affinity). rxsim picks
 * it the way irq_matrix_alloc's matrix_find_best_cpu() does: the CPU of the mask with the fewest
 * device vectors already assigned, lowest number on a tie (irqbalance is not modelled).
 */
export interface IrqDesc {
  /** IRQ number (device) or -1 (architecture row). */
  irq: number;
  /** Row label: the number, or "LOC"/"RES"/"CAL". */
  label: string;
  /** Action name (eth0-TxRx-0) or the architecture row's description. */
  name: string;
  chip: string;
  hwirq: number;
  /** Interrupts handled per CPU. */
  counts: Float64Array;
  /** smp_affinity_list. */
  allowed: number[];
  /** effective_affinity. */
  effective: number;
}

export class IrqTable {
  readonly descs: IrqDesc[] = [];
  readonly LOC: number;
  readonly RES: number;
  readonly CAL: number;
  private nextIrq = IRQ_BASE;
  private readonly assigned: number[];

  constructor(private readonly ncpus: number) {
    this.assigned = new Array<number>(ncpus).fill(0);
    this.LOC = this.addArch('LOC', 'Local timer interrupts');
    this.RES = this.addArch('RES', 'Rescheduling interrupts');
    this.CAL = this.addArch('CAL', 'Function call interrupts');
  }

  private addArch(label: string, name: string): number {
    const all = Array.from({ length: this.ncpus }, (_, i) => i);
    this.descs.push({ irq: -1, label, name, chip: '', hwirq: 0, counts: new Float64Array(this.ncpus), allowed: all, effective: -1 });
    return this.descs.length - 1;
  }

  /** A device vector with its allowed CPUs; returns its descriptor index. */
  addDevice(name: string, chip: string, hwirq: number, allowed: number[]): number {
    const irq = this.nextIrq++;
    const effective = this.bestCpu(allowed);
    this.assigned[effective]!++;
    this.descs.push({ irq, label: String(irq), name, chip, hwirq, counts: new Float64Array(this.ncpus), allowed, effective });
    return this.descs.length - 1;
  }

  /** handle_irq_event: kstat_incr_irqs_this_cpu (a /proc/interrupts count). */
  count(desc: number, cpu: number): void {
    this.descs[desc]!.counts[cpu]! += 1;
  }

  /** Start of the measurement window: /proc/interrupts restarts. */
  resetWindow(): void {
    for (const d of this.descs) d.counts.fill(0);
  }

  /** A write to smp_affinity_list: the vector moves to the best CPU of the new mask (irq_do_set_affinity). */
  setAffinity(desc: number, allowed: number[]): void {
    const d = this.descs[desc]!;
    this.assigned[d.effective]!--;
    d.allowed = allowed;
    d.effective = this.bestCpu(allowed);
    this.assigned[d.effective]!++;
  }

  /** matrix_find_best_cpu(): fewest device vectors, lowest number on a tie. */
  private bestCpu(allowed: number[]): number {
    let best = allowed[0]!;
    for (const c of allowed) if (this.assigned[c]! < this.assigned[best]!) best = c;
    return best;
  }

  /** Skip an IRQ number (a vector rxsim does not model, e.g. a NIC's link/"other" vector). */
  reserve(): void {
    this.nextIrq++;
  }
}
