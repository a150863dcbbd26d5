import ipaddr from 'ipaddr.js';
import { InputError, didYouMean, formatPath } from './errors.ts';
import type { Scenario, XdpRuleConfig } from './schema.ts';

/** bpf_redirect_map's key as a rule gives it: a number, or computed per frame. */
export const XDP_KEY_RX_QUEUE = -1;
export const XDP_KEY_HASH = -2;

/** A BPF map of xdp_maps, resolved: its id (from 1, in declaration order) and entries. */
export type ResolvedXdpMap = ResolvedCpuMap | ResolvedDevMap | ResolvedXskMap;

export interface ResolvedCpuMap {
  name: string;
  /** The map id (bpf_map->id) the kthread names and tracepoints print. */
  id: number;
  type: 'cpumap';
  /** The CPUs present (key = CPU) with their ptr_ring sizes, in the scenario's order. */
  entries: { cpu: number; qsize: number }[];
}

export interface ResolvedDevMap {
  name: string;
  id: number;
  type: 'devmap';
  /** The devices (key = index): each a NIC's index. */
  entries: { nic: number }[];
}

export interface ResolvedXskMap {
  name: string;
  id: number;
  type: 'xskmap';
  /** max_entries: keys 0..maxEntries-1 (xsk_map_update_elem refuses others with E2BIG). */
  maxEntries: number;
}

/** An address prefix of a rule: the address bytes (4 or 16) and the prefix length. */
export interface XdpPrefix {
  addr: Uint8Array;
  len: number;
}

/** One rule of an XDP program, parsed: null or the full range where the rule does not look. */
export interface ResolvedXdpRule {
  proto: 'tcp' | 'udp' | null;
  src: XdpPrefix | null;
  dst: XdpPrefix | null;
  srcPort: [number, number];
  dstPort: [number, number];
  /** RX queue, or -1 for any. */
  queue: number;
  action: 'drop' | 'pass' | 'tx' | 'aborted' | 'redirect';
  /**
   * XDP_REDIRECT's bpf_redirect_map(map, key, flags): the map's index in xdp_maps, the key
   * (XDP_KEY_RX_QUEUE, XDP_KEY_HASH or a number) and the action the flags' low bits give when the
   * key has no entry (0: XDP_ABORTED).
   */
  redirect: { map: number; key: number; fallback: 'aborted' | 'drop' | 'pass' | 'tx' } | null;
  costNs: number;
}

/** A device's XDP program: where it runs, its rules and its default action. */
export interface ResolvedXdp {
  mode: 'native' | 'generic';
  /** The program's name in xdp_programs, or null for one given inline. */
  name: string | null;
  rules: ResolvedXdpRule[];
  default: 'drop' | 'pass' | 'tx' | 'aborted';
}

function prefix(text: string, where: string): XdpPrefix {
  try {
    if (text.includes('/')) {
      const [addr, len] = ipaddr.parseCIDR(text);
      return { addr: Uint8Array.from(addr.toByteArray()), len };
    }
    const addr = ipaddr.parse(text);
    if (addr.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(text)) throw new Error();
    return { addr: Uint8Array.from(addr.toByteArray()), len: addr.kind() === 'ipv4' ? 32 : 128 };
  } catch {
    throw new InputError(where, `"${text}" is not an address or prefix (expected "10.0.0.2", "10.0.0.0/24" or "2001:db8::/64")`);
  }
}

function portRange(v: number | string | undefined, where: string): [number, number] {
  if (v === undefined) return [0, 65535];
  if (typeof v === 'number') return [v, v];
  const [lo, hi] = v.split('-').map(Number) as [number, number];
  if (hi > 65535) throw new InputError(where, `port ${hi} is above 65535`);
  if (hi < lo) throw new InputError(where, `the port range "${v}" is empty`);
  return [lo, hi];
}

/** xdp_maps resolved: ids from 1 in declaration order, each cpumap entry's CPU checked against the machine. */
export function resolveXdpMaps(s: Scenario): ResolvedXdpMap[] {
  return Object.entries(s.xdp_maps).map(([name, m], i): ResolvedXdpMap => {
    if (m.type === 'xskmap') return { name, id: i + 1, type: 'xskmap', maxEntries: m.max_entries };
    if (m.type === 'devmap') {
      const nics = s.nics.map((n) => n.name);
      const entries = m.entries.map((e, j) => {
        const nic = nics.indexOf(e.dev);
        // dev_map_update_elem(): an ifindex without a device is refused (EINVAL).
        if (nic < 0) throw new InputError(formatPath(['xdp_maps', name, 'entries', j, 'dev']), `no device "${e.dev}" in nics${didYouMean(e.dev, nics)}; devices: ${nics.join(', ')}`);
        return { nic };
      });
      return { name, id: i + 1, type: 'devmap', entries };
    }
    const seen = new Set<number>();
    m.entries.forEach((e, j) => {
      const where = formatPath(['xdp_maps', name, 'entries', j, 'cpu']);
      // cpu_map_update_elem(): a key that is not a possible CPU is refused with ENODEV.
      if (e.cpu >= s.cpus) throw new InputError(where, `CPU ${e.cpu} does not exist (the machine has ${s.cpus} CPUs, 0-${s.cpus - 1}; the kernel refuses the key with ENODEV)`);
      if (seen.has(e.cpu)) throw new InputError(where, `CPU ${e.cpu} is already an entry of this map (a cpumap has one entry per CPU key)`);
      seen.add(e.cpu);
    });
    return { name, id: i + 1, type: 'cpumap', entries: m.entries.map((e) => ({ cpu: e.cpu, qsize: e.qsize })) };
  });
}

function resolveRedirect(r: XdpRuleConfig, where: string, s: Scenario): ResolvedXdpRule['redirect'] {
  if (r.action !== 'redirect') {
    if (r.map !== undefined) throw new InputError(`${where}.map`, `only a rule with action "redirect" names a map (this one is "${r.action}")`);
    if (r.key !== undefined) throw new InputError(`${where}.key`, `only a rule with action "redirect" has a key (this one is "${r.action}")`);
    if (r.fallback !== undefined) throw new InputError(`${where}.fallback`, `only a rule with action "redirect" has a fallback (bpf_redirect_map's flags; this one is "${r.action}")`);
    return null;
  }
  const names = Object.keys(s.xdp_maps);
  const list = names.length ? `; maps: ${names.join(', ')}` : ' (xdp_maps defines none)';
  if (r.map === undefined) throw new InputError(`${where}.map`, `a redirect names its map: a name in xdp_maps${list}`);
  const map = names.indexOf(r.map);
  if (map < 0) throw new InputError(`${where}.map`, `no map "${r.map}" in xdp_maps${didYouMean(r.map, names)}${list}`);
  if (r.key === undefined) throw new InputError(`${where}.key`, 'a redirect has a key: a number (the CPU of a cpumap, the index of a devmap), "rx_queue" or "hash"');
  return { map, key: r.key === 'rx_queue' ? XDP_KEY_RX_QUEUE : r.key === 'hash' ? XDP_KEY_HASH : r.key, fallback: r.fallback ?? 'aborted' };
}

function resolveRule(r: XdpRuleConfig, where: string, queues: number, s: Scenario): ResolvedXdpRule {
  const m = r.match;
  if (m.queue !== undefined && m.queue >= queues) throw new InputError(`${where}.match.queue`, `queue ${m.queue} does not exist (the device has ${queues} RX queues, 0-${queues - 1})`);
  return {
    proto: m.proto ?? null,
    src: m.src === undefined ? null : prefix(m.src, `${where}.match.src`),
    dst: m.dst === undefined ? null : prefix(m.dst, `${where}.match.dst`),
    srcPort: portRange(m.src_port, `${where}.match.src_port`),
    dstPort: portRange(m.dst_port, `${where}.match.dst_port`),
    queue: m.queue ?? -1,
    action: r.action,
    redirect: resolveRedirect(r, where, s),
    costNs: r.cost_ns,
  };
}

/** nics[i].xdp resolved: a named program from xdp_programs or one given inline, checked with errors naming the JSON path. */
export function resolveXdp(s: Scenario, index: number, queues: number): ResolvedXdp | null {
  const x = s.nics[index]!.xdp;
  if (!x) return null;
  const resolved = resolveXdpProgram(s, index, queues, x);
  // Generic XDP into an xskmap is xsk_generic_rcv (a copy of the skb's data), which the model
  // does not have: AF_XDP here is the native path (xsk.ts).
  const xsk = resolved.rules.findIndex((r) => r.redirect !== null && Object.values(s.xdp_maps)[r.redirect.map]?.type === 'xskmap');
  if (resolved.mode === 'generic' && xsk >= 0)
    throw new InputError(`nics[${index}].xdp.mode`, `a generic (xdpgeneric) program redirects into an xskmap (rule ${xsk}): xsk_generic_rcv is not modelled; attach it native (xdpdrv)`);
  return resolved;
}

function resolveXdpProgram(s: Scenario, index: number, queues: number, x: NonNullable<Scenario['nics'][number]['xdp']>): ResolvedXdp {
  const p = `nics[${index}].xdp`;
  if (x.prog !== undefined) {
    if (x.program !== undefined || x.default !== undefined) throw new InputError(`${p}.prog`, 'give either prog (a name in xdp_programs) or program/default, not both');
    const named = s.xdp_programs[x.prog];
    const names = Object.keys(s.xdp_programs);
    if (!named) throw new InputError(`${p}.prog`, `no program "${x.prog}" in xdp_programs${didYouMean(x.prog, names)}${names.length ? `; programs: ${names.join(', ')}` : ''}`);
    const where = `xdp_programs["${x.prog}"].program`;
    return { mode: x.mode, name: x.prog, rules: named.program.map((r, i) => resolveRule(r, `${where}[${i}]`, queues, s)), default: named.default };
  }
  return { mode: x.mode, name: null, rules: (x.program ?? []).map((r, i) => resolveRule(r, `${p}.program[${i}]`, queues, s)), default: x.default ?? 'pass' };
}
