import { indirDefault, MS_VERIFICATION_KEY, reciprocalScale, rssInput, rssQueue, toeplitz } from '../model/nic/rss.ts';
import { InputError, ValueError } from '../scenario/errors.ts';
import { netdevRssKey } from '../scenario/resolve.ts';
import { formatHexKey, parseCpuMask, parseEndpoint, parseHexKey, type Endpoint } from '../scenario/units.ts';

export interface RssOptions {
  src: string;
  dst: string;
  hkey?: string;
  keyMs?: boolean;
  seed: number;
  queues: number;
  indirSize: number;
  rpsCpus?: string;
}

function endpoint(flag: string, text: string): Endpoint {
  try {
    const e = parseEndpoint(text);
    if (e.portHi !== e.port) throw new ValueError('give one port, not a range');
    return e;
  } catch (err) {
    if (err instanceof ValueError) throw new InputError(`${flag} "${text}"`, err.message);
    throw err;
  }
}

/**
 * `rxsim rss`: the hash of the 4-tuple and the 2-tuple (the same Toeplitz code the NIC model
 * uses), the indirection index `hash & (size-1)`, the queue with the default table
 * `i % queues`, and with --rps-cpus the RPS CPU `map[reciprocal_scale(hash, len)]`.
 */
export function rssCommand(o: RssOptions): string {
  const src = endpoint('--src', o.src);
  const dst = endpoint('--dst', o.dst);
  if (src.family !== dst.family) throw new InputError(`--dst "${o.dst}"`, `is IPv${dst.family} but --src is IPv${src.family}`);
  if (o.indirSize < 1 || (o.indirSize & (o.indirSize - 1)) !== 0) throw new InputError(`--indir-size ${o.indirSize}`, 'must be a power of two (e.g. 128 for ixgbe, 2048 for ice)');
  if (o.queues < 1 || o.queues > o.indirSize) throw new InputError(`--queues ${o.queues}`, `must be 1..${o.indirSize}`);
  let key: Uint8Array;
  let keyName: string;
  if (o.keyMs) {
    key = MS_VERIFICATION_KEY;
    keyName = "Microsoft's verification key";
  } else if (o.hkey) {
    try {
      key = parseHexKey(o.hkey);
    } catch (err) {
      throw new InputError(`--hkey "${o.hkey}"`, (err as Error).message);
    }
    keyName = 'given';
  } else {
    key = netdevRssKey(o.seed).subarray(0, 40);
    keyName = `netdev_rss_key of seed ${o.seed}`;
  }
  const tuple = { family: src.family, src: src.addr, dst: dst.addr, sport: src.port, dport: dst.port };
  const needed = tuple.src.length * 2 + 4 + 4;
  if (key.length < needed) throw new InputError('--hkey', `a ${key.length}-byte key is too short for an IPv${src.family} 4-tuple (needs ${needed} bytes)`);
  const rpsMap = o.rpsCpus === undefined ? null : cpusOf(o.rpsCpus);
  const indir = indirDefault(o.indirSize, o.queues);
  const lines = [`key (${keyName}, ${key.length} bytes): ${formatHexKey(key)}`];
  for (const [label, ports] of [
    ['4-tuple (src ip, dst ip, src port, dst port)', true],
    ['2-tuple (src ip, dst ip)', false],
  ] as const) {
    const input = rssInput(tuple, ports);
    const hash = toeplitz(key, input);
    lines.push('');
    lines.push(`${label}`);
    lines.push(`  input:  ${[...input].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
    lines.push(`  hash:   0x${hash.toString(16).padStart(8, '0')}`);
    lines.push(`  indirection index: hash & ${o.indirSize - 1} = ${hash & (o.indirSize - 1)} -> rx queue ${rssQueue(indir, hash)} of ${o.queues}`);
    if (rpsMap) {
      const i = reciprocalScale(hash, rpsMap.length);
      lines.push(`  rps cpu: map[reciprocal_scale(hash, ${rpsMap.length}) = ${i}] = CPU ${rpsMap[i]}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function cpusOf(mask: string): number[] {
  let cpus: number[];
  try {
    cpus = parseCpuMask(mask);
  } catch (err) {
    throw new InputError(`--rps-cpus "${mask}"`, (err as Error).message);
  }
  if (cpus.length === 0) throw new InputError(`--rps-cpus "${mask}"`, 'an empty mask disables RPS; give at least one CPU');
  return cpus;
}
