import { InputError } from '../scenario/errors.ts';

/** Option parsers shared by the commands: each error names the option and the value given. */

/** A repeatable option's values, in order (commander's accumulator). */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function integerOption(name: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v)) throw new InputError(`${name} "${v}"`, 'expected a non-negative integer');
    return Number(v);
  };
}

export function nonNegativeNumber(name: string): (v: string) => number {
  return (v: string) => {
    if (!/^\d+(\.\d+)?$/.test(v)) throw new InputError(`${name} "${v}"`, 'expected a number >= 0');
    return Number(v);
  };
}

/** A number as JSON writes it (1e3 included); its range is the scenario field's, checked by the schema. */
export function positiveNumber(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InputError(`${name} "${v}"`, 'expected a positive number');
    return n;
  };
}
