import { describe, expect, it } from 'vitest';
import { indirEqual, indirWeights, MS_VERIFICATION_KEY, reciprocalScale, rssInput, rssQueue, toeplitz } from '../../src/model/nic/rss.ts';
import { parseEndpoint } from '../../src/scenario/units.ts';

/** Microsoft's RSS verification suite (also 82599 datasheet §7.1.2.8.3): destination first in the table, source first in the input. */
const V4: [string, string, number, number][] = [
  ['161.142.100.80:1766', '66.9.149.187:2794', 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83:4739', '199.92.111.2:14230', 0xd718262a, 0xc626b0ea],
  ['12.22.207.184:38024', '24.19.198.95:12898', 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6:2217', '38.27.205.30:48228', 0x82989176, 0xafc7327f],
  ['202.188.127.2:1303', '153.39.163.191:44251', 0x5d1809c5, 0x10e828a2],
];
const V6: [string, string, number, number][] = [
  ['[3ffe:2501:200:3::1]:1766', '[3ffe:2501:200:1fff::7]:2794', 0x2cc18cd5, 0x40207d3d],
  ['[ff02::1]:4739', '[3ffe:501:8::260:97ff:fe40:efab]:14230', 0x0f0c461c, 0xdde51bbf],
  ['[fe80::200:f8ff:fe21:67cf]:38024', '[3ffe:1900:4545:3:200:f8ff:fe21:67cf]:44251', 0x4b61e985, 0x02d1feef],
];

describe('Toeplitz hash: the full Microsoft verification table', () => {
  for (const [dst, src, ipOnly, withPorts] of [...V4, ...V6]) {
    it(`${src} -> ${dst}`, () => {
      const s = parseEndpoint(src);
      const d = parseEndpoint(dst);
      const t = { family: s.family, src: s.addr, dst: d.addr, sport: s.port, dport: d.port };
      expect(toeplitz(MS_VERIFICATION_KEY, rssInput(t, false))).toBe(ipOnly);
      expect(toeplitz(MS_VERIFICATION_KEY, rssInput(t, true))).toBe(withPorts);
    });
  }
});

describe('indirection table and RPS CPU selection', () => {
  it('queue = indir[hash & (size-1)] with the default i % queues', () => {
    const t = indirEqual(128, 4);
    expect(rssQueue(t, 0x51ccc178)).toBe(0x78 % 4);
    expect(rssQueue(t, 0xffffff81)).toBe(1);
  });

  it("ethtool -X weight fills the table in proportion (ethtool's fill_indir_table)", () => {
    const t = indirWeights(128, [1, 2, 0, 1]);
    const counts = [0, 0, 0, 0];
    for (const q of t) counts[q]!++;
    expect(counts).toEqual([32, 64, 0, 32]);
    expect([...t.slice(0, 3)]).toEqual([0, 0, 0]);
    expect(t[127]).toBe(3);
    expect(() => indirWeights(128, [0, 0])).toThrow(/non-zero/);
    expect(() => indirWeights(4, [3, 3])).toThrow(/exceeds/);
  });

  it('reciprocal_scale(hash, len) = ((u64)hash * len) >> 32', () => {
    expect(reciprocalScale(0, 4)).toBe(0);
    expect(reciprocalScale(0xffffffff, 4)).toBe(3);
    expect(reciprocalScale(0x80000000, 4)).toBe(2);
    expect(reciprocalScale(0x51ccc178, 3)).toBe(Math.floor((0x51ccc178 * 3) / 2 ** 32));
  });
});
