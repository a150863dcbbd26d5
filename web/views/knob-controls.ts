import { numberNapis } from '../../src/model/nic/napi-ids.ts';
import { numberVectors } from '../../src/model/nic/vectors.ts';
import { ValueError } from '../../src/scenario/errors.ts';
import { queueCount } from '../../src/scenario/knobs/ethtool.ts';
import { KIND_TITLES, jsonParts, knobsOf, nicContext, type CommandNames } from '../../src/scenario/knobs/registry.ts';
import type { AnyKnob, KnobKind } from '../../src/scenario/knobs/types.ts';
import { scenarioSchema, type Scenario } from '../../src/scenario/schema.ts';
import type { ScenarioObject } from '../state.ts';

/**
 * The knobs a scenario has a place for, from the knob registry: every sysctl and build option,
 * each NIC's ethtool and device settings, and per queue of every NIC its sysfs files (rps_cpus,
 * rps_flow_cnt, …) and its vector's /proc/irq/<n>/smp_affinity_list — all queues, not only rx-0 —
 * each cgroup's and each app's. The tuning panel draws them; Compare names the ones that differ.
 */
/** One knob of this scenario: a registry entry at one place (a NIC, a queue, a cgroup, an app). */
export interface Control {
  knob: AnyKnob;
  /** Its JSON path in the scenario. */
  parts: (string | number)[];
  /** Group heading and the label's prefix within the group (`rx-0`). */
  group: string;
  prefix: string;
  names: CommandNames;
}

/** Edited as JSON or with ethtool -X in the command box: a table and a key are not one value. */
const NOT_IN_PANEL = new Set(['indir', 'hkey']);

const obj = (o: unknown): Record<string, unknown> => (o && typeof o === 'object' ? (o as Record<string, unknown>) : {});
export function valueAt(s: ScenarioObject, keys: (string | number)[]): unknown {
  let o: unknown = s;
  for (const k of keys) o = obj(o)[k];
  return o;
}

/** The scenario with its defaults, or null while it does not validate (the run says why). */
export function parsed(raw: ScenarioObject): Scenario | null {
  const r = scenarioSchema.safeParse(raw);
  return r.success ? r.data : null;
}

/** Whether a NIC's driver has the knob (rx-frames and adaptive-rx are per driver). */
function supported(knob: AnyKnob, s: Scenario, nic: number): boolean {
  try {
    knob.supported?.(nicContext(s, s.nics[nic]!));
    return true;
  } catch (e) {
    if (e instanceof ValueError) return false;
    throw e;
  }
}

/** Every knob of the registry that this scenario has a place for. */
export function controls(s: Scenario | null): Control[] {
  const out: Control[] = [];
  const add = (kind: KnobKind, group: string, prefix: string, args: (string | number)[], names: CommandNames, filter: (k: AnyKnob) => boolean = () => true) => {
    for (const knob of knobsOf(kind)) {
      if (knob.sameFieldAs || NOT_IN_PANEL.has(knob.name) || !filter(knob)) continue;
      out.push({ knob, parts: jsonParts(knob, ...args), group, prefix, names });
    }
  };
  add('sysctl', KIND_TITLES.sysctl, '', [], {});
  add('kernel-config', KIND_TITLES['kernel-config'], '', [], {});
  if (!s) return out;
  const vectors = numberVectors(s.nics.map((n) => ({ queues: queueCount(n, s.cpus), hasOther: nicContext(s, n).driver.otherVectorName !== null })));
  const napis = numberNapis(s.nics.map((n) => queueCount(n, s.cpus)));
  s.nics.forEach((nic, i) => {
    const dev = { dev: nic.name };
    add('ethtool', `${KIND_TITLES.ethtool} — ${nic.name}`, '', [i], dev, (k) => supported(k, s, i));
    add('device', `${KIND_TITLES.device} — ${nic.name}`, '', [i], dev);
    for (let q = 0; q < queueCount(nic, s.cpus); q++) {
      const napi = napis.find((x) => x.nic === i && x.queue === q)!.id;
      add('queue', `${KIND_TITLES.queue} — ${nic.name}`, `rx-${q} `, [i, `rx-${q}`], { ...dev, queue: q, napi });
      const irq = vectors.find((v) => v.nic === i && v.queue === q)!.irq;
      add('irq', `${KIND_TITLES.irq} — ${nic.name}`, `${irq} `, [i, String(q)], { irq });
    }
  });
  for (const name of Object.keys(s.cgroups)) add('cgroup', `${KIND_TITLES.cgroup} — ${name}`, '', [name], { cgroup: name });
  s.apps.forEach((a, i) => add('app', `${KIND_TITLES.app} — ${a.name}`, '', [i], { app: a.name }, (k) => !k.appKinds || k.appKinds.includes(a.kind)));
  return out;
}
