import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { EXACT } from '../helpers.ts';

/**
 * Load balancing (kernel/sched/fair.c): nohz idle balancing kicked from a busy tick, newidle
 * balance, cache-hot tasks and nr_balance_failed, pinned tasks, active balance of a running task
 * on a CPU whose capacity interrupts reduced. Without a balancer none of these tasks ever moves:
 * a runnable task changes CPU only when it wakes.
 */

function run(sc: Record<string, unknown>): Result {
  return collectResult(simulate(loadScenarioObject({ name: 'lb', duration_ms: 60, warmup_ms: 0, cpus: 2, nics: [{ name: 'eth0' }], variability: EXACT, ...sc }).resolved), 0);
}

const task = (r: Result, comm: string) => r.tasks.find((t) => t.comm === comm)!;
const busy = (t: Result['tasks'][number]) => t.usr_ms + t.sys_ms + t.soft_ms + t.irq_ms;

/** Two hogs pinned to CPU 0, then both allowed on every CPU at 5 ms: only load balancing can separate them. */
const twoHogsOnCpu0 = {
  apps: [
    { name: 'a', kind: 'cpu-hog', cpus: '0' },
    { name: 'b', kind: 'cpu-hog', cpus: '0' },
  ],
  timeline: [{ at_ms: 5, apply: ['taskset -pc 0-1 a', 'taskset -pc 0-1 b'] }],
};

describe('load balancing', () => {
  it('an idle CPU kicked by the busy tick (nohz idle balance) pulls one of two runnable hogs: each then has a CPU', () => {
    const r = run(twoHogsOnCpu0);
    const a = task(r, 'a');
    const b = task(r, 'b');
    expect(a.cpu).not.toBe(b.cpu);
    expect(a.migrations + b.migrations).toBe(1); // one pull, then balanced: no ping-pong
    // 60 ms: both share CPU 0 for at most the first ≈10 ms, then each runs alone.
    expect(busy(a)).toBeGreaterThan(45);
    expect(busy(b)).toBeGreaterThan(45);
    const cpu1 = r.sched_domains.find((d) => d.cpu === 1)!;
    expect(cpu1.domain).toBe('MC');
    expect(cpu1.lb.idle.gained).toBe(1);
    expect(r.proc.interrupts).toMatch(/CAL:\s+\d+\s+[1-9]/); // the kick is a function-call IPI to CPU 1
    expect(r.proc.softirqs).toMatch(/SCHED:\s+\d+\s+[1-9]/);
  });

  it('a cache-hot task (ran within migration_cost) stays until balancing failed more than cache_nice_tries times', () => {
    const never = run({ ...twoHogsOnCpu0, kernel: { sched_migration_cost_ns: 0 } });
    expect(task(never, 'a').nr_failed_migrations_hot + task(never, 'b').nr_failed_migrations_hot).toBe(0);
    // Every task is hot for 1 s: the first passes fail, the third moves it anyway (nr_balance_failed 2 > 1).
    const hot = run({ ...twoHogsOnCpu0, kernel: { sched_migration_cost_ns: 1_000_000_000 } });
    const a = task(hot, 'a');
    const b = task(hot, 'b');
    expect(a.nr_failed_migrations_hot + b.nr_failed_migrations_hot).toBe(2);
    expect(a.nr_forced_migrations + b.nr_forced_migrations).toBe(1);
    expect(a.cpu).not.toBe(b.cpu);
    expect(hot.sched_domains.find((d) => d.cpu === 1)!.lb.idle.failed).toBe(2);
  });

  it('pinned tasks are never pulled: affinity failures, and the interval backs off (all pinned)', () => {
    const r = run({
      apps: [
        { name: 'a', kind: 'cpu-hog', cpus: '0' },
        { name: 'b', kind: 'cpu-hog', cpus: '0' },
      ],
    });
    expect(task(r, 'a').cpu).toBe(0);
    expect(task(r, 'b').cpu).toBe(0);
    expect(task(r, 'a').migrations + task(r, 'b').migrations).toBe(0);
    expect(task(r, 'a').nr_failed_migrations_affine + task(r, 'b').nr_failed_migrations_affine).toBeGreaterThan(0);
    const cpu1 = r.sched_domains.find((d) => d.cpu === 1)!;
    expect(cpu1.lb.idle.gained).toBe(0);
    expect(cpu1.balance_interval_ms).toBeGreaterThan(4); // doubled past max_interval (2 × 2 CPUs) toward MAX_PINNED_INTERVAL
  });

  it('a CPU going idle pulls a waiting task at once (newidle), not at the next periodic balance', () => {
    // CPU 0 has two hogs that may move from 5 ms; CPUs 1 and 2 are busy (no idle CPU to kick)
    // until c leaves CPU 1 at 10 ms: schedule() finds nothing there and pulls at once.
    const r = run({
      duration_ms: 20,
      cpus: 3,
      kernel: { sched_migration_cost_ns: 0 },
      apps: [
        { name: 'a', kind: 'cpu-hog', cpus: '0' },
        { name: 'b', kind: 'cpu-hog', cpus: '0' },
        { name: 'c', kind: 'cpu-hog', cpus: '1' },
        { name: 'd', kind: 'cpu-hog', cpus: '2' },
      ],
      timeline: [
        { at_ms: 5, apply: ['taskset -pc 0-1 a', 'taskset -pc 0-1 b'] },
        { at_ms: 10, apply: ['taskset -pc 2 c'] },
      ],
    });
    const cpu1 = r.sched_domains.find((d) => d.cpu === 1)!;
    expect(cpu1.lb.newidle.gained).toBe(1);
    expect(cpu1.lb.idle.gained).toBe(0);
    expect(task(r, 'a').cpu).not.toBe(task(r, 'b').cpu);
    // Pulled at 10 ms: a and b together ran about 10 + 10 + 10 ms of the 20.
    expect(busy(task(r, 'a')) + busy(task(r, 'b'))).toBeGreaterThan(28);
  });

  it('active balance: a task alone on a CPU that interrupts load (reduced capacity) is pushed by the stopper to an idle CPU — only with IRQ time accounting', () => {
    const sc = (irqTime: boolean) => ({
      duration_ms: 60,
      kernel: { irq_time_accounting: irqTime },
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
      apps: [{ name: 'hog', kind: 'cpu-hog', cpus: '0' }],
      flows: [{ name: 'flood', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '1Mpps', size: 64 }],
      timeline: [{ at_ms: 5, apply: ['taskset -pc 0-1 hog'] }],
    });
    const with_ = run(sc(true));
    expect(task(with_, 'hog').cpu).toBe(1);
    expect(task(with_, 'hog').migrations).toBeGreaterThanOrEqual(1);
    const cpu1 = with_.sched_domains.find((d) => d.cpu === 1)!;
    expect(cpu1.alb_count).toBeGreaterThanOrEqual(1);
    expect(cpu1.alb_pushed).toBeGreaterThanOrEqual(1);
    // Without CONFIG_IRQ_TIME_ACCOUNTING the interrupts look like the hog's own time: full capacity, no push.
    const without = run(sc(false));
    expect(task(without, 'hog').cpu).toBe(0);
    expect(without.sched_domains.find((d) => d.cpu === 1)!.alb_count).toBe(0);
  });

  it('two NUMA nodes: an MC domain per node and a NUMA domain over both; two hogs freed from CPU 0 spread within node 0, not to the other node (adjust_numa_imbalance)', () => {
    const r = run({
      cpus: 4,
      machine: { numa_nodes: ['0-1', '2-3'] },
      ...twoHogsOnCpu0,
      timeline: [{ at_ms: 5, apply: ['taskset -pc 0-3 a', 'taskset -pc 0-3 b'] }],
    });
    const cpu2 = r.sched_domains.filter((d) => d.cpu === 2);
    expect(cpu2.map((d) => [d.domain, d.span])).toEqual([
      ['MC', [2, 3]],
      ['NUMA', [0, 1, 2, 3]],
    ]);
    const a = task(r, 'a').cpu;
    const b = task(r, 'b').cpu;
    expect(a).not.toBe(b);
    expect([a, b].sort()).toEqual([0, 1]);
    // Node 1 looked (its CPUs balance the NUMA level for the idle node) and left them together.
    expect(cpu2[1]!.lb.idle.count + r.sched_domains.find((d) => d.cpu === 3 && d.domain === 'NUMA')!.lb.idle.count).toBeGreaterThan(0);
    expect(cpu2[1]!.lb.idle.gained).toBe(0);
  });

  it('two NUMA nodes: three hogs on node 0 overload it, and the NUMA allowance does not hold them there — node 1 pulls one (migrate_util toward a node with spare capacity; a flat LLC ends the same way)', () => {
    const r = run({
      cpus: 4,
      machine: { numa_nodes: ['0-1', '2-3'] },
      apps: [
        { name: 'a', kind: 'cpu-hog', cpus: '0' },
        { name: 'b', kind: 'cpu-hog', cpus: '0' },
        { name: 'c', kind: 'cpu-hog', cpus: '1' },
      ],
      timeline: [{ at_ms: 5, apply: ['taskset -pc 0-3 a', 'taskset -pc 0-3 b', 'taskset -pc 0-3 c'] }],
    });
    const cpus = ['a', 'b', 'c'].map((n) => task(r, n).cpu);
    expect(new Set(cpus).size).toBe(3);
    expect(cpus.filter((c) => c >= 2)).toHaveLength(1);
  });

  it('wake-ups look for an idle CPU in the target’s LLC only (select_idle_cpu over sd_llc)', () => {
    // CPUs 0 and 1 run hogs, 2 and 3 are idle. A task last on CPU 1, woken from CPU 0: the target
    // is CPU 1, busy; the scan stays in the target's LLC.
    const wakeTarget = (machine: Record<string, unknown>): number => {
      const k = simulate(
        loadScenarioObject({
          name: 'lb',
          duration_ms: 3,
          warmup_ms: 0,
          cpus: 4,
          machine,
          nics: [{ name: 'eth0' }],
          variability: EXACT,
          apps: [
            { name: 'h0', kind: 'cpu-hog', cpus: '0' },
            { name: 'h1', kind: 'cpu-hog', cpus: '1' },
            { name: 'x', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '0-3' },
          ],
        }).resolved,
      );
      const x = k.tasks.all.find((t) => t.comm === 'x')!;
      expect(x.state).toBe('sleeping');
      x.cpu = 1;
      x.recentUsedCpu = -1;
      return k.sched.selectTaskRq(x, 0);
    };
    expect(wakeTarget({ numa_nodes: ['0-1', '2-3'] })).toBe(1); // node 0's LLC has nothing idle
    expect(wakeTarget({})).toBe(2); // one LLC: CPU 2 is idle
  });

  it('6.18: each fruitless newidle pass makes the next look dearer (max_newidle_lb_cost × 1.5), so a CPU with short idle periods soon stops trying', () => {
    // CPU 0: two pinned hogs (rd->overloaded, nothing movable). CPU 1: a sink woken thousands of
    // times, idle for tens of µs each time.
    const r = run({
      duration_ms: 40,
      nics: [{ name: 'eth0', channels: { combined: 1 }, irq_affinity: { '0': '1' } }],
      apps: [
        { name: 'a', kind: 'cpu-hog', cpus: '0' },
        { name: 'b', kind: 'cpu-hog', cpus: '0' },
        { name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' },
      ],
      flows: [{ name: 'u', proto: 'udp', src: '10.0.0.1:1', dst: '10.0.0.2:9', rate: '50kpps', size: 256 }],
    });
    expect(task(r, 'sink').wakeups).toBeGreaterThan(500);
    const cpu1 = r.sched_domains.find((d) => d.cpu === 1)!;
    expect(cpu1.lb.newidle.count).toBeGreaterThan(0);
    expect(cpu1.lb.newidle.count).toBeLessThan(30);
  });
});
