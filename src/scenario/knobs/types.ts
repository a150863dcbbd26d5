import { z } from 'zod';
import type { DriverProfile } from '../../model/nic/drivers.ts';
import { ValueError, didYouMean } from '../errors.ts';

/**
 * The shape of one knob of the registry: what it is called on Linux, where it lives (in the
 * scenario file and on a real machine), its type, default and range, the check the kernel or the
 * tool applies (with their own error text), and which kernel function reads it. Every route that
 * sets a knob — the JSON file, `--set`, an `apply` command, a timeline entry, the tuning panel —
 * goes through the same entry, so a value gets the same verdict and the same message everywhere.
 */

export type KnobKind = 'sysctl' | 'device' | 'queue' | 'ethtool' | 'irq' | 'cgroup' | 'kernel-config' | 'app';

/** What a check or a default may depend on, for knobs of the whole machine. */
export interface SystemContext {
  /** CPUs of the scenario (online CPUs). */
  cpus: number;
  /** CONFIG_HZ. */
  hz: number;
  /** The scenario's seed (netdev_rss_key is drawn from it). */
  seed: number;
  /** kernel.version, the release whose version-gated rules apply ("6.18" when absent). */
  version?: string;
}

/** For knobs of a NIC (device, queue, ethtool, irq). */
export interface NicContext extends SystemContext {
  driver: DriverProfile;
  /** RX queues of the NIC (ethtool -L combined, or the driver's default). */
  queues: number;
  /** The NIC's rx-usecs (ixgbe's adaptive moderation is rx-usecs 1). */
  rxUsecs: number;
  /** The link speed (ixgbe autonegotiates flow control only at 1 Gbit/s on fibre). */
  speedGbps?: number;
}

/** For per-queue knobs (rps_cpus, smp_affinity_list): the queue index too. */
export interface QueueContext extends NicContext {
  queue: number;
}

/**
 * A value type: the JSON field's zod type and the syntax of the text form (a command's value
 * token, the tuning panel's input). `parse` throws ValueError with the tool's own wording.
 */
export interface ValueType<J> {
  /** For the knob table: "int", "on/off", "cpu list", "hex cpumask", … */
  name: string;
  zod(): z.ZodType<J>;
  parse(text: string): J;
  /** The JSON value as text, when that is not just String(value). */
  format?(value: J): string;
  /** The text forms, when there are only a few (a select in the tuning panel). */
  choices?: readonly string[];
  /** JSON Schema hints (minimum, maximum) shown to editors. */
  jsonSchema?: Record<string, unknown>;
}

export interface Knob<J = unknown, T = unknown, C extends SystemContext = SystemContext> {
  /** As Linux spells it: `net.core.netdev_budget`, `rx-usecs`, `rps_cpus`, `cpu.max`. */
  name: string;
  /** Other spellings the tool accepts (`generic-receive-offload` for `gro`). */
  aliases?: readonly string[];
  kind: KnobKind;
  /** The JSON path template in the scenario: `nics[].coalesce.rx-usecs`, `sysctl["net.core.netdev_budget"]`. */
  path: string;
  /** Where it lives on a real machine: a /proc/sys or /sys path, or the ethtool command. */
  where: string;
  /**
   * The apply command that sets it, with `{value}` and the names it needs (`{dev}`, `{irq}`,
   * `{cgroup}`, `{app}`, `{queue}`, `{napi}`); none for build- or boot-time settings.
   */
  command?: string;
  /** For ethtool knobs: the option (`-C`, `-G`, …) and the parameter name after the device. */
  ethtool?: { option: string; param: string };
  /** Another knob that writes the same JSON field in another form (smp_affinity → smp_affinity_list). */
  sameFieldAs?: string;
  type: ValueType<J>;
  unit?: string;
  /** The kernel's or driver's default, in the JSON form; a function when it depends on the driver or HZ. */
  default?: J | DefaultOf<J, C>;
  /** The default in words, when there is no single value (or the value would mislead). */
  defaultText?: string;
  /** The valid range in words; per driver when the driver sets it. */
  range: string | ((driver: DriverProfile) => string);
  /** The kernel's (or the tool's) check: the value as the model reads it, or a ValueError with their message. */
  check(value: J, ctx: C): T;
  /** The typed value of the default (defaults are valid by construction); `check` when absent. */
  read?(value: J, ctx: C): T;
  /** What `apply` writes into the scenario: the value the kernel keeps (a rounded ring size); the given value when absent. */
  store?(typed: T, given: J): unknown;
  /** A driver without this parameter: throws ValueError (reported at the parameter's name). */
  supported?(ctx: C): void;
  /** One line: what it does. */
  description: string;
  /** The kernel (or driver) file and function that reads it: `net/core/dev.c: net_rx_action`. */
  source: string;
  /** The schema fills the default in (the scenario object always has the field). */
  schemaDefault?: boolean;
  /** It can change on a running machine (a timeline entry). */
  runtime?: boolean;
  /** App options: the app kinds that take it (all when absent). */
  appKinds?: readonly string[];
}

/**
 * A default that depends on the machine. Written as a method's type so that, like the methods
 * above, its parameter is compared bivariantly: a knob of a NIC (its default reads the driver)
 * still fits in the one list of every knob.
 */
export type DefaultOf<J, C> = { default(ctx: C): J }['default'];

/**
 * Any knob, whatever its value types: the registry's element type. Its members are methods, so a
 * `Knob<number, number, NicContext>` is one; callers that know the knob get its own types back.
 */
export type AnyKnob = Knob<unknown, unknown, SystemContext>;

/** Identity, for inference of a knob's value types. */
export function defineKnob<J, T, C extends SystemContext = SystemContext>(knob: Knob<J, T, C>): Knob<J, T, C> {
  return knob;
}

// ---------------------------------------------------------------- value types

/**
 * A non-negative integer as sysfs, ethtool and cgroup files take it (kstrtoul, ethtool's u32
 * parsing): `what` names it in the message, `min` is the smallest the tool takes.
 */
export function uint(what: string, min = 0, max?: number): ValueType<number> & { check: (n: number) => number } {
  const problem = `expected ${what} (an integer${min ? ` >= ${min}` : ''})`;
  const check = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < min) throw new ValueError(problem);
    return n;
  };
  return {
    name: 'int',
    zod: () => z.number().int(),
    parse: (text) => {
      if (!/^\d+$/.test(text.trim())) throw new ValueError(problem);
      return check(Number(text.trim()));
    },
    check,
    jsonSchema: { minimum: min, ...(max !== undefined ? { maximum: max } : {}) },
  };
}

/** A signed integer (nice). */
export function sint(what: string, min: number, max: number): ValueType<number> {
  return {
    name: 'int',
    zod: () => z.number().int(),
    parse: (text) => {
      if (!/^-?\d+$/.test(text.trim())) throw new ValueError(`expected ${what} (an integer)`);
      return Number(text.trim());
    },
    jsonSchema: { minimum: min, maximum: max },
  };
}

/** A number that may have a fraction (µs, ns). */
export function decimal(what: string, min = 0): ValueType<number> {
  return {
    name: 'number',
    zod: () => z.number(),
    parse: (text) => {
      if (!/^\d+(\.\d+)?$/.test(text.trim())) throw new ValueError(`expected ${what} (a number >= ${min})`);
      return Number(text.trim());
    },
    jsonSchema: { minimum: min },
  };
}

/** `on` or `off`, as ethtool -K and -C take them. */
export function onOff(what: string): ValueType<'on' | 'off'> {
  return {
    name: 'on/off',
    zod: () => z.enum(['on', 'off']),
    choices: ['on', 'off'],
    parse: (text) => {
      if (text !== 'on' && text !== 'off') throw new ValueError(`expected on or off for ${what}`);
      return text;
    },
  };
}

/** One of a few words; `problem` is the tool's wording when it has one. */
export function oneOf<V extends string>(values: readonly [V, ...V[]], problem?: string): ValueType<V> {
  return {
    name: 'enum',
    zod: () => z.enum(values),
    choices: values,
    parse: (text) => {
      if (!(values as readonly string[]).includes(text)) {
        throw new ValueError(problem ?? `${JSON.stringify(text)} is not one of ${values.join(', ')}${didYouMean(text, values)}`);
      }
      return text as V;
    },
  };
}

/** One of a few numbers (CONFIG_HZ, sysfs `threaded`). */
export function oneOfNumbers<V extends number>(values: readonly [V, ...V[]], problem?: (text: string) => string): ValueType<V> {
  const literals = values.map((v) => z.literal(v)) as unknown as [z.ZodLiteral<V>, z.ZodLiteral<V>, ...z.ZodLiteral<V>[]];
  return {
    name: 'enum',
    zod: () => z.union(literals),
    choices: values.map(String),
    parse: (text) => {
      const n = Number(text.trim());
      if (!/^\d+$/.test(text.trim()) || !(values as readonly number[]).includes(n)) {
        throw new ValueError(problem ? problem(text) : `${text} is not valid: expected ${values.join(' or ')}`);
      }
      return n as V;
    },
  };
}

/** true or false (a kernel config option). */
export function bool(what: string): ValueType<boolean> {
  return {
    name: 'bool',
    zod: () => z.boolean(),
    choices: ['true', 'false'],
    parse: (text) => {
      if (text !== 'true' && text !== 'false') throw new ValueError(`expected true or false for ${what}`);
      return text === 'true';
    },
  };
}

/** Text checked by the knob's own check (CPU lists, hex bitmaps, cpu.max, rates, keys). */
export function text(name: string): ValueType<string> {
  return { name, zod: () => z.string(), parse: (t) => t.trim() };
}

// ---------------------------------------------------------------- JSON path templates

/**
 * A path template's parts: a key, `[]` (any list index) or `["<…>"]` (any record key).
 * `nics[].queues["rx-<n>"].rps_cpus` → key nics, index, key queues, any, key rps_cpus.
 */
export type PathPart = { key: string } | { index: true } | { any: string };

export function parseTemplate(template: string): PathPart[] {
  const parts: PathPart[] = [];
  const re = /(?:^|\.)([A-Za-z_][\w-]*)|\[\]|\["([^"]*)"\]/y;
  let pos = 0;
  while (pos < template.length) {
    re.lastIndex = pos;
    const m = re.exec(template);
    if (!m) throw new Error(`bad knob path template "${template}" at ${pos}`);
    if (m[1] !== undefined) parts.push({ key: m[1] });
    else if (m[2] !== undefined) parts.push(m[2].includes('<') ? { any: m[2] } : { key: m[2] });
    else parts.push({ index: true });
    pos = re.lastIndex;
  }
  return parts;
}

/** Whether a concrete path (as zod reports it) is an instance of the template. */
export function matchesTemplate(parts: readonly PathPart[], path: readonly (string | number)[]): boolean {
  return parts.length === path.length && parts.every((p, i) => ('key' in p ? p.key === path[i] : 'index' in p ? typeof path[i] === 'number' : typeof path[i] === 'string'));
}

/** The concrete path: `[]` and `["<…>"]` filled in order from `args`. */
export function instantiate(parts: readonly PathPart[], args: readonly (string | number)[]): (string | number)[] {
  let a = 0;
  return parts.map((p) => ('key' in p ? p.key : args[a++]!));
}
