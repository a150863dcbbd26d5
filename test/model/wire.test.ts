import { describe, expect, it } from 'vitest';
import { run } from '../helpers.ts';

const flood = (size: number | string, extra: Record<string, unknown> = {}) =>
  run({
    duration_ms: 2,
    nics: [{ name: 'eth0', channels: { combined: 1 }, mtu: 1500, ...extra }],
    flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rate: 'line', size }],
  }).kernel;

describe('the wire', () => {
  it('carries 14.88 Mpps of 64-byte frames at 10 Gbit/s (67.2 ns each with preamble and gap)', () => {
    const k = flood(64);
    expect(Math.abs(k.nics[0]!.wire.frames - 14_880_952 * 0.002)).toBeLessThanOrEqual(1);
  });

  it('carries 812,744 pps of 1518-byte frames at 10 Gbit/s (1230.4 ns each)', () => {
    const k = flood('mtu');
    expect(Math.abs(k.nics[0]!.wire.frames - 812_744 * 0.002)).toBeLessThanOrEqual(1);
  });

  it('jumbo frames: MTU 9000 gives 9018-byte frames at about 138 kpps', () => {
    const k = flood('mtu', { mtu: 9000 });
    expect(Math.abs(k.nics[0]!.wire.frames - (10e9 / ((9018 + 20) * 8)) * 0.002)).toBeLessThanOrEqual(1);
  });

  it('interleaves flows by time and serialises them at line rate; excess is dropped upstream', () => {
    const { result } = run({
      duration_ms: 4,
      nics: [{ name: 'eth0', channels: { combined: 2 } }],
      flows: [
        { name: 'a', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rate: '6gbit', size: 1000 },
        { name: 'b', proto: 'udp', src: '10.0.0.3:1', dst: '10.0.0.2:2', rate: '6gbit', size: 1000 },
      ],
    });
    expect(result.packets.dropped.wire).toBeGreaterThan(0);
    // The wire carries at most the line rate: 10 Gbit/s of (1000 + 20)-byte wire frames.
    expect(result.flows[0]!.offered + result.flows[1]!.offered - result.packets.dropped.wire!).toBeLessThanOrEqual(Math.ceil((10e9 / (1020 * 8)) * 0.004) + 2);
  });

  it('IPv6 flows are hashed on 16-byte addresses and delivered', () => {
    const { result } = run({
      duration_ms: 2,
      cpus: 4,
      nics: [{ name: 'eth0', channels: { combined: 4 }, rss: { hkey: '6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa' } }],
      flows: [{ name: 'v6', proto: 'tcp', src: '[3ffe:2501:200:1fff::7]:2794', dst: '[3ffe:2501:200:3::1]:1766', rate: '100kpps', size: 200 }],
      // A listener on the IPv6 destination (without one, tcp_v4_rcv's RST would stop the sender).
      apps: [{ name: 'reader', kind: 'stream-reader', listen: '[3ffe:2501:200:3::1]:1766', cpus: '2' }],
    });
    expect(result.flows[0]!.rss_hash).toBe('0x40207d3d'); // Microsoft's table, IPv6 with TCP ports
    expect(result.flows[0]!.rx_queues).toEqual([0x40207d3d & 127 & 3]);
    expect(result.packets.delivered).toBeGreaterThan(100);
  });

  it('on-off arrivals send bursts at the rate with gaps between', () => {
    const { kernel } = run({
      duration_ms: 1,
      nics: [{ name: 'eth0', channels: { combined: 1 } }],
      flows: [{ name: 'b', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rate: 'line', size: 64, arrival: 'onoff', burst: 100, gap_us: 93.28 }],
    });
    // Each cycle: 100 frames x 67.2 ns + 93.28 us = 100 us → 10 bursts in 1 ms.
    expect(Math.abs(kernel.nics[0]!.wire.frames - 1000)).toBeLessThanOrEqual(100);
  });
});

describe('ice adaptive ITR (net_dim)', () => {
  it('changes the interval under load', () => {
    const { result } = run({
      duration_ms: 30,
      nics: [{ name: 'eth0', driver: 'ice', channels: { combined: 1 } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rate: '300kpps', size: 'mtu', arrival: 'poisson' }],
    });
    expect(result.nics[0]!.queues[0]!.itr_updates).toBeGreaterThan(0);
    expect(result.nics[0]!.queues[0]!.itr_usecs).not.toBe(50);
  });
});
