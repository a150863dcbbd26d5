import { valueOf } from './knobs/registry.ts';
import { SYSCTL, SYSCTL_KNOBS, type SysctlText } from './knobs/sysctl.ts';
import type { SystemContext } from './knobs/types.ts';

/**
 * The sysctls as the model reads them. Their names, defaults, limits and messages are registry
 * entries (knobs/sysctl.ts); this is the typed view: one field per entry, typed by its kind.
 */

/**
 * The effective value of every modelled sysctl (defaults overlaid with the scenario's), typed as
 * the model reads it: integers as numbers, a CPU bitmap as its CPU list
 * (`net.core.flow_limit_cpu_bitmap`), `net.ipv4.tcp_rmem` as [min, default, max].
 */
export type SysctlValues = { -readonly [K in keyof typeof SYSCTL]: ReturnType<(typeof SYSCTL)[K]['check']> };

export const SYSCTL_NAMES = SYSCTL_KNOBS.map((k) => k.name);

/**
 * The typed values of a scenario's sysctls: each given value (the text written to /proc/sys, or a
 * JSON number) through its registry check, the rest from their defaults. `at(name, fn)` runs a
 * check and names the sysctl in an error.
 */
export function sysctlValues(ctx: SystemContext, given: Record<string, SysctlText | undefined>, at: <T>(name: string, fn: () => T) => T): SysctlValues {
  const out: Record<string, unknown> = {};
  for (const knob of SYSCTL_KNOBS) {
    const value = given[knob.name];
    out[knob.name] = value === undefined ? valueOf(knob, undefined, ctx) : at(knob.name, () => knob.check(value, ctx));
  }
  return out as SysctlValues;
}
