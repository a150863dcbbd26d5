/** Time units. Simulated time is an integer count of nanoseconds. */
export const NS = 1;
export const US = 1_000;
export const MS = 1_000_000;
export const SEC = 1_000_000_000;

/** Whole nanoseconds from a value in microseconds (rounded to the nearest ns). */
export function usToNs(us: number): number {
  return Math.round(us * US);
}

/** Whole nanoseconds from a value in milliseconds. */
export function msToNs(ms: number): number {
  return Math.round(ms * MS);
}
