/**
 * Rounding of reported numbers: results are rounded so that their canonical JSON — and so the
 * digest — is the same in Node and in the browser. One definition, used by every part's report.
 */
export const r3 = (x: number): number => Math.round(x * 1000) / 1000;
export const r2 = (x: number): number => Math.round(x * 100) / 100;
/** ns → ms, rounded to the µs. */
export const ms3 = (ns: number): number => r3(ns / 1e6);
