import { describe, expect, it } from 'vitest';
import { run } from '../helpers.ts';

/**
 * The SNMP MIB counters count what the kernel counts: ip_rcv_core counts IPSTATS_MIB_IN once per
 * skb — a GRO aggregate is one — and only InNoECTPkts adds its gso_segs; tcp_v4_rcv counts
 * TCP_MIB_INSEGS per skb, ip_protocol_deliver_rcu IPSTATS_MIB_INDELIVERS per skb.
 */
describe('nstat units', () => {
  const tcp = run({
    duration_ms: 10,
    warmup_ms: 2,
    nics: [{ name: 'eth0', channels: { combined: 1 } }],
    apps: [{ name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1' }],
    flows: [{ name: 'iperf3', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 30 }],
  }).result;

  it('a GRO aggregate is one IpInReceives, one TcpInSegs, one IpInDelivers', () => {
    expect(tcp.gro.merged).toBeGreaterThan(1000);
    // Every pass through __netif_receive_skb_core on the host path reaches ip_rcv once.
    expect(tcp.nstat.IpInReceives).toBe(tcp.stack.processed);
    expect(tcp.nstat.TcpInSegs).toBe(tcp.nstat.IpInReceives);
    expect(tcp.nstat.IpInDelivers).toBe(tcp.nstat.IpInReceives);
  });

  it('IpExtInNoECTPkts counts the segments inside them', () => {
    const segsPerSkb = tcp.nstat.IpExtInNoECTPkts! / tcp.nstat.IpInReceives!;
    expect(segsPerSkb).toBeGreaterThan(5);
    expect(Math.abs(tcp.nstat.IpExtInNoECTPkts! - tcp.packets.delivered) / tcp.packets.delivered).toBeLessThan(0.05);
  });

  it('without GRO (UDP) skbs and segments are the same count', () => {
    const udp = run({ duration_ms: 4, flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '200kpps', size: 64 }] }).result;
    expect(udp.nstat.IpInReceives).toBeGreaterThan(500);
    expect(udp.nstat.IpExtInNoECTPkts).toBe(udp.nstat.IpInReceives);
  });
});
