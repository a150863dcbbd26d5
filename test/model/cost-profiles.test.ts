import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { COST_KEYS, COST_PROFILE_NAMES, COST_PROFILES, LLC_GEOMETRY } from '../../src/model/costs.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { extractMetric } from '../../src/study/metrics.ts';
import { rawTableDropNs } from '../../src/study/validation.ts';

const validationScenario = (name: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(`../../validation/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

/**
 * What the model charges per frame on the path a saturated run's frames take: the CPU time of
 * the window (every CPU's 100 − idle) over the frames eth0's driver cleaned in it. Seed 1, no
 * cost variation, so the value is the profile's sum, not a draw.
 */
function chargedNsPerFrame(s: Record<string, unknown>): number {
  const r = collectResult(simulate(loadScenarioObject({ ...s, variability: { cost_cv: 0 } }, { seed: 1 }).resolved), 0);
  const busy = r.cpus.reduce((sum, c) => sum + (100 - c.idle), 0) / 100;
  return (busy * r.sim.window_ns) / extractMetric(r, 'ethtool_S.eth0.rx_packets')!;
}

describe('cost profiles', () => {
  it('every profile has every cost, each with what it covers and its source, and the L3 of its machine', () => {
    for (const name of COST_PROFILE_NAMES) {
      const p = COST_PROFILES[name]!;
      expect(Object.keys(p).sort(), name).toEqual([...COST_KEYS].sort());
      for (const key of COST_KEYS) {
        expect(p[key].ns, `${name}.${key}`).toBeGreaterThanOrEqual(0);
        expect(p[key].what.length, `${name}.${key}`).toBeGreaterThan(10);
        expect(p[key].source.length, `${name}.${key}`).toBeGreaterThan(0);
      }
      expect(LLC_GEOMETRY[name], name).toBeDefined();
      expect(() => loadScenarioObject({ name: 'p', duration_ms: 1, costs: name, nics: [{ name: 'eth0' }] }), name).not.toThrow();
    }
  });

  it("the publication machines' profiles name the publication or say a value is an assumption", () => {
    for (const [name, paper] of [
      ['xdp-paper-2018', 'Høiland-Jørgensen et al., CoNEXT 2018'],
      ['cai-2021', 'Cai et al., SIGCOMM 2021'],
    ] as const) {
      for (const key of COST_KEYS) {
        const source = COST_PROFILES[name]![key].source;
        expect(source.startsWith(paper) || source.startsWith('assumption:'), `${name}.${key}: ${source}`).toBe(true);
      }
    }
  });

  // The fit is to integer ns, which leaves each path within 1 % of its figure (XDP_DROP 41.3 of
  // 41.7 ns, the raw-table drop 207.8 of 208.3, with conntrack 557.4 of 555.6): 3 % is that and
  // no more than a third of the band rxsim validate gives these rows. The cost sum leaves out only
  // what is charged per unit of time, not per frame (the timer tick, ksoftirqd's loop: ≈1 ns).
  describe('xdp-paper-2018 is fitted to the paper: what the model charges per frame adds up to its per-core drop rates', () => {
    const within = (ns: number, mpps: number, tolerance: number): void =>
      expect(Math.abs(ns / (1e3 / mpps) - 1), `${ns.toFixed(1)} ns per frame vs ${(1e3 / mpps).toFixed(1)}`).toBeLessThan(tolerance);

    it('XDP_DROP: 24 Mpps per core, 41.7 ns per frame', () => {
      within(chargedNsPerFrame(validationScenario('xdp-paper-xdp-drop')), 24, 0.03);
    }, 60_000);

    it.each([
      [false, 4.8],
      [true, 1.8],
    ])(
      'the raw-table drop (conntrack %s): %s Mpps per core, and the cost sum rxsim validate uses is what a run charges',
      (conntrack, mpps) => {
        // The model has no DROP verdict: the frames pass one raw-table rule (and conntrack) in
        // PREROUTING and end at the route, ip_error with forwarding off (net/ipv4/route.c:
        // ip_route_input_slow). Its fib_lookup is the one step a drop in the raw table never reaches.
        const fwd = validationScenario('xdp-paper-ip-forward');
        const s = {
          ...fwd,
          sysctl: { 'net.ipv4.ip_forward': 0 },
          netfilter: { host: { conntrack, rules: { PREROUTING: 1 } } },
          flows: [{ ...(fwd.flows as object[])[0], rate: '30mpps' }],
        };
        const ns = chargedNsPerFrame(s) - COST_PROFILES['xdp-paper-2018']!.fib_lookup.ns;
        expect(Math.abs(rawTableDropNs('xdp-paper-2018', conntrack) / ns - 1), `cost sum ${rawTableDropNs('xdp-paper-2018', conntrack).toFixed(1)} vs run ${ns.toFixed(1)} ns`).toBeLessThan(0.015);
        within(ns, mpps, 0.03);
      },
      60_000,
    );
  });
});

// Cai et al. (SIGCOMM 2021, §3.1): one flow with GRO, 9000-byte frames and aRFS reaches ≈42 Gbit/s
// per receiver core, the kernel→user copy about half of that core. The copy is charged per byte
// of payload where it is found (src/model/app/recv.ts: copyToUser), so its CPU time is the
// socket's copied bytes at their cost; the rest of the busy time is the path.
describe('cai-2021 is fitted to the paper, on a core-bound flow: 42 Gbit/s per receiver core, the copy half of it', () => {
  const run = (seed: number, variability?: { cost_cv: number }) => {
    const s = validationScenario('cai-single-flow');
    const r = collectResult(simulate(loadScenarioObject(variability ? { ...s, variability } : s, { seed }).resolved), 0);
    const busy = r.cpus.reduce((sum, c) => sum + (100 - c.idle), 0) / 100;
    return { r, busy, perCore: extractMetric(r, 'flows[iperf3].goodput_gbps')! / busy };
  };

  it('what the model charges adds up to 42 Gbit/s per busy core, half of it the copy', () => {
    const { r, busy, perCore } = run(1, { cost_cv: 0 });
    const sock = r.sockets[0]!;
    const copyNs = (sock.copied_llc_bytes * COST_PROFILES['cai-2021']!.copy_kb_llc.ns) / 1024;
    const share = copyNs / (busy * r.sim.window_ns);
    // Every copy finds its payload in the LLC (DDIO), the case copy_kb_llc was fitted for.
    expect(sock.copied_llc_pct).toBe(100);
    // The fit is to integer ns and a scale of 1.6: 42.07 Gbit/s, the copy 50.3 % of the core.
    expect(Math.abs(perCore / 42 - 1), `${perCore.toFixed(2)} Gbit/s per core`).toBeLessThan(0.03);
    expect(Math.abs(share - 0.5), `the copy ${(share * 100).toFixed(1)} % of the core`).toBeLessThan(0.03);
  }, 60_000);

  // The row divides goodput by the busy cores, which is the paper's figure only when the core is
  // the limit. The receive buffer starts at tcp_rmem[1] and autotuning (tcp_rcv_space_adjust)
  // grows it only after a read copied more than rcvq_space in one RTT. From 128 KB one of seeds
  // 1–3 stayed window-limited at 16 Gbit/s for all of a 100 ms run (seed 2 on the old profile,
  // 37 % of the core; seed 1 on this one, 45 %), so the scenario starts the buffer at 1 MB.
  it.each([1, 2, 3])(
    "seed %s with the scenario's own cost variation: the receiver core is saturated in the window",
    (seed) => {
      const { busy, perCore } = run(seed);
      expect(busy, `busy cores (${perCore.toFixed(1)} Gbit/s per core)`).toBeGreaterThan(0.99);
    },
    60_000,
  );
});
