import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseScenario } from '../../web/scenario-choice.ts';
import { lineOfError } from '../../web/scenario-io.ts';
import { checkApplyList, checkNewCommand } from '../../web/views/apply-check.ts';
import { compareTable, defaultRunName, settingsDiff } from '../../web/views/compare.ts';
import { controls, parsed } from '../../web/views/knob-controls.ts';
import { placeMarkerLabels } from '../../web/views/marker-labels.ts';
import { splitWhy } from '../../web/views/path.ts';
import { timeTicks } from '../../web/views/time-ticks.ts';
import { run } from '../helpers.ts';

/** Issue 17's rough edges whose logic needs no DOM (the rest: test/e2e/rough-edges.test.ts). */
const shipped = (name: string) => JSON.parse(readFileSync(new URL(`../../sim-scenarios/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('the timeline axis', () => {
  it('gives every tick of a zoomed span its own label (23.1, 23.1, 23.1 ms was the old format)', () => {
    const t = timeTicks(23.1e6, 23.15e6, 8);
    expect(t.map((x) => x.label)).toEqual(['23.100 ms', '23.105 ms', '23.110 ms', '23.115 ms', '23.120 ms', '23.125 ms', '23.130 ms', '23.135 ms', '23.140 ms', '23.145 ms', '23.150 ms']);
  });

  it('labels are distinct at every zoom from 100 ms down to 10 ns, anywhere in the run', () => {
    for (let span = 1e8; span >= 10; span /= 3.7) {
      for (const start of [0, 7.3e5, 23.1e6, 59.99e6]) {
        const labels = timeTicks(start, start + span, 8).map((x) => x.label);
        expect(new Set(labels).size, `${start} + ${span}: ${labels.join(', ')}`).toBe(labels.length);
      }
    }
  });
});

describe('?scenario= names', () => {
  const names = ['rx-usecs-10', 'rx-usecs-100', 'seed-lab-iperf3-on-irq-core', 'xdp-drop'];
  it('opens a shipped scenario by name, with no error', () => {
    expect(chooseScenario('xdp-drop', names, 'seed-lab-iperf3-on-irq-core')).toEqual({ name: 'xdp-drop', error: null });
    expect(chooseScenario(null, names, 'seed-lab-iperf3-on-irq-core')).toEqual({ name: 'seed-lab-iperf3-on-irq-core', error: null });
  });

  it('an unknown name opens the default and says so, naming the nearest shipped scenario', () => {
    const c = chooseScenario('xdp-dorp', names, 'seed-lab-iperf3-on-irq-core');
    expect(c.name).toBe('seed-lab-iperf3-on-irq-core');
    expect(c.error).toMatch(/\?scenario=xdp-dorp: no shipped scenario has that name \(the nearest is "xdp-drop"\); showing seed-lab-iperf3-on-irq-core instead/);
    expect(chooseScenario('nope', names, 'xdp-drop').error).toMatch(/nearest is "/);
  });
});

describe('apply commands, checked as typed', () => {
  const raw = shipped('rx-usecs-10');
  it('a command rxsim would refuse is refused before Run, naming the token and the nearest command or name', () => {
    expect(checkNewCommand(raw, 'ethtol -C eth0 rx-usecs 5')).toMatch(/apply\[\d+\]: token "ethtol": unknown command \(did you mean "ethtool"\?\)/);
    expect(checkNewCommand(raw, 'sysctl -w net.core.netdev_budgt=5')).toMatch(/did you mean "net.core.netdev_budget"/);
    expect(checkNewCommand(raw, 'ethtool -C eth0 rx-usecs 5')).toBeNull();
  });

  it('an apply error from the run marks the line of that entry in the source', () => {
    const text = JSON.stringify({ name: 'x', apply: ['ethtool -C eth0 rx-usecs 5', 'ethtol -C eth0 rx-usecs 5'] }, null, 2);
    expect(text.split('\n')[lineOfError(text, 'apply[1]: token "ethtol"')!]).toMatch(/"ethtol -C eth0 rx-usecs 5"/);
    expect(text.split('\n')[lineOfError(text, 'apply[0]: at the end')!]).toMatch(/"ethtool -C eth0 rx-usecs 5"/);
  });

  it("marks the bad line of the scenario's own apply list (and only it)", () => {
    const list = checkApplyList({ ...raw, apply: ['ethtool -C eth0 rx-usecs 5', 'ethtool -C eth9 rx-usecs 5', 'sysctl -w net.core.netdev_budget=600'] });
    expect(list[0]).toBeNull();
    expect(list[1]).toMatch(/^apply\[1\]: token "eth9": no such device/);
    expect(list[2]).toBeNull();
  });
});

describe('the latency markers', () => {
  it('p50, p99 and p99.9 labels never overlap nor cross the right edge, however close the markers are', () => {
    const texts = ['p50 778.2 µs', 'p99 823.3 µs', 'p99.9 860.2 µs'];
    const cw = 6.5;
    for (let a = 60; a < 1080; a += 37) {
      for (const gap of [0, 2, 9, 40, 120]) {
        const xs = [a, Math.min(1080, a + gap), Math.min(1080, a + 2 * gap + 1)];
        const placed = placeMarkerLabels(xs, texts, 1080, cw);
        const boxes = placed.map((p, i) => {
          const w = texts[i]!.length * cw;
          return { row: p.row, from: p.anchor === 'start' ? p.x : p.x - w, to: p.anchor === 'start' ? p.x + w : p.x };
        });
        for (const b of boxes) expect(b.to).toBeLessThanOrEqual(1080);
        for (let i = 0; i < boxes.length; i++)
          for (let j = 0; j < i; j++) {
            const [p, q] = [boxes[i]!, boxes[j]!];
            if (p.row === q.row) expect(p.from >= q.to || q.from >= p.to, `${xs.join(',')}: ${i} and ${j} overlap`).toBe(true);
          }
      }
    }
  });
});

describe('compare', () => {
  it('lists the settings that differ between two scenarios in the commands that set them', () => {
    const lab = shipped('seed-lab-iperf3-on-irq-core');
    const rps = shipped('seed-lab-fix-rps');
    const diff = settingsDiff(lab, rps);
    expect(diff.join('\n')).toMatch(/rps_cpus/);
    expect(settingsDiff(lab, lab)).toEqual([]);
    // A knob, a seed and an apply command, each in its own terms.
    const b = { ...lab, seed: 3, apps: [{ ...(lab.apps as object[])[0], cpus: '1' }], apply: ['sysctl -w net.core.netdev_budget=600'] };
    expect(settingsDiff(lab, b)).toEqual(['seed 2020 → 3', 'taskset -c 1 iperf3', 'sysctl -w net.core.netdev_budget=600']);
    expect(defaultRunName(b, lab)).toBe('seed-lab-iperf3-on-irq-core + seed 2020 → 3; taskset -c 1 iperf3; sysctl -w net.core.netdev_budget=600');
    expect(defaultRunName(lab, null)).toBe('seed-lab-iperf3-on-irq-core');
  });

  it('shows CPU time per CPU, not averaged over all CPUs: RPS moves softirq time from CPU 0 to CPU 1', () => {
    const base = { cpus: 4, duration_ms: 4, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }], apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '3' }] };
    const a = run(base).result;
    const b = run({ ...base, apply: ['echo 2 > /sys/class/net/eth0/queues/rx-0/rps_cpus'] }).result;
    const rows = new Map(compareTable([a, b]).map((r) => [r.label, r]));
    // The old table had one "CPU %soft (mean)" row: the move of the stack from CPU 0 to CPU 1 is a
    // fall on one row and a rise on another, neither better nor worse by itself.
    expect([...rows.keys()].some((l) => /mean/.test(l))).toBe(false);
    const soft0 = rows.get('CPU 0 %soft')!;
    const soft1 = rows.get('CPU 1 %soft')!;
    expect(soft0.values[1]!).toBeLessThan(soft0.values[0]!);
    expect(soft1.values[1]!).toBeGreaterThan(soft1.values[0]!);
    expect(soft0.better).toBeNull();
    expect(rows.has('CPU 2 %soft')).toBe(false); // idle in both runs: no rows
    expect(compareTable([a, b, a]).every((r) => r.values.length === 3)).toBe(true); // several pins
  });
});

describe('IRQ affinity and RPS knobs', () => {
  it('the tuning panel has smp_affinity_list and rps_cpus for every queue of every NIC, not only rx-0', () => {
    const s = parsed(shipped('flood-64b-rss-4-queues'))!;
    const cs = controls(s);
    const rps = cs.filter((c) => c.knob.name === 'rps_cpus').map((c) => c.parts.join('.'));
    const irq = cs.filter((c) => c.knob.name === 'smp_affinity_list').map((c) => c.names.irq);
    expect(rps).toEqual(expect.arrayContaining(['nics.0.queues.rx-0.rps_cpus', 'nics.0.queues.rx-1.rps_cpus', 'nics.0.queues.rx-2.rps_cpus', 'nics.0.queues.rx-3.rps_cpus']));
    expect(new Set(rps).size).toBe(rps.length);
    expect(irq.length).toBe(rps.length);
    expect(new Set(irq).size).toBe(irq.length); // one vector per queue
  });
});

describe('a path box drop label is not cut (rx_no_dma_resources / rx_mi…)', () => {
  it('puts the cause beside the count and the counters on their own line, whole', () => {
    expect(splitWhy('ring full (rx_no_dma_resources / rx_missed_errors)')).toEqual({ head: 'ring full', rest: 'rx_no_dma_resources / rx_missed_errors' });
    expect(splitWhy('rcvbuf full (RcvbufErrors, TCPRcvQDrop)')).toEqual({ head: 'rcvbuf full', rest: 'RcvbufErrors, TCPRcvQDrop' });
    expect(splitWhy('veth ring full')).toEqual({ head: '', rest: 'veth ring full' });
    // The second line fits the 40 characters the label shows before it would cut.
    expect(splitWhy('ring full (rx_no_dma_resources / rx_missed_errors)').rest.length).toBeLessThanOrEqual(40);
  });
});
