import * as d3 from 'd3';

/**
 * Labels of the timeline's time axis. The unit follows the size of the values (ns, µs, ms) and
 * the number of decimals follows the tick step, so ticks 5 µs apart at 23.1 ms read 23.105,
 * 23.110, … ms instead of 23.1, 23.1, 23.1 ms: every tick of the visible span gets its own label.
 */
const UNITS = [
  { at: 1e6, scale: 1e6, name: 'ms' },
  { at: 1e3, scale: 1e3, name: 'µs' },
  { at: 0, scale: 1, name: 'ns' },
] as const;

/** The ticks of the span [t0, t1] (ns), about `count` of them, each with its label. */
export function timeTicks(t0: number, t1: number, count: number): { ns: number; label: string }[] {
  const ticks = d3.ticks(t0, t1, count);
  const step = Math.abs(d3.tickStep(t0, t1, count));
  const biggest = Math.max(Math.abs(t0), Math.abs(t1));
  const unit = UNITS.find((u) => biggest >= u.at)!;
  // Digits after the point that a step of `step` needs in this unit (steps are 1, 2 or 5 × 10^k).
  const decimals = step > 0 ? Math.min(9, Math.max(0, Math.ceil(-Math.log10(step / unit.scale) - 1e-9))) : 0;
  return ticks.map((ns) => ({ ns, label: `${(ns / unit.scale).toFixed(decimals)} ${unit.name}` }));
}
