import ipaddr from 'ipaddr.js';
import { InputError, didYouMean } from './errors.ts';
import type { Scenario } from './schema.ts';
import type { Endpoint } from './units.ts';

/** A route of the main table: its prefix and the NIC (index) it leaves by. */
export interface ResolvedRoute {
  addr: Uint8Array;
  len: number;
  dev: number;
  text: string;
}

/** `routes` parsed: each destination a prefix ("default" is 0.0.0.0/0), each device a NIC of the scenario. */
export function resolveRoutes(s: Pick<Scenario, 'routes' | 'nics'>): ResolvedRoute[] {
  const names = s.nics.map((n) => n.name);
  return s.routes.map((r, i) => {
    const where = `routes[${i}]`;
    const dev = names.indexOf(r.dev);
    if (dev < 0) throw new InputError(`${where}.dev`, `no NIC "${r.dev}"${didYouMean(r.dev, names)}`);
    const text = r.dst === 'default' ? '0.0.0.0/0' : r.dst;
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    let len: number;
    try {
      [addr, len] = text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), 32];
    } catch {
      throw new InputError(`${where}.dst`, `"${r.dst}" is not an IPv4 prefix (expected "10.1.0.0/16", "10.1.0.7" or "default")`);
    }
    if (addr.kind() !== 'ipv4') throw new InputError(`${where}.dst`, `"${r.dst}" is IPv6; rxsim forwards IPv4 (ip_forward) only`);
    return { addr: Uint8Array.from(addr.toByteArray()), len, dev, text };
  });
}

function covers(route: ResolvedRoute, addr: Uint8Array): boolean {
  for (let bit = 0; bit < route.len; bit += 8) {
    const bits = Math.min(8, route.len - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if ((route.addr[bit / 8]! & mask) !== (addr[bit / 8]! & mask)) return false;
  }
  return true;
}

/**
 * fib_lookup (net/ipv4/fib_trie.c: fib_table_lookup) of a destination: the longest prefix that
 * covers it, or null. The model looks up a flow's route once, at load: the table does not change
 * while the machine runs, and every address of a flow's range must take the same route.
 */
export function lookupRoute(routes: readonly ResolvedRoute[], dst: Endpoint): ResolvedRoute | null {
  const best = (addr: Uint8Array): ResolvedRoute | null => {
    let found: ResolvedRoute | null = null;
    for (const r of routes) if (covers(r, addr) && (found === null || r.len > found.len)) found = r;
    return found;
  };
  const first = best(dst.addr);
  if (dst.addrCount > 1) {
    const last = Uint8Array.from(dst.addr);
    let carry = dst.addrCount - 1;
    for (let i = last.length - 1; i >= 0 && carry > 0; i--) {
      const v = last[i]! + (carry % 256);
      last[i] = v & 0xff;
      carry = Math.floor(carry / 256) + (v > 0xff ? 1 : 0);
    }
    if (best(last) !== first) return null;
  }
  return first;
}
