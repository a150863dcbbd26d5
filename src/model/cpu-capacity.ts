/**
 * The capacity a CPU has left for fair tasks (kernel/sched/fair.c: update_cpu_capacity,
 * scale_rt_capacity): SCHED_CAPACITY_SCALE less what interrupts take. Interrupt time is told
 * apart from task time only with CONFIG_IRQ_TIME_ACCOUNTING (kernel.irq_time_accounting), which
 * keeps its PELT average rq->avg_irq; without it the capacity stays whole.
 *
 * PELT decays by half every 32 ms (y^32 = 1/2, 1 ms periods); rxsim keeps the same half-life
 * as an exponential average of the share of time the CPU spent in hardirq and inline softirq,
 * brought up to date when read (the share is taken as constant since the last read). Softirq
 * work done by ksoftirqd is task time, as in the kernel (irqtime_account_irq leaves it to the
 * thread).
 */
export const SCHED_CAPACITY_SCALE = 1024;
const PELT_HALFLIFE_NS = 32e6;

export class CpuCapacity {
  private lastNs = 0;
  private lastIrqNs = 0;
  /** avg_irq as a share of the CPU, 0..1. */
  private irqAvg = 0;

  constructor(private readonly irqTimeAccounting: boolean) {}

  /** capacity_of(cpu) now, given the CPU's interrupt time so far. */
  capacity(now: number, interruptNs: number): number {
    if (!this.irqTimeAccounting) return SCHED_CAPACITY_SCALE;
    const dt = now - this.lastNs;
    if (dt > 0) {
      const share = Math.min(1, (interruptNs - this.lastIrqNs) / dt);
      const keep = Math.pow(0.5, dt / PELT_HALFLIFE_NS);
      this.irqAvg = this.irqAvg * keep + share * (1 - keep);
      this.lastNs = now;
      this.lastIrqNs = interruptNs;
    }
    // scale_irq_capacity(): the free capacity shrinks by the interrupts' share; at least 1.
    return Math.max(1, Math.round(SCHED_CAPACITY_SCALE * (1 - this.irqAvg)));
  }
}
