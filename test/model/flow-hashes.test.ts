import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlowHashes, TABLE_TUPLES, tupleAt, fillTuple } from '../../src/model/nic/flow-hashes.ts';
import { rssInput, toeplitz, ToeplitzTable } from '../../src/model/nic/rss.ts';
import { parseEndpoint } from '../../src/scenario/units.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { inputError, run, scenario } from '../helpers.ts';

/** Flows over address and port ranges: the same hashes whether tabled or cached, and memory per active tuple. */
const MS_KEY = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a,
  0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

describe('ToeplitzTable', () => {
  it('equals the bitwise Toeplitz hash for any input (the hash is linear in the input bits)', () => {
    const table = new ToeplitzTable(MS_KEY);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 36 }), (input) => {
        expect(table.hash(input, input.length)).toBe(toeplitz(MS_KEY, input));
      }),
    );
  });

  it("gives Microsoft's verification value (66.9.149.187:2794 → 161.142.100.80:1766, 0x51ccc178)", () => {
    const input = rssInput({ family: 4, src: Uint8Array.from([66, 9, 149, 187]), dst: Uint8Array.from([161, 142, 100, 80]), sport: 2794, dport: 1766 }, true);
    expect(new ToeplitzTable(MS_KEY).hash(input, input.length)).toBe(0x51ccc178);
  });
});

describe('address and port ranges', () => {
  it('parses prefixes and ranges, varying at most the last 32 bits', () => {
    expect(parseEndpoint('10.0.0.0/16:9')).toMatchObject({ addrCount: 65536, port: 9, portHi: 9 });
    expect(parseEndpoint('10.0.3.7/24:9').addr).toEqual(Uint8Array.from([10, 0, 3, 0]));
    expect(parseEndpoint('10.0.0.1-10.0.3.255:1000-1003')).toMatchObject({ addrCount: 1023, port: 1000, portHi: 1003 });
    expect(parseEndpoint('[2001:db8::/112]:9').addrCount).toBe(65536);
    expect(parseEndpoint('10.0.0.1:5201').addrCount).toBe(1);
    expect(() => parseEndpoint('[2001:db8::/64]:9')).toThrow(/has 2\^64 addresses; a flow varies at most the last 32 bits \(a \/96 or longer\)/);
    expect(() => parseEndpoint('10.0.0.9-10.0.0.1:9')).toThrow(/the address range in "10\.0\.0\.9-10\.0\.0\.1:9" is empty/);
    expect(() => parseEndpoint('10.0.0.0/33:9')).toThrow(/"\/33" .* is not a prefix length of an IPv4 address \(0\.\.32\)/);
  });

  it('the i-th tuple varies the source port fastest, then the source address, the destination port, the destination address', () => {
    const f = { family: 4 as const, src: parseEndpoint('10.0.0.1-10.0.0.3:1000-1001'), dst: parseEndpoint('10.1.0.0/31:9-10'), tuples: 3 * 2 * 2 * 2 };
    const seen = new Set<string>();
    for (let i = 0; i < f.tuples; i++) {
      const t = tupleAt(f, i);
      seen.add(`${t.src.join('.')}:${t.sport}>${t.dst.join('.')}:${t.dport}`);
      const bytes = new Uint8Array(36);
      const n = fillTuple(f, i, bytes, true);
      expect([...bytes.slice(0, n)]).toEqual([...rssInput(t, true)]);
    }
    expect(seen.size).toBe(f.tuples);
    expect(tupleAt(f, 1)).toMatchObject({ sport: 1001, dport: 9 });
    expect([...tupleAt(f, 2).src]).toEqual([10, 0, 0, 2]);
    expect(tupleAt(f, 6)).toMatchObject({ sport: 1000, dport: 10 });
    expect([...tupleAt(f, 12).dst]).toEqual([10, 1, 0, 1]);
  });

  it('a large flow computes each tuple when needed and gets the same hash, queue and dissector hash as a tabled one', () => {
    const keys = { rss: new ToeplitzTable(MS_KEY), rssPorts: true, dissector: new ToeplitzTable(MS_KEY.slice().reverse()), indir: Int32Array.from({ length: 128 }, (_, i) => i % 4) };
    const small = { family: 4 as const, src: parseEndpoint('10.0.0.0/20:1000-1015'), dst: parseEndpoint('10.1.0.2:9'), tuples: 4096 * 16 };
    const big = { ...small, src: parseEndpoint('10.0.0.0/20:1000-1016'), tuples: 4096 * 17 };
    expect(small.tuples).toBe(TABLE_TUPLES);
    const tabled = FlowHashes.of(small, keys);
    const cached = FlowHashes.of(big, keys);
    // The same tuple has a different index in the two spaces (17 ports vs 16): compare by tuple.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 15 }), (addr, port) => {
        const i = addr * 16 + port;
        const j = addr * 17 + port;
        expect(cached.hash(j)).toBe(tabled.hash(i));
        expect(cached.sw(j)).toBe(tabled.sw(i));
        expect(cached.queue(j)).toBe(tabled.queue(i));
      }),
    );
    // aRFS: a filter for one tuple moves that tuple only.
    const target = (cached.queue(5) + 1) % 4;
    const neighbour = cached.queue(6);
    expect(cached.steer(5, target)).toBe(true);
    expect(cached.queue(5)).toBe(target);
    expect(cached.queue(6)).toBe(neighbour);
    expect(cached.steer(5, target)).toBe(false);
  });

  it('a flood from a /16 of sources spreads over the queues by its addresses even where UDP hashes no ports (ixgbe default); from one address it lands in one queue', () => {
    const flood = (src: string) =>
      run({ cpus: 4, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 4 } }], flows: [{ name: 'f', proto: 'udp', src, dst: '10.1.0.2:9', rate: '1mpps', size: 64 }], duration_ms: 3 })
        .result;
    const many = flood('10.0.0.0/16:1000-1063');
    const one = flood('10.0.0.1:1000-1063');
    expect(many.flows[0]!.tuples).toBe(65536 * 64);
    expect(many.flows[0]!.rx_queues).toEqual([0, 1, 2, 3]);
    expect(one.flows[0]!.rx_queues).toHaveLength(1);
    expect(many.packets.offered).toBe(one.packets.offered);
  });

  it('refuses ranges where one endpoint is meant: a TCP connection, a listening socket, more tuples than a flow can index', () => {
    const tcp = { flows: [{ name: 't', proto: 'tcp', src: '10.0.0.0/24:40000', dst: '10.0.0.2:5201' }] };
    expect(inputError(() => loadScenarioObject(scenario(tcp)))).toMatch(/^flows\[0\]\.src: an address range is for open-loop \(udp\) generators/);
    const listen = { apps: [{ name: 's', kind: 'udp-sink', listen: '10.0.0.0/30:9', cpus: '1' }] };
    expect(inputError(() => loadScenarioObject(scenario(listen)))).toMatch(/^apps\[0\]\.listen: a socket listens on one address/);
    const huge = { flows: [{ name: 'f', proto: 'udp', src: '10.0.0.0/8:1-65535', dst: '10.1.0.2:9', rate: '1mpps', size: 64 }] };
    expect(inputError(() => loadScenarioObject(scenario(huge)))).toMatch(/^flows\[0\]\.src: .* is 1099494850560 5-tuples; a flow may cycle through at most 2147483647/);
  });
});
