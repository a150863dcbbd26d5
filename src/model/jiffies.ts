import { SEC } from '../engine/time.ts';
import type { Simulator } from '../engine/simulator.ts';

/**
 * jiffies (kernel/time/jiffies.c, include/linux/jiffies.h): the tick count, HZ per second. The
 * count starts at 0 (the kernel starts it at INITIAL_JIFFIES, which only matters for wrap), and
 * the tick boundaries sit `offsetNs` before each multiple of the tick: where the traffic meets
 * the tick depends on when the machine booted (variability.random_phase draws it). Every CPU
 * ticks at the same boundaries (tick_sched aligns them; skew_tick=0, the default).
 */
export class Jiffies {
  /** ns per tick (TICK_NSEC). */
  readonly tickNs: number;

  /** The ticks fall at multiples of tickNs minus this offset (in [0, tickNs)). */
  readonly offsetNs: number;

  constructor(
    private readonly sim: Simulator,
    /** CONFIG_HZ. */
    readonly hz: number,
    /** The boot phase as a fraction of a tick, in [0, 1). */
    phase = 0,
  ) {
    this.tickNs = Math.round(SEC / hz);
    this.offsetNs = Math.floor(phase * this.tickNs);
  }

  /** The jiffies counter now. */
  now(): number {
    return Math.floor((this.sim.now + this.offsetNs) / this.tickNs);
  }

  /** The first tick boundary after `t` (ns). */
  nextTickAt(t: number): number {
    return (Math.floor((t + this.offsetNs) / this.tickNs) + 1) * this.tickNs - this.offsetNs;
  }

  /** usecs_to_jiffies(): rounded up. */
  fromUsecs(us: number): number {
    return Math.ceil((us * this.hz) / 1e6);
  }
}
