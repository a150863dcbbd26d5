import { ValueError } from '../errors.ts';
import * as limits from '../limits.ts';
import { formatCpuList, parseCpuList } from '../units.ts';
import { bool, decimal, oneOf, text, uint, type SystemContext, type ValueType } from './types.ts';

/**
 * Values that recur across knobs, each with the range in words and the check that goes with it,
 * so an entry spreads one of these instead of writing the parse, the range and the message again.
 */

/** A non-negative integer whose only check is its syntax (`uint`). */
export function count(what: string, min = 0, max?: number): { type: ReturnType<typeof uint>; check: (value: number) => number } {
  const type = uint(what, min, max);
  return { type, check: (value) => type.check(value) };
}

/** A number that may have a fraction (µs), at least 0, whose only check is that. */
export function amount(what: string): { type: ValueType<number>; check: (value: number) => number } {
  return {
    type: decimal(what),
    check: (value) => {
      if (!(value >= 0)) throw new ValueError(`expected ${what} (a number >= 0)`);
      return value;
    },
  };
}

/**
 * A CPU list (`0-3,8`) of CPUs that exist, kept as the list the kernel prints; all CPUs unless
 * set. `what` names it when a CPU does not exist; an empty list is refused with `emptyProblem`.
 */
export function cpuList(what: string, emptyProblem: string) {
  return {
    type: text('cpu list'),
    default: ({ cpus }: SystemContext) => formatCpuList(Array.from({ length: cpus }, (_, i) => i)),
    range: 'existing CPUs, not empty',
    check: (value: string, ctx: SystemContext) => {
      const list = limits.existingCpus(parseCpuList(value), ctx.cpus, what);
      if (list.length === 0) throw new ValueError(emptyProblem);
      return list;
    },
    store: (list: number[]) => formatCpuList(list),
  };
}

/**
 * An integer a system call bounds (`setsockopt`, an ioctl): outside min..max it is refused with
 * `why` ("sk_setsockopt: EINVAL"). `what` names it in the message, `typeWhat` in a syntax error.
 */
export function bounded(what: string, min: number, max: number, why: string, typeWhat = what): { type: ValueType<number>; range: string; check: (value: number) => number } {
  return {
    type: uint(typeWhat, min, max),
    range: `${min}..${max}`,
    check: (value) => {
      if (!Number.isSafeInteger(value) || value < min || value > max) throw new ValueError(`${what} ${value} is outside ${min}..${max} (${why})`);
      return value;
    },
  };
}

/** A switch the model reads as it is (true or false). */
export function flag(what: string, dflt = false): { type: ValueType<boolean>; default: boolean; range: string; check: (value: boolean) => boolean } {
  return { type: bool(what), default: dflt, range: 'true or false', check: (value) => value };
}

/** One of a few words, read as it is. */
export function choice<V extends string>(values: readonly [V, ...V[]]): { type: ValueType<V>; range: string; check: (value: V) => V } {
  return { type: oneOf(values), range: values.join(', '), check: (value) => value };
}
