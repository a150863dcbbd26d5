/**
 * Text exactly as the kernel prints it, from plain data (so each format is testable alone).
 */

/** One CPU's /proc/net/softnet_stat values (net/core/net-procfs.c, softnet_seq_show, 6.4+). */
export interface SoftnetRow {
  processed: number;
  dropped: number;
  timeSqueeze: number;
  receivedRps: number;
  flowLimitCount: number;
  inputQlen: number;
  processQlen: number;
  cpu: number;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** 15 columns of %08x: processed, dropped, time_squeeze, 5×0 (was fastroute), 0 (was cpu_collision), received_rps, flow_limit_count, backlog length, CPU index, input_pkt_queue, process_queue. */
export function formatSoftnetStat(rows: SoftnetRow[]): string {
  return rows
    .map((r) => [r.processed, r.dropped, r.timeSqueeze, 0, 0, 0, 0, 0, 0, r.receivedRps, r.flowLimitCount, r.inputQlen + r.processQlen, r.cpu, r.inputQlen, r.processQlen].map(hex8).join(' '))
    .join('\n')
    .concat('\n');
}

export interface InterruptRow {
  /** IRQ number, or -1 for an architecture row. */
  irq: number;
  label: string;
  counts: ArrayLike<number>;
  chip: string;
  hwirq: number;
  name: string;
}

/**
 * /proc/interrupts (kernel/irq/proc.c show_interrupts, arch/x86/kernel/irq.c
 * arch_show_interrupts): a header of CPU names, then per IRQ "%*d:" and " %10u" per CPU, the chip
 * name (" %8s"), the hwirq (" %*lu") and "-edge", and "  <action>"; architecture rows are
 * "%*s:" with the counts and "  <description>". `prec` is the width of the largest IRQ number
 * (at least 3).
 */
export function formatInterrupts(rows: InterruptRow[], ncpus: number, nrIrqs: number): string {
  let prec = 3;
  for (let j = 1000; prec < 10 && j <= nrIrqs; prec++) j *= 10;
  let out = ' '.repeat(prec + 8);
  for (let c = 0; c < ncpus; c++) out += `CPU${c}`.padEnd(11);
  out += '\n';
  for (const r of rows) {
    const counts = Array.from({ length: ncpus }, (_, c) => ` ${String(r.counts[c] ?? 0).padStart(10)}`).join('');
    if (r.irq >= 0) {
      out += `${String(r.irq).padStart(prec)}:${counts} ${r.chip.padStart(8)} ${String(r.hwirq).padStart(prec)}-${'edge'.padEnd(8)}  ${r.name}\n`;
    } else {
      out += `${r.label.padStart(prec)}:${counts}  ${r.name}\n`;
    }
  }
  return out;
}

/** /proc/softirqs (fs/proc/softirqs.c): "%12s:" and " %10u" per CPU, for the given vectors. */
export function formatSoftirqs(vectors: { name: string; counts: ArrayLike<number> }[], ncpus: number): string {
  let out = ' '.repeat(20);
  for (let c = 0; c < ncpus; c++) out += `CPU${c}`.padEnd(11);
  out += '\n';
  for (const v of vectors) {
    out += `${v.name.padStart(12)}:${Array.from({ length: ncpus }, (_, c) => ` ${String(v.counts[c] ?? 0).padStart(10)}`).join('')}\n`;
  }
  return out;
}
