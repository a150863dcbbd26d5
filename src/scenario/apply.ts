import { produce, type Draft } from 'immer';
import { numberNapis } from '../model/nic/napi-ids.ts';
import { numberVectors } from '../model/nic/vectors.ts';
import { cgroupTree } from './cgroup-tree.ts';
import { InputError, ValueError, didYouMean } from './errors.ts';
import * as app from './knobs/app.ts';
import * as queueKnobs from './knobs/queue.ts';
import { ETHTOOL_OPTIONS, combined, hkey, hwReceiveFeature, hwReceiveFeatureProblem, indir, queueCount } from './knobs/ethtool.ts';
import type { DriverName } from '../model/nic/drivers.ts';
import { findKnob, jsonParts, knobNames, knobsOf, nicContext, parseAndCheck, queueContext, systemContext } from './knobs/registry.ts';
import type { AnyKnob, SystemContext } from './knobs/types.ts';
import type { NicConfig, Scenario } from './schema.ts';

/**
 * The commands people run on a real machine, mapped onto the scenario fields they change:
 *
 *   ethtool -C|--coalesce <dev> rx-usecs N | rx-frames N | adaptive-rx on|off ...
 *   ethtool -G|--set-ring <dev> rx N
 *   ethtool -L|--set-channels <dev> combined N
 *   ethtool -K|--features|--offload <dev> gro|rxhash|ntuple on|off ...
 *   ethtool -X|--set-rxfh-indir|--rxfh <dev> equal N | weight W... | default | hkey K
 *   ethtool -N|--config-nfc <dev> rx-flow-hash udp4|udp6 sd|sdfn
 *   ethtool -A|--pause <dev> autoneg|rx|tx on|off
 *   ip link set [dev] <dev> mtu N
 *   ip link set [dev] <dev> xdp|xdpdrv|xdpgeneric off | obj|prog <name>   (<name> in xdp_programs)
 *   sysctl -w name=value ...
 *   echo V > /proc/sys/net/core/<name>
 *   echo V > /sys/class/net/<dev>/queues/rx-<n>/rps_cpus|rps_flow_cnt
 *   echo V > /sys/class/net/<dev>/napi_defer_hard_irqs|gro_flush_timeout|threaded|mtu
 *   echo V > /proc/irq/<n>/smp_affinity|smp_affinity_list
 *   echo V > /sys/fs/cgroup/<path>/cpuset.cpus|cpu.max|cpu.weight   (<path>: kubepods/pod-a/web)
 *   taskset -c LIST <app>    (also taskset -pc LIST <app>)
 *   ynl --family netdev --do napi-set --json '{"id": N, "irq-suspend-timeout": NS, "threaded": "disabled"|"enabled"|"busy-poll"}'
 *
 * The grammar is strict: a command, option or argument it does not know is an error naming the
 * token, never ignored. Which files, parameters and sysctls exist, and how their values are
 * checked, comes from the knob registry (knobs/): a value gets the check and the message it gets
 * in the scenario file, with the command token in front instead of the JSON path.
 */

/** Apply every command in order; `label(i)` names command i in errors (e.g. `apply[2]`). */
export function applyCommands(scenario: Scenario, commands: readonly string[], label: (i: number) => string): Scenario {
  return commands.reduce((s, cmd, i) => applyCommand(s, cmd, label(i)), scenario);
}

export function applyCommand(scenario: Scenario, command: string, label: string): Scenario {
  const tokens = tokenize(command, label);
  if (tokens.length === 0) throw new InputError(label, 'empty command');
  const ctx = new Ctx(label, tokens);
  return produce<Scenario>(scenario, (draft) => {
    const [cmd] = tokens;
    if (cmd === 'ethtool') ethtool(ctx, draft);
    else if (cmd === 'sysctl') sysctl(ctx, draft);
    else if (cmd === 'echo') echo(ctx, draft);
    else if (cmd === 'taskset') taskset(ctx, draft);
    else if (cmd === 'ip') ipLink(ctx, draft);
    else if (cmd === 'ynl') ynl(ctx, draft);
    else ctx.fail(0, `unknown command${didYouMean(cmd!, COMMANDS)}; rxsim understands ${COMMANDS.join(', ')}`);
  });
}

const COMMANDS = ['ethtool', 'sysctl', 'echo', 'taskset', 'ip', 'ynl'];

/**
 * Commands that can act on a running machine (a timeline entry): moving a task (taskset) and
 * re-pinning an IRQ, the registry's runtime knobs. Everything else reconfigures devices or sysctls
 * and belongs in `apply`.
 */
export function isRuntimeCommand(command: string, label: string): boolean {
  const t = tokenize(command, label);
  if (t[0] === 'taskset') return app.cpus.runtime === true;
  const gt = t.indexOf('>');
  const m = /^\/proc\/irq\/\d+\/([^/]+)$/.exec(t[gt + 1] ?? '');
  return t[0] === 'echo' && gt > 0 && m !== null && findKnob('irq', m[1]!)?.runtime === true;
}

/** Split like a POSIX shell for simple commands: whitespace, '…' and "…" quoting, backslash escapes. */
export function tokenize(command: string, label: string): string[] {
  const tokens: string[] = [];
  let cur = '';
  let inToken = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new InputError(label, 'unterminated single quote');
      cur += command.slice(i + 1, end);
      i = end;
      inToken = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < command.length && command[j] !== '"'; j++) {
        if (command[j] === '\\' && j + 1 < command.length) j++;
        cur += command[j];
      }
      if (j >= command.length) throw new InputError(label, 'unterminated double quote');
      i = j;
      inToken = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      inToken = true;
    } else if (/\s/.test(c)) {
      if (inToken) tokens.push(cur);
      cur = '';
      inToken = false;
    } else if ('|;&<`$'.includes(c)) {
      throw new InputError(label, `"${c}" is not supported: give one simple command per entry (no pipes, lists or substitutions)`);
    } else if (c === '>') {
      if (inToken) tokens.push(cur);
      tokens.push('>');
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (inToken) tokens.push(cur);
  return tokens;
}

/** Reads tokens and reports errors naming the token. */
class Ctx {
  constructor(
    readonly label: string,
    readonly tokens: string[],
  ) {}

  fail(index: number, problem: string): never {
    const tok = this.tokens[index];
    throw new InputError(tok === undefined ? `${this.label}: at the end` : `${this.label}: token "${tok}"`, problem);
  }

  /** The token at `i`, or an error saying what was expected there. */
  need(i: number, what: string): string {
    const tok = this.tokens[i];
    if (tok === undefined) this.fail(i, `expected ${what}`);
    return tok;
  }

  /** Run `fn`; a ValueError becomes an error at token `i`. */
  check<T>(i: number, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ValueError) this.fail(i, e.message);
      throw e;
    }
  }
}

/**
 * Set `knob` from the value at token `i` (text `value`, which may span tokens for echo): the
 * registry's parse and check, errors at that token (a parameter the driver lacks: at `nameAt`),
 * and the value the kernel keeps written at the knob's JSON path (`args` fill its indices).
 */
function setKnob(ctx: Ctx, draft: Draft<Scenario>, knob: AnyKnob, kctx: SystemContext, i: number, value: string, args: (string | number)[], nameAt = i): unknown {
  if (knob.supported) ctx.check(nameAt, () => knob.supported!(kctx));
  const { typed, stored } = ctx.check(i, () => parseAndCheck(knob, value, kctx));
  setAt(draft, jsonParts(knob, ...args), stored);
  return typed;
}

/** Write `value` at `parts`, creating the objects on the way (a queue's first setting). */
function setAt(root: unknown, parts: (string | number)[], value: unknown): void {
  let cur = root as Record<string | number, unknown>;
  for (const key of parts.slice(0, -1)) {
    cur[key] ??= {};
    cur = cur[key] as Record<string | number, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

function nicByName(ctx: Ctx, draft: Draft<Scenario>, i: number): { nic: Draft<NicConfig>; index: number } {
  const name = ctx.need(i, 'a device name');
  const index = draft.nics.findIndex((n) => n.name === name);
  if (index < 0)
    ctx.fail(
      i,
      `no such device${didYouMean(
        name,
        draft.nics.map((n) => n.name),
      )} (devices: ${draft.nics.map((n) => n.name).join(', ')})`,
    );
  return { nic: draft.nics[index]!, index };
}

// ---------------------------------------------------------------- ethtool

type EthtoolHandler = (ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>, index: number, option: string) => void;

/** -C, -G, -L, -K and -s are `name value` pairs of registry knobs; -X and -N have their own grammar. */
const HANDLERS: Record<string, EthtoolHandler> = { '-C': pairs, '-G': pairs, '-L': pairs, '-K': pairs, '-s': pairs, '-A': pairs, '-X': rxfh, '-N': nfc };

/** Every spelling of each option: `--coalesce` → `-C`. */
const OPTION_OF: Record<string, string> = Object.fromEntries(Object.entries(ETHTOOL_OPTIONS).flatMap(([opt, o]) => [opt, ...o.aliases].map((name) => [name, opt])));

function ethtool(ctx: Ctx, draft: Draft<Scenario>): void {
  const given = ctx.need(1, 'an ethtool option such as -C, -G, -L, -K, -s, -A, -X or -N');
  const opt = OPTION_OF[given];
  if (!opt) ctx.fail(1, `unknown or unmodelled ethtool option${didYouMean(given, Object.keys(OPTION_OF))}; rxsim takes ${Object.keys(OPTION_OF).join(' ')}`);
  const { nic, index } = nicByName(ctx, draft, 2);
  if (ctx.tokens.length === 3) ctx.fail(3, `expected parameters after ${given} ${nic.name}`);
  HANDLERS[opt]!(ctx, draft, nic, index, opt);
}

/** Walk `name value` pairs; each name is a registry knob of this option (or an alias of one). */
function pairs(ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>, index: number, option: string): void {
  const knobs = knobsOf('ethtool').filter((k) => k.ethtool?.option === option);
  const names = knobs.map((k) => k.ethtool?.param ?? k.name);
  const kctx = nicContext(draft, nic);
  for (let i = 3; i < ctx.tokens.length; i += 2) {
    const name = ctx.tokens[i]!;
    const knob = knobs.find((k) => k.ethtool?.param === name || k.name === name || k.aliases?.includes(name));
    const hw = option === '-K' ? hwReceiveFeature(name) : undefined;
    if (!knob && hw) {
      const value = ctx.need(i + 1, `a value for ${name} (on or off)`);
      const problem = hwReceiveFeatureProblem(hw, value, nic.driver as DriverName);
      if (problem) ctx.fail(value === 'on' && !problem.startsWith('expected') ? i : i + 1, problem);
      continue;
    }
    if (!knob) {
      if (ETHTOOL_OPTIONS[option]!.unmodelled.includes(name)) ctx.fail(i, `"${name}" is a real parameter, but rxsim models the receive path only`);
      ctx.fail(i, `unknown parameter${didYouMean(name, names)}; known: ${names.join(', ')}`);
    }
    const n = setKnob(ctx, draft, knob, kctx, i + 1, ctx.need(i + 1, `a value for ${name}`), [index], i);
    if (knob === combined) dropQueuesFrom(nic, n as number);
  }
}

/** The driver rebuilds its queues: per-queue settings of queues that no longer exist go away. */
function dropQueuesFrom(nic: Draft<NicConfig>, n: number): void {
  for (const key of Object.keys(nic.irq_affinity)) if (Number(key) >= n) delete nic.irq_affinity[key];
  for (const key of Object.keys(nic.queues)) if (Number(key.slice(3)) >= n) delete nic.queues[key];
  // ixgbe/ice re-create the RSS table with the default spread unless the user set one (netif_is_rxfh_configured).
}

function rxfh(ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>, index: number): void {
  const kctx = nicContext(draft, nic);
  let i = 3;
  let table: 'equal' | 'weight' | 'default' | null = null;
  const setTable = (kind: 'equal' | 'weight' | 'default', at: number) => {
    if (table) ctx.fail(at, `${kind[0]!.toUpperCase()}${kind.slice(1)} and ${table} options are mutually exclusive`);
    table = kind;
  };
  while (i < ctx.tokens.length) {
    const word = ctx.tokens[i]!;
    if (word === 'equal') {
      setTable('equal', i);
      setKnob(ctx, draft, indir, kctx, i + 1, ctx.need(i + 1, 'the number of queues'), [index]);
      i += 2;
    } else if (word === 'weight') {
      setTable('weight', i);
      const weights: number[] = [];
      let j = i + 1;
      while (j < ctx.tokens.length && /^\d+$/.test(ctx.tokens[j]!)) weights.push(Number(ctx.tokens[j++]));
      if (weights.length === 0) ctx.fail(i + 1, 'expected one or more weights after "weight"');
      nic.rss.indir = ctx.check(i, () => indir.check({ weight: weights }, kctx));
      i = j;
    } else if (word === 'default') {
      setTable('default', i);
      delete nic.rss.indir;
      i += 1;
    } else if (word === 'hkey') {
      setKnob(ctx, draft, hkey, kctx, i + 1, ctx.need(i + 1, 'a key like 6d:5a:…'), [index]);
      i += 2;
    } else {
      ctx.fail(i, `unknown parameter${didYouMean(word, ['equal', 'weight', 'default', 'hkey'])}; known: equal, weight, default, hkey`);
    }
  }
}

function nfc(ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>, index: number): void {
  if (ctx.tokens[3] !== 'rx-flow-hash') ctx.fail(3, 'rxsim models only "rx-flow-hash udp4|udp6 sd|sdfn" of ethtool -N');
  const type = ctx.need(4, 'a flow type (udp4 or udp6)');
  const knob = findKnob('ethtool', `rx-flow-hash ${type}`);
  if (!knob) ctx.fail(4, `rxsim models the UDP hash fields only (udp4, udp6)${type.startsWith('tcp') ? '; TCP is always hashed on addresses and ports' : ''}`);
  const fields = ctx.need(5, 'hash fields (sd or sdfn)');
  setKnob(ctx, draft, knob, nicContext(draft, nic), 5, fields, [index]);
  if (ctx.tokens.length > 6) ctx.fail(6, 'unexpected extra argument');
}

// ---------------------------------------------------------------- ip link

function ipLink(ctx: Ctx, draft: Draft<Scenario>): void {
  if (ctx.tokens[1] !== 'link' || ctx.tokens[2] !== 'set') ctx.fail(1, `rxsim models only "ip link set [dev] <dev> ${IP_LINK_SET.join('|')} ..."`);
  let i = 3;
  if (ctx.tokens[i] === 'dev') i++;
  const { nic, index } = nicByName(ctx, draft, i);
  const what = ctx.need(i + 1, `one of ${IP_LINK_SET.join(', ')}`);
  if (XDP_MODES[what] !== undefined) return ipLinkXdp(ctx, draft, nic, i + 1);
  if (what !== 'mtu') ctx.fail(i + 1, `rxsim models only ${IP_LINK_SET.join(', ')} for ip link set${didYouMean(what, IP_LINK_SET)}`);
  const mtu = findKnob('device', 'mtu')!;
  setKnob(ctx, draft, mtu, nicContext(draft, nic), i + 2, ctx.need(i + 2, 'the MTU'), [index]);
  if (ctx.tokens.length > i + 3) ctx.fail(i + 3, 'unexpected extra argument');
}

/** iproute2's XDP attach words: xdp (native where the driver has ndo_bpf, as every driver profile here has), xdpdrv, xdpgeneric. */
const XDP_MODES: Record<string, 'native' | 'generic'> = { xdp: 'native', xdpdrv: 'native', xdpgeneric: 'generic' };
const IP_LINK_SET = ['mtu', ...Object.keys(XDP_MODES)];

/**
 * ip link set dev <dev> xdp|xdpdrv|xdpgeneric off — detach the program;
 * ip link set dev <dev> xdp|xdpdrv|xdpgeneric obj|prog <name> — attach the program `name` of the
 * scenario's xdp_programs (iproute2's `obj FILE` loads an ELF object; here the name, with or
 * without ".o", picks a rule list).
 */
function ipLinkXdp(ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>, i: number): void {
  const mode = XDP_MODES[ctx.tokens[i]!]!;
  const arg = ctx.need(i + 1, '"off", or "obj <program>"');
  if (arg === 'off') {
    delete nic.xdp;
    if (ctx.tokens.length > i + 2) ctx.fail(i + 2, 'unexpected extra argument');
    return;
  }
  if (arg !== 'obj' && arg !== 'prog') ctx.fail(i + 1, `expected "off", "obj <program>" or "prog <program>"${didYouMean(arg, ['off', 'obj', 'prog'])}`);
  const given = ctx.need(i + 2, `a program name from xdp_programs`);
  const names = Object.keys(draft.xdp_programs);
  const name = given in draft.xdp_programs ? given : given.replace(/\.o$/, '');
  if (!(name in draft.xdp_programs))
    ctx.fail(i + 2, `no program "${given}" in the scenario's xdp_programs${didYouMean(name, names)}${names.length ? ` (programs: ${names.join(', ')})` : ' (it defines none)'}`);
  if (ctx.tokens.length > i + 3) ctx.fail(i + 3, 'unexpected extra argument');
  nic.xdp = { mode, prog: name };
}

// ---------------------------------------------------------------- sysctl

function sysctl(ctx: Ctx, draft: Draft<Scenario>): void {
  if (ctx.tokens[1] !== '-w') ctx.fail(1, 'expected "-w name=value" (rxsim only writes sysctls)');
  if (ctx.tokens.length === 2) ctx.fail(2, 'expected name=value');
  for (let i = 2; i < ctx.tokens.length; i++) {
    const tok = ctx.tokens[i]!;
    const eq = tok.indexOf('=');
    if (eq < 0) ctx.fail(i, 'expected name=value');
    setSysctl(ctx, draft, i, tok.slice(0, eq).replaceAll('/', '.'), tok.slice(eq + 1));
  }
}

function setSysctl(ctx: Ctx, draft: Draft<Scenario>, i: number, name: string, value: string): void {
  const knob = findKnob('sysctl', name);
  if (!knob) ctx.fail(i, `unknown or unmodelled sysctl "${name}"${didYouMean(name, knobNames('sysctl'))}`);
  setKnob(ctx, draft, knob, systemContext(draft), i, value, []);
}

// ---------------------------------------------------------------- echo V > path

function echo(ctx: Ctx, draft: Draft<Scenario>): void {
  const gt = ctx.tokens.indexOf('>');
  if (gt < 0) ctx.fail(ctx.tokens.length, 'expected "echo VALUE > PATH"');
  if (gt === 1) ctx.fail(1, 'expected a value before ">"');
  const value = ctx.tokens.slice(1, gt).join(' ');
  const pi = gt + 1;
  const path = ctx.need(pi, 'a path after ">"');
  if (ctx.tokens.length > pi + 1) ctx.fail(pi + 1, 'unexpected extra argument');
  const parts = path.split('/').filter(Boolean);

  // /proc/sys/net/core/<name> is the sysctl by another name.
  if (path.startsWith('/proc/sys/')) return setSysctl(ctx, draft, pi, parts.slice(2).join('.'), value);

  let m = /^\/sys\/class\/net\/([^/]+)\/queues\/rx-(\d+)\/([^/]+)$/.exec(path);
  if (m) {
    const index = deviceIndex(ctx, draft, pi, m[1]!);
    const nic = draft.nics[index]!;
    const q = Number(m[2]);
    const queues = queueCount(nic, draft.cpus);
    if (q >= queues) ctx.fail(pi, `rx-${q} does not exist (${nic.name} has rx-0..rx-${queues - 1})`);
    const knob = findKnob('queue', m[3]!) ?? ctx.fail(pi, `unknown or unmodelled queue attribute "${m[3]}"${didYouMean(m[3]!, knobNames('queue'))}`);
    if (queueKnobs.NAPI_SET_KNOBS.includes(knob))
      ctx.fail(pi, `there is no such sysfs file: ${knob.name} is per NAPI, set with netlink (ynl --family netdev --do napi-set --json '{"id": N, "${knob.name.replaceAll('_', '-')}": V}')`);
    setKnob(ctx, draft, knob, queueContext(nicContext(draft, nic), q), 1, value, [index, `rx-${q}`]);
    return;
  }

  m = /^\/sys\/class\/net\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) {
    const index = deviceIndex(ctx, draft, pi, m[1]!);
    const knob = findKnob('device', m[2]!) ?? ctx.fail(pi, `unknown or unmodelled device attribute "${m[2]}"${didYouMean(m[2]!, knobNames('device'))}`);
    setKnob(ctx, draft, knob, nicContext(draft, draft.nics[index]!), 1, value, [index]);
    return;
  }

  m = /^\/proc\/irq\/(\d+)\/([^/]+)$/.exec(path);
  if (m) {
    const irq = Number(m[1]);
    const vectors = numberVectors(draft.nics.map((n) => ({ queues: queueCount(n, draft.cpus), hasOther: nicContext(draft, n).driver.otherVectorName !== null })));
    const v = vectors.find((x) => x.irq === irq);
    if (!v) ctx.fail(pi, `no IRQ ${irq} in this scenario; NIC vectors are ${vectors.map((x) => x.irq).join(', ')} (see /proc/interrupts in the report)`);
    if (v.queue < 0) ctx.fail(pi, `IRQ ${irq} is the NIC's link/misc vector; rxsim models the queue vectors only`);
    const knob = findKnob('irq', m[2]!) ?? ctx.fail(pi, `unknown or unmodelled IRQ file "${m[2]}"${didYouMean(m[2]!, knobNames('irq'))}`);
    setKnob(ctx, draft, knob, queueContext(nicContext(draft, draft.nics[v.nic]!), v.queue), 1, value, [v.nic, String(v.queue)]);
    return;
  }

  m = /^\/sys\/fs\/cgroup\/(.+)\/([^/]+)$/.exec(path);
  if (m) {
    const name = m[1]!;
    const groups = cgroupTree(draft.cgroups);
    if (!groups.includes(name)) ctx.fail(pi, `no cgroup "${name}"${didYouMean(name, groups)} (define it under "cgroups")`);
    draft.cgroups[name] ??= {}; // an ancestor the scenario implies (kubepods of kubepods/pod-a)
    const knob = findKnob('cgroup', m[2]!) ?? ctx.fail(pi, `unknown or unmodelled cgroup file "${m[2]}"${didYouMean(m[2]!, knobNames('cgroup'))}`);
    setKnob(ctx, draft, knob, systemContext(draft), 1, value, [name]);
    return;
  }

  ctx.fail(pi, 'rxsim does not model this path; see the README for the files it models (/sys/class/net/…, /proc/irq/…, /proc/sys/…, /sys/fs/cgroup/…)');
}

function deviceIndex(ctx: Ctx, draft: Draft<Scenario>, pi: number, name: string): number {
  const index = draft.nics.findIndex((n) => n.name === name);
  if (index < 0)
    ctx.fail(
      pi,
      `no such device "${name}"${didYouMean(
        name,
        draft.nics.map((n) => n.name),
      )}`,
    );
  return index;
}

// ---------------------------------------------------------------- taskset

function taskset(ctx: Ctx, draft: Draft<Scenario>): void {
  const opt = ctx.need(1, '-c or -pc');
  if (opt !== '-c' && opt !== '-pc' && opt !== '-cp') ctx.fail(1, 'expected "-c LIST <app>" or "-pc LIST <app>" (CPU lists only)');
  // The list is checked before the app is looked up, as taskset parses its arguments in order.
  const { stored } = ctx.check(2, () => parseAndCheck(app.cpus, ctx.need(2, 'a CPU list'), systemContext(draft)));
  const name = ctx.need(3, 'an app name from "apps"');
  const index = draft.apps.findIndex((a) => a.name === name);
  if (index < 0)
    ctx.fail(
      3,
      `no app "${name}"${didYouMean(
        name,
        draft.apps.map((a) => a.name),
      )} (apps: ${draft.apps.map((a) => a.name).join(', ') || 'none'})`,
    );
  if (ctx.tokens.length > 4) ctx.fail(4, `unexpected argument: name the app as in "apps" (its command line is not needed)`);
  setAt(draft, jsonParts(app.cpus, index), stored);
}

// ---------------------------------------------------------------- ynl netdev napi-set

/** napi-set attributes (Documentation/netlink/specs/netdev.yaml) and what rxsim does with each. */
const NAPI_SET_ATTRS = ['id', 'irq-suspend-timeout', 'defer-hard-irqs', 'gro-flush-timeout', 'threaded'];

/**
 * `ynl --family netdev --do napi-set --json '{"id": N, "irq-suspend-timeout": NS}'`: netlink's
 * per-NAPI configuration (netdev_nl_napi_set_doit, 6.13+). The id is a queue's NAPI id as rxsim
 * numbers them (napi-ids.ts); irq-suspend-timeout is that queue's `irq_suspend_timeout`, threaded
 * its `threaded` ("busy-poll" only on a 6.19 kernel).
 */
function ynl(ctx: Ctx, draft: Draft<Scenario>): void {
  const opts: Record<string, number> = {};
  for (let i = 1; i < ctx.tokens.length; i += 2) {
    const opt = ctx.tokens[i]!;
    if (opt !== '--family' && opt !== '--do' && opt !== '--json')
      ctx.fail(i, `unknown or unmodelled ynl option${didYouMean(opt, ['--family', '--do', '--json'])}; rxsim takes --family netdev --do napi-set --json JSON`);
    ctx.need(i + 1, `a value after ${opt}`);
    opts[opt] = i + 1;
  }
  const family = opts['--family'] ?? ctx.fail(ctx.tokens.length, 'expected --family netdev');
  if (ctx.tokens[family] !== 'netdev') ctx.fail(family, `rxsim models the netdev family only (--family netdev)`);
  const op = opts['--do'] ?? ctx.fail(ctx.tokens.length, 'expected --do napi-set');
  if (ctx.tokens[op] !== 'napi-set') ctx.fail(op, `unknown or unmodelled netdev operation${didYouMean(ctx.tokens[op]!, ['napi-set'])}; rxsim takes napi-set`);
  const ji = opts['--json'] ?? ctx.fail(ctx.tokens.length, `expected --json '{"id": N, "irq-suspend-timeout": NS}'`);
  let attrs: unknown;
  try {
    attrs = JSON.parse(ctx.tokens[ji]!);
  } catch {
    ctx.fail(ji, `expected a JSON object like '{"id": 8193, "irq-suspend-timeout": 20000000}'`);
  }
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) ctx.fail(ji, `expected a JSON object like '{"id": 8193, "irq-suspend-timeout": 20000000}'`);
  const a = attrs as Record<string, unknown>;
  for (const key of Object.keys(a)) if (!NAPI_SET_ATTRS.includes(key)) ctx.fail(ji, `unknown napi-set attribute "${key}"${didYouMean(key, NAPI_SET_ATTRS)}`);
  const napis = numberNapis(draft.nics.map((n) => queueCount(n, draft.cpus)));
  const id = a['id'];
  if (id === undefined) ctx.fail(ji, 'napi-set needs "id", the NAPI id (netdev_nl_napi_set_doit: EINVAL without it)');
  const napi = napis.find((x) => x.id === id);
  if (!napi) ctx.fail(ji, `no NAPI with id ${JSON.stringify(id)}: this scenario's queue NAPIs are ${napis.map((x) => x.id).join(', ')} (the first NIC's rx-0 upward)`);
  for (const key of ['defer-hard-irqs', 'gro-flush-timeout']) {
    if (a[key] !== undefined)
      ctx.fail(ji, `"${key}" per NAPI is not modelled: rxsim keeps it per device (echo V > /sys/class/net/<dev>/${key.replaceAll('-', '_').replace('defer_hard_irqs', 'napi_defer_hard_irqs')})`);
  }
  const nic = draft.nics[napi.nic]!;
  const qctx = queueContext(nicContext(draft, nic), napi.queue);
  const timeout = a['irq-suspend-timeout'];
  if (timeout !== undefined) {
    if (typeof timeout !== 'number') ctx.fail(ji, `"irq-suspend-timeout" is a number of ns (a netlink uint), not ${JSON.stringify(timeout)}`);
    setKnob(ctx, draft, queueKnobs.irqSuspendTimeout, qctx, ji, String(timeout), [napi.nic, `rx-${napi.queue}`]);
  }
  // "threaded": enum napi-threaded by name (netdev_nl_napi_set_doit → napi_set_threaded).
  const threaded = a['threaded'];
  if (threaded !== undefined) {
    if (typeof threaded !== 'string') ctx.fail(ji, `"threaded" is a name of enum napi-threaded ("disabled", "enabled" or "busy-poll"), not ${JSON.stringify(threaded)}`);
    setKnob(ctx, draft, queueKnobs.threaded, qctx, ji, threaded, [napi.nic, `rx-${napi.queue}`]);
  }
}
