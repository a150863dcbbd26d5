import ipaddr from 'ipaddr.js';
import { ValueError } from './errors.ts';

/**
 * Parsers for values written the way Linux writes them: CPU lists (`0-3,8`, as in
 * `smp_affinity_list` and `cpuset.cpus`), hex CPU bitmaps (`rps_cpus`, `smp_affinity`),
 * rates (tc-style `5gbit`, `800mbit`, and `1mpps`), `ip:port`, `cpu.max`, and RSS keys.
 * They throw ValueError with the expected form; callers add where the value came from.
 */

/** `0-3,8` → [0,1,2,3,8]. Accepts `N`, `N-M` and `N-M:stride` (bitmap_parselist's forms). */
export function parseCpuList(text: string): number[] {
  const s = text.trim();
  if (s === '') return [];
  const cpus = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) throw new ValueError(`"${text}" is not a CPU list (expected a form like "0-3,8")`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    const stride = m[3] === undefined ? 1 : Number(m[3]);
    if (hi < lo || stride < 1) throw new ValueError(`"${part}" in "${text}" is not a valid range`);
    for (let c = lo; c <= hi; c += stride) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** [0,1,2,3,8] → `0-3,8` (the kernel's `%*pbl` format). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * A hex CPU bitmap as sysfs prints and accepts it (`f`, `00000003`, `ff,ffffffff`: comma-separated
 * 32-bit groups, most significant first) → CPU ids.
 */
export function parseCpuMask(text: string): number[] {
  const s = text.trim().toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]+(,[0-9a-f]{1,8})*$/.test(s)) {
    throw new ValueError(`"${text}" is not a hex CPU bitmap (expected a form like "f" or "ff,ffffffff")`);
  }
  const groups = s.split(',');
  const cpus: number[] = [];
  // The first group may be longer than 8 digits only when there is no comma.
  const digits = groups.length === 1 ? s : groups.map((g, i) => (i === 0 ? g : g.padStart(8, '0'))).join('');
  for (let i = 0; i < digits.length; i++) {
    const nibble = parseInt(digits[digits.length - 1 - i]!, 16);
    for (let b = 0; b < 4; b++) if (nibble & (1 << b)) cpus.push(i * 4 + b);
  }
  return cpus;
}

/** CPU ids → hex bitmap in sysfs format for `ncpus` CPUs (`%*pb`: 32-bit groups with commas). */
export function formatCpuMask(cpus: readonly number[], ncpus: number): string {
  const groups = Math.max(1, Math.ceil(ncpus / 32));
  const words = new Array<number>(groups).fill(0);
  for (const c of cpus) words[Math.floor(c / 32)]! |= 1 << (c % 32);
  const lastBits = ncpus % 32 === 0 ? 32 : ncpus % 32;
  const firstDigits = Math.ceil(lastBits / 4);
  return words
    .reverse()
    .map((w, i) => (w >>> 0).toString(16).padStart(i === 0 ? firstDigits : 8, '0'))
    .join(',');
}

export type Rate = { kind: 'line' } | { kind: 'bits'; bitsPerSec: number } | { kind: 'packets'; perSec: number };

const BIT_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };
const PKT_UNITS: Record<string, number> = { pps: 1, kpps: 1e3, mpps: 1e6 };

/** `line`, `5gbit`, `800mbit`, `1.5mpps`, `2000pps` (tc's bit units; pps for packet rates). */
export function parseRate(text: string): Rate {
  const s = text.trim().toLowerCase();
  if (s === 'line') return { kind: 'line' };
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/.exec(s);
  const unit = m?.[2];
  if (m && unit && unit in BIT_UNITS) return { kind: 'bits', bitsPerSec: Number(m[1]) * BIT_UNITS[unit]! };
  if (m && unit && unit in PKT_UNITS) return { kind: 'packets', perSec: Number(m[1]) * PKT_UNITS[unit]! };
  if (m && unit && /^[kmgt]?bps$/.test(unit)) {
    throw new ValueError(`"${text}": "${unit}" is ambiguous (in tc it means bytes per second); write bits as "${unit.replace('bps', 'bit')}"`);
  }
  throw new ValueError(`"${text}" is not a rate (expected "line", a bit rate like "5gbit" or "800mbit", or a packet rate like "1mpps" or "2000pps")`);
}

export interface Endpoint {
  family: 4 | 6;
  /** Address bytes in network order (4 or 16): the first address of a range. */
  addr: Uint8Array;
  /** Addresses in the range (`10.0.0.0/16`, `10.0.0.1-10.0.3.255`), else 1; only the last 32 bits vary. */
  addrCount: number;
  port: number;
  /** Last port of a range (`:1000-1063`), else equal to `port`. */
  portHi: number;
  text: string;
}

/** The most tuples a flow may cycle through: its tuple index is an Int32 in the packet pool. */
export const MAX_TUPLES = 2 ** 31 - 1;

const ENDPOINT_FORMS = '"10.0.0.1:5201", "[2001:db8::1]:5201", a port range "10.0.0.1:1000-1063", or addresses "10.0.0.0/16:9", "10.0.0.1-10.0.3.255:9", "[2001:db8::/112]:9"';

/**
 * `10.0.0.1:5201`, `[2001:db8::1]:5201`, a port range `10.0.0.1:1000-1063`, an address prefix
 * `10.0.0.0/16:9` or range `10.0.0.1-10.0.3.255:9` (a generator cycling them: the source port
 * fastest, then the source address, the destination port, the destination address).
 */
export function parseEndpoint(text: string): Endpoint {
  const s = text.trim();
  const m = /^\[([^\]]+)\]:(\d+)(?:-(\d+))?$/.exec(s) ?? /^([^:]+):(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new ValueError(`"${text}" is not an address with a port (expected ${ENDPOINT_FORMS})`);
  const port = Number(m[2]);
  const portHi = m[3] === undefined ? port : Number(m[3]);
  if (portHi > 65535) throw new ValueError(`port ${portHi} in "${text}" is above 65535`);
  if (portHi < port) throw new ValueError(`the port range in "${text}" is empty`);
  const { family, addr, addrCount } = parseAddresses(m[1]!, text);
  return { family, addr, addrCount, port, portHi, text: s };
}

function parseAddress(a: string, text: string): ipaddr.IPv4 | ipaddr.IPv6 {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(a);
  } catch {
    throw new ValueError(`"${a}" in "${text}" is not an IPv4 or IPv6 address`);
  }
  if (parsed.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(a)) throw new ValueError(`"${a}" in "${text}" is not a dotted-quad IPv4 address`);
  return parsed;
}

/** The last four bytes of an address as an unsigned 32-bit number. */
const low32 = (b: Uint8Array): number => ((b[b.length - 4]! << 24) | (b[b.length - 3]! << 16) | (b[b.length - 2]! << 8) | b[b.length - 1]!) >>> 0;

/** One address, a prefix `a/n` or a range `a-b`; only the last 32 bits may vary. */
function parseAddresses(part: string, text: string): { family: 4 | 6; addr: Uint8Array; addrCount: number } {
  const bits = (p: ipaddr.IPv4 | ipaddr.IPv6): number => (p.kind() === 'ipv4' ? 32 : 128);
  if (part.includes('/')) {
    const [a, n] = part.split('/');
    const base = parseAddress(a!, text);
    const len = Number(n);
    if (!/^\d+$/.test(n ?? '') || len > bits(base)) throw new ValueError(`"/${n}" in "${text}" is not a prefix length of an IPv${base.kind() === 'ipv4' ? 4 : 6} address (0..${bits(base)})`);
    if (bits(base) - len > 32) throw new ValueError(`"${part}" in "${text}" has 2^${bits(base) - len} addresses; a flow varies at most the last 32 bits (a /${bits(base) - 32} or longer)`);
    const bytes = Uint8Array.from(base.toByteArray());
    const count = 2 ** (bits(base) - len);
    const first = count === 2 ** 32 ? 0 : low32(bytes) - (low32(bytes) % count);
    writeLow32(bytes, first);
    return { family: base.kind() === 'ipv4' ? 4 : 6, addr: bytes, addrCount: count };
  }
  if (part.includes('-')) {
    const [a, b] = part.split('-');
    const lo = parseAddress(a!, text);
    const hi = parseAddress(b!, text);
    if (lo.kind() !== hi.kind()) throw new ValueError(`the address range in "${text}" mixes IPv4 and IPv6`);
    const lb = Uint8Array.from(lo.toByteArray());
    const hb = Uint8Array.from(hi.toByteArray());
    if (lb.slice(0, -4).some((x, i) => x !== hb[i])) throw new ValueError(`the address range in "${text}" varies more than the last 32 bits`);
    if (low32(hb) < low32(lb)) throw new ValueError(`the address range in "${text}" is empty`);
    return { family: lo.kind() === 'ipv4' ? 4 : 6, addr: lb, addrCount: low32(hb) - low32(lb) + 1 };
  }
  const one = parseAddress(part, text);
  return { family: one.kind() === 'ipv4' ? 4 : 6, addr: Uint8Array.from(one.toByteArray()), addrCount: 1 };
}

function writeLow32(b: Uint8Array, v: number): void {
  const n = b.length;
  b[n - 4] = (v >>> 24) & 0xff;
  b[n - 3] = (v >>> 16) & 0xff;
  b[n - 2] = (v >>> 8) & 0xff;
  b[n - 1] = v & 0xff;
}

/** The `i`-th address of an endpoint's range (i < addrCount), as a new array. */
export function addressAt(e: Pick<Endpoint, 'addr'>, i: number): Uint8Array {
  if (i === 0) return e.addr;
  const b = e.addr.slice();
  writeLow32(b, (low32(e.addr) + i) >>> 0);
  return b;
}

/** cgroup v2 `cpu.max`: `max`, `max 100000`, `50000 100000` (quota and period in µs). */
export function parseCpuMax(text: string): { quotaUs: number | null; periodUs: number } {
  const parts = text.trim().split(/\s+/);
  const [quota, period = '100000'] = parts;
  const ok = parts.length <= 2 && (quota === 'max' || /^\d+$/.test(quota ?? '')) && /^\d+$/.test(period);
  if (!ok) throw new ValueError(`"${text}" is not a cpu.max value (expected "max", "max 100000" or "50000 100000": quota and period in µs)`);
  const periodUs = Number(period);
  // kernel/sched/core.c: max_cfs_quota_period is 1 s and min_cfs_quota_period 1 ms; quota >= 1 ms.
  if (periodUs < 1000 || periodUs > 1_000_000) throw new ValueError(`cpu.max period ${periodUs} µs is outside 1000..1000000 (the kernel's limits)`);
  const quotaUs = quota === 'max' ? null : Number(quota);
  if (quotaUs !== null && quotaUs < 1000) throw new ValueError(`cpu.max quota ${quotaUs} µs is below the kernel's minimum of 1000`);
  return { quotaUs, periodUs };
}

/** `6d:5a:56:…` (ethtool's hkey form) or plain hex → bytes. */
export function parseHexKey(text: string): Uint8Array {
  const s = text.trim().toLowerCase();
  const hex = s.includes(':')
    ? s
        .split(':')
        .map((b) => (/^[0-9a-f]{1,2}$/.test(b) ? b.padStart(2, '0') : 'xx'))
        .join('')
    : s;
  if (!/^([0-9a-f]{2})+$/.test(hex)) throw new ValueError(`"${text}" is not a hex key (expected bytes like "6d:5a:56:da:…")`);
  return Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

/** Bytes → `6d:5a:56:…` as `ethtool -x` prints the key. */
export function formatHexKey(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
