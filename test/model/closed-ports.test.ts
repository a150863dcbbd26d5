import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/metrics/result.ts';
import { resolve, run } from '../helpers.ts';

/**
 * A port with no socket (net/ipv4/udp.c __udp4_lib_rcv, net/ipv4/tcp_ipv4.c tcp_v4_rcv): the
 * datagram counts UdpNoPorts, draws an ICMP port unreachable under icmp_send's two limits
 * (net/ipv4/icmp.c icmp_global_allow, icmpv4_xrlim_allow) and is freed with
 * SKB_DROP_REASON_NO_SOCKET; a TCP segment draws a RST (tcp_v4_send_reset) that stops its sender.
 * Before, every flow got a socket drained at once: UdpInDatagrams counted it and it was delivered.
 */

const dropped = (r: Result): number => Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);

describe('UDP to a port with no socket', () => {
  const closed = run({ duration_ms: 10, warmup_ms: 2 }).result;

  it('counts UdpNoPorts per skb, never UdpInDatagrams, and delivers nothing', () => {
    expect(closed.nstat.UdpNoPorts).toBeGreaterThan(700);
    // Every datagram ip_protocol_deliver_rcu handed to udp_rcv found no socket.
    expect(closed.nstat.UdpNoPorts).toBe(closed.nstat.IpInDelivers);
    expect(closed.nstat.UdpInDatagrams).toBe(0);
    expect(closed.packets.delivered).toBe(0);
    expect(closed.throughput.delivered_pps).toBe(0);
    expect(closed.sockets).toEqual([]);
  });

  it('frees the skb with SKB_DROP_REASON_NO_SOCKET in __udp4_lib_rcv, and conservation holds', () => {
    const row = closed.drop_reasons.find((d) => d.reason === 'SKB_DROP_REASON_NO_SOCKET');
    expect(row).toMatchObject({ location: '__udp4_lib_rcv' });
    expect(row!.packets).toBe(closed.packets.dropped.no_socket);
    expect(closed.packets.dropped.no_socket).toBeGreaterThan(700);
    expect(closed.packets.offered).toBe(closed.packets.delivered + dropped(closed) + closed.packets.in_flight);
  });

  it('a bound udp-sink takes the same datagrams: UdpInDatagrams, no UdpNoPorts', () => {
    const open = run({ duration_ms: 10, warmup_ms: 2, apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }] }).result;
    expect(open.nstat.UdpNoPorts).toBe(0);
    expect(open.nstat.IcmpOutRateLimitHost).toBe(0);
    expect(open.nstat.UdpInDatagrams).toBeGreaterThan(700);
    expect(open.packets.dropped.no_socket).toBe(0);
    expect(open.packets.delivered).toBeGreaterThan(700);
  });

  it('every icmp_send ends in one of three ways: sent, refused globally, refused for the host', () => {
    const n = closed.nstat;
    expect(n.IcmpOutMsgs! + n.IcmpOutRateLimitGlobal! + n.IcmpOutRateLimitHost!).toBe(n.UdpNoPorts);
    expect(n.IcmpOutDestUnreachs).toBe(n.IcmpOutMsgs);
    expect(n.IcmpMsgOutType3).toBe(n.IcmpOutMsgs);
  });
});

describe('icmp_send rate limits', () => {
  /** A flood to a closed port over `ms` ms, all of it in the window. */
  const flood = (ms: number, src: string, sysctl: Record<string, number> = {}, rate = '100kpps') =>
    run({ duration_ms: ms, warmup_ms: 0, sysctl, flows: [{ name: 'f', proto: 'udp', src, dst: '10.0.0.2:9', rate, size: 64 }] }).result;

  it('one source: its inet_peer allows XRLIM_BURST_FACTOR (6) at once, then one per icmp_ratelimit', () => {
    // icmp_ratelimit 10 ms = 10 jiffies at HZ 1000: 6 at the first datagram, then one every 10 ms.
    const r = flood(200, '10.0.0.1:1000', { 'net.ipv4.icmp_ratelimit': 10 });
    const first = 6;
    const later = Math.floor(200 / 10);
    expect(r.nstat.IcmpOutMsgs).toBeGreaterThanOrEqual(first + later - 1);
    expect(r.nstat.IcmpOutMsgs).toBeLessThanOrEqual(first + later);
    expect(r.nstat.IcmpOutRateLimitGlobal).toBe(0);
    expect(r.nstat.IcmpOutRateLimitHost).toBe(r.nstat.UdpNoPorts! - r.nstat.IcmpOutMsgs!);
  });

  it('the default icmp_ratelimit (1000 ms): six replies to a source in the first second', () => {
    const r = flood(100, '10.0.0.1:1000');
    expect(r.nstat.IcmpOutMsgs).toBe(6);
  });

  // Sources from a /16: every datagram comes from a new inet_peer, so only the global bucket
  // limits. Its allowance over T seconds: icmp_msgs_burst at once, then icmp_msgs_per_sec a
  // second; each send takes 0, 1 or 2 credits (one on average, get_random_u32_below(3)).
  for (const [perSec, burst] of [
    [1000, 50],
    [500, 10],
    [2000, 200],
  ] as const) {
    it(`many sources: the global bucket sends about ${burst} + ${perSec}/s (icmp_msgs_per_sec ${perSec}, icmp_msgs_burst ${burst})`, () => {
      const ms = 300;
      const r = flood(ms, '10.1.0.0/16:1000', { 'net.ipv4.icmp_msgs_per_sec': perSec, 'net.ipv4.icmp_msgs_burst': burst });
      const allowance = burst + (perSec * ms) / 1000;
      expect(r.nstat.IcmpOutRateLimitHost).toBe(0);
      expect(r.nstat.IcmpOutMsgs).toBeGreaterThan(0.85 * allowance);
      expect(r.nstat.IcmpOutMsgs).toBeLessThan(1.15 * allowance);
      expect(r.nstat.IcmpOutRateLimitGlobal).toBe(r.nstat.UdpNoPorts! - r.nstat.IcmpOutMsgs!);
    });
  }

  it('icmp_ratemask without bit 3: destination unreachable is not limited at all', () => {
    const r = flood(20, '10.0.0.1:1000', { 'net.ipv4.icmp_ratemask': 6168 & ~(1 << 3) });
    expect(r.nstat.IcmpOutMsgs).toBe(r.nstat.UdpNoPorts);
    expect(r.nstat.IcmpOutRateLimitGlobal! + r.nstat.IcmpOutRateLimitHost!).toBe(0);
  });

  it('each ICMP sent costs the receiving CPU its transmit, in softirq', () => {
    const limited = flood(20, '10.0.0.1:1000');
    const unlimited = flood(20, '10.0.0.1:1000', { 'net.ipv4.icmp_ratemask': 0 });
    const busy = (r: Result) => r.cpus.reduce((a, c) => a + c.soft + c.ksoftirqd, 0);
    // 100 kpps × icmp_send (600 ns) = 6 % of a CPU more.
    const extra = busy(unlimited) - busy(limited);
    expect(extra).toBeGreaterThan(4);
    expect(extra).toBeLessThan(8);
  });
});

describe('TCP to a port with no socket', () => {
  const { result: r, kernel: k } = run({
    duration_ms: 10,
    warmup_ms: 0,
    flows: [{ name: 'c', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 20 }],
  });

  it('answers every segment with a RST: TcpOutRsts and TcpOutSegs, freed with NO_SOCKET in tcp_v4_rcv', () => {
    expect(r.nstat.TcpInSegs).toBeGreaterThan(0);
    expect(r.nstat.TcpOutRsts).toBe(r.nstat.TcpInSegs);
    expect(r.nstat.TcpOutSegs).toBe(r.nstat.TcpOutRsts);
    expect(r.drop_reasons).toEqual([expect.objectContaining({ reason: 'SKB_DROP_REASON_NO_SOCKET', location: 'tcp_v4_rcv' })]);
    expect(r.packets.delivered).toBe(0);
    expect(r.packets.offered).toBe(dropped(r) + r.packets.in_flight);
  });

  it('the sender stops at the RST: its initial window and nothing more', () => {
    const sender = k.sockets.senders[0]!;
    expect(sender.closed).toBe(true);
    // TCP_INIT_CWND segments went before the first RST came back one RTT later.
    expect(sender.segments).toBe(10);
    expect(r.packets.offered).toBe(10);
    expect(sender.nextPs).toBe(Infinity);
  });

  it('a local writer over veth is reset too and writes no more', () => {
    const { kernel: lk } = run({
      duration_ms: 5,
      warmup_ms: 0,
      nics: [{ name: 'eth0' }],
      apps: [{ name: 'client', kind: 'stream-writer', cpus: '1' }],
      flows: [{ name: 'pod2pod', proto: 'tcp', src: '10.244.0.4:40000', dst: '10.244.0.5:5201', path: 'veth-local', sender: 'client' }],
    });
    const local = lk.sockets.localSenders[0]!;
    expect(local.closed).toBe(true);
    expect(lk.snmp.TcpOutRsts).toBeGreaterThan(0);
    expect(lk.snmp.TcpOutRsts).toBeLessThanOrEqual(2);
  });
});

describe('warnings about closed ports', () => {
  it('a flood to a port nobody listens on is a choice, not a typo: no warning', () => {
    expect(resolve().warnings).toEqual([]);
    const tcp = resolve({ flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201' }] });
    expect(tcp.warnings).toEqual([]);
  });

  it('a flow that misses the only reader of its kind is named, with where the reader listens', () => {
    const r = resolve({
      flows: [
        { name: 'ok', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:5001', rate: '10kpps', size: 64 },
        { name: 'typo', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:5010', rate: '10kpps', size: 64 },
      ],
      apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:5001', cpus: '1' }],
    });
    expect(r.warnings).toEqual([
      'flows[1] "typo": no udp-sink listens on 10.0.0.2:5010 ("sink" on 10.0.0.2:5001 does); its packets are counted UdpNoPorts and answered with ICMP port unreachable (rate limited), then dropped (NO_SOCKET)',
    ]);
  });
});

describe('the replies leave through the NIC', () => {
  it('each port unreachable sent is a frame on the TX ring: 42 bytes of headers and the 46-byte datagram it quotes', () => {
    const r = run({ duration_ms: 30, warmup_ms: 0, flows: [{ name: 'f', proto: 'udp', src: '10.1.0.0/16:1000', dst: '10.0.0.2:9', rate: '100kpps', size: 64 }] }).result;
    const eth = r.ethtool_S.eth0!;
    expect(r.nstat.IcmpOutMsgs).toBeGreaterThan(50);
    expect(eth.tx_packets).toBe(r.nstat.IcmpOutMsgs);
    expect(eth.tx_bytes).toBe(r.nstat.IcmpOutMsgs! * (14 + 20 + 8 + 46));
  });

  it('each RST is a 54-byte frame on the TX ring', () => {
    const r = run({ duration_ms: 5, warmup_ms: 0, flows: [{ name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 20 }] }).result;
    const eth = r.ethtool_S.eth0!;
    expect(r.nstat.TcpOutRsts).toBeGreaterThan(0);
    expect(eth.tx_packets).toBe(r.nstat.TcpOutRsts);
    expect(eth.tx_bytes).toBe(r.nstat.TcpOutRsts! * 54);
  });
});
