import { describe, expect, it } from 'vitest';
import { frameTruesize } from '../../src/model/socket.ts';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import { Kernel } from '../../src/model/kernel.ts';
import { PacketPool } from '../../src/model/packet.ts';
import { simulate } from '../../src/model/simulate.ts';
import { RxBatch } from '../../src/model/rx-batch.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';

/** Readers (tasks that recvmsg) and what they do to steering, locality and the sender. */

const TCP_FLOW = { name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rtt_us: 50 };
const READER = { name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201' };

function run(sc: Record<string, unknown>): { r: Result; k: Kernel } {
  const k = simulate(loadScenarioObject({ name: 'apps', duration_ms: 30, warmup_ms: 10, cpus: 4, ...sc }).resolved);
  return { r: collectResult(k, 0), k };
}

const task = (r: Result, comm: string) => r.tasks.find((t) => t.comm === comm)!;

describe('stream-reader (tcp_recvmsg)', () => {
  it('reads every byte on its own CPU; sk_data_ready wakes it; the copy hits the LLC though the stack ran on the IRQ CPU (DDIO)', () => {
    const { r } = run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ ...READER, cpus: '2' }],
      flows: [TCP_FLOW],
    });
    const f = r.flows[0]!;
    expect(f.goodput_gbps).toBeGreaterThan(9);
    expect(f.dropped).toBe(0);
    const t = task(r, 'iperf3');
    expect(t.cpu).toBe(2);
    expect(t.wakeups).toBeGreaterThan(50);
    expect(t.sys_ms).toBeGreaterThan(1);
    const sock = r.sockets[0]!;
    expect(sock.app).toBe('iperf3');
    // The payload is where the NIC's DMA put it: in the LLC (DDIO), read long before 2 MiB of
    // later frames could evict it. Which CPU ran tcp_v4_rcv does not matter (ddio.ts).
    expect(sock.copied_llc_pct).toBe(100);
    // The reader copied what the flow delivered in the window (payload), within one read.
    const windowBytes = (f.goodput_gbps * 1e9 * (r.sim.window_ns / 1e9)) / 8;
    expect(Math.abs(sock.copied_bytes - windowBytes)).toBeLessThan(131072 + 65536);
  });

  it('on the IRQ CPU the softirq that interrupts the reader is charged to it (the Iron effect)', () => {
    // A reader that is busy with its data (CPU-bound) is running when the interrupts come.
    const { r } = run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '1' } }],
      apps: [{ ...READER, cpus: '1', user_ns_per_kb: 1500 }],
      flows: [TCP_FLOW],
    });
    const t = task(r, 'iperf3');
    expect(t.soft_ms).toBeGreaterThan(0.1);
    expect(t.irq_ms).toBeGreaterThan(0);
  });

  it('RFS steers the protocol pass to the CPU where the reader runs, with an IPI per batch', () => {
    const { r } = run({
      sysctl: { 'net.core.rps_sock_flow_entries': 32768 },
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' }, queues: { 'rx-0': { rps_flow_cnt: 4096 } } }],
      apps: [{ ...READER, cpus: '2' }],
      flows: [TCP_FLOW],
    });
    expect(r.ipis[0]!.sent).toBeGreaterThan(10);
    expect(r.ipis[2]!.received).toBe(r.ipis[0]!.sent);
    expect(r.flows[0]!.goodput_gbps).toBeGreaterThan(9);
  });

  it('RFS follows a reader that moves (taskset at run time), after the old CPU drained what it had queued', () => {
    const { r, k } = run({
      duration_ms: 40,
      sysctl: { 'net.core.rps_sock_flow_entries': 32768 },
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' }, queues: { 'rx-0': { rps_flow_cnt: 4096 } } }],
      apps: [{ ...READER, cpus: '1' }],
      flows: [TCP_FLOW],
      timeline: [{ at_ms: 25, apply: ['taskset -pc 3 iperf3'] }],
    });
    const sd = k.softnet;
    expect(sd[1]!.processed).toBeGreaterThan(100);
    expect(sd[3]!.processed).toBeGreaterThan(100);
    expect(task(r, 'iperf3').cpu).toBe(3);
    expect(task(r, 'iperf3').migrations).toBeGreaterThanOrEqual(1);
    expect(r.flows[0]!.dropped).toBe(0);
  });

  it('aRFS (ntuple on, a driver with ndo_rx_flow_steer) moves the flow to the RX queue whose IRQ is on the reader CPU', () => {
    const sc = (driver: string) => ({
      warmup_ms: 0, // the filter is installed at the flow's first packets
      sysctl: { 'net.core.rps_sock_flow_entries': 32768 },
      nics: [
        {
          name: 'eth0',
          driver,
          channels: { combined: 4 },
          features: { gro: 'on', rxhash: 'on', ntuple: 'on' },
          queues: Object.fromEntries([0, 1, 2, 3].map((q) => [`rx-${q}`, { rps_flow_cnt: 4096 }])),
        },
      ],
      apps: [{ ...READER, cpus: '3' }],
      flows: [{ ...TCP_FLOW, src: '10.0.0.1:40001' }],
    });
    const ice = run(sc('ice'));
    expect(ice.r.nics[0]!.arfs_steered).toBe(1);
    expect(ice.r.flows[0]!.rx_queues).toEqual([3]); // RSS put it on rx-2; the filter moved it
    const q3 = ice.r.nics[0]!.queues[3]!;
    expect(q3.irq_cpu).toBe(3);
    expect(q3.packets).toBeGreaterThan(0.99 * ice.r.flows[0]!.offered);
    // Only the first packets (before the filter) crossed CPUs with an IPI; the rest is processed where it lands.
    expect(ice.r.ipis[2]!.sent).toBeLessThan(5);
    const ixgbe = run(sc('ixgbe'));
    expect(ixgbe.r.nics[0]!.arfs_steered).toBe(0);
    expect(ixgbe.r.warnings.some((w) => w.includes('ndo_rx_flow_steer'))).toBe(true);
  });

  it('a slow reader lowers the throughput of the TCP flow without losses (window updates restart the sender)', () => {
    const { r } = run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ ...READER, cpus: '1', rate: '2gbit' }],
      flows: [TCP_FLOW],
    });
    const f = r.flows[0]!;
    expect(f.goodput_gbps).toBeGreaterThan(1.85);
    expect(f.goodput_gbps).toBeLessThan(2.1);
    expect(f.dropped).toBe(0);
    expect(f.retransmits).toBe(0);
    expect(r.nstat.TcpExtTCPRcvQDrop).toBe(0);
  });

  it('a reader busy with its data (user_ns_per_kb) is CPU-bound: user time, and the flow slows to what it can read', () => {
    const { r } = run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ ...READER, cpus: '1', user_ns_per_kb: 2000 }],
      flows: [TCP_FLOW],
    });
    const t = task(r, 'iperf3');
    expect(r.cpus[1]!.idle).toBeLessThan(1);
    expect(t.usr_ms).toBeGreaterThan(10);
    // ≈2.2 µs per KiB in all: about 3.7 Gbit/s.
    expect(r.flows[0]!.goodput_gbps).toBeGreaterThan(3);
    expect(r.flows[0]!.goodput_gbps).toBeLessThan(4.2);
    expect(r.flows[0]!.dropped).toBe(0);
  });
});

describe('the socket lock and its backlog (tcp_add_backlog)', () => {
  /**
   * A kernel whose reader owns the socket, fed 200 in-sequence full segments through the stack;
   * `tsval(i)` is each one's TCP timestamp. Returns after each segment whether nothing was
   * dropped yet.
   */
  function ownedSocketFed(tsval: (i: number) => number) {
    const { resolved } = loadScenarioObject({ name: 'lock', duration_ms: 1, cpus: 1, nics: [{ name: 'eth0' }], apps: [READER], flows: [TCP_FLOW] });
    const k = new Kernel(resolved);
    const sock = k.sockets.sockets[0]!;
    sock.owned = true;
    const pool: PacketPool = k.pool;
    const limit = 2 * sock.rcvbuf + 8192 + 65536;
    let accepted = 0;
    for (let i = 0; i < 200; i++) {
      const row = pool.alloc();
      pool.flow[row] = 0;
      pool.size[row] = 1518;
      pool.seq[row] = i * 1448;
      pool.len[row] = pool.payload[row] = 1448;
      pool.truesize[row] = frameTruesize(1518);
      pool.tsval[row] = tsval(i);
      const batch = new RxBatch();
      k.path.planPass(batch, row, 0);
      k.path.commit(k.cpus[0]!, batch);
      if (sock.counters.backlogDrop === 0) accepted++;
    }
    return { k, sock, limit, accepted };
  }

  it('while a reader owns the socket, softirq queues on the backlog up to 2·rcvbuf + sndbuf/2 + 64 KB, then drops (TCPBacklogDrop)', () => {
    // A new TSval each time: the option words differ, so nothing coalesces.
    const { k, sock, limit, accepted } = ownedSocketFed((i) => i);
    // sk_rcvqueues_full() checks what is queued before this skb: the limit is crossed by one.
    expect(accepted).toBe(Math.floor(limit / frameTruesize(1518)) + 1);
    expect(sock.backlog.length).toBe(accepted);
    expect(sock.counters.backlogDrop).toBe(200 - accepted);
    expect(k.snmp.TcpExtTCPBacklogDrop).toBe(200 - accepted);
    expect(sock.queue.length).toBe(0); // nothing reached the receive queue while owned
  });

  it('tcp_add_backlog coalesces a continuing skb with the same options into the tail (up to MAX_SKB_FRAGS), even past the limit', () => {
    const { k, sock, limit } = ownedSocketFed(() => 7); // one millisecond: the same TCP options
    // 18 segments per backlog skb (its head and MAX_SKB_FRAGS 17 frags). The 10th skb is admitted
    // below the limit (9 × 18 segments) and keeps coalescing past it to 18; the 11th needs a new
    // skb over the limit and is dropped, and every later one no longer continues the tail: 10
    // skbs, 170 coalesced, 20 dropped.
    expect(sock.backlog.length).toBe(10);
    expect(k.snmp.TcpExtTCPBacklogCoalesce).toBe(170);
    expect(sock.counters.backlogDrop).toBe(20);
    // Each coalesced skb adds its buffers, not its sk_buff, to the backlog's memory.
    expect(sock.backlogBytes).toBe(180 * frameTruesize(1518) - 170 * 256);
    expect(sock.backlogBytes).toBeGreaterThan(limit);
    expect(9 * 18 * frameTruesize(1518) - 9 * 17 * 256).toBeLessThanOrEqual(limit);
  });
});

describe('udp-sink (udp_recvmsg / recvmmsg)', () => {
  const flood = { name: 'u', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '1mpps', size: 128 };

  it('reads datagrams in batches and counts them in UdpInDatagrams when read', () => {
    const { r } = run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1', batch: 16 }],
      flows: [flood],
    });
    expect(r.flows[0]!.dropped).toBe(0);
    expect(r.nstat.UdpInDatagrams).toBeGreaterThan(0.99 * r.flows[0]!.offered);
    const t = task(r, 'sink');
    // Batches of up to 16: far fewer wakeups than datagrams.
    expect(t.wakeups).toBeLessThan(r.nstat.UdpInDatagrams! / 2);
  });

  it('a sink starved on the IRQ CPU under a flood overflows its buffer (RcvbufErrors); on another CPU it keeps up', () => {
    const heavy = { ...flood, rate: '1.2mpps' };
    const same = run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '0' }],
      flows: [heavy],
    }).r;
    const other = run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }],
      flows: [heavy],
    }).r;
    expect(same.nstat.UdpRcvbufErrors).toBeGreaterThan(0.1 * same.flows[0]!.offered);
    // nstat counts drops in the window; packets.dropped the packets that arrived in it.
    expect(Math.abs(same.packets.dropped.socket! - same.nstat.UdpRcvbufErrors!)).toBeLessThan(0.01 * same.nstat.UdpRcvbufErrors!);
    expect(other.nstat.UdpRcvbufErrors).toBe(0);
  });
});

describe('stream-writer over a veth pair (path veth-local)', () => {
  const local = (extra: Record<string, unknown> = {}) =>
    run({
      nics: [{ name: 'eth0' }],
      apps: [
        { name: 'client', kind: 'stream-writer', cpus: '1' },
        { name: 'server', kind: 'stream-reader', listen: '10.244.0.5:5201', cpus: '2' },
      ],
      flows: [{ name: 'pod2pod', proto: 'tcp', src: '10.244.0.4:40000', dst: '10.244.0.5:5201', path: 'veth-local', sender: 'client' }],
      ...extra,
    });

  it("the writer's CPU runs the receive side at local_bh_enable, as softirq time charged to the writer", () => {
    const { r, k } = local();
    const f = r.flows[0]!;
    expect(f.dropped).toBe(0);
    expect(f.delivered).toBeGreaterThan(0.99 * f.offered);
    expect(f.goodput_gbps).toBeGreaterThan(10);
    expect(k.softnet[1]!.processed).toBeGreaterThan(1000);
    expect(k.softnet.filter((_, c) => c !== 1).every((sd) => sd.processed === 0)).toBe(true);
    const client = task(r, 'client');
    expect(client.soft_ms).toBeGreaterThan(0.5);
    expect(r.cpus[1]!.soft).toBeGreaterThan(1);
    expect(r.interrupts.total).toBe(0); // no NIC involved
    expect(r.ipis.every((x) => x.sent === 0)).toBe(true);
    expect(f.rx_queues).toEqual([]);
    // GSO: one skb per 64 KB, not per segment.
    expect(k.softnet[1]!.processed).toBeLessThan(f.offered / 20);
  });

  it('with rps_cpus on the veth, the receive side moves to the RPS CPU, kicked by IPIs from the writer', () => {
    const { r, k } = local({ veth: { gro: 'off', rps_cpus: '8' } });
    expect(k.softnet[3]!.processed).toBeGreaterThan(1000);
    expect(k.softnet[1]!.processed).toBe(0);
    expect(r.ipis[1]!.sent).toBeGreaterThan(100);
    expect(r.ipis[3]!.received).toBe(r.ipis[1]!.sent);
    expect(r.cpus[3]!.soft).toBeGreaterThan(1);
    expect(r.flows[0]!.dropped).toBe(0);
  });

  it('rejects a veth-local flow without a stream-writer sender, and a sender on a wire flow', () => {
    const base = { name: 'x', duration_ms: 1, nics: [{ name: 'eth0' }], apps: [{ name: 'client', kind: 'stream-writer' }] };
    expect(() => loadScenarioObject({ ...base, flows: [{ name: 'f', proto: 'tcp', src: '10.0.0.1:1', dst: '10.0.0.2:2', path: 'veth-local' }] })).toThrow(/flows\[0\]\.sender/);
    expect(() => loadScenarioObject({ ...base, flows: [{ name: 'f', proto: 'tcp', src: '10.0.0.1:1', dst: '10.0.0.2:2', path: 'veth-local', sender: 'clinet' }] })).toThrow(/did you mean "client"/);
    expect(() => loadScenarioObject({ ...base, flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', path: 'veth-local', sender: 'client' }] })).toThrow(/flows\[0\]\.proto/);
    expect(() => loadScenarioObject({ ...base, flows: [{ name: 'f', proto: 'tcp', src: '10.0.0.1:1', dst: '10.0.0.2:2', sender: 'client' }] })).toThrow(/only a veth-local flow/);
  });
});

describe('rr-server and closed-loop request/response clients', () => {
  const rr = (extra: { flows?: unknown[]; serverCpu?: string; concurrency?: number } = {}) =>
    run({
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' }, coalesce: { 'rx-usecs': 0 } }],
      apps: [{ name: 'server', kind: 'rr-server', listen: '10.0.0.2:11211', cpus: extra.serverCpu ?? '1', service_us: 5 }],
      flows: [{ name: 'client', proto: 'udp', src: '10.0.0.1:40000', dst: '10.0.0.2:11211', size: 128, rtt_us: 20, rr: { concurrency: extra.concurrency ?? 1 } }, ...(extra.flows ?? [])],
    }).r;

  it("a closed loop obeys Little's law: transactions/s × mean latency = transactions in flight", () => {
    for (const n of [1, 4]) {
      const x = rr({ concurrency: n }).rr[0]!;
      expect(x.transactions).toBeGreaterThan(100);
      const inFlight = (x.transactions_per_sec * x.latency_us.mean!) / 1e6;
      expect(Math.abs(inFlight - n) / n).toBeLessThan(0.02);
      // At least the RTT and the service time.
      expect(x.latency_us.p50!).toBeGreaterThan(25);
    }
  });

  it('one transaction in flight: the latency is the RTT plus the server path, a few tens of µs', () => {
    const r = rr();
    const x = r.rr[0]!;
    expect(x.latency_us.p50!).toBeGreaterThan(25);
    expect(x.latency_us.p50!).toBeLessThan(60);
    expect(r.nstat.UdpOutDatagrams).toBeGreaterThan(0.99 * x.transactions);
  });

  it('a flood sharing the server CPU stretches the tail: softirq runs first, the server waits', () => {
    const flood = { name: 'flood', proto: 'udp', src: '10.0.9.1:1000', dst: '10.0.0.2:9', rate: '500kpps', size: 64 };
    const quiet = rr({ serverCpu: '0' }).rr[0]!;
    const loaded = rr({ serverCpu: '0', flows: [flood] }).rr[0]!;
    expect(loaded.latency_us.p99!).toBeGreaterThan(1.5 * quiet.latency_us.p99!);
    expect(loaded.transactions_per_sec).toBeLessThan(quiet.transactions_per_sec);
  });

  it('rejects request/response over TCP, and warns when no rr-server answers', () => {
    const base = { name: 'x', duration_ms: 1, nics: [{ name: 'eth0' }] };
    expect(() => loadScenarioObject({ ...base, flows: [{ name: 'f', proto: 'tcp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rr: {} }] })).toThrow(/flows\[0\]\.rr.*UDP/);
    const { resolved } = loadScenarioObject({ ...base, flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rr: {} }] });
    expect(resolved.warnings.some((w) => w.includes('no rr-server listens'))).toBe(true);
  });
});
