import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { EXACT, kernel } from '../helpers.ts';

/** The fair scheduler (EEVDF and CFS), cgroups, and the idle exit latency. */

function run(sc: Record<string, unknown>): Result {
  return collectResult(simulate(loadScenarioObject({ name: 'sched', duration_ms: 200, warmup_ms: 20, cpus: 2, nics: [{ name: 'eth0' }], variability: EXACT, ...sc }).resolved), 0);
}

const task = (r: Result, comm: string) => r.tasks.find((t) => t.comm === comm)!;
const busy = (t: Result['tasks'][number]) => t.usr_ms + t.sys_ms + t.soft_ms + t.irq_ms;

describe.each(['eevdf', 'cfs'] as const)('fair shares (%s)', (sched) => {
  it('nice 0 and nice 5 share a CPU as their weights, 1024:335', () => {
    const r = run({
      kernel: { sched },
      apps: [
        { name: 'n0', kind: 'cpu-hog', cpus: '1' },
        { name: 'n5', kind: 'cpu-hog', cpus: '1', nice: 5 },
      ],
    });
    const ratio = busy(task(r, 'n0')) / busy(task(r, 'n5'));
    expect(ratio).toBeGreaterThan((1024 / 335) * 0.97);
    expect(ratio).toBeLessThan((1024 / 335) * 1.03);
  });

  it('a woken task preempts a busy hog at once (wakeup preemption), so its run-queue wait stays short', () => {
    const r = run({
      kernel: { sched },
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [
        { name: 'hog', kind: 'cpu-hog', cpus: '1' },
        { name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' },
      ],
      flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '10kpps', size: 128 }],
    });
    const sink = task(r, 'sink');
    expect(sink.wakeups).toBeGreaterThan(1000);
    // A slice is 1.5 ms (EEVDF) / 3+ ms (CFS); a wakeup waits for a context switch only.
    expect((sink.wait_ms * 1000) / sink.wakeups).toBeLessThan(5);
    expect(r.flows[0]!.dropped).toBe(0);
  });
});

describe.each(['eevdf', 'cfs'] as const)('a task that sleeps often (%s)', (sched) => {
  it('keeps its lag over its sleeps: a reader woken hundreds of times gets its fair half next to a hog, not the whole CPU', () => {
    // A line-rate flood keeps the sink busy; it still sleeps whenever it drains its socket.
    // update_entity_lag() takes the lag with the sleeper still counted in V: sleeping and
    // waking at once puts it back where it was. Taken without it, the sink was owed its own
    // share again at every wake-up, placed itself ever further back, and left the hog ≈0.2 %.
    const r = run({
      duration_ms: 40,
      kernel: { sched },
      nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [
        { name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' },
        { name: 'hog', kind: 'cpu-hog', cpus: '1' },
      ],
      flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
    });
    const sink = task(r, 'sink');
    const hog = task(r, 'hog');
    expect(sink.wakeups).toBeGreaterThan(20);
    const share = busy(hog) / (busy(hog) + busy(sink));
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
  });
});

describe('CFS and EEVDF slice differently', () => {
  it('two hogs: EEVDF switches once the base slice (0.75 ms × 2 on 2 CPUs) is used, CFS every sched_slice (half of 12 ms), both noticed at a tick', () => {
    const hogs = [
      { name: 'a', kind: 'cpu-hog', cpus: '1' },
      { name: 'b', kind: 'cpu-hog', cpus: '1' },
    ];
    const eevdf = run({ kernel: { sched: 'eevdf' }, apps: hogs });
    const cfs = run({ kernel: { sched: 'cfs' }, apps: hogs });
    const switches = (r: Result) => task(r, 'a').nivcsw + task(r, 'b').nivcsw;
    // 180 ms window; update_curr at the 1 ms tick notices the expiry: EEVDF every 2 ms ≈ 90
    // switches, CFS every 6 ms ≈ 30.
    expect(switches(eevdf)).toBeGreaterThan(80);
    expect(switches(eevdf)).toBeLessThan(100);
    expect(switches(cfs)).toBeGreaterThan(25);
    expect(switches(cfs)).toBeLessThan(40);
    for (const r of [eevdf, cfs]) expect(Math.abs(busy(task(r, 'a')) - busy(task(r, 'b')))).toBeLessThan(7);
  });
});

describe('cgroups', () => {
  it('cpu.max: a capped group gets exactly its quota per period, throttled for the rest', () => {
    const r = run({
      warmup_ms: 0,
      cgroups: { capped: { 'cpu.max': '30000 100000' } },
      apps: [{ name: 'hog', kind: 'cpu-hog', cgroup: 'capped', cpus: '0' }],
    });
    const g = r.cgroups[0]!;
    // 2 periods × 30 ms; it leaves the CPU after the reschedule IPI: a microsecond over.
    expect(g.usage_ms).toBeGreaterThanOrEqual(60);
    expect(g.usage_ms).toBeLessThan(60.01);
    expect(g.nr_throttled).toBe(2);
    expect(g.throttled_ms).toBeCloseTo(140, 3);
    expect(r.cpus[0]!.idle).toBeCloseTo(70, 1);
  });

  it('cpu.max over two CPUs: the quota is shared by the group, not per CPU', () => {
    const r = run({
      warmup_ms: 0,
      cgroups: { pod: { 'cpu.max': '50000 100000' } },
      apps: [
        { name: 'h0', kind: 'cpu-hog', cgroup: 'pod', cpus: '0' },
        { name: 'h1', kind: 'cpu-hog', cgroup: 'pod', cpus: '1' },
      ],
    });
    expect(r.cgroups[0]!.usage_ms).toBeGreaterThanOrEqual(100); // 50 ms per 100 ms period, summed
    expect(r.cgroups[0]!.usage_ms).toBeLessThan(100.02);
    expect(busy(task(r, 'h0'))).toBeCloseTo(50, 1);
  });

  it('cpu.weight: groups share a CPU by weight, and tasks within a group share its part', () => {
    const r = run({
      cgroups: { small: { 'cpu.weight': 100 }, big: { 'cpu.weight': 300 } },
      apps: [
        { name: 's', kind: 'cpu-hog', cgroup: 'small', cpus: '1' },
        { name: 'b1', kind: 'cpu-hog', cgroup: 'big', cpus: '1' },
        { name: 'b2', kind: 'cpu-hog', cgroup: 'big', cpus: '1' },
      ],
    });
    const small = r.cgroups.find((g) => g.name === 'small')!.usage_ms;
    const big = r.cgroups.find((g) => g.name === 'big')!.usage_ms;
    expect(big / small).toBeGreaterThan(3 * 0.97);
    expect(big / small).toBeLessThan(3 * 1.03);
    expect(busy(task(r, 'b1')) / busy(task(r, 'b2'))).toBeCloseTo(1, 1);
  });

  it('cpuset.cpus narrows the CPUs an app may run on; an empty intersection is an error', () => {
    const r = run({
      cgroups: { pinned: { 'cpuset.cpus': '1' } },
      apps: [{ name: 'hog', kind: 'cpu-hog', cgroup: 'pinned' }],
    });
    expect(task(r, 'hog').cpu).toBe(1);
    expect(r.cpus[0]!.usr).toBe(0);
    expect(() =>
      loadScenarioObject({ name: 'x', cpus: 2, nics: [{ name: 'eth0' }], cgroups: { pinned: { 'cpuset.cpus': '1' } }, apps: [{ name: 'hog', kind: 'cpu-hog', cgroup: 'pinned', cpus: '0' }] }),
    ).toThrow(/apps\[0\]\.cpus.*none in common/);
  });

  it('the Iron effect: softirq time that hits a capped task counts against its quota, unless irq_time_accounting', () => {
    const sc = (irqTime: boolean) =>
      run({
        warmup_ms: 0,
        kernel: { irq_time_accounting: irqTime },
        nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
        cgroups: { capped: { 'cpu.max': '50000 100000' } },
        apps: [{ name: 'victim', kind: 'cpu-hog', cgroup: 'capped', cpus: '0' }],
        flows: [{ name: 'flood', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '300kpps', size: 64 }],
      });
    const charged = sc(false);
    const exempt = sc(true);
    const g = charged.cgroups[0]!;
    expect(g.softirq_ms).toBeGreaterThan(5);
    expect(g.usage_ms).toBeCloseTo(100, 0); // the quota, softirq included
    expect(g.user_ms).toBeLessThan(100 - g.softirq_ms + 1); // so less left for its own work
    expect(exempt.cgroups[0]!.user_ms).toBeGreaterThan(g.user_ms + 5);
  });
});

describe('idle exit latency (C-states)', () => {
  it('an interrupt on an idle CPU waits for the exit latency; the time counts as idle', () => {
    const sc = (us: number) =>
      run({
        kernel: { idle_exit_us: us },
        nics: [{ name: 'eth0', channels: { combined: 1 }, coalesce: { 'rx-usecs': 0 } }],
        flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '20kpps', size: 128 }],
        // The reader shares the interrupt's CPU: woken by the softirq there, it adds no second
        // exit (a reader on the idle CPU 1 would wait for its own C-state exit after the IPI).
        apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '0' }],
      });
    const polling = sc(0);
    const deep = sc(10);
    expect(deep.latency_us.p50! - polling.latency_us.p50!).toBeGreaterThan(9.5);
    expect(deep.latency_us.p50! - polling.latency_us.p50!).toBeLessThan(10.5);
    expect(deep.cpus[0]!.idle).toBeGreaterThan(90);
  });
});

describe('migration', () => {
  it('a task moved to another CPU pays task_migration once, as system time, on its first run there', () => {
    const moved = (cost: number) =>
      run({
        cost_overrides: { task_migration: cost },
        apps: [{ name: 'hog', kind: 'cpu-hog', cpus: '0' }],
        timeline: [{ at_ms: 100, apply: ['taskset -pc 1 hog'] }],
      });
    const cheap = task(moved(0), 'hog');
    const dear = task(moved(50_000), 'hog');
    expect(cheap.migrations).toBe(1);
    expect(dear.migrations).toBe(1);
    expect(dear.sys_ms - cheap.sys_ms).toBeCloseTo(0.05, 6);
    expect(cheap.usr_ms - dear.usr_ms).toBeCloseTo(0.05, 6);
  });
});

describe('wake-up placement (select_task_rq_fair)', () => {
  /** A kernel with three idle CPUs and a task that last ran on `prev`, asleep. */
  const setup = (prev: number) => {
    const k = kernel({ cpus: 3, flows: [], nics: [{ name: 'eth0', channels: { combined: 1 } }] });
    const t = k.tasks.spawn('t', [0, 1, 2], 0, 'app', null);
    t.cpu = prev;
    return { k, t };
  };

  it('wake_affine_idle: waker and previous CPU both idle → the previous CPU (no migration)', () => {
    const { k, t } = setup(2);
    expect(k.sched.selectTaskRq(t, 0)).toBe(2);
  });

  it("the previous CPU busy and the waker's idle → the waker's CPU", () => {
    const { k, t } = setup(2);
    const hog = k.tasks.spawn('hog', [2], 0, 'app', null);
    k.cpus[2]!.rq.enqueue(hog);
    expect(k.sched.selectTaskRq(t, 0)).toBe(0);
  });

  it('neither idle: select_idle_sibling scans from the target for an idle CPU', () => {
    const { k, t } = setup(1);
    for (const c of [0, 1]) k.cpus[c]!.rq.enqueue(k.tasks.spawn(`hog${c}`, [c], 0, 'app', null));
    expect(k.sched.selectTaskRq(t, 0)).toBe(2);
  });
});
