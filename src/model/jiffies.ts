import { SEC } from '../engine/time.ts';
import type { Simulator } from '../engine/simulator.ts';

/**
 * jiffies (kernel/time/jiffies.c, include/linux/jiffies.h): the tick count, HZ per second. The
 * boot value is 0 here (the kernel starts it at INITIAL_JIFFIES, which only matters for wrap).
 */
export class Jiffies {
  /** ns per tick (TICK_NSEC). */
  readonly tickNs: number;

  constructor(
    private readonly sim: Simulator,
    /** CONFIG_HZ. */
    readonly hz: number,
  ) {
    this.tickNs = Math.round(SEC / hz);
  }

  /** The jiffies counter now. */
  now(): number {
    return Math.floor(this.sim.now / this.tickNs);
  }

  /** usecs_to_jiffies(): rounded up. */
  fromUsecs(us: number): number {
    return Math.ceil((us * this.hz) / 1e6);
  }
}
