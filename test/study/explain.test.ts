import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectResult, metricValue } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { explain } from '../../src/study/explain.ts';
import { measureRun } from '../../src/study/browser-sweep.ts';
import { remedyMetric, remedyResults, remedySweep, summarizeRemedies } from '../../src/study/remedies.ts';
import { shardRuns } from '../../src/study/sweep.ts';

const dir = fileURLToPath(new URL('../../sim-scenarios', import.meta.url));
const run = (file: string, apply: string[] = [], seed = 1) => {
  const l = loadScenario(readFileSync(`${dir}/${file}`, 'utf8'), { seed, apply });
  const r = collectResult(simulate(l.resolved), 0);
  return { r, e: explain(r, l.scenario) };
};

describe('rxsim explain', () => {
  it("names the seed lab's co-location from the run, and moving the reader removes it", () => {
    const { e } = run('seed-lab-iperf3-on-irq-core.json');
    const f = e.flows[0]!;
    expect(f.limit.kind).toBe('cpu');
    expect(f.limit.resource).toBe('cpu 4');
    expect(f.mechanisms).toEqual(expect.arrayContaining(['softirq-and-reader-share-cpu', 'rwnd-limited']));
    expect(f.remedies.flatMap((r) => r.commands)).toEqual(expect.arrayContaining([expect.stringMatching(/^taskset -c \d+ iperf3$/), expect.stringMatching(/smp_affinity_list$/)]));
    const moved = run('seed-lab-iperf3-on-irq-core.json', f.remedies.find((r) => r.commands[0]!.startsWith('taskset'))!.commands).e.flows[0]!;
    expect(moved.limit.kind).toBe('wire');
  });

  it('devmap drops with idle RX CPUs: the egress wire when the target sends at its line rate, the missing XDP program when it has none', () => {
    const { r, e } = run('xdp-redirect-devmap-overload.json');
    for (const f of e.flows) {
      expect(f.limit.kind).toBe('wire');
      expect(f.limit.resource).toBe('eth2 link (egress)');
      expect(f.mechanisms).toEqual(expect.arrayContaining(['drops-devmap', 'egress-wire']));
      expect(f.chain[0]!.text).toMatch(/bq_xmit_all finds eth2's XDP TX ring full/);
    }
    // The same frames' rate that left by eth2 is its line rate of 256-byte frames: 10e9 / ((256 + 20) × 8).
    const txPps = r.ethtool_S.eth2!.tx_packets! / (r.sim.window_ns / 1e9);
    expect(txPps / (10e9 / (276 * 8))).toBeGreaterThan(0.98);
    const refused = run('xdp-redirect-devmap-overload.json', ['ip link set dev eth2 xdp off']).e.flows[0]!;
    expect(refused.limit.kind).toBe('queue');
    expect(refused.mechanisms).toEqual(expect.arrayContaining(['drops-devmap', 'devmap-no-target']));
    expect(refused.chain[0]!.text).toMatch(/-EOPNOTSUPP/);
  });

  // Every statement cites a number a reader can find: each evidence path resolves in the result to the value quoted.
  it.each(readdirSync(dir).filter((f) => f.endsWith('.json')))("%s: every piece of evidence is the result's own number", (file) => {
    const { r, e } = run(file);
    for (const f of e.flows) {
      for (const link of f.chain) {
        for (const ev of link.evidence) {
          if (typeof ev.value !== 'number') continue;
          expect(metricValue(r, ev.path), `${f.flow}: ${ev.path}`).toBe(ev.value);
        }
      }
    }
  });

  // TCP_CHRONO_RWND_LIMITED: the sender is held back by the receive window only where the reader lags.
  it('tcpi_rwnd_limited moves where the reader lags and stays 0 where it keeps up', () => {
    const lagging = run('seed-lab-iperf3-on-irq-core.json').r.flows[0]!;
    const keeping = run('seed-lab-iperf3-on-cpu1.json').r.flows[0]!;
    expect(lagging.rwnd_limited_pct).toBeGreaterThan(20);
    expect(lagging.rwnd_limited_pct).toBeLessThan(100);
    expect(keeping.rwnd_limited_pct).toBe(0);
  });

  it('calls a remedy partial when it helps but less than the best one', () => {
    const f = {
      flow: 'x',
      remedies: [
        { name: 'a', why: '', commands: ['a'] },
        { name: 'b', why: '', commands: ['b'] },
        { name: 'c', why: '', commands: ['c'] },
      ],
    } as never;
    const base = [5.6, 5.7, 5.8, 5.7, 5.6];
    const values: Record<number, number[]> = { 0: [9.4, 9.41, 9.39, 9.4, 9.42], 1: [6.8, 6.9, 6.7, 6.85, 6.75], 2: [5.6, 5.8, 5.7, 5.65, 5.75] };
    const rs = summarizeRemedies(f, 'flows[x].goodput_gbps', base, (i) => values[i]!);
    expect(rs.map((r) => r.verdict)).toEqual(['helps', 'helps partly', 'no significant change']);
  });

  // A remedy is a list of commands: one sweep over the scenario's apply list, the unchanged list first.
  it("runs each remedy as the scenario's own apply list followed by all of its commands", () => {
    const raw = JSON.parse(readFileSync(`${dir}/budget-squeeze.json`, 'utf8')) as Record<string, unknown>;
    const f = run('budget-squeeze.json').e.flows[0]!;
    const budget = f.remedies.find((r) => r.name === 'larger NAPI budget')!;
    expect(budget.commands).toEqual(['sysctl -w net.core.netdev_budget=600', 'sysctl -w net.core.netdev_budget_usecs=8000']);
    const sweep = remedySweep(raw, 'budget-squeeze.json', f, [1, 2]);
    const own = raw.apply as string[];
    expect(sweep.axes[0]!.values).toEqual([own, ...f.remedies.map((r) => [...own, ...r.commands])]);
    expect(sweep.metrics).toEqual(['flows[flood].delivered_gbps', 'cpus[0].idle']);
  });

  it('says why a remedy falls short from its own runs: the limiting CPU still has no idle time, and what the remedy leaves there', () => {
    const f = {
      flow: 'x',
      limit: { kind: 'cpu', resource: 'cpu 4', summary: '', cpu: 4 },
      remedies: [
        { name: 'move', why: '', commands: ['a'] },
        { name: 'rps', why: '', commands: ['b'], leaves: "the driver's poll and GRO on CPU 4" },
        { name: 'nothing', why: '', commands: ['c'] },
      ],
    } as never;
    const sweep = { seeds: [1, 2, 3, 4, 5], metrics: ['flows[x].goodput_gbps', 'cpus[4].idle'] } as never;
    const goodput = [
      [5.6, 5.7, 5.8, 5.7, 5.6],
      [9.4, 9.41, 9.39, 9.4, 9.42],
      [6.8, 6.9, 6.7, 6.85, 6.75],
      [5.6, 5.8, 5.7, 5.65, 5.75],
    ];
    const idle = [
      [0, 0, 0, 0, 0],
      [40, 41, 40, 39, 40],
      [0, 0, 0.1, 0, 0],
      [30, 31, 30, 29, 30],
    ];
    const rs = remedyResults(f, sweep, (run) => [goodput[Math.floor(run / 5)]![run % 5]!, idle[Math.floor(run / 5)]![run % 5]!]);
    expect(rs.map((r) => r.verdict)).toEqual(['helps', 'helps partly', 'no significant change']);
    expect(rs[0]!.why_not).toBeUndefined();
    expect(rs[1]!.why_not).toBe("CPU 4 still has no idle time with it (cpus[4].idle 0 % → 0.02 %); it leaves the driver's poll and GRO on CPU 4");
    expect(rs[2]!.why_not).toMatch(/^CPU 4 gains idle time \(cpus\[4\]\.idle 0 % → 30 %\) but the flow gains nothing: another limit takes over$/);
  });

  // The test: in the seed lab moving the reader restores line rate and RPS helps only
  // partly, because the driver's poll and GRO stay on CPU 4 (which stays saturated).
  it('seed lab: moving the reader helps, RPS helps partly and explain says why', () => {
    const raw = JSON.parse(readFileSync(`${dir}/seed-lab-iperf3-on-irq-core.json`, 'utf8')) as Record<string, unknown>;
    const full = run('seed-lab-iperf3-on-irq-core.json').e.flows[0]!;
    const f = { ...full, remedies: full.remedies.filter((r) => r.name.startsWith('move the reader') || r.name.startsWith('RPS')) };
    expect(f.remedies).toHaveLength(2);
    const sweep = remedySweep(raw, 'seed lab', f, [1, 2, 3]);
    const metrics = new Map(shardRuns(sweep).map((r) => [r.run, measureRun(sweep, r).metrics]));
    const [move, rps] = remedyResults(f, sweep, (r) => metrics.get(r));
    expect(move!.verdict).toBe('helps');
    expect(rps!.verdict).toBe('helps partly');
    expect(rps!.why_not).toMatch(/^CPU 4 still has no idle time with it .*; it leaves the driver's poll and GRO on CPU 4$/);
  }, 120_000);

  // Every remedy must be a command the scenario takes: ixgbe has no adaptive-rx switch (its
  // rx-usecs 1 is adaptive, 0 turns EITR off), so "interrupt right away" is rx-usecs 0 alone there.
  it.each(['busy-poll-rr.json', 'rr-latency-idle.json'])('%s: every remedy applies to the scenario (ixgbe: rx-usecs 0 without adaptive-rx)', (file) => {
    const text = readFileSync(`${dir}/${file}`, 'utf8');
    const { e } = run(file);
    const remedies = e.flows.flatMap((f) => f.remedies);
    expect(remedies.length).toBeGreaterThan(0);
    for (const r of remedies) expect(() => loadScenario(text, { apply: r.commands }), r.name).not.toThrow();
    expect(remedies.find((r) => r.name === 'interrupt right away')!.commands).toEqual(['ethtool -C eth0 rx-usecs 0']);
  });

  it("busy polling through the sysctls says it leaves a reader's own SO_BUSY_POLL in place", () => {
    const f = run('busy-poll-rr.json').e.flows.find((x) => x.flow === 'c-irq')!;
    expect(f.remedies.find((r) => r.name === 'busy polling')!.leaves).toMatch(/^the SO_BUSY_POLL that irq sets itself/);
  });

  // A UDP flood to a closed port delivers nothing by design: its remedies are measured by what the stack gets through to the socket lookup.
  it('measures a closed-port flood by UdpNoPorts, and a delivered flow by what it delivers', () => {
    const squeeze = run('budget-squeeze.json').e;
    expect(remedyMetric(squeeze.flows[0]!, squeeze)).toBe('nstat.UdpNoPorts');
    const rr = run('rr-latency-under-flood.json').e;
    expect(
      remedyMetric(
        rr.flows.find((x) => x.flow === 'flood')!,
        rr,
      ),
    ).toBe('flows[flood].delivered_gbps');
  });
});
