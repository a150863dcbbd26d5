import { produce, type Draft } from 'immer';
import { DRIVERS } from '../model/nic/drivers.ts';
import { numberVectors } from '../model/nic/vectors.ts';
import { InputError, ValueError, didYouMean } from './errors.ts';
import * as limits from './limits.ts';
import { queueCount } from './resolve.ts';
import type { NicConfig, Scenario } from './schema.ts';
import { SYSCTL_NAMES, checkSysctl } from './sysctl.ts';
import { formatCpuList, formatHexKey, parseCpuList, parseCpuMask, parseCpuMax, parseHexKey } from './units.ts';

/**
 * The commands people run on a real machine, mapped onto the scenario fields they change:
 *
 *   ethtool -C|--coalesce <dev> rx-usecs N | rx-frames N | adaptive-rx on|off ...
 *   ethtool -G|--set-ring <dev> rx N
 *   ethtool -L|--set-channels <dev> combined N
 *   ethtool -K|--features|--offload <dev> gro|rxhash|ntuple on|off ...
 *   ethtool -X|--set-rxfh-indir|--rxfh <dev> equal N | weight W... | default | hkey K
 *   ethtool -N|--config-nfc <dev> rx-flow-hash udp4|udp6 sd|sdfn
 *   ip link set [dev] <dev> mtu N
 *   sysctl -w name=value ...
 *   echo V > /proc/sys/net/core/<name>
 *   echo V > /sys/class/net/<dev>/queues/rx-<n>/rps_cpus|rps_flow_cnt
 *   echo V > /sys/class/net/<dev>/napi_defer_hard_irqs|gro_flush_timeout|threaded
 *   echo V > /proc/irq/<n>/smp_affinity|smp_affinity_list
 *   echo V > /sys/fs/cgroup/<name>/cpuset.cpus|cpu.max|cpu.weight
 *   taskset -c LIST <app>    (also taskset -pc LIST <app>)
 *
 * The grammar is strict: a command, option or argument it does not know is an error naming the
 * token, never ignored. Values are checked as the real tool or driver checks them.
 */

/** Apply every command in order; `label(i)` names command i in errors (e.g. `apply[2]`). */
export function applyCommands(scenario: Scenario, commands: readonly string[], label: (i: number) => string): Scenario {
  return commands.reduce((s, cmd, i) => applyCommand(s, cmd, label(i)), scenario);
}

export function applyCommand(scenario: Scenario, command: string, label: string): Scenario {
  const tokens = tokenize(command, label);
  if (tokens.length === 0) throw new InputError(label, 'empty command');
  const ctx = new Ctx(label, tokens);
  return produce(scenario, (draft) => {
    const [cmd] = tokens;
    if (cmd === 'ethtool') ethtool(ctx, draft);
    else if (cmd === 'sysctl') sysctl(ctx, draft);
    else if (cmd === 'echo') echo(ctx, draft);
    else if (cmd === 'taskset') taskset(ctx, draft);
    else if (cmd === 'ip') ipLink(ctx, draft);
    else ctx.fail(0, `unknown command${didYouMean(cmd!, COMMANDS)}; rxsim understands ${COMMANDS.join(', ')}`);
  }) as Scenario;
}

const COMMANDS = ['ethtool', 'sysctl', 'echo', 'taskset', 'ip'];

/**
 * Commands that can act on a running machine (a timeline entry): moving a task (taskset) and
 * re-pinning an IRQ. Everything else reconfigures devices or sysctls and belongs in `apply`.
 */
export function isRuntimeCommand(command: string, label: string): boolean {
  const t = tokenize(command, label);
  if (t[0] === 'taskset') return true;
  const gt = t.indexOf('>');
  return t[0] === 'echo' && gt > 0 && /^\/proc\/irq\/\d+\/(smp_affinity|smp_affinity_list)$/.test(t[gt + 1] ?? '');
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

  int(i: number, what: string, min = 0): number {
    const tok = this.need(i, what);
    if (!/^\d+$/.test(tok) || Number(tok) < min) this.fail(i, `expected ${what} (an integer${min ? ` >= ${min}` : ''})`);
    return Number(tok);
  }

  onOff(i: number, what: string): 'on' | 'off' {
    const tok = this.need(i, `on or off for ${what}`);
    if (tok !== 'on' && tok !== 'off') this.fail(i, `expected on or off for ${what}`);
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

function nicByName(ctx: Ctx, draft: Draft<Scenario>, i: number): Draft<NicConfig> {
  const name = ctx.need(i, 'a device name');
  const nic = draft.nics.find((n) => n.name === name);
  if (!nic) ctx.fail(i, `no such device${didYouMean(name, draft.nics.map((n) => n.name))} (devices: ${draft.nics.map((n) => n.name).join(', ')})`);
  return nic;
}

function driverOf(nic: Draft<NicConfig>) {
  return DRIVERS[nic.driver as keyof typeof DRIVERS];
}

// ---------------------------------------------------------------- ethtool

const ETHTOOL_OPTIONS: Record<string, (ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>) => void> = {
  '-C': coalesce,
  '--coalesce': coalesce,
  '-G': ring,
  '--set-ring': ring,
  '-L': channels,
  '--set-channels': channels,
  '-K': features,
  '--features': features,
  '--offload': features,
  '-X': rxfh,
  '--set-rxfh-indir': rxfh,
  '--rxfh': rxfh,
  '-N': nfc,
  '--config-nfc': nfc,
  '--config-ntuple': nfc,
};

function ethtool(ctx: Ctx, draft: Draft<Scenario>): void {
  const opt = ctx.need(1, 'an ethtool option such as -C, -G, -L, -K, -X or -N');
  const handler = ETHTOOL_OPTIONS[opt];
  if (!handler) ctx.fail(1, `unknown or unmodelled ethtool option${didYouMean(opt, Object.keys(ETHTOOL_OPTIONS))}; rxsim takes ${Object.keys(ETHTOOL_OPTIONS).join(' ')}`);
  const nic = nicByName(ctx, draft, 2);
  if (ctx.tokens.length === 3) ctx.fail(3, `expected parameters after ${opt} ${nic.name}`);
  handler(ctx, draft, nic);
}

/** Walk `name value` pairs; `params` maps a name to a setter taking the value's token index. */
function pairs(ctx: Ctx, start: number, params: Record<string, (i: number) => void>, unmodelled: string[] = []): void {
  for (let i = start; i < ctx.tokens.length; i += 2) {
    const name = ctx.tokens[i]!;
    const set = params[name];
    if (!set) {
      if (unmodelled.includes(name)) ctx.fail(i, `"${name}" is a real parameter, but rxsim models the receive path only`);
      ctx.fail(i, `unknown parameter${didYouMean(name, Object.keys(params))}; known: ${Object.keys(params).join(', ')}`);
    }
    set(i + 1);
  }
}

function coalesce(ctx: Ctx, _draft: Draft<Scenario>, nic: Draft<NicConfig>): void {
  const driver = driverOf(nic);
  pairs(
    ctx,
    3,
    {
      'rx-usecs': (i) => {
        nic.coalesce['rx-usecs'] = ctx.check(i, () => limits.rxUsecs(driver, ctx.int(i, 'rx-usecs')));
      },
      'rx-frames': (i) => {
        nic.coalesce['rx-frames'] = ctx.check(i - 1, () => limits.rxFrames(driver, ctx.int(i, 'rx-frames')));
      },
      'adaptive-rx': (i) => {
        const v = ctx.onOff(i, 'adaptive-rx');
        ctx.check(i - 1, () => limits.adaptiveRx(driver, v));
        nic.coalesce['adaptive-rx'] = v;
      },
    },
    ['tx-usecs', 'tx-frames', 'adaptive-tx', 'rx-usecs-irq', 'rx-frames-irq', 'tx-usecs-irq', 'tx-frames-irq', 'stats-block-usecs', 'pkt-rate-low', 'pkt-rate-high', 'rx-usecs-low', 'rx-usecs-high', 'sample-interval'],
  );
}

function ring(ctx: Ctx, _draft: Draft<Scenario>, nic: Draft<NicConfig>): void {
  const driver = driverOf(nic);
  pairs(ctx, 3, { rx: (i) => (nic.ring.rx = ctx.check(i, () => limits.ringSize(driver, ctx.int(i, 'the RX ring size', 1)))) }, ['tx', 'rx-mini', 'rx-jumbo', 'rx-buf-len', 'cqe-size', 'tx-push', 'rx-push']);
}

function channels(ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>): void {
  const driver = driverOf(nic);
  pairs(
    ctx,
    3,
    {
      combined: (i) => {
        const n = ctx.check(i, () => limits.channelCount(driver, draft.cpus, ctx.int(i, 'the number of combined channels', 1)));
        nic.channels.combined = n;
        // The driver rebuilds its queues: per-queue settings of queues that no longer exist go away.
        for (const key of Object.keys(nic.irq_affinity)) if (Number(key) >= n) delete nic.irq_affinity[key];
        for (const key of Object.keys(nic.queues)) if (Number(key.slice(3)) >= n) delete nic.queues[key];
        // ixgbe/ice re-create the RSS table with the default spread unless the user set one (netif_is_rxfh_configured).
      },
    },
    ['rx', 'tx', 'other'],
  );
}

const FEATURE_NAMES: Record<string, 'gro' | 'rxhash' | 'ntuple'> = {
  gro: 'gro',
  'generic-receive-offload': 'gro',
  rxhash: 'rxhash',
  'receive-hashing': 'rxhash',
  ntuple: 'ntuple',
  'ntuple-filters': 'ntuple',
};

function features(ctx: Ctx, _draft: Draft<Scenario>, nic: Draft<NicConfig>): void {
  const params: Record<string, (i: number) => void> = {};
  for (const [name, key] of Object.entries(FEATURE_NAMES)) params[name] = (i) => (nic.features[key] = ctx.onOff(i, name));
  pairs(ctx, 3, params, ['tso', 'gso', 'lro', 'rx', 'tx', 'sg', 'rxvlan', 'txvlan', 'rx-gro-hw', 'rx-gro-list', 'rx-udp-gro-forwarding', 'hw-tc-offload']);
}

function rxfh(ctx: Ctx, draft: Draft<Scenario>, nic: Draft<NicConfig>): void {
  const driver = driverOf(nic);
  const queues = queueCount(nic as NicConfig, draft.cpus);
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
      const n = ctx.check(i + 1, () => limits.indirEqual(ctx.int(i + 1, 'the number of queues', 1), queues));
      nic.rss.indir = { equal: n };
      i += 2;
    } else if (word === 'weight') {
      setTable('weight', i);
      const weights: number[] = [];
      let j = i + 1;
      while (j < ctx.tokens.length && /^\d+$/.test(ctx.tokens[j]!)) weights.push(Number(ctx.tokens[j++]));
      if (weights.length === 0) ctx.fail(i + 1, 'expected one or more weights after "weight"');
      nic.rss.indir = { weight: ctx.check(i, () => limits.indirWeights(weights, queues, driver)) };
      i = j;
    } else if (word === 'default') {
      setTable('default', i);
      delete nic.rss.indir;
      i += 1;
    } else if (word === 'hkey') {
      const key = ctx.check(i + 1, () => limits.rssKey(driver, parseHexKey(ctx.need(i + 1, 'a key like 6d:5a:…'))));
      nic.rss.hkey = formatHexKey(key);
      i += 2;
    } else {
      ctx.fail(i, `unknown parameter${didYouMean(word, ['equal', 'weight', 'default', 'hkey'])}; known: equal, weight, default, hkey`);
    }
  }
}

function nfc(ctx: Ctx, _draft: Draft<Scenario>, nic: Draft<NicConfig>): void {
  if (ctx.tokens[3] !== 'rx-flow-hash') ctx.fail(3, 'rxsim models only "rx-flow-hash udp4|udp6 sd|sdfn" of ethtool -N');
  const type = ctx.need(4, 'a flow type (udp4 or udp6)');
  if (type !== 'udp4' && type !== 'udp6') ctx.fail(4, `rxsim models the UDP hash fields only (udp4, udp6)${type.startsWith('tcp') ? '; TCP is always hashed on addresses and ports' : ''}`);
  const fields = ctx.need(5, 'hash fields (sd or sdfn)');
  if (fields !== 'sd' && fields !== 'sdfn') ctx.fail(5, 'expected "sd" (addresses) or "sdfn" (addresses and ports)');
  if (ctx.tokens.length > 6) ctx.fail(6, 'unexpected extra argument');
  nic.rss['rx-flow-hash'] = { ...nic.rss['rx-flow-hash'], [type]: fields };
}

// ---------------------------------------------------------------- ip link

function ipLink(ctx: Ctx, draft: Draft<Scenario>): void {
  if (ctx.tokens[1] !== 'link' || ctx.tokens[2] !== 'set') ctx.fail(1, 'rxsim models only "ip link set [dev] <dev> mtu N"');
  let i = 3;
  if (ctx.tokens[i] === 'dev') i++;
  const nic = nicByName(ctx, draft, i);
  if (ctx.tokens[i + 1] !== 'mtu') ctx.fail(i + 1, 'rxsim models only "mtu N" for ip link set');
  nic.mtu = ctx.check(i + 2, () => limits.mtu(driverOf(nic), ctx.int(i + 2, 'the MTU')));
  if (ctx.tokens.length > i + 3) ctx.fail(i + 3, 'unexpected extra argument');
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
  if (!SYSCTL_NAMES.includes(name)) ctx.fail(i, `unknown or unmodelled sysctl "${name}"${didYouMean(name, SYSCTL_NAMES)}`);
  draft.sysctl[name] = ctx.check(i, () => checkSysctl(name, value));
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
    const nic = draft.nics.find((n) => n.name === m![1]);
    if (!nic) ctx.fail(pi, `no such device "${m[1]}"${didYouMean(m[1]!, draft.nics.map((n) => n.name))}`);
    const q = Number(m[2]);
    const queues = queueCount(nic as NicConfig, draft.cpus);
    if (q >= queues) ctx.fail(pi, `rx-${q} does not exist (${nic.name} has rx-0..rx-${queues - 1})`);
    const key = `rx-${q}`;
    const attr = m[3]!;
    if (attr === 'rps_cpus') {
      ctx.check(1, () => limits.existingCpus(parseCpuMask(value), draft.cpus, 'rps_cpus'));
      nic.queues[key] = { ...nic.queues[key], rps_cpus: value.trim() };
    } else if (attr === 'rps_flow_cnt') {
      const n = ctx.int(1, 'rps_flow_cnt');
      ctx.check(1, () => limits.rpsFlowCount(n));
      nic.queues[key] = { ...nic.queues[key], rps_flow_cnt: n };
    } else {
      ctx.fail(pi, `unknown or unmodelled queue attribute "${attr}"${didYouMean(attr, ['rps_cpus', 'rps_flow_cnt'])}`);
    }
    return;
  }

  m = /^\/sys\/class\/net\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) {
    const nic = draft.nics.find((n) => n.name === m![1]);
    if (!nic) ctx.fail(pi, `no such device "${m[1]}"${didYouMean(m[1]!, draft.nics.map((n) => n.name))}`);
    const attr = m[2]!;
    if (attr === 'napi_defer_hard_irqs') nic.napi_defer_hard_irqs = ctx.int(1, 'napi_defer_hard_irqs');
    else if (attr === 'gro_flush_timeout') nic.gro_flush_timeout = ctx.int(1, 'gro_flush_timeout in ns');
    else if (attr === 'threaded') {
      if (value !== '0' && value !== '1') ctx.fail(1, 'expected 0 or 1 for threaded');
      nic.threaded = value === '1' ? 1 : 0;
    } else if (attr === 'mtu') nic.mtu = ctx.check(1, () => limits.mtu(driverOf(nic), ctx.int(1, 'the MTU')));
    else ctx.fail(pi, `unknown or unmodelled device attribute "${attr}"${didYouMean(attr, ['napi_defer_hard_irqs', 'gro_flush_timeout', 'threaded', 'mtu'])}`);
    return;
  }

  m = /^\/proc\/irq\/(\d+)\/(smp_affinity|smp_affinity_list)$/.exec(path);
  if (m) {
    const irq = Number(m[1]);
    const vectors = numberVectors(draft.nics.map((n) => ({ queues: queueCount(n as NicConfig, draft.cpus), hasOther: driverOf(n).otherVectorName(n.name) !== null })));
    const v = vectors.find((x) => x.irq === irq);
    if (!v) ctx.fail(pi, `no IRQ ${irq} in this scenario; NIC vectors are ${vectors.map((x) => x.irq).join(', ')} (see /proc/interrupts in the report)`);
    if (v.queue < 0) ctx.fail(pi, `IRQ ${irq} is the NIC's link/misc vector; rxsim models the queue vectors only`);
    const cpus = ctx.check(1, () => limits.existingCpus(m![2] === 'smp_affinity' ? parseCpuMask(value) : parseCpuList(value), draft.cpus, m![2]!));
    if (cpus.length === 0) ctx.fail(1, 'an empty mask is rejected (EINVAL)');
    draft.nics[v.nic]!.irq_affinity[String(v.queue)] = formatCpuList(cpus);
    return;
  }

  m = /^\/sys\/fs\/cgroup\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) {
    const name = m[1]!;
    const group = draft.cgroups[name];
    if (!group) ctx.fail(pi, `no cgroup "${name}"${didYouMean(name, Object.keys(draft.cgroups))} (define it under "cgroups")`);
    const file = m[2]!;
    if (file === 'cpuset.cpus') group['cpuset.cpus'] = formatCpuList(ctx.check(1, () => limits.existingCpus(parseCpuList(value), draft.cpus, 'cpuset.cpus')));
    else if (file === 'cpu.max') {
      ctx.check(1, () => parseCpuMax(value));
      group['cpu.max'] = value.trim();
    } else if (file === 'cpu.weight') {
      const w = ctx.int(1, 'cpu.weight', 1);
      if (w > 10000) ctx.fail(1, 'cpu.weight is 1..10000');
      group['cpu.weight'] = w;
    } else ctx.fail(pi, `unknown or unmodelled cgroup file "${file}"${didYouMean(file, ['cpuset.cpus', 'cpu.max', 'cpu.weight'])}`);
    return;
  }

  ctx.fail(pi, 'rxsim does not model this path; see the README for the files it models (/sys/class/net/…, /proc/irq/…, /proc/sys/…, /sys/fs/cgroup/…)');
}

// ---------------------------------------------------------------- taskset

function taskset(ctx: Ctx, draft: Draft<Scenario>): void {
  const opt = ctx.need(1, '-c or -pc');
  if (opt !== '-c' && opt !== '-pc' && opt !== '-cp') ctx.fail(1, 'expected "-c LIST <app>" or "-pc LIST <app>" (CPU lists only)');
  const cpus = ctx.check(2, () => limits.existingCpus(parseCpuList(ctx.need(2, 'a CPU list')), draft.cpus, 'the CPU list'));
  if (cpus.length === 0) ctx.fail(2, 'an empty CPU list (sched_setaffinity: EINVAL)');
  const name = ctx.need(3, 'an app name from "apps"');
  const app = draft.apps.find((a) => a.name === name);
  if (!app) ctx.fail(3, `no app "${name}"${didYouMean(name, draft.apps.map((a) => a.name))} (apps: ${draft.apps.map((a) => a.name).join(', ') || 'none'})`);
  if (ctx.tokens.length > 4) ctx.fail(4, `unexpected argument: name the app as in "apps" (its command line is not needed)`);
  app.cpus = formatCpuList(cpus);
}
