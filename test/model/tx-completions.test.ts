import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/model/cpu.ts';
import type { Napi } from '../../src/model/napi.ts';
import { Moderation } from '../../src/model/nic/moderation.ts';
import { DimState, DimTuneState } from '../../src/model/nic/net-dim.ts';
import { TxRing } from '../../src/model/nic/tx-ring.ts';
import { inputError, kernel, run } from '../helpers.ts';

/** A TCP receive: the flow's RX queue interrupts CPU 0, the reader runs on CPU 1; the ACKs leave through the NIC. */
function tcpReceive(driver: 'ixgbe' | 'ice', queues = 2) {
  return {
    duration_ms: 6,
    warmup_ms: 1,
    cpus: 2,
    nics: [{ name: 'eth0', driver, channels: { combined: queues }, irq_affinity: { 0: '0', 1: '0' } }],
    apps: [{ name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '1' }],
    flows: [{ name: 'iperf3', proto: 'tcp', src: '10.0.0.1:40001', dst: '10.0.0.2:5201', rtt_us: 50 }],
  };
}

describe('TX completions in the poll (ixgbe_poll → ixgbe_clean_tx_irq before the RX ring)', () => {
  it('the TX ring is cleaned first, at most tx.work_limit (256) per poll whatever the budget; work left keeps the poll going', () => {
    const k = kernel({
      duration_ms: 2,
      cpus: 1,
      nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rate: '200kpps', size: 64 }],
    });
    const nic = k.nics[0]!;
    const poller = nic.pollers[0]!;
    const tx = nic.txRings[0]!;
    const q = nic.queues[0]!;
    const c = k.costs;
    const polls: { start: number; firstRxClean: number; tx: number; rx: number; ret: number; budget: number }[] = [];
    let firstRxClean = -1;
    const clean = q.clean.bind(q);
    q.clean = (t: number) => {
      if (firstRxClean < 0) firstRxClean = t;
      return clean(t);
    };
    const poll = poller.poll.bind(poller);
    poller.poll = function* (cpu: Cpu, budget: number, napi: Napi) {
      const start = k.sim.now;
      const [tx0, rx0] = [tx.packets, q.packets];
      firstRxClean = -1;
      const ret = yield* poll(cpu, budget, napi);
      polls.push({ start, firstRxClean, tx: tx.packets - tx0, rx: q.packets - rx0, ret, budget });
      return ret;
    };
    k.start();
    k.sim.runUntil(1_000_000);
    // 300 completions already written back (posted by hand: the driver's side only), and their cause.
    const now = k.sim.now;
    for (let i = 0; i < 300; i++) tx.post(now, 66);
    nic.vectors[0]!.onTxCompletion(now);
    k.sim.runUntil(2_000_000);
    // The first poll after the burst was posted (port 2 is closed: the flow's first datagrams drew
    // six ICMP port unreachables, whose completions this ring freed long before).
    const i = polls.findIndex((p) => p.start >= now && p.tx > 0);
    const first = polls[i]!;
    expect(first.tx).toBe(256); // IXGBE_DEFAULT_TX_WORK
    expect(first.rx).toBeLessThan(first.budget); // RX alone would have completed...
    expect(first.ret).toBe(first.budget); // ...but TX work is left: clean_complete = false → return budget
    expect(polls[i + 1]!.tx).toBe(44); // the repoll frees the rest
    expect(polls[i + 1]!.ret).toBeLessThan(polls[i + 1]!.budget);
    // The RX clean loop starts after the TX ring's cost.
    expect(first.firstRxClean).toBeGreaterThanOrEqual(first.start + c.napi_poll + 256 * c.tx_clean);
    expect(tx.pending).toBe(0);
  });

  it('ethtool -C tx-frames-irq sets that limit on ixgbe (adapter->tx_work_limit); ice refuses it', () => {
    const k = kernel({ cpus: 1, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, coalesce: { 'tx-frames-irq': 100 } }] });
    const poller = k.nics[0]!.pollers[0]!;
    const tx = k.nics[0]!.txRings[0]!;
    for (let i = 0; i < 250; i++) tx.post(0, 66);
    const freed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = tx.packets;
      const g = poller.poll(k.cpus[0]!, 64, k.nics[0]!.napis[0]!);
      let r = g.next();
      while (!r.done) r = g.next();
      freed.push(tx.packets - before);
    }
    expect(freed).toEqual([100, 100, 50]);
    expect(inputError(() => kernel({ nics: [{ name: 'eth0', driver: 'ice', coalesce: { 'tx-frames-irq': 100 } }] }))).toContain('ice does not support tx-frames-irq');
  });

  it('completions still in flight when the interrupt fires set the cause again when written back: a burst is cleaned to the end', () => {
    const k = kernel({
      cpus: 1,
      nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }],
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:2', rate: '100kpps', size: 64, stop_ms: 0.5 }],
    });
    const nic = k.nics[0]!;
    k.start();
    k.sim.runUntil(1_000_000); // no more received traffic: only the completions can interrupt
    // Port 2 is closed: the flow's first datagrams drew ICMP port unreachables, freed by now.
    expect(nic.txRings[0]!.pending).toBe(0);
    const before = nic.txRings[0]!.packets;
    // 300 datagrams of 1000 bytes sent at once: they leave one after the other (≈0.82 µs each on
    // 10 GbE), so the first completion's interrupt finds most of them still on their way.
    for (let i = 0; i < 300; i++) nic.xmit(0, 0, 1000, k.sim.now);
    k.sim.runUntil(3_000_000);
    expect(nic.vectors[0]!.interrupts).toBeGreaterThan(1);
    expect(nic.txRings[0]!.pending).toBe(0);
    expect(nic.txRings[0]!.packets - before).toBe(300);
  });

  it('frees only completions written back by then, oldest first (the DD bit)', () => {
    const ring = new TxRing(0);
    ring.post(100, 66);
    ring.post(205, 70);
    ring.post(300, 66);
    expect(ring.clean(150, 10, 256)).toBe(1);
    expect(ring.clean(195, 10, 256)).toBe(0); // not written back at 195
    ring.post(301, 60);
    expect(ring.clean(205, 100, 256)).toBe(3); // 205, then 300 at 305 and 301 at 405: done while the loop ran
    expect(ring.lastBytes).toBe(196);
    expect([ring.pending, ring.packets, ring.bytes]).toEqual([0, 4, 262]);
  });

  it("a TCP receiver's ACKs leave on the sending CPU's XPS queue; their completions interrupt that queue's vector and are counted in ethtool -S", () => {
    const { result } = run(tcpReceive('ixgbe'));
    const [q0, q1] = result.nics[0]!.queues;
    // RSS puts the flow on one queue; ACKs are sent from CPU 0 (softirq) and CPU 1 (the reader's
    // tcp_cleanup_rbuf), XPS maps CPU c to queue c: both TX rings carry ACKs.
    expect(q0!.tx_packets).toBeGreaterThan(0);
    expect(q1!.tx_packets).toBeGreaterThan(0);
    const idle = q0!.packets === 0 ? q0! : q1!;
    expect(idle.packets).toBe(0);
    expect(idle.interrupts).toBeGreaterThan(0); // a TX-only vector interrupts for its completions
    expect(idle.itr_usecs).toBeLessThan(50); // and ixgbe_update_itr sees its TX traffic (latency mode)
    const acks = result.sockets.reduce((a, s) => a + s.acks_sent, 0);
    const txPackets = result.ethtool_S['eth0']!.tx_packets!;
    expect(txPackets).toBe(q0!.tx_packets + q1!.tx_packets);
    expect(txPackets).toBeGreaterThan(acks * 0.95); // each ACK is one TX completion (a few still in flight)
    expect(txPackets).toBeLessThanOrEqual(acks + 10);
  });
});

describe('TX completions are conserved and never stranded', () => {
  for (const driver of ['ixgbe', 'ice'] as const) {
    for (const seed of [1, 2, 3]) {
      it(`${driver}, seed ${seed}: every ACK sent is cleaned by a poll or still on its ring, and a ring is never left holding written-back completions`, () => {
        const { kernel: k, result } = run({ ...tcpReceive(driver, 4), cpus: 4, seed, warmup_ms: 0, variability: { cost_cv: 0.1, wire_jitter_ns: 50, random_phase: true } });
        const acks = result.sockets.reduce((a, s) => a + s.acks_sent, 0);
        const rings = k.nics[0]!.txRings;
        const cleaned = rings.reduce((a, r) => a + r.packets, 0);
        const pending = rings.reduce((a, r) => a + r.pending, 0);
        expect(cleaned + pending).toBe(acks);
        // What is left was written back at most one adaptive interval ago (a cause latched, an
        // interrupt to come), not long before: no completion waits for traffic that never comes.
        for (const r of rings) expect(r.oldestDone).toBeGreaterThan(k.sim.now - 300_000);
      });
    }
  }
});

describe('ixgbe_set_itr: min(rx, tx) over the two ring containers', () => {
  it('TX completions counted by ixgbe_clean_tx_irq change the interval the RX-only rule would write', () => {
    // One poll's worth within the same jiffy: 300 full-size frames received (bulk) and 10 ACKs sent.
    const rxOnly = new Moderation('eitr', true, 1, 0);
    rxOnly.countCleaned(300, 300 * 1514);
    rxOnly.afterCompletion(0, 0, 10);
    // RX bulk: avg 1514 B → 1514·5 + 22420 = 29990 → 2·⌈29990/512⌉ = 118 µs; the empty TX container
    // (+2 µs, latency flag kept from its initial value) loses the min.
    expect(rxOnly.intervalNs).toBe(118_000);

    const both = new Moderation('eitr', true, 1, 0);
    both.countCleaned(300, 300 * 1514);
    both.countTxCleaned(10, 660);
    both.afterCompletion(0, 0, 10);
    // TX container: 10 packets (4..47) → IXGBE_20K_ITR's 50 µs + 2, without the latency flag: min = 52.
    expect(both.intervalNs).toBe(52_000);
  });

  it('a container in latency mode keeps its flag in the min, so it cannot hold the interval down', () => {
    const m = new Moderation('eitr', true, 1, 0);
    m.countCleaned(2, 300); // RX: < 4 packets → latency mode (0x80 | small)
    m.countTxCleaned(8, 528); // TX: 8 packets → 50 + 2
    m.afterCompletion(0, 0, 10);
    expect(m.intervalNs).toBe(52_000);
  });
});

describe('ice DIM: a zeroed struct dim, decisions applied by a work item', () => {
  it('starts parked on top at ICE_DIM_DEFAULT_PROFILE_IX; a decision waits for ice_rx_dim_work', () => {
    const queued: { cpu: number; run: () => void }[] = [];
    const m = new Moderation('ice-itr', true, 50, 0, { scheduleWork: (cpu, run) => queued.push({ cpu, run }) });
    const dim = m.rxDim!;
    expect([dim.state, dim.tuneState, dim.profileIx]).toEqual([DimState.START_MEASURE, DimTuneState.PARKING_ON_TOP, 1]);
    expect(m.intervalNs).toBe(8_000); // rx_profile[1], not rx-usecs 50
    expect(m.txIntervalNs).toBe(8_000); // tx_profile[1]
    let t = 1_000_000;
    const completion = () => {
      m.countInterrupt();
      m.countCleaned(20, 20 * 1514);
      t += 20_000;
      m.afterCompletion(0, t, 25, 3);
    };
    completion(); // DIM_START_MEASURE: only the start sample
    expect(dim.state).toBe(DimState.MEASURE_IN_PROGRESS);
    for (let i = 0; i < 63; i++) completion();
    expect(queued).toHaveLength(0); // 63 events: not yet DIM_NEVENTS
    completion();
    // Parked with zero previous stats: any traffic is "better" → exit parking from index 1 going left → 0.
    expect(dim.profileIx).toBe(0);
    expect(dim.tuneState).toBe(DimTuneState.GOING_LEFT);
    expect(dim.state).toBe(DimState.APPLY_NEW_PROFILE);
    expect(queued.map((w) => w.cpu)).toEqual([3]); // schedule_work on the polling CPU (TX saw nothing: still parked)
    expect(m.intervalNs).toBe(8_000); // not applied yet
    for (let i = 0; i < 100; i++) completion(); // net_dim does nothing while the work is pending
    expect(queued).toHaveLength(1);
    queued.shift()!.run();
    expect(m.intervalNs).toBe(2_000); // rx_profile[0]
    expect(dim.state).toBe(DimState.START_MEASURE);
  });

  it('in a run, the new ITR is written by kworker/N:1 on the polling CPU, in its own time', () => {
    const k = kernel(tcpReceive('ice'));
    const nic = k.nics[0]!;
    const seen: { cpu: number; curr: string | undefined }[] = [];
    for (const v of nic.vectors) {
      const m = v.moderation;
      const work = m.dimWork.bind(m);
      m.dimWork = (dim) => {
        const cpu = k.tasks.all.find((t) => t.kind === 'kworker' && k.cpus[t.cpu]!.rq.curr === t);
        seen.push({ cpu: cpu?.cpu ?? -1, curr: cpu?.comm });
        work(dim);
      };
    }
    k.start();
    k.sim.runUntil(6_000_000);
    expect(seen.length).toBeGreaterThan(0);
    for (const s of seen) expect(s.curr).toBe(`kworker/${s.cpu}:1`);
    expect(nic.vectors.some((v) => v.moderation.updates > 0)).toBe(true);
  });
});
