import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import { CPU_MAP_BULK_SIZE, CPUMAP_BATCH, type CpuMapEntryResult } from '../../src/model/cpumap.ts';
import { simulate } from '../../src/model/simulate.ts';
import { Acct } from '../../src/model/task.ts';
import type { TraceHooks } from '../../src/model/trace-hooks.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { toFtrace, TraceRecorder } from '../../src/trace/index.ts';
import { QUIET_TRACE, inputError, kernel, resolve, run, scenario } from '../helpers.ts';

/**
 * XDP_REDIRECT into a cpumap (src/model/cpumap.ts, kernel/bpf/cpumap.c): where the frame goes,
 * on which CPU its stack runs, the bulk queue of 8 flushed by xdp_do_flush, the ring of qsize,
 * the kthread's sleep and wake-up, and the conservation law with the redirect term.
 */

const ONE_QUEUE = { name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } };
const SINK = [{ name: 'sink', kind: 'udp-sink', cpus: '3', listen: '10.0.0.2:9' }];
const flood = (rate = '1mpps', src = '10.0.0.1:1000-1063') => [{ name: 'f', proto: 'udp', src, dst: '10.0.0.2:9', rate, size: 64 }];
const cpumap = (cpus: number[], qsize = 2048) => ({ cpu_map: { type: 'cpumap', entries: cpus.map((cpu) => ({ cpu, qsize })) } });
const redirect = (key: number | string, map = 'cpu_map') => ({ mode: 'native', program: [{ match: { proto: 'udp' }, action: 'redirect', map, key }], default: 'pass' });

function cpumapRun(key: number | string, over: Record<string, unknown> = {}, cpus = [1, 2]) {
  return run({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect(key) }], xdp_maps: cpumap(cpus), apps: SINK, flows: flood(), ...over });
}

const dropped = (r: Result) => Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
const conserved = (r: Result) => expect(r.packets.offered).toBe(r.packets.delivered + dropped(r) + r.packets.in_flight + (r.packets.xdp_tx ?? 0) + (r.packets.xdp_redirect ?? 0));
const entry = (r: Result, cpu: number) => (r.xdp_maps![0]!.entries as CpuMapEntryResult[]).find((e) => e.cpu === cpu)!;

/** A tracer that records the two cpumap tracepoints. */
function cpumapTracer() {
  const enqueues: { cpu: number; processed: number; drops: number; to: number }[] = [];
  const rounds: { cpu: number; processed: number; sched: number }[] = [];
  const hooks = {
    ...QUIET_TRACE,
    xdpCpumapEnqueue: (cpu, _id, processed, drops, to) => enqueues.push({ cpu, processed, drops, to }),
    xdpCpumapKthread: (cpu, _id, processed, _drops, sched) => rounds.push({ cpu, processed, sched }),
  } satisfies TraceHooks;
  return { hooks, enqueues, rounds };
}

describe('XDP_REDIRECT into a cpumap: where the frame goes and where its stack runs', () => {
  it('a constant key: every frame leaves the driver on CPU 0 and is built into an skb and received on the entry CPU by cpumap/<cpu>/map:<id>', () => {
    const { result: r, kernel: k } = cpumapRun(2);
    const q = r.nics[0]!.queues[0]!;
    expect(q.xdp!.redirect).toBe(q.packets);
    expect(q.xdp!.pass).toBe(0);
    expect(r.gro.received).toBe(entry(r, 2).kthread_stats.processed); // only the cpumap's GRO saw frames
    expect(entry(r, 2).kthread).toBe('cpumap/2/map:1');
    expect(entry(r, 1).enqueue.processed).toBe(0);
    // The stack ran on CPU 2 only: __netif_receive_skb_core counts there (softnet_stat processed).
    expect(k.softnet[2]!.processed).toBeGreaterThan(4000);
    expect(k.softnet[0]!.processed).toBe(0);
    expect(k.softnet[1]!.processed).toBe(0);
    // In the kthread's system time, not in a softirq of CPU 2.
    const kt = k.tasks.all.find((t) => t.comm === 'cpumap/2/map:1')!;
    expect(kt.kind).toBe('cpumap');
    expect(kt.time[Acct.SYS]).toBeGreaterThan(0.5 * k.cpus[2]!.time[Acct.SYS]!);
    expect(r.packets.delivered).toBeGreaterThan(4000);
    expect(r.drop_reasons).toEqual([]);
    conserved(r);
  });

  it('the driver CPU pays the program and the redirect, not the stack: far less softirq time per frame than XDP_PASS', () => {
    const redirected = cpumapRun(2);
    const passed = run({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: { mode: 'native', program: [], default: 'pass' } }], apps: SINK, flows: flood() });
    const per = (x: typeof redirected) => x.kernel.cpus[0]!.time[Acct.SOFT]! / x.result.nics[0]!.queues[0]!.packets;
    expect(per(redirected)).toBeLessThan(0.5 * per(passed));
    // Its share: descriptor, refill, program, xdp_redirect and the flush, a few dozen ns.
    const c = redirected.kernel.costs;
    expect(per(redirected)).toBeGreaterThan(c.xdp_run + c.xdp_redirect);
    expect(per(redirected)).toBeLessThan(c.xdp_run + c.xdp_redirect + c.rx_descriptor + c.cpumap_flush);
    // The entry CPU pays at least cpumap_skb per frame in the kthread.
    const kt = redirected.kernel.tasks.all.find((t) => t.comm === 'cpumap/2/map:1')!;
    expect(kt.time[Acct.SYS]! / entry(redirected.result, 2).kthread_stats.processed).toBeGreaterThan(c.cpumap_skb);
  });

  it('"hash" spreads the flows over the entries in their order (cpus_available[hash % n]); "rx_queue" keys by ctx->rx_queue_index', () => {
    const { result: r } = cpumapRun('hash', { flows: flood('1mpps', '10.0.0.1:1000-1255') }, [1, 2, 3]);
    const shares = [1, 2, 3].map((c) => entry(r, c).enqueue.processed / r.nics[0]!.queues[0]!.packets);
    for (const s of shares) {
      expect(s).toBeGreaterThan(0.2);
      expect(s).toBeLessThan(0.47);
    }
    // Queue 0 → the entry of CPU 0.
    const byQueue = cpumapRun('rx_queue', {}, [0, 1]).result;
    // (enqueue counts what reached the ring: all but the last poll's frames.)
    expect(byQueue.nics[0]!.queues[0]!.packets - entry(byQueue, 0).enqueue.processed).toBeLessThan(64);
    expect(entry(byQueue, 1).enqueue.processed).toBe(0);
  });

  it('a key without an entry: bpf_redirect_map returns XDP_ABORTED (flags 0) — xdp:xdp_exception, dropped.xdp, the aborted column', () => {
    const k = kernel({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect(3) }], xdp_maps: cpumap([1, 2]), apps: SINK, flows: flood(), duration_ms: 1 });
    const actions = new Set<string>();
    let exceptions = 0;
    const t = cpumapTracer();
    k.trace = {
      ...t.hooks,
      xdpException: (_c, _d, a) => {
        exceptions++;
        actions.add(a);
      },
    };
    k.start();
    k.sim.runUntil(1_000_000);
    for (const nic of k.nics) nic.settleAt(k.sim.now);
    const r = collectResult(k, 0);
    expect([...actions]).toEqual(['XDP_ABORTED']);
    expect(r.nics[0]!.queues[0]!.xdp!.aborted).toBe(exceptions);
    expect(r.nics[0]!.queues[0]!.xdp!.redirect).toBe(0);
    expect(r.packets.dropped.xdp).toBe(exceptions);
    expect(t.enqueues).toEqual([]);
    conserved(r);
  });
});

describe('the bulk queue, the ring and the kthread', () => {
  it('xdp_do_flush moves bulk queues of at most CPU_MAP_BULK_SIZE (8) frames, at the end of each poll; the kthread takes at most CPUMAP_BATCH (8) per round', () => {
    const k = kernel({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect(2) }], xdp_maps: cpumap([1, 2]), apps: SINK, flows: flood('3mpps'), duration_ms: 2 });
    const t = cpumapTracer();
    k.trace = t.hooks;
    k.start();
    k.sim.runUntil(2_000_000);
    expect(CPU_MAP_BULK_SIZE).toBe(8);
    expect(CPUMAP_BATCH).toBe(8);
    expect(t.enqueues.length).toBeGreaterThan(100);
    expect(Math.max(...t.enqueues.map((e) => e.processed))).toBe(8);
    expect(t.enqueues.every((e) => e.processed >= 1 && e.cpu === 0 && e.to === 2)).toBe(true);
    // Polls of more than 8 frames flush several full bulk queues: most events carry 8.
    expect(t.enqueues.filter((e) => e.processed === 8).length).toBeGreaterThan(t.enqueues.length / 2);
    const enq = t.enqueues.reduce((a, e) => a + e.processed, 0);
    const polled = k.nics[0]!.nativeXdp[0]!.stats.actions[4]!;
    expect(enq).toBeLessThanOrEqual(polled);
    expect(polled - enq).toBeLessThan(64); // at most the poll in progress
    expect(Math.max(...t.rounds.map((r) => r.processed))).toBe(8);
    expect(t.rounds.every((r) => r.cpu === 2)).toBe(true);
  });

  it('a full ring drops at bq_flush_to_queue: dropped.cpumap, the enqueue drops, no kfree_skb reason', () => {
    // The entry CPU is shared with a CPU hog: its kthread gets half the CPU and cannot keep up.
    const { result: r } = run({
      cpus: 4,
      nics: [{ ...ONE_QUEUE, xdp: redirect(2) }],
      xdp_maps: cpumap([2], 64),
      apps: [...SINK, { name: 'hog', kind: 'cpu-hog', cpus: '2' }],
      flows: flood('2mpps'),
    });
    const e = entry(r, 2);
    expect(e.enqueue.drops).toBeGreaterThan(1000);
    expect(r.packets.dropped.cpumap).toBeGreaterThan(0);
    expect(r.packets.dropped.cpumap).toBeLessThanOrEqual(e.enqueue.drops);
    expect(e.ring.peak).toBe(64);
    expect(r.drop_reasons).toEqual([]);
    expect(e.kthread_stats.processed + e.enqueue.drops).toBeGreaterThan(e.enqueue.processed - 64 - 1);
    conserved(r);
  });

  it('the kthread sleeps on an empty ring and is woken by the flush (sched=1); under load it keeps running without sleeping', () => {
    const light = cpumapRun(2, { flows: flood('20kpps') }).result;
    const e = entry(light, 2);
    // One frame per interrupt: each round finds one frame after a wake-up.
    expect(e.kthread_stats.rounds).toBeGreaterThan(50);
    expect(e.kthread_stats.sched).toBeGreaterThanOrEqual(e.kthread_stats.rounds - 1); // the round in progress at the window start may have slept before it
    const kt = light.tasks.find((t) => t.comm === 'cpumap/2/map:1')!;
    expect(kt.wakeups).toBeGreaterThanOrEqual(e.kthread_stats.sched - 1);
    const heavy = entry(cpumapRun(2, { flows: flood('3mpps') }).result, 2);
    expect(heavy.kthread_stats.sched).toBeLessThan(heavy.kthread_stats.rounds / 4);
  });

  it('rxsim trace prints xdp:xdp_cpumap_enqueue and xdp:xdp_cpumap_kthread', () => {
    const rec = new TraceRecorder({ detail: 'packet' });
    simulate(resolve({ cpus: 4, nics: [{ ...ONE_QUEUE, xdp: redirect(2) }], xdp_maps: cpumap([2]), apps: SINK, flows: flood(), duration_ms: 1 }), { trace: rec });
    const text = toFtrace(rec);
    expect(text).toMatch(/xdp_cpumap_enqueue: enqueue cpu=0 map_id=1 action=XDP_REDIRECT processed=\d drops=0 to_cpu=2/);
    expect(text).toMatch(/cpumap\/2\/map:1-\d+ +\[002\] .* xdp_cpumap_kthread: kthread cpu=2 map_id=1 action=XDP_REDIRECT processed=\d drops=0 sched=[01]/);
  });
});

describe('conservation with redirects, into a cpumap or a devmap (property)', () => {
  it('offered = delivered + Σ dropped + in flight + xdp_tx + xdp_redirect; drained, every row is freed', () => {
    fc.assert(
      fc.property(
        fc.record({
          key: fc.constantFrom<number | string>(0, 1, 3, 'hash', 'rx_queue'),
          entries: fc.constantFrom([1], [0, 1], [1, 2, 3]),
          qsize: fc.constantFrom(8, 64, 2048),
          gro: fc.constantFrom('on', 'off'),
          rps: fc.constantFrom('0', '6'),
          tail: fc.constantFrom('drop', 'pass', 'tx'),
          map: fc.constantFrom('m', 'd'),
        }),
        (x) => {
          const sc = scenario({
            cpus: 4,
            duration_ms: 1,
            nics: [
              {
                name: 'eth0',
                channels: { combined: 2 },
                features: { gro: x.gro },
                queues: { 'rx-0': { rps_cpus: x.rps } },
                xdp: {
                  mode: 'native',
                  program: [
                    { match: { proto: 'tcp' }, action: x.tail },
                    { action: 'redirect', map: x.map, key: x.key },
                  ],
                  default: 'pass',
                },
              },
            ],
            xdp_maps: { m: { type: 'cpumap', entries: x.entries.map((cpu) => ({ cpu, qsize: x.qsize })) }, d: { type: 'devmap', entries: [{ dev: 'eth0' }] } },
            apps: [
              { name: 'sink', kind: 'udp-sink', cpus: '2', listen: '10.0.0.2:9' },
              { name: 'iperf3', kind: 'stream-reader', listen: '10.0.0.2:5201', cpus: '3' },
            ],
            flows: [
              { name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: '2mpps', size: 64 },
              { name: 't', proto: 'tcp', src: '10.0.0.1:40000', dst: '10.0.0.2:5201', rate: '2gbit', rtt_us: 20 },
            ],
          });
          const r = collectResult(simulate(loadScenarioObject(sc).resolved), 0);
          conserved(r);
          const drained = simulate(loadScenarioObject(sc).resolved, { drain: true });
          const d = collectResult(drained, 0);
          expect(d.packets.in_flight).toBe(0);
          expect(d.packets.xdp_redirect).toBe(0);
          expect(drained.pool.inUse).toBe(0);
          conserved(d);
        },
      ),
      { numRuns: 16, seed: 2026 },
    );
  });
});

describe('the grammar: one-line errors naming the JSON path and the nearest name', () => {
  const base =
    (xdp: Record<string, unknown>, maps: Record<string, unknown> = cpumap([1])) =>
    () =>
      resolve({ cpus: 2, nics: [{ ...ONE_QUEUE, xdp }], xdp_maps: maps });
  const rule = (r: Record<string, unknown>) => ({ program: [{ action: 'redirect', ...r }] });
  it('an unknown map, with the nearest name', () => {
    expect(inputError(base(rule({ map: 'cpumap', key: 1 })))).toBe('nics[0].xdp.program[0].map: no map "cpumap" in xdp_maps (did you mean "cpu_map"?); maps: cpu_map');
  });
  it('a redirect without a map or a key; a map on another action', () => {
    expect(inputError(base(rule({ key: 1 })))).toMatch(/^nics\[0\]\.xdp\.program\[0\]\.map: a redirect names its map/);
    expect(inputError(base(rule({ map: 'cpu_map' })))).toMatch(/^nics\[0\]\.xdp\.program\[0\]\.key: a redirect has a key: a number .*"rx_queue" or "hash"/);
    expect(inputError(base({ program: [{ action: 'drop', map: 'cpu_map' }] }))).toMatch(/^nics\[0\]\.xdp\.program\[0\]\.map: only a rule with action "redirect" names a map/);
  });
  it('a key of the wrong form (schema)', () => {
    expect(inputError(base(rule({ map: 'cpu_map', key: 'rx-queue' })))).toMatch(/nics\[0\]\.xdp\.program\[0\]\.key/);
  });
  it('an entry CPU the machine does not have (ENODEV), twice the same CPU, a qsize above 16384', () => {
    expect(inputError(base(rule({ map: 'cpu_map', key: 1 }), cpumap([5])))).toMatch(
      /^xdp_maps\.cpu_map\.entries\[0\]\.cpu: CPU 5 does not exist \(the machine has 2 CPUs, 0-1; the kernel refuses the key with ENODEV\)$/,
    );
    expect(inputError(base(rule({ map: 'cpu_map', key: 1 }), cpumap([1, 1])))).toMatch(/^xdp_maps\.cpu_map\.entries\[1\]\.cpu: CPU 1 is already an entry/);
    expect(inputError(base(rule({ map: 'cpu_map', key: 1 }), cpumap([1], 20000)))).toMatch(/^xdp_maps\.cpu_map\.entries\[0\]\.qsize: /);
    expect(inputError(base(rule({ map: 'cpu_map', key: 1 }), { cpu_map: { type: 'xskmap', entries: [] } }))).toBe('xdp_maps.cpu_map.type: "xskmap" is not one of "cpumap", "devmap"');
    expect(inputError(base(rule({ map: 'cpu_map', key: 1 }), { cpu_map: { type: 'cpumpa', entries: [] } }))).toBe(
      'xdp_maps.cpu_map.type: "cpumpa" is not one of "cpumap", "devmap" (did you mean "cpumap"?)',
    );
  });
  it('generic XDP with a redirect rule is refused (xdp_do_generic_redirect is not modelled)', () => {
    expect(inputError(base({ mode: 'generic', ...rule({ map: 'cpu_map', key: 1 }) }))).toMatch(/^nics\[0\]\.xdp\.mode: .*generic XDP's redirect \(xdp_do_generic_redirect\) is not modelled$/);
  });
});
