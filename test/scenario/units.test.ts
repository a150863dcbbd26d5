import { describe, expect, it } from 'vitest';
import { ValueError } from '../../src/scenario/errors.ts';
import { formatCpuList, formatCpuMask, parseCpuList, parseCpuMask, parseCpuMax, parseEndpoint, parseHexKey, parseRate } from '../../src/scenario/units.ts';

describe('kernel value forms', () => {
  it('CPU lists as in smp_affinity_list and cpuset.cpus', () => {
    expect(parseCpuList('0-3,8')).toEqual([0, 1, 2, 3, 8]);
    expect(parseCpuList('2')).toEqual([2]);
    expect(parseCpuList('0-6:2')).toEqual([0, 2, 4, 6]);
    expect(parseCpuList('')).toEqual([]);
    expect(formatCpuList([8, 0, 1, 2, 3, 5])).toBe('0-3,5,8');
    expect(() => parseCpuList('0-')).toThrow(ValueError);
    expect(() => parseCpuList('3-1')).toThrow(ValueError);
  });

  it('hex CPU bitmaps as sysfs prints them', () => {
    expect(parseCpuMask('f')).toEqual([0, 1, 2, 3]);
    expect(parseCpuMask('0x10')).toEqual([4]);
    expect(parseCpuMask('1,00000001')).toEqual([0, 32]);
    expect(parseCpuMask('0')).toEqual([]);
    expect(formatCpuMask([0, 1, 2, 3], 4)).toBe('f');
    expect(formatCpuMask([0, 33], 40)).toBe('02,00000001');
    expect(() => parseCpuMask('g')).toThrow(ValueError);
  });

  it('rates: line, tc bit units, packet rates; "gbps" is refused as ambiguous', () => {
    expect(parseRate('line')).toEqual({ kind: 'line' });
    expect(parseRate('5gbit')).toEqual({ kind: 'bits', bitsPerSec: 5e9 });
    expect(parseRate('800mbit')).toEqual({ kind: 'bits', bitsPerSec: 8e8 });
    expect(parseRate('1.5mpps')).toEqual({ kind: 'packets', perSec: 1.5e6 });
    expect(parseRate('2000pps')).toEqual({ kind: 'packets', perSec: 2000 });
    expect(() => parseRate('10gbps')).toThrow(/ambiguous/);
    expect(() => parseRate('fast')).toThrow(ValueError);
  });

  it('endpoints: IPv4, bracketed IPv6, port ranges', () => {
    const v4 = parseEndpoint('10.0.0.1:5201');
    expect([v4.family, [...v4.addr], v4.port, v4.portHi]).toEqual([4, [10, 0, 0, 1], 5201, 5201]);
    const v6 = parseEndpoint('[2001:db8::1]:80');
    expect(v6.family).toBe(6);
    expect(v6.addr.length).toBe(16);
    expect(v6.addr[15]).toBe(1);
    expect(parseEndpoint('10.0.0.1:1000-1063').portHi).toBe(1063);
    expect(() => parseEndpoint('10.0.0.1')).toThrow(ValueError);
    expect(() => parseEndpoint('10.0.0.256:1')).toThrow(ValueError);
    expect(() => parseEndpoint('10.0.0.1:70000')).toThrow(/65535/);
    expect(() => parseEndpoint('10.0.0.1:9-3')).toThrow(/empty/);
  });

  it('cpu.max with the kernel limits', () => {
    expect(parseCpuMax('max')).toEqual({ quotaUs: null, periodUs: 100000 });
    expect(parseCpuMax('50000 100000')).toEqual({ quotaUs: 50000, periodUs: 100000 });
    expect(() => parseCpuMax('500 100000')).toThrow(/minimum of 1000/);
    expect(() => parseCpuMax('max 100')).toThrow(/1000\.\.1000000/);
    expect(() => parseCpuMax('half')).toThrow(ValueError);
  });

  it('RSS keys in ethtool hkey form or plain hex', () => {
    expect([...parseHexKey('6d:5a:0c')]).toEqual([0x6d, 0x5a, 0x0c]);
    expect([...parseHexKey('6d5a')]).toEqual([0x6d, 0x5a]);
    expect(() => parseHexKey('6d:zz')).toThrow(ValueError);
  });
});
