import { ValueError } from '../errors.ts';
import * as limits from '../limits.ts';
import { formatCpuList, parseCpuList } from '../units.ts';
import { bool, decimal, defineKnob, oneOf, text, uint, type Knob, type NicContext, type QueueContext, type SystemContext, type ValueType } from './types.ts';

/**
 * One declaration per kind of knob: where a knob of that kind lives follows from its name (the
 * JSON path, the file on a real machine, the command that writes it), so an entry states only
 * what is its own — type, range, default, check, description, kernel source. An entry whose
 * place is not the kind's usual one passes `path`, `where` or `command` itself.
 */

/** What an entry of a kind declares: everything but the parts the kind derives, which it may still give. */
export type KnobSpec<J, T, C extends SystemContext> = Omit<Knob<J, T, C>, 'name' | 'kind' | 'path' | 'where'> & Partial<Pick<Knob<J, T, C>, 'path' | 'where'>>;

/** The apply command of a file written with echo (sysfs, procfs, cgroupfs). */
const echoTo = (file: string): string => `echo {value} > ${file}`;

/** /sys/class/net/<dev>/<name> (net/core/net-sysfs.c: netdev_store). */
export function deviceFile<J, T>(name: string, spec: KnobSpec<J, T, NicContext>): Knob<J, T, NicContext> {
  return defineKnob<J, T, NicContext>({
    name,
    kind: 'device',
    path: `nics[].${name}`,
    where: `/sys/class/net/<dev>/${name}`,
    command: echoTo(`/sys/class/net/{dev}/${name}`),
    ...spec,
  });
}

/** /sys/class/net/<dev>/queues/rx-<n>/<name> (net/core/net-sysfs.c: rx_queue_attr_store). */
export function queueFile<J, T>(name: string, spec: KnobSpec<J, T, QueueContext>): Knob<J, T, QueueContext> {
  return defineKnob<J, T, QueueContext>({
    name,
    kind: 'queue',
    path: `nics[].queues["rx-<n>"].${name}`,
    where: `/sys/class/net/<dev>/queues/rx-<n>/${name}`,
    command: echoTo(`/sys/class/net/{dev}/queues/rx-{queue}/${name}`),
    ...spec,
  });
}

/** /proc/irq/<n>/<file> of a queue's vector; both files are the queue's `irq_affinity` entry. */
export function irqFile<J, T>(file: string, spec: KnobSpec<J, T, QueueContext>): Knob<J, T, QueueContext> {
  return defineKnob<J, T, QueueContext>({
    name: file,
    kind: 'irq',
    path: 'nics[].irq_affinity["<queue>"]',
    where: `/proc/irq/<n>/${file}`,
    command: echoTo(`/proc/irq/{irq}/${file}`),
    ...spec,
  });
}

/** /sys/fs/cgroup/<name>/<file>, a cgroup v2 controller file. */
export function cgroupFile<J, T>(file: string, spec: KnobSpec<J, T, SystemContext>): Knob<J, T, SystemContext> {
  return defineKnob<J, T, SystemContext>({
    name: file,
    kind: 'cgroup',
    path: `cgroups["<name>"]["${file}"]`,
    where: `/sys/fs/cgroup/<name>/${file}`,
    command: echoTo(`/sys/fs/cgroup/{cgroup}/${file}`),
    ...spec,
  });
}

/** An app's option (`apps[].<name>`): what the process asks of the kernel; `where` says how. */
export function appOption<J, T>(name: string, spec: KnobSpec<J, T, SystemContext> & { where: string }): Knob<J, T, SystemContext> {
  return defineKnob<J, T, SystemContext>({ name, kind: 'app', path: `apps[].${name}`, ...spec });
}

/**
 * `kernel.<key>`: a build option or the release's behaviour, named as Linux names it (`CONFIG_HZ`
 * for `kernel.hz`) or by the key. Fixed at boot, so no command, and always in the scenario (the
 * schema fills the default in).
 */
export function kernelOption<J, T>(key: string, spec: KnobSpec<J, T, SystemContext> & { name?: string; where: string }): Knob<J, T, SystemContext> {
  return defineKnob<J, T, SystemContext>({ name: key, kind: 'kernel-config', path: `kernel.${key}`, schemaDefault: true, ...spec });
}

/** A build option's place: the config file of the running kernel. */
export const buildOption = (name: string): string => `kernel build option (grep ${name}= /boot/config-$(uname -r))`;

/** The object an ethtool option's parameters are kept in, in a scenario's NIC (`-s speed` gives its own path). */
const ETHTOOL_GROUP: Record<string, string> = { '-C': 'coalesce', '-G': 'ring', '-L': 'channels', '-K': 'features', '-X': 'rss', '-N': 'rss', '-A': 'pause' };

/**
 * An ethtool parameter: `ethtool <option> <dev> <words> <value>`, kept at
 * `nics[].<group>.<words>` (`-C rx-usecs` → `nics[].coalesce.rx-usecs`). `words` is the
 * parameter and any word after it (`rx-flow-hash udp4`); the name is the words unless given.
 */
export function ethtoolKnob<J, T>(option: string, param: string, spec: KnobSpec<J, T, NicContext> & { name?: string; words?: string }): Knob<J, T, NicContext> {
  const { words = param, ...rest } = spec;
  return defineKnob<J, T, NicContext>({
    name: words,
    kind: 'ethtool',
    ethtool: { option, param },
    path: `nics[].${ETHTOOL_GROUP[option]}.${words.replaceAll(' ', '.')}`,
    where: `ethtool ${option} <dev> ${words} ${rest.type.choices?.join('|') ?? 'N'}`,
    command: `ethtool ${option} {dev} ${words} {value}`,
    ...rest,
  });
}

// ---------------------------------------------------------------- values and their checks

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
