import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import type { TraceHooks } from '../../src/model/trace-hooks.ts';
import { checkRxPages } from '../helpers.ts';

/** Random but valid scenarios: drivers, queues, rings, moderation, modes, mixes of flows and a competing task. */
const scenarioArb = fc
  .record({
    cpus: fc.integer({ min: 1, max: 4 }),
    driver: fc.constantFrom('ixgbe', 'ice', 'generic'),
    queues: fc.integer({ min: 1, max: 4 }),
    ring: fc.constantFrom(64, 128, 256, 512, 1024),
    rxUsecs: fc.constantFrom(0, 2, 10, 50, 100),
    rxMode: fc.constantFrom('napi', 'napi', 'netif_rx'),
    threaded: fc.constantFrom(0, 0, 1),
    defer: fc.boolean(),
    softirqMode: fc.constantFrom('inline', 'defer-to-ksoftirqd'),
    budget: fc.constantFrom(8, 64, 300),
    hog: fc.boolean(),
    warmup: fc.constantFrom(0, 0.5),
    gro: fc.constantFrom('on', 'on', 'off'),
    rps: fc.constantFrom('0', '0', 'f', '2'),
    rfs: fc.boolean(),
    vethGro: fc.constantFrom('on', 'off'),
    backlog: fc.constantFrom(100, 1000),
    flowLimit: fc.constantFrom('0', 'f'),
    conntrack: fc.boolean(),
    ntuple: fc.boolean(),
    tcpReader: fc.option(fc.record({ cpus: fc.constantFrom('0', '1', 'all'), recvSize: fc.constantFrom(16384, 131072), rate: fc.constantFrom(null, '1gbit'), work: fc.constantFrom(0, 200) }), {
      nil: null,
    }),
    udpReader: fc.option(fc.record({ cpus: fc.constantFrom('0', '1', 'all'), batch: fc.constantFrom(1, 8) }), { nil: null }),
    moveAt: fc.option(fc.constantFrom(0.7, 1.3), { nil: null }),
    sched: fc.constantFrom('eevdf', 'cfs'),
    idleExit: fc.constantFrom(0, 0, 5),
    irqTime: fc.boolean(),
    cgroup: fc.option(fc.record({ max: fc.constantFrom('max', '1000 2000', '20000 100000'), weight: fc.constantFrom(50, 100, 400), cpuset: fc.constantFrom('0', 'all') }), { nil: null }),
    localWriter: fc.option(fc.record({ cpus: fc.constantFrom('0', '1', 'all'), write: fc.constantFrom(16384, 131072) }), { nil: null }),
    flows: fc.array(
      fc.record({
        proto: fc.constantFrom('udp', 'udp', 'tcp'),
        path: fc.constantFrom('host', 'host', 'veth-bridge', 'vxlan-overlay'),
        rate: fc.constantFrom('20kpps', '300kpps', '2mpps', 'line', '3gbit'),
        size: fc.constantFrom<number | string>(64, 'mtu', 'imix', 300),
        arrival: fc.constantFrom('cbr', 'poisson', 'onoff'),
        ports: fc.constantFrom('1000', '1000-1007'),
        ip: fc.integer({ min: 1, max: 200 }),
        rtt: fc.constantFrom(10, 50, 300),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map((r) => ({
    name: 'prop',
    duration_ms: 2,
    warmup_ms: r.warmup,
    cpus: r.cpus,
    kernel: { hz: 1000, softirq_mode: r.softirqMode, sched: r.sched, idle_exit_us: r.idleExit, irq_time_accounting: r.irqTime },
    cgroups: r.cgroup ? { pod: { 'cpu.max': r.cgroup.max, 'cpu.weight': r.cgroup.weight, ...(r.cgroup.cpuset === 'all' ? {} : { 'cpuset.cpus': r.cgroup.cpuset }) } } : {},
    sysctl: {
      'net.core.netdev_budget': r.budget,
      'net.core.netdev_max_backlog': r.backlog,
      'net.core.flow_limit_cpu_bitmap': r.flowLimit === '0' ? '0' : ((1 << r.cpus) - 1).toString(16),
      'net.core.rps_sock_flow_entries': r.rfs ? 4096 : 0,
    },
    netfilter: { host: { conntrack: r.conntrack, nat: r.conntrack, rules: { FORWARD: 3 } }, container: { conntrack: false, nat: false, rules: {} } },
    veth: { gro: r.vethGro, rps_cpus: r.rps === '2' && r.cpus > 2 ? '2' : '0' },
    nics: [
      {
        name: 'eth0',
        driver: r.driver,
        channels: { combined: Math.min(r.queues, r.cpus) },
        ring: { rx: r.ring },
        coalesce: r.driver === 'generic' ? { 'rx-usecs': r.rxUsecs, 'rx-frames': 16 } : { 'rx-usecs': r.rxUsecs },
        rx_mode: r.rxMode,
        features: { gro: r.gro, rxhash: 'on', ntuple: r.ntuple && r.driver !== 'ixgbe' ? 'on' : 'off' },
        queues:
          r.rps !== '0' && r.cpus > 2
            ? { 'rx-0': { rps_cpus: (parseInt(r.rps, 16) & ((1 << r.cpus) - 1)).toString(16), rps_flow_cnt: r.rfs ? 256 : 0 } }
            : r.rfs
              ? { 'rx-0': { rps_flow_cnt: 256 } }
              : {},
        threaded: r.rxMode === 'napi' ? r.threaded : 0,
        napi_defer_hard_irqs: r.defer ? 2 : 0,
        gro_flush_timeout: r.defer ? 20000 : 0,
      },
    ],
    apps: [
      ...(r.hog ? [{ name: 'hog', kind: 'cpu-hog', cpus: '0', ...(r.cgroup ? { cgroup: 'pod' } : {}) }] : []),
      ...(r.tcpReader
        ? [
            {
              name: 'reader',
              kind: 'stream-reader',
              ...(r.cgroup && r.cgroup.cpuset === 'all' ? { cgroup: 'pod' } : {}),
              listen: '10.0.0.2:5201',
              recv_size: r.tcpReader.recvSize,
              user_ns_per_kb: r.tcpReader.work,
              ...(r.tcpReader.cpus === 'all' ? {} : { cpus: r.tcpReader.cpus === '1' && r.cpus > 1 ? '1' : '0' }),
              ...(r.tcpReader.rate ? { rate: r.tcpReader.rate } : {}),
            },
          ]
        : []),
      ...(r.udpReader
        ? [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', batch: r.udpReader.batch, ...(r.udpReader.cpus === 'all' ? {} : { cpus: r.udpReader.cpus === '1' && r.cpus > 1 ? '1' : '0' }) }]
        : []),
      ...(r.localWriter ? [{ name: 'client', kind: 'stream-writer', ...(r.localWriter.cpus === 'all' ? {} : { cpus: r.localWriter.cpus === '1' && r.cpus > 1 ? '1' : '0' }) }] : []),
    ],
    // Move the readers and the first queue's IRQ to the last CPU while running.
    timeline:
      r.moveAt === null || r.cpus < 2
        ? []
        : [
            {
              at_ms: r.moveAt,
              apply: [`echo ${r.cpus - 1} > /proc/irq/128/smp_affinity_list`, ...(r.tcpReader ? [`taskset -pc ${r.cpus - 1} reader`] : []), ...(r.udpReader ? [`taskset -pc ${r.cpus - 1} sink`] : [])],
            },
          ],
    flows: [
      ...(r.localWriter ? [{ name: 'local', proto: 'tcp', src: '10.244.0.4:40000', dst: '10.0.0.2:5201', path: 'veth-local', sender: 'client', write_size: r.localWriter.write }] : []),
      ...r.flows.map((f, i) =>
        f.proto === 'tcp'
          ? { name: `f${i}`, proto: 'tcp', src: `10.0.${i}.${f.ip}:4000${i}`, dst: '10.0.0.2:5201', rate: f.rate === 'line' ? 'line' : '3gbit', path: f.path, rtt_us: f.rtt }
          : {
              name: `f${i}`,
              proto: 'udp',
              src: `10.0.${i}.${f.ip}:${f.ports}`,
              dst: '10.0.0.2:9',
              rate: f.rate,
              size: f.path === 'vxlan-overlay' && f.size === 64 ? 300 : f.size,
              arrival: f.arrival,
              path: f.path,
              ...(f.arrival === 'onoff' ? { burst: 16, gap_us: 30 } : {}),
            },
      ),
    ],
  }));

const PROPS = { numRuns: 60, seed: 2026 };

describe('properties over random scenarios', () => {
  it('packets are conserved: offered = delivered + Σ dropped + in flight; after draining, nothing is left and every row is freed', () => {
    // A TCP flow may legitimately send nothing in a short window (its reader starved by a hog
    // holding the CPU for a slice); most runs must carry traffic, or the property is vacuous.
    let withTraffic = 0;
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const k = simulate(loadScenarioObject(sc).resolved);
        const r = collectResult(k, 0);
        const dropped = Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
        expect(r.packets.offered).toBe(r.packets.delivered + dropped + r.packets.in_flight);
        // Every drop past the NIC is an skb freed with a reason: the reason table holds them all.
        const { wire = 0, nic_ring = 0, nic_missed = 0 } = r.packets.dropped;
        expect(r.drop_reasons.reduce((a, d) => a + d.packets, 0)).toBe(dropped - wire - nic_ring - nic_missed);
        for (const d of r.drop_reasons) expect(d.skbs).toBeLessThanOrEqual(d.packets);
        // Per flow by place and reason: each place's reasons hold at most its drops (all of them
        // past the NIC), and the flows' reasons add up to the table's, reason by reason.
        const perFlow: Record<string, number> = {};
        for (const f of r.flows) {
          for (const [place, reasons] of Object.entries(f.drop_reasons)) {
            const n = Object.values(reasons).reduce((a, b) => a + b, 0);
            if (['wire', 'nic_ring', 'nic_missed'].includes(place)) expect(n).toBe(0);
            else expect(n).toBeLessThanOrEqual(f.drops[place] ?? 0);
            for (const [reason, k] of Object.entries(reasons)) perFlow[reason] = (perFlow[reason] ?? 0) + k;
          }
        }
        const table: Record<string, number> = {};
        for (const d of r.drop_reasons) table[d.reason] = (table[d.reason] ?? 0) + d.packets;
        expect(perFlow).toEqual(table);
        if (r.packets.offered > 0) withTraffic++;
        // RX pages too: allocated − freed = held by rings and pools + held only by skbs, defer lists, XDP_TX descriptors.
        checkRxPages(k);
        const drained = simulate(loadScenarioObject(sc).resolved, { drain: true });
        const d = collectResult(drained, 0);
        expect(d.packets.in_flight).toBe(0);
        expect(drained.pool.inUse).toBe(0);
        checkRxPages(drained);
        expect(d.packets.offered).toBe(d.packets.delivered + Object.values(d.packets.dropped).reduce((a, b) => a + b, 0));
      }),
      PROPS,
    );
    expect(withTraffic).toBeGreaterThan(0.9 * PROPS.numRuns);
  });

  it('CPU time is conserved: on every CPU usr + sys + irq + soft + idle = elapsed, exactly; tasks never get more than the CPUs nor run outside their affinity', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const outside: string[] = [];
        const nop = () => {};
        const trace: TraceHooks = {
          irqRaise: nop,
          irqEntry: nop,
          softirqFrame: nop,
          softirqEntry: nop,
          softirqExit: nop,
          napiPoll: nop,
          wakeup: nop,
          sched: (cpu, _prev, next) => {
            if (next && !next.allowed.includes(cpu)) outside.push(`${next.comm} on CPU ${cpu} (allowed ${next.allowed.join(',')})`);
          },
        };
        const k = simulate(loadScenarioObject(sc).resolved, { trace });
        expect(outside).toEqual([]);
        const window = k.sim.now - k.windowStart;
        for (const cpu of k.cpus) expect(cpu.time.reduce((a, b) => a + b, 0)).toBe(window);
        const busy = k.cpus.reduce((a, c) => a + c.time[0]! + c.time[1]! + c.time[2]! + c.time[3]!, 0);
        const charged = k.tasks.all.reduce((a, t) => a + t.time.reduce((x, y) => x + y, 0), 0);
        expect(charged).toBeLessThanOrEqual(busy);
      }),
      PROPS,
    );
  });

  it("Little's law holds exactly on every queue that starts and ends empty (∫L dt = Σ sojourn times)", () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const k = simulate(loadScenarioObject({ ...sc, warmup_ms: 0 }).resolved, { drain: true });
        for (const nic of k.nics) {
          for (const q of nic.queues) {
            expect(q.ring.area).toBe(q.ring.sojournSum);
            expect(q.pktbuf.area).toBe(q.pktbuf.sojournSum);
          }
        }
        for (const sd of k.softnet) expect(sd.inputPktQueue.area + sd.processQueue.area).toBe(sd.processQueue.sojournSum);
        for (const sock of k.sockets.sockets) for (const q of [sock.queue, sock.backlog]) expect(q.area).toBe(q.sojournSum);
        expect(k.queues().every((q) => q.length === 0)).toBe(true);
      }),
      PROPS,
    );
  });

  it("Little's law L = λW within 2 % over a window on a loaded ring", () => {
    const { resolved } = loadScenarioObject({
      name: 'little',
      duration_ms: 20,
      warmup_ms: 2,
      cpus: 1,
      nics: [{ name: 'eth0', channels: { combined: 1 }, coalesce: { 'rx-usecs': 50 } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rate: '800kpps', size: 64, arrival: 'poisson' }],
    });
    const r = collectResult(simulate(resolved), 0);
    const ring = r.queues.find((q) => q.queue === 'eth0/rx-0/ring')!;
    expect(ring.mean_length).toBeGreaterThan(1);
    const lw = (ring.departures_per_sec * ring.mean_sojourn_us) / 1e6;
    expect(Math.abs(ring.mean_length - lw) / ring.mean_length).toBeLessThan(0.02);
  });
});
