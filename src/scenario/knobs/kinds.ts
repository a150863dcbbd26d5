import { defineKnob, type Knob, type NicContext, type QueueContext, type SystemContext } from './types.ts';

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
