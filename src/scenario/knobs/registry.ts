import { DRIVERS, type DriverName, type DriverProfile } from '../../model/nic/drivers.ts';
import { ValueError, formatPath } from '../errors.ts';
import { APP_KNOBS } from './app.ts';
import { CGROUP_KNOBS } from './cgroup.ts';
import { DEVICE_KNOBS } from './device.ts';
import { ETHTOOL_KNOBS, perDriver, queueCount } from './ethtool.ts';
import { IRQ_KNOBS } from './irq.ts';
import { KERNEL_CONFIG_KNOBS } from './kernel-config.ts';
import { QUEUE_KNOBS } from './queue.ts';
import { SYSCTL_KNOBS } from './sysctl.ts';
import { instantiate, matchesTemplate, parseTemplate, type AnyKnob, type DefaultOf, type Knob, type KnobKind, type NicContext, type PathPart, type QueueContext, type SystemContext } from './types.ts';

/**
 * The one list of knobs. The schema (schema.ts), the apply grammar (apply.ts), resolution
 * (resolve.ts), the browser's tuning panel and the README's table all read it; nothing else
 * defines a knob's name, default, range or message.
 */
export const KNOBS: readonly AnyKnob[] = [...SYSCTL_KNOBS, ...DEVICE_KNOBS, ...QUEUE_KNOBS, ...ETHTOOL_KNOBS, ...IRQ_KNOBS, ...CGROUP_KNOBS, ...KERNEL_CONFIG_KNOBS, ...APP_KNOBS];

export const KIND_TITLES: Record<KnobKind, string> = {
  sysctl: 'sysctl (/proc/sys)',
  device: 'sysfs, per device',
  queue: 'sysfs, per RX queue',
  ethtool: 'ethtool',
  irq: 'IRQ affinity',
  cgroup: 'cgroup v2',
  'kernel-config': 'kernel build and version',
  app: 'application',
};

export function knobsOf(kind: KnobKind): AnyKnob[] {
  return KNOBS.filter((k) => k.kind === kind);
}

/** The names (not aliases) of a kind's knobs, for "did you mean" and "known:" lists. */
export function knobNames(kind: KnobKind): string[] {
  return knobsOf(kind).map((k) => k.name);
}

/** A knob of `kind` by its Linux name or an alias. */
export function findKnob(kind: KnobKind, name: string): AnyKnob | undefined {
  return KNOBS.find((k) => k.kind === kind && (k.name === name || k.aliases?.includes(name)));
}

const templates = new Map<AnyKnob, PathPart[]>();
export function templateOf(knob: AnyKnob): PathPart[] {
  let parts = templates.get(knob);
  if (!parts) templates.set(knob, (parts = parseTemplate(knob.path)));
  return parts;
}

/** The knob a concrete JSON path sets (the list form when two knobs write one field). */
export function knobAt(path: readonly (string | number)[]): AnyKnob | undefined {
  return KNOBS.find((k) => !k.sameFieldAs && matchesTemplate(templateOf(k), path));
}

/** The concrete JSON path (`nics[0].queues["rx-1"].rps_cpus`), list indices and record keys from `args` in order. */
export function jsonPath(knob: AnyKnob, ...args: (string | number)[]): string {
  return formatKnobPath(knob, jsonParts(knob, ...args));
}

/** A concrete path of `knob` as text: record keys always in quotes (`cgroups["pod"]`), whatever they look like. */
export function formatKnobPath(knob: AnyKnob, parts: readonly (string | number)[]): string {
  const template = templateOf(knob);
  return parts
    .map((p, i) => {
      const t = template[i];
      return t && 'any' in t ? `[${JSON.stringify(String(p))}]` : formatPath([p]).replace(/^(?=[A-Za-z_$])/, i ? '.' : '');
    })
    .join('');
}

export function jsonParts(knob: AnyKnob, ...args: (string | number)[]): (string | number)[] {
  return instantiate(templateOf(knob), args);
}

/** The default in the JSON form for this machine (undefined: the knob has none, only a text). */
export function defaultOf<J, C extends SystemContext>(knob: Knob<J, unknown, C>, ctx: C): J | undefined {
  const d = knob.default;
  return typeof d === 'function' ? (d as DefaultOf<J, C>)(ctx) : d;
}

/**
 * The value the model reads: the given JSON value through the kernel's check, or the default
 * (valid by construction, so only converted).
 */
export function valueOf<J, T, C extends SystemContext>(knob: Knob<J, T, C>, given: J | undefined, ctx: C): T {
  if (given !== undefined) return knob.check(given, ctx);
  const d = defaultOf(knob, ctx) as J;
  return knob.read ? knob.read(d, ctx) : knob.check(d, ctx);
}

/**
 * A text (a command's value token, the tuning panel's input) → the JSON value, checked as the
 * kernel checks it; `stored` is what goes into the scenario (the value the kernel keeps).
 */
export function parseAndCheck(knob: AnyKnob, text: string, ctx: SystemContext): { given: unknown; typed: unknown; stored: unknown } {
  const given = knob.type.parse(text);
  const typed = knob.check(given, ctx);
  return { given, typed, stored: knob.store ? knob.store(typed, given) : given };
}

/**
 * The registry's message for a JSON value of the wrong type or form at `path`, so a bad value
 * reads the same whether it came from the file or a command (`"maybe"` for gro: "expected on or
 * off for gro"). Undefined when the path is not a knob or its text form parses.
 */
export function knobTypeProblem(path: readonly (string | number)[], input: unknown): string | undefined {
  const knob = knobAt(path);
  if (!knob || !['string', 'number', 'boolean'].includes(typeof input)) return undefined;
  try {
    knob.type.parse(String(input));
  } catch (e) {
    if (e instanceof ValueError) return e.message;
    throw e;
  }
  return undefined;
}

// ---------------------------------------------------------------- contexts

/** Knobs of a NIC: their checks see its driver and queues. */
const NIC_KINDS: KnobKind[] = ['device', 'queue', 'ethtool', 'irq'];

/**
 * The parts of a scenario the contexts read (structural, so the registry does not import the
 * schema that is built from it).
 */
interface Machine {
  cpus: number;
  seed: number;
  kernel: { hz: number; version?: string | undefined };
}
interface NicLike {
  driver: string;
  channels: { combined?: number | undefined };
  coalesce: { 'rx-usecs'?: number | undefined };
  speed_gbps?: number | undefined;
}

export function systemContext(s: Machine): SystemContext {
  return { cpus: s.cpus, hz: s.kernel.hz, seed: s.seed, ...(s.kernel.version === undefined ? {} : { version: s.kernel.version }) };
}

export function nicContext(s: Machine, nic: NicLike): NicContext {
  const driver = DRIVERS[nic.driver as DriverName];
  return { ...systemContext(s), driver, queues: queueCount(nic, s.cpus), rxUsecs: nic.coalesce['rx-usecs'] ?? driver.moderation.rxUsecsDefault, speedGbps: nic.speed_gbps ?? 10 };
}

export function queueContext(nicCtx: NicContext, queue: number): QueueContext {
  return { ...nicCtx, queue };
}

/** The machine a knob's check sees at a concrete JSON path (`nics[1].queues["rx-2"].rps_cpus`: NIC 1, queue 2). */
export function contextAt(s: Machine & { nics: readonly NicLike[] }, knob: AnyKnob, parts: readonly (string | number)[]): SystemContext {
  if (!NIC_KINDS.includes(knob.kind)) return systemContext(s);
  const nic = nicContext(s, s.nics[parts[1] as number]!);
  if (knob.kind === 'queue') return queueContext(nic, Number(String(parts[3]).slice('rx-'.length)));
  if (knob.kind === 'irq') return queueContext(nic, Number(parts[3]));
  return nic;
}

// ---------------------------------------------------------------- text for people

/** The names a command template needs. */
export interface CommandNames {
  dev?: string;
  queue?: number;
  irq?: number;
  /** The queue's NAPI id (netlink napi-set). */
  napi?: number;
  cgroup?: string;
  app?: string;
}

/** The apply command that sets `knob` to `value` (none for build-time settings); a value with spaces is quoted. */
export function commandFor(knob: AnyKnob, names: CommandNames, value: string): string | undefined {
  if (!knob.command) return undefined;
  const quoted = value === '' || /[\s"'\\]/.test(value) ? `"${value.replace(/["\\]/g, '\\$&')}"` : value;
  return knob.command.replace(/\{(\w+)\}/g, (_, key: string) => (key === 'value' ? quoted : String(names[key as keyof CommandNames] ?? `<${key}>`)));
}

/** A knob's JSON value in its text form (a command's value, an input's content). */
export function textOf(knob: AnyKnob, value: unknown): string {
  return knob.type.format ? knob.type.format(value) : formatValue(value);
}

/** A JSON value as text (a table cell). */
export function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

const SAMPLE: SystemContext = { cpus: 4, hz: 1000, seed: 1 };

/** The default in words: the entry's own text, the value, or the value per driver. */
export function defaultText(knob: AnyKnob): string {
  if (knob.defaultText) return knob.defaultText;
  if (typeof knob.default !== 'function') return formatValue(knob.default);
  if (!NIC_KINDS.includes(knob.kind)) return formatValue(defaultOf(knob, SAMPLE));
  const sample = (d: DriverProfile): QueueContext => ({ ...SAMPLE, driver: d, queues: Math.min(SAMPLE.cpus, d.maxQueues), rxUsecs: d.moderation.rxUsecsDefault, queue: 0 });
  return perDriver((d) => formatValue(defaultOf(knob, sample(d))));
}

/** The valid range in words, per driver where the driver sets it. */
export function rangeText(knob: AnyKnob): string {
  const range = typeof knob.range === 'string' ? knob.range : perDriver(knob.range);
  return knob.appKinds ? `${range} (${knob.appKinds.join(', ')})` : range;
}

/** "int, µs" */
export function typeText(knob: AnyKnob): string {
  return knob.unit ? `${knob.type.name}, ${knob.unit}` : knob.type.name;
}
