import ipaddr from 'ipaddr.js';
import { InputError, didYouMean } from './errors.ts';
import type { Scenario, XdpRuleConfig } from './schema.ts';

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
  action: 'drop' | 'pass' | 'tx' | 'aborted';
  costNs: number;
}

/** A device's XDP program: where it runs, its rules and its default action. */
export interface ResolvedXdp {
  mode: 'native' | 'generic';
  /** The program's name in xdp_programs, or null for one given inline. */
  name: string | null;
  rules: ResolvedXdpRule[];
  default: ResolvedXdpRule['action'];
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

function resolveRule(r: XdpRuleConfig, where: string, queues: number): ResolvedXdpRule {
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
    costNs: r.cost_ns,
  };
}

/** nics[i].xdp resolved: a named program from xdp_programs or one given inline, checked with errors naming the JSON path. */
export function resolveXdp(s: Scenario, index: number, queues: number): ResolvedXdp | null {
  const x = s.nics[index]!.xdp;
  if (!x) return null;
  const p = `nics[${index}].xdp`;
  if (x.prog !== undefined) {
    if (x.program !== undefined || x.default !== undefined) throw new InputError(`${p}.prog`, 'give either prog (a name in xdp_programs) or program/default, not both');
    const named = s.xdp_programs[x.prog];
    const names = Object.keys(s.xdp_programs);
    if (!named) throw new InputError(`${p}.prog`, `no program "${x.prog}" in xdp_programs${didYouMean(x.prog, names)}${names.length ? `; programs: ${names.join(', ')}` : ''}`);
    const where = `xdp_programs["${x.prog}"].program`;
    return { mode: x.mode, name: x.prog, rules: named.program.map((r, i) => resolveRule(r, `${where}[${i}]`, queues)), default: named.default };
  }
  return { mode: x.mode, name: null, rules: (x.program ?? []).map((r, i) => resolveRule(r, `${p}.program[${i}]`, queues)), default: x.default ?? 'pass' };
}
