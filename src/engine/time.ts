/** Time units. Simulated time is an integer count of nanoseconds. */
export const NS = 1;
export const US = 1_000;
export const MS = 1_000_000;
export const SEC = 1_000_000_000;
/** The wire keeps sub-nanosecond frame times in picoseconds: ps per ns. */
export const PS_PER_NS = 1_000;

/** Picoseconds → the first whole nanosecond at or after them. */
export function psToNsCeil(ps: number): number {
  return Math.ceil(ps / PS_PER_NS);
}

/** Whole nanoseconds from a value in microseconds (rounded to the nearest ns). */
export function usToNs(us: number): number {
  return Math.round(us * US);
}

/** Whole nanoseconds from a value in milliseconds. */
export function msToNs(ms: number): number {
  return Math.round(ms * MS);
}
