import { describe, expect, expectTypeOf, it } from 'vitest';
import { DRIVER_NAMES } from '../../src/model/nic/drivers.ts';
import { InputError } from '../../src/scenario/errors.ts';
import { knobTable } from '../../src/scenario/knobs/docs.ts';
import { KNOBS, commandFor, contextAt, defaultOf, jsonParts, knobAt, knobsOf, textOf, valueOf } from '../../src/scenario/knobs/registry.ts';
import { SYSCTL_KNOBS } from '../../src/scenario/knobs/sysctl.ts';
import type { AnyKnob, KnobKind } from '../../src/scenario/knobs/types.ts';
import { schemaDescription } from '../../src/scenario/knobs/zod.ts';
import { loadScenario, loadScenarioObject } from '../../src/scenario/load.ts';
import { scenarioJsonSchema, scenarioSchema } from '../../src/scenario/schema.ts';
import type { SysctlValues } from '../../src/scenario/sysctl.ts';
import { knobFromText } from '../../web/views/tuning.ts';

/**
 * The knob registry: one entry per knob, read by every route. A value set from the JSON file,
 * `--set`, an `apply` command, a timeline entry or the tuning panel gets the same check and the
 * same message; only the place named in front differs.
 */

const NIC = { name: 'eth0', driver: 'ixgbe', channels: { combined: 4 } };
const BASE = {
  name: 'knobs',
  duration_ms: 2,
  cpus: 4,
  nics: [NIC],
  cgroups: { pod: {} },
  apps: [
    { name: 'hog', kind: 'cpu-hog' },
    { name: 'reader', kind: 'stream-reader', listen: '10.0.0.2:5201' },
  ],
  flows: [{ name: 'f', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201' }],
};

/** The InputError a load throws (the test fails if it loads). */
function rejection(load: () => unknown): InputError {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected the value to be rejected');
}

const fromJson = (over: Record<string, unknown>) => rejection(() => loadScenarioObject({ ...BASE, ...over }));
const fromSet = (assignment: string) => rejection(() => loadScenario(JSON.stringify(BASE), { set: [assignment] }));
const fromApply = (command: string, over: Record<string, unknown> = {}) => rejection(() => loadScenarioObject({ ...BASE, ...over, apply: [command] }));
const fromTimeline = (command: string) => rejection(() => loadScenarioObject({ ...BASE, timeline: [{ at_ms: 1, apply: [command] }] }));
const nic = (over: Record<string, unknown>) => ({ nics: [{ ...NIC, ...over }] });

interface Case {
  kind: KnobKind;
  what: string;
  json: Record<string, unknown>;
  set: string;
  where: string;
  /** Commands that set the same value (none for kernel build options and app-only options). */
  commands: string[];
  /** The token the apply error names. */
  token?: string;
  message: RegExp;
}

const CASES: Case[] = [
  {
    kind: 'sysctl',
    what: 'dev_weight 0',
    json: { sysctl: { 'net.core.dev_weight': 0 } },
    set: 'sysctl["net.core.dev_weight"]=0',
    where: 'sysctl["net.core.dev_weight"]',
    commands: ['sysctl -w net.core.dev_weight=0', 'echo 0 > /proc/sys/net/core/dev_weight'],
    message: /^0 is outside 1\.\.2147483647 \(the kernel rejects it with EINVAL\)$/,
  },
  {
    kind: 'sysctl',
    what: 'a bitmap naming CPU 4 of 4',
    json: { sysctl: { 'net.core.flow_limit_cpu_bitmap': '10' } },
    set: 'sysctl["net.core.flow_limit_cpu_bitmap"]="10"',
    where: 'sysctl["net.core.flow_limit_cpu_bitmap"]',
    commands: ['sysctl -w net.core.flow_limit_cpu_bitmap=10'],
    message: /^the bitmap names CPU 4, but the scenario has 4 CPUs/,
  },
  {
    kind: 'device',
    what: 'napi_defer_hard_irqs 2^32',
    json: nic({ napi_defer_hard_irqs: 4294967296 }),
    set: 'nics[0].napi_defer_hard_irqs=4294967296',
    where: 'nics[0].napi_defer_hard_irqs',
    commands: ['echo 4294967296 > /sys/class/net/eth0/napi_defer_hard_irqs'],
    token: '4294967296',
    message: /^napi_defer_hard_irqs 4294967296 is above S32_MAX \(2147483647\): napi_defer_hard_irqs_store returns ERANGE/,
  },
  {
    kind: 'device',
    what: 'napi_defer_hard_irqs -1',
    json: nic({ napi_defer_hard_irqs: -1 }),
    set: 'nics[0].napi_defer_hard_irqs=-1',
    where: 'nics[0].napi_defer_hard_irqs',
    commands: ['echo -1 > /sys/class/net/eth0/napi_defer_hard_irqs'],
    message: /^expected napi_defer_hard_irqs \(an integer\)$/,
  },
  {
    kind: 'device',
    what: 'threaded 2',
    json: nic({ threaded: 2 }),
    set: 'nics[0].threaded=2',
    where: 'nics[0].threaded',
    commands: ['echo 2 > /sys/class/net/eth0/threaded'],
    message: /^expected 0 or 1 for threaded$/,
  },
  {
    kind: 'device',
    what: 'mtu 9800',
    json: nic({ mtu: 9800 }),
    set: 'nics[0].mtu=9800',
    where: 'nics[0].mtu',
    commands: ['ip link set dev eth0 mtu 9800', 'echo 9800 > /sys/class/net/eth0/mtu'],
    message: /greater than ixgbe's maximum of 9710/,
  },
  {
    kind: 'queue',
    what: 'rps_cpus naming CPU 4',
    json: nic({ queues: { 'rx-1': { rps_cpus: '10' } } }),
    set: 'nics[0].queues["rx-1"].rps_cpus="10"',
    where: 'nics[0].queues["rx-1"].rps_cpus',
    commands: ['echo 10 > /sys/class/net/eth0/queues/rx-1/rps_cpus'],
    message: /^rps_cpus names CPU 4, but the scenario has 4 CPUs/,
  },
  {
    kind: 'queue',
    what: 'rps_flow_cnt above 2^29',
    json: nic({ queues: { 'rx-0': { rps_flow_cnt: 2 ** 29 + 1 } } }),
    set: `nics[0].queues["rx-0"].rps_flow_cnt=${2 ** 29 + 1}`,
    where: 'nics[0].queues["rx-0"].rps_flow_cnt',
    commands: [`echo ${2 ** 29 + 1} > /sys/class/net/eth0/queues/rx-0/rps_flow_cnt`],
    message: /above 2\^29 \(store_rps_dev_flow_table_cnt: EINVAL\)/,
  },
  {
    kind: 'ethtool',
    what: '-C rx-usecs 2000',
    json: nic({ coalesce: { 'rx-usecs': 2000 } }),
    set: 'nics[0].coalesce.rx-usecs=2000',
    where: 'nics[0].coalesce.rx-usecs',
    commands: ['ethtool -C eth0 rx-usecs 2000', 'ethtool --coalesce eth0 rx-usecs 2000'],
    token: '2000',
    message: /^rx-usecs 2000 is above ixgbe's maximum of 1022/,
  },
  {
    kind: 'ethtool',
    what: '-C adaptive-rx on ixgbe',
    json: nic({ coalesce: { 'adaptive-rx': 'on' } }),
    set: 'nics[0].coalesce.adaptive-rx="on"',
    where: 'nics[0].coalesce.adaptive-rx',
    commands: ['ethtool -C eth0 adaptive-rx on'],
    token: 'adaptive-rx',
    message: /^ixgbe does not support adaptive-rx \(ixgbe: use rx-usecs 1 for adaptive moderation\)/,
  },
  {
    kind: 'ethtool',
    what: '-G rx 8000',
    json: nic({ ring: { rx: 8000 } }),
    set: 'nics[0].ring.rx=8000',
    where: 'nics[0].ring.rx',
    commands: ['ethtool -G eth0 rx 8000'],
    message: /^8000 descriptors is above ixgbe's maximum of 4096/,
  },
  {
    kind: 'ethtool',
    what: '-L combined 9',
    json: nic({ channels: { combined: 9 } }),
    set: 'nics[0].channels.combined=9',
    where: 'nics[0].channels.combined',
    commands: ['ethtool -L eth0 combined 9'],
    message: /^combined 9 is outside 1\.\.4/,
  },
  {
    kind: 'ethtool',
    what: '-K gro maybe',
    json: nic({ features: { gro: 'maybe' } }),
    set: 'nics[0].features.gro="maybe"',
    where: 'nics[0].features.gro',
    commands: ['ethtool -K eth0 gro maybe', 'ethtool -K eth0 generic-receive-offload maybe'],
    token: 'maybe',
    message: /^expected on or off for gro$/,
  },
  {
    kind: 'ethtool',
    what: '-X equal 9',
    json: nic({ rss: { indir: { equal: 9 } } }),
    set: 'nics[0].rss.indir.equal=9',
    where: 'nics[0].rss.indir.equal',
    commands: ['ethtool -X eth0 equal 9'],
    message: /^equal 9 is outside 1\.\.4 \(the device has 4 RX queues\)$/,
  },
  {
    kind: 'ethtool',
    what: '-X hkey of 2 bytes',
    json: nic({ rss: { hkey: '6d:5a' } }),
    set: 'nics[0].rss.hkey="6d:5a"',
    where: 'nics[0].rss.hkey',
    commands: ['ethtool -X eth0 hkey 6d:5a'],
    message: /^the key has 2 bytes; ixgbe takes exactly 40$/,
  },
  {
    kind: 'ethtool',
    what: '-N rx-flow-hash udp4 sdx',
    json: nic({ rss: { 'rx-flow-hash': { udp4: 'sdx' } } }),
    set: 'nics[0].rss.rx-flow-hash.udp4="sdx"',
    where: 'nics[0].rss.rx-flow-hash.udp4',
    commands: ['ethtool -N eth0 rx-flow-hash udp4 sdx'],
    message: /^expected "sd" \(addresses\) or "sdfn" \(addresses and ports\)$/,
  },
  {
    kind: 'irq',
    what: 'smp_affinity_list naming CPU 9',
    json: nic({ irq_affinity: { '1': '9' } }),
    set: 'nics[0].irq_affinity["1"]="9"',
    where: 'nics[0].irq_affinity["1"]',
    commands: ['echo 9 > /proc/irq/129/smp_affinity_list'],
    token: '9',
    message: /^smp_affinity_list names CPU 9, but the scenario has 4 CPUs \(0-3\)$/,
  },
  {
    kind: 'irq',
    what: 'an empty affinity',
    json: nic({ irq_affinity: { '1': '' } }),
    set: 'nics[0].irq_affinity["1"]=""',
    where: 'nics[0].irq_affinity["1"]',
    commands: ['echo "" > /proc/irq/129/smp_affinity_list'],
    message: /^an empty affinity mask is rejected \(write_irq_affinity: EINVAL\)$/,
  },
  {
    kind: 'cgroup',
    what: 'cpu.weight 0',
    json: { cgroups: { pod: { 'cpu.weight': 0 } } },
    set: 'cgroups["pod"]["cpu.weight"]=0',
    where: 'cgroups["pod"]["cpu.weight"]',
    commands: ['echo 0 > /sys/fs/cgroup/pod/cpu.weight'],
    message: /^cpu\.weight 0 is outside 1\.\.10000 \(cpu_weight_write_u64: ERANGE\)$/,
  },
  {
    kind: 'cgroup',
    what: 'cpu.weight 20000',
    json: { cgroups: { pod: { 'cpu.weight': 20000 } } },
    set: 'cgroups["pod"]["cpu.weight"]=20000',
    where: 'cgroups["pod"]["cpu.weight"]',
    commands: ['echo 20000 > /sys/fs/cgroup/pod/cpu.weight'],
    message: /^cpu\.weight 20000 is outside 1\.\.10000/,
  },
  {
    kind: 'cgroup',
    what: 'cpu.max quota below 1 ms',
    json: { cgroups: { pod: { 'cpu.max': '500 100000' } } },
    set: 'cgroups["pod"]["cpu.max"]="500 100000"',
    where: 'cgroups["pod"]["cpu.max"]',
    commands: ['echo "500 100000" > /sys/fs/cgroup/pod/cpu.max'],
    message: /^cpu\.max quota 500 µs is below the kernel's minimum of 1000$/,
  },
  {
    kind: 'cgroup',
    what: 'cpuset.cpus naming CPU 7',
    json: { cgroups: { pod: { 'cpuset.cpus': '0-7' } } },
    set: 'cgroups["pod"]["cpuset.cpus"]="0-7"',
    where: 'cgroups["pod"]["cpuset.cpus"]',
    commands: ['echo 0-7 > /sys/fs/cgroup/pod/cpuset.cpus'],
    message: /^cpuset\.cpus names CPU 4, but the scenario has 4 CPUs/,
  },
  {
    kind: 'kernel-config',
    what: 'CONFIG_HZ 200',
    json: { kernel: { hz: 200 } },
    set: 'kernel.hz=200',
    where: 'kernel.hz',
    commands: [],
    message: /^200 is not valid: expected 100 or 250 or 300 or 1000$/,
  },
  {
    kind: 'kernel-config',
    what: 'idle_exit_us -1',
    json: { kernel: { idle_exit_us: -1 } },
    set: 'kernel.idle_exit_us=-1',
    where: 'kernel.idle_exit_us',
    commands: [],
    message: /^expected idle_exit_us \(a number >= 0\)$/,
  },
  {
    kind: 'kernel-config',
    what: 'softirq_mode misspelt',
    json: { kernel: { softirq_mode: 'inlined' } },
    set: 'kernel.softirq_mode="inlined"',
    where: 'kernel.softirq_mode',
    commands: [],
    message: /^"inlined" is not one of inline, defer-to-ksoftirqd \(did you mean "inline"\?\)$/,
  },
  {
    kind: 'app',
    what: 'taskset naming CPU 9',
    json: { apps: [{ ...BASE.apps[0], cpus: '9' }, BASE.apps[1]] },
    set: 'apps[0].cpus="9"',
    where: 'apps[0].cpus',
    commands: ['taskset -c 9 hog', 'taskset -pc 9 hog'],
    token: '9',
    message: /^the CPU list names CPU 9, but the scenario has 4 CPUs \(0-3\)$/,
  },
  {
    kind: 'app',
    what: 'batch 2000',
    json: { apps: [BASE.apps[0], { name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', batch: 2000 }] },
    set: 'apps[1].batch=2000',
    where: 'apps[1].batch',
    commands: [],
    message: /^batch 2000 is above 1024/,
  },
  {
    kind: 'app',
    what: 'nice 20',
    json: { apps: [{ ...BASE.apps[0], nice: 20 }, BASE.apps[1]] },
    set: 'apps[0].nice=20',
    where: 'apps[0].nice',
    commands: [],
    message: /^nice 20 is outside -20\.\.19/,
  },
];

describe('one rule, one message: every route rejects the same value with the same text', () => {
  it('covers every kind of knob', () => {
    const kinds = new Set(KNOBS.map((k) => k.kind));
    expect(new Set(CASES.map((c) => c.kind))).toEqual(kinds);
  });

  it.each(CASES)('$kind: $what', (c) => {
    const json = fromJson(c.json);
    expect(json.where).toBe(c.where);
    expect(json.problem).toMatch(c.message);
    // --set writes the same field before validation: the same path, the same words.
    const set = c.set.startsWith('apps[1]') ? rejection(() => loadScenario(JSON.stringify({ ...BASE, apps: c.json.apps }), { set: [c.set] })) : fromSet(c.set);
    expect([set.where, set.problem]).toEqual([json.where, json.problem]);
    for (const command of c.commands) {
      const applied = fromApply(command);
      expect(applied.problem).toBe(json.problem);
      expect(applied.where).toMatch(/^apply\[0\]: token "/);
      if (c.token) expect(applied.where).toBe(`apply[0]: token "${c.token}"`);
    }
  });

  it('napi_defer_hard_irqs above S32_MAX is rejected by apply too (it used to be accepted)', () => {
    const e = fromApply('echo 4294967296 > /sys/class/net/eth0/napi_defer_hard_irqs');
    expect(e.message).toBe(`apply[0]: token "4294967296": ${fromJson(nic({ napi_defer_hard_irqs: 4294967296 })).problem}`);
    expect(loadScenarioObject({ ...BASE, apply: ['echo 2147483647 > /sys/class/net/eth0/napi_defer_hard_irqs'] }).resolved.nics[0]!.napiDeferHardIrqs).toBe(2 ** 31 - 1);
  });

  it('a timeline entry gets the same check and message', () => {
    for (const c of CASES.filter((x) => x.kind === 'irq' || x.kind === 'app')) {
      for (const command of c.commands) {
        const e = fromTimeline(command);
        expect(e.where).toMatch(/^timeline\[0\]\.apply\[0\]: token "/);
        expect(e.problem).toBe(fromJson(c.json).problem);
      }
    }
  });

  it('the tuning panel checks a typed value with the same check and prints the same line', () => {
    for (const c of CASES) {
      const parts = pathParts(c.where);
      const knob = knobAt(parts);
      if (!knob) continue; // rss.indir.equal: a form of the RSS table, which the panel leaves to the JSON and ethtool -X
      const raw = c.kind === 'app' && c.where.startsWith('apps[1]') ? { ...BASE, apps: c.json.apps } : BASE;
      const text = JSON.stringify(valueAtPath(c.json, parts)).replace(/^"(.*)"$/, '$1');
      expect(knobFromText(raw, knob, parts, text)).toEqual({ problem: fromJson(c.json).message });
    }
    // An accepted value is what the kernel keeps: ixgbe rounds a ring size up to a multiple of 8.
    expect(knobFromText(BASE, knobAt(['nics', 0, 'ring', 'rx'])!, ['nics', 0, 'ring', 'rx'], '1001')).toEqual({ value: 1008 });
  });

  it('a misspelt name gets the nearest valid one, in every kind of place', () => {
    expect(fromApply('echo 1 > /sys/class/net/eth0/napi_defer_hard_irq').problem).toMatch(/unknown or unmodelled device attribute "napi_defer_hard_irq" \(did you mean "napi_defer_hard_irqs"\?\)/);
    expect(fromApply('echo f > /sys/class/net/eth0/queues/rx-0/rps_cpu').problem).toMatch(/\(did you mean "rps_cpus"\?\)/);
    expect(fromApply('echo 1 > /proc/irq/128/smp_afinity_list').problem).toMatch(/unknown or unmodelled IRQ file "smp_afinity_list" \(did you mean "smp_affinity_list"\?\)/);
    expect(fromApply('echo 5 > /sys/fs/cgroup/pod/cpu.weigth').problem).toMatch(/\(did you mean "cpu\.weight"\?\)/);
    expect(fromApply('ethtool -K eth0 rxhsh on').problem).toMatch(/\(did you mean "rxhash"\?\)/);
    expect(fromApply('sysctl -w net.core.netdev_max_backlg=5').problem).toMatch(/\(did you mean "net\.core\.netdev_max_backlog"\?\)/);
    expect(fromJson(nic({ napi_defer_hard_irq: 1 })).message).toMatch(/^nics\[0\]\.napi_defer_hard_irq: unknown key "napi_defer_hard_irq" \(did you mean "napi_defer_hard_irqs"\?\)/);
  });
});

/** `nics[0].queues["rx-1"].rps_cpus` → ['nics', 0, 'queues', 'rx-1', 'rps_cpus'] */
function pathParts(where: string): (string | number)[] {
  return [...where.matchAll(/([A-Za-z_][\w.-]*)|\[(\d+)\]|\["([^"]*)"\]/g)].flatMap((m): (string | number)[] => (m[1] !== undefined ? m[1].split('.') : m[2] !== undefined ? [Number(m[2])] : [m[3]!]));
}

function valueAtPath(root: unknown, parts: (string | number)[]): unknown {
  return parts.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root);
}

// ---------------------------------------------------------------- the registry is complete

/** The JSON Schema node at a knob's path template (`[]` → items, `["<…>"]` → additionalProperties). */
function schemaAt(knob: AnyKnob): Record<string, unknown> | undefined {
  let node = scenarioJsonSchema() as Record<string, unknown>;
  const parts = [...knob.path.matchAll(/(?:^|\.)([A-Za-z_][\w-]*)|(\[\])|\["([^"]*)"\]/g)];
  for (const m of parts) {
    if (!node) return undefined;
    if (m[2]) node = node.items as Record<string, unknown>;
    else if (m[3]?.includes('<')) node = node.additionalProperties as Record<string, unknown>;
    else node = (node.properties as Record<string, Record<string, unknown>>)[m[1] ?? m[3]!]!;
  }
  return node;
}

/** A scenario whose NIC has a driver with this knob (rx-frames: generic; adaptive-rx: ice). */
function scenarioFor(knob: AnyKnob): { raw: typeof BASE; driver: string } {
  const driver =
    DRIVER_NAMES.find((d) => {
      const s = scenarioSchema.parse({ ...BASE, nics: [{ ...NIC, driver: d }] });
      try {
        knob.supported?.(contextAt(s, knob, jsonParts(knob, 0, 'rx-0')));
        return true;
      } catch {
        return false;
      }
    }) ?? 'ixgbe';
  return { raw: { ...BASE, nics: [{ ...NIC, driver }] }, driver };
}

/** The instance of a knob the tests use: NIC 0, queue 0 (IRQ 128), cgroup "pod", app "reader". */
function argsFor(knob: AnyKnob): (string | number)[] {
  return { sysctl: [], device: [0], ethtool: [0], queue: [0, 'rx-0'], irq: [0, '0'], cgroup: ['pod'], 'kernel-config': [], app: [1] }[knob.kind];
}

describe('the registry: every entry is complete, and the schema and the apply grammar both know it', () => {
  it.each(KNOBS.map((k) => [k.name, k] as const))('%s', (_, knob) => {
    expect(knob.description.length).toBeGreaterThan(10);
    // A kernel (or driver) file and the function that reads it; never a path outside the kernel tree.
    expect(knob.source).toMatch(/^(net|kernel|drivers|include|fs)\/[\w./-]+\.[ch]: \w+$/);
    expect(knob.default !== undefined || (knob.defaultText ?? '').length > 0).toBe(true);
    expect(knob.where.length).toBeGreaterThan(0);

    // The schema has the field, with the registry's description (the list form for smp_affinity).
    const primary = knob.sameFieldAs ? KNOBS.find((k) => k.name === knob.sameFieldAs)! : knob;
    expect(schemaAt(primary)?.description).toBe(schemaDescription(primary));

    // Its default is valid by its own check (or converts, where the driver lacks the knob).
    const { raw } = scenarioFor(knob);
    const s = scenarioSchema.parse(raw);
    const parts = jsonParts(knob, ...argsFor(knob));
    const ctx = contextAt(s, knob, parts);
    if (knob.default !== undefined) expect(() => valueOf(knob, undefined, ctx)).not.toThrow();

    // The apply grammar knows it: its command with the default value applies and writes the field;
    // build options and app-only options have no command.
    if (!knob.command) {
      expect(['kernel-config', 'app']).toContain(knob.kind);
      return;
    }
    const value = textOf(knob, defaultOf(knob, ctx));
    const command = commandFor(knob, { dev: 'eth0', queue: 0, irq: 128, napi: 8193, cgroup: 'pod', app: 'reader' }, value)!;
    const applied = loadScenarioObject({ ...raw, apply: [command] });
    expect(valueAtPath(applied.scenario, parts)).toEqual(knob.store ? knob.store(knob.check(knob.type.parse(value), ctx), knob.type.parse(value)) : knob.type.parse(value));
    // Setting the default changes nothing the model reads (no cpuset is reported as null, not as all CPUs).
    if (knob.name !== 'cpuset.cpus') expect(applied.resolved).toEqual(loadScenarioObject(raw).resolved);
  });

  it('every kind names its knobs the way Linux does: sysctls dotted, sysfs and cgroup files as files', () => {
    for (const k of knobsOf('sysctl')) expect(k.where).toBe(`/proc/sys/${k.name.replaceAll('.', '/')}`);
    // A per-NAPI setting has no file: netlink's napi-set names it as its attribute (irq-suspend-timeout).
    const napiSet = (k: AnyKnob) => k.where.startsWith('netlink netdev napi-set ');
    for (const k of [...knobsOf('device'), ...knobsOf('queue'), ...knobsOf('irq'), ...knobsOf('cgroup')].filter((k) => !napiSet(k)))
      expect(k.where).toMatch(new RegExp(`/${k.name.replace('.', '\\.')}\\b`));
    for (const k of knobsOf('queue').filter(napiSet)) expect(k.where).toContain(` ${k.name.replaceAll('_', '-')} `);
    for (const k of knobsOf('ethtool')) expect(k.where).toMatch(/^ethtool -[CGLKsXNA] <dev> /);
  });
});

describe("adding a sysctl is one registry entry: the schema, apply, the model's typed view and the table follow", () => {
  const table = knobTable();
  const { resolved } = loadScenarioObject(BASE);

  it.each(SYSCTL_KNOBS.map((k) => [k.name, k] as const))('%s', (name, knob) => {
    expect(Object.keys(scenarioSchema.shape.sysctl.unwrap().shape)).toContain(name);
    const value = textOf(knob, defaultOf(knob, { cpus: 4, hz: 1000, seed: 1 }));
    expect(loadScenarioObject({ ...BASE, apply: [commandFor(knob, {}, value)!] }).resolved.sysctl).toEqual(resolved.sysctl);
    expect(loadScenarioObject({ ...BASE, apply: [`echo "${value}" > ${knob.where}`] }).resolved.sysctl).toEqual(resolved.sysctl);
    expect(table).toContain(`| \`${name}\` | \`sysctl["${name}"]\``);
    expect(resolved.sysctl).toHaveProperty([name]);
  });

  it("the model's SysctlValues has exactly the registry's sysctls, typed by kind", () => {
    expect(Object.keys(resolved.sysctl)).toEqual(SYSCTL_KNOBS.map((k) => k.name));
    expectTypeOf<SysctlValues['net.core.netdev_budget']>().toEqualTypeOf<number>();
    expectTypeOf<SysctlValues['net.core.flow_limit_cpu_bitmap']>().toEqualTypeOf<number[]>();
    expectTypeOf<SysctlValues['net.ipv4.tcp_rmem']>().toEqualTypeOf<[number, number, number]>();
  });
});
