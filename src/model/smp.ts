import type { EventKind, Simulator } from '../engine/simulator.ts';
import type { Cpu } from './cpu.ts';

/**
 * Inter-processor interrupts (kernel/smp.c, arch/x86/kernel/smp.c): a module registers what its
 * IPI does on the receiving CPU (usually raising a hardirq there: the call-function vector for
 * RPS, the reschedule vector for the scheduler) and sends it to a CPU. Delivery is immediate.
 */
export class Smp {
  private readonly event: EventKind;
  private readonly handlers: ((cpu: Cpu) => void)[] = [];

  constructor(
    private readonly sim: Simulator,
    cpus: readonly Cpu[],
  ) {
    // The event's argument carries the target CPU and the IPI kind (low 4 bits).
    this.event = sim.on((arg) => this.handlers[arg & 15]!(cpus[arg >> 4]!));
  }

  /** A kind of IPI and what it does on the CPU that receives it. */
  register(onReceive: (cpu: Cpu) => void): number {
    if (this.handlers.length === 16) throw new Error('at most 16 IPI kinds');
    this.handlers.push(onReceive);
    return this.handlers.length - 1;
  }

  /** Send IPI `kind` to `cpu` now. */
  send(cpu: number, kind: number): void {
    this.sim.at(this.sim.now, this.event, cpu * 16 + kind);
  }
}
