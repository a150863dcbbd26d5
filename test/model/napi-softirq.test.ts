import { describe, expect, it } from 'vitest';
import type { Cpu } from '../../src/model/cpu.ts';
import type { Kernel } from '../../src/model/kernel.ts';
import { Napi, napiCompleteDone, napiSchedule, noGroFlush, type NapiPoller } from '../../src/model/napi.ts';
import { NET_RX_SOFTIRQ } from '../../src/model/softirq.ts';
import { SLEEP } from '../../src/model/task.ts';
import type { TraceHooks } from '../../src/model/trace-hooks.ts';
import { kernel } from '../helpers.ts';

/** A NAPI whose polls return scripted work (at most the budget) and cost `cost` ns each. */
class ScriptedPoller implements NapiPoller {
  constructor(
    private readonly k: Kernel,
    readonly name: string,
    private readonly work: () => number,
    private readonly cost: number,
    readonly log: string[],
    private readonly during?: (cpu: Cpu, napi: Napi) => void,
  ) {}
  completions: boolean[] = [];
  *poll(cpu: Cpu, budget: number, napi: Napi): Generator<number, number, void> {
    const work = Math.min(this.work(), budget);
    this.log.push(this.name);
    this.during?.(cpu, napi);
    yield this.cost;
    if (work < budget) this.completions.push(yield* napiCompleteDone(this.k, cpu, napi, work));
    return work;
  }
  groHeld(): boolean {
    return false;
  }
  groFlush(): Generator<number, void, void> {
    return noGroFlush();
  }
}

/** A kernel with no traffic; `sysctl` overrides. */
function quiet(sysctl: Record<string, number> = {}, hz = 1000): Kernel {
  return kernel({ flows: [], cpus: 2, sysctl, kernel: { hz } });
}

/** Schedule NAPIs on CPU 0 from a hard interrupt at the current time. */
function scheduleFromIrq(k: Kernel, napis: Napi[]): void {
  k.cpus[0]!.raiseHardirq({
    desc: k.irqs.LOC,
    handler: function* (cpu) {
      yield 100;
      for (const n of napis) napiSchedule(k, cpu, n);
    },
  });
}

/** Trace hooks recording what tests need. */
function recorder(k: Kernel) {
  const events: { t: number; what: string }[] = [];
  const hooks: TraceHooks = {
    irqRaise() {},
    irqEntry: (cpu, desc) => events.push({ t: k.sim.now, what: `irq ${k.irqs.descs[desc]!.label}@${cpu}` }),
    softirqFrame() {},
    softirqEntry: (cpu, vec) => events.push({ t: k.sim.now, what: `softirq ${vec}@${cpu}` }),
    softirqExit() {},
    napiPoll: (cpu, n, work) => events.push({ t: k.sim.now, what: `poll ${n.dev}:${work}@${cpu}` }),
    sched: (cpu, _prev, next) => events.push({ t: k.sim.now, what: `switch ${next?.comm ?? 'idle'}@${cpu}` }),
    wakeup: (cpu, task) => events.push({ t: k.sim.now, what: `wakeup ${task.comm}@${cpu}` }),
  };
  k.trace = hooks;
  return events;
}

describe('net_rx_action', () => {
  it('checks the budget after each poll (overshoot up to the weight), counts time_squeeze, and re-queues unpolled, new, repolled in that order', () => {
    const k = quiet({ 'net.core.netdev_budget': 100 });
    const log: string[] = [];
    const mk = (name: string, during?: (cpu: Cpu, n: Napi) => void) => new Napi(1, name, new ScriptedPoller(k, name, () => 64, 1000, log, during));
    const e = mk('E');
    let scheduledE = false;
    const a = mk('A', (cpu) => {
      if (!scheduledE) {
        scheduledE = true;
        napiSchedule(k, cpu, e); // scheduled while net_rx_action runs (in_net_rx_action: no raise)
      }
    });
    const [b, c, d] = [mk('B'), mk('C'), mk('D')];
    scheduleFromIrq(k, [a, b, c, d]);
    k.sim.runUntil(11_000); // ten polls
    // Run 1 polls A and B (64 + 64 = 128 > 100: overshoot, squeeze); C and D were not polled,
    // E came meanwhile, A and B used their weight: next runs go C D | E A | B C ...
    expect(log.slice(0, 10)).toEqual(['A', 'B', 'C', 'D', 'E', 'A', 'B', 'C', 'D', 'E']);
    expect(k.softnet[0]!.timeSqueeze).toBe(5);
  });

  it('counts time_squeeze when the budget runs out even if no work is left', () => {
    const k = quiet({ 'net.core.netdev_budget': 10 });
    const log: string[] = [];
    const poller = new ScriptedPoller(k, 'A', () => 10, 1000, log);
    const a = new Napi(1, 'A', poller);
    scheduleFromIrq(k, [a]);
    k.sim.runUntil(1_000_000);
    expect(log).toEqual(['A']); // 10 < weight: the driver completed
    expect(poller.completions).toEqual([true]);
    expect(k.softnet[0]!.pollList).toEqual([]);
    expect(k.softnet[0]!.timeSqueeze).toBe(1); // budget 10 - 10 = 0 <= 0
  });

  it('stops on netdev_budget_usecs (in jiffies) after the poll that crosses it', () => {
    // HZ=1000, 2000 us = 2 jiffies from jiffy 0: a poll of 700 us ends at 0.7, 1.4, 2.1 ms → stop after three.
    const k = quiet({ 'net.core.netdev_budget': 100000 });
    const log: string[] = [];
    const napis = ['A', 'B', 'C', 'D', 'E'].map((n) => new Napi(1, n, new ScriptedPoller(k, n, () => 64, 700_000, log)));
    scheduleFromIrq(k, napis);
    k.sim.runUntil(2_200_000);
    expect(log).toEqual(['A', 'B', 'C', 'D']); // D is the first poll of the next run
    expect(k.softnet[0]!.timeSqueeze).toBe(1);
  });
});

describe('napi_complete_done', () => {
  it('MISSED: a schedule during the poll makes the NAPI poll again and the driver keep its interrupt off', () => {
    const k = quiet();
    const log: string[] = [];
    let first = true;
    const poller = new ScriptedPoller(
      k,
      'A',
      () => 3,
      1000,
      log,
      (cpu, n) => {
        if (first) {
          first = false;
          napiSchedule(k, cpu, n); // SCHED is set: this only sets MISSED
        }
      },
    );
    const a = new Napi(1, 'A', poller);
    scheduleFromIrq(k, [a]);
    k.sim.runUntil(1_000_000);
    expect(log).toEqual(['A', 'A']);
    expect(poller.completions).toEqual([false, true]);
    expect(a.sched).toBe(false);
  });
});

describe('handle_softirqs', () => {
  it('restarts at most MAX_SOFTIRQ_RESTART (10) times, then wakes ksoftirqd', () => {
    const k = quiet();
    const events = recorder(k);
    const a = new Napi(1, 'A', new ScriptedPoller(k, 'A', () => 64, 1000, []));
    scheduleFromIrq(k, [a]);
    k.sim.runUntil(100_000);
    const wake = events.findIndex((e) => e.what === 'wakeup ksoftirqd/0@0');
    expect(wake).toBeGreaterThan(0);
    expect(events.slice(0, wake).filter((e) => e.what === `softirq ${NET_RX_SOFTIRQ}@0`)).toHaveLength(10);
    // ksoftirqd then takes over and keeps polling.
    expect(events.slice(wake).some((e) => e.what === 'switch ksoftirqd/0@0')).toBe(true);
  });

  it('stops restarting once MAX_SOFTIRQ_TIME (2 jiffies) has passed', () => {
    const k = quiet();
    const events = recorder(k);
    const a = new Napi(1, 'A', new ScriptedPoller(k, 'A', () => 64, 600_000, []));
    scheduleFromIrq(k, [a]);
    k.sim.runUntil(5_000_000);
    const wake = events.find((e) => e.what === 'wakeup ksoftirqd/0@0')!;
    const before = events.filter((e) => e.t <= wake.t && e.what === `softirq ${NET_RX_SOFTIRQ}@0`);
    expect(before.length).toBeLessThan(10);
    expect(before.length).toBe(4); // runs end at ~0.6, 1.2, 1.8 ms (jiffy < 2: restart) and ~2.4 ms (stop)
    expect(wake.t).toBeGreaterThanOrEqual(2_000_000);
    expect(wake.t).toBeLessThan(3_000_000);
  });

  it('stops restarting when need_resched is set (a task woke on this CPU)', () => {
    const k = quiet();
    const events = recorder(k);
    const sleeper = k.tasks.spawn('sleeper', [0], 0, 'app', null);
    sleeper.activity = (function* () {
      for (;;) yield SLEEP;
    })();
    let woke = false;
    const a = new Napi(
      1,
      'A',
      new ScriptedPoller(
        k,
        'A',
        () => 64,
        1000,
        [],
        (cpu) => {
          if (!woke) {
            woke = true;
            k.sched.wakeUp(sleeper, cpu.id); // the idle task is preempted: need_resched
          }
        },
      ),
    );
    scheduleFromIrq(k, [a]);
    k.sim.runUntil(50_000);
    const wake = events.findIndex((e) => e.what === 'wakeup ksoftirqd/0@0');
    expect(events.slice(0, wake).filter((e) => e.what === `softirq ${NET_RX_SOFTIRQ}@0`)).toHaveLength(1);
  });

  it('with the 4.9–6.4 rule, irq_exit leaves pending softirqs to a runnable ksoftirqd', () => {
    // One CPU, a busy task, and a NAPI that always has work: once ksoftirqd is runnable it
    // shares the CPU with the task. Since 6.5 the timer tick's irq_exit still runs NET_RX inline
    // on the task's time (one round per tick here: the tick that ends the slice has set
    // need_resched); under the old rule it does not run at all.
    const softChargedToHog = (mode: string) => {
      const k = kernel({ flows: [], cpus: 1, nics: [{ name: 'eth0', channels: { combined: 1 } }], kernel: { hz: 1000, softirq_mode: mode }, apps: [{ name: 'hog', kind: 'cpu-hog' }] });
      k.start();
      const a = new Napi(1, 'A', new ScriptedPoller(k, 'A', () => 64, 1000, []));
      scheduleFromIrq(k, [a]);
      k.sim.runUntil(200_000); // ksoftirqd has been woken by now
      const hog = k.tasks.all.find((t) => t.comm === 'hog')!;
      expect(k.softirq.ksoftirqd[0]!.state).toBe('runnable');
      const before = hog.time[3]!; // Acct.SOFT
      k.sim.runUntil(20_000_000);
      return hog.time[3]! - before;
    };
    expect(softChargedToHog('inline')).toBeGreaterThan(5_000);
    expect(softChargedToHog('defer-to-ksoftirqd')).toBe(0);
  });
});
