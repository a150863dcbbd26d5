import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import type { Kernel } from '../../src/model/kernel.ts';
import { busyPollStop, Napi, napiBusyPollStart, napiCompleteDone, napiWatchdog, type NapiPoller } from '../../src/model/napi.ts';
import { simulate } from '../../src/model/simulate.ts';
import { NET_RX_SOFTIRQ } from '../../src/model/softirq.ts';
import { Acct, type Task, type TaskYield } from '../../src/model/task.ts';
import { kernel, resolve } from '../helpers.ts';

/**
 * epoll busy polling and IRQ suspension (fs/eventpoll.c: ep_poll, ep_busy_loop,
 * ep_set_busy_poll_napi_id, ep_suspend_napi_irqs; net/core/dev.c: napi_complete_done,
 * busy_poll_stop, napi_suspend_irqs, napi_resume_irqs, napi_watchdog — 6.13+).
 */

/** One request in flight (netperf UDP_RR) to an event-loop server on CPU 1; rx-0 interrupts `irqCpu`. */
function rr(app: Record<string, unknown> = {}, nic: Record<string, unknown> = {}, sysctl: Record<string, unknown> = {}, irqCpu = '0', concurrency = 1, service = 5) {
  return {
    cpus: 2,
    duration_ms: 20,
    warmup_ms: 5,
    sysctl,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': irqCpu }, ...nic }],
    apps: [{ name: 'server', kind: 'rr-server', listen: '10.0.0.2:11211', cpus: '1', service_us: service, epoll: true, ...app }],
    flows: [{ name: 'c', proto: 'udp', src: '10.0.0.1:40000', dst: '10.0.0.2:11211', size: 128, rtt_us: 20, rr: { concurrency } }],
  };
}

function runRr(...args: Parameters<typeof rr>): { r: Result; k: Kernel } {
  const k = simulate(resolve(rr(...args)));
  return { r: collectResult(k, 0), k };
}

const server = (r: Result) => r.tasks.find((t) => t.comm === 'server')!;

describe('ep_busy_loop: epoll_wait busy-polls the NAPI its sockets got data from', () => {
  it('without busy polling the event loop sleeps in epoll_wait and ep_poll_callback wakes it for each request', () => {
    const { r } = runRr();
    const requests = r.nstat.UdpInDatagrams!;
    expect(requests).toBeGreaterThan(200);
    expect(r.nstat.TcpExtBusyPollRxPackets).toBe(0);
    expect(server(r).wakeups).toBeGreaterThanOrEqual(requests - 1);
    expect(r.cpus[1]!.idle).toBeGreaterThan(50);
  });

  it('EPIOCSPARAMS busy_poll_usecs: the loop takes each request off the ring in its own system time, and never sleeps', () => {
    const sleep = runRr();
    const { r, k } = runRr({ epoll_busy_poll_usecs: 50 });
    const requests = r.nstat.UdpInDatagrams!;
    // ep->napi_id came from the socket's sk_napi_id (ep_poll_callback): rx-0's NAPI.
    expect(k.sockets.sockets[0]!.napiId).toBe(k.nics[0]!.napis[0]!.id);
    // napi_busy_loop adds each poll's work to LINUX_MIB_BUSYPOLLRXPACKETS: one packet per request.
    expect(r.nstat.TcpExtBusyPollRxPackets).toBeGreaterThan(0.9 * requests);
    expect(r.nstat.TcpExtBusyPollRxPackets).toBeLessThanOrEqual(requests + 1);
    expect(k.softnet[1]!.processed).toBeGreaterThan(0.9 * requests);
    expect(server(r).wakeups).toBe(0);
    // The loop is the task's system time: it spins while the answer and the next request travel.
    expect(server(r).sys_ms).toBeGreaterThan(3 * server(sleep.r).sys_ms);
    expect(r.cpus[1]!.idle).toBeLessThan(1);
    expect(r.rr[0]!.latency_us.p50!).toBeLessThan(sleep.r.rr[0]!.latency_us.p50!);
  });

  it('net.core.busy_poll alone turns it on (net_busy_loop_on) and sets the time when busy_poll_usecs is 0', () => {
    const { r } = runRr({}, {}, { 'net.core.busy_poll': 50 });
    expect(r.nstat.TcpExtBusyPollRxPackets).toBeGreaterThan(0.9 * r.nstat.UdpInDatagrams!);
    expect(server(r).wakeups).toBe(0);
  });

  it('the socket option SO_BUSY_POLL does not make epoll_wait poll: the epoll instance decides', () => {
    const { r } = runRr({ busy_poll: 50 });
    expect(r.nstat.TcpExtBusyPollRxPackets).toBe(0);
    expect(server(r).wakeups).toBeGreaterThan(200);
  });
});

/** A NIC whose one flow sends nothing for a while; the socket already has rx-0's NAPI id. */
function idleKernel(nic: Record<string, unknown> = {}): { k: Kernel; poller: Task; napi: Napi } {
  const k = kernel({
    cpus: 2,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' }, ...nic }],
    apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '0' }],
    flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '10pps', size: 64 }],
  });
  const napi = k.nics[0]!.napis[0]!;
  k.sockets.sockets[0]!.napiId = napi.id;
  const poller = k.tasks.spawn('poller', [1], 0, 'app', null);
  return { k, poller, napi };
}

function runTask(k: Kernel, task: Task, body: () => Generator<TaskYield, void, void>, until = 1_000_000): void {
  task.activity = body();
  k.start();
  k.sched.wakeUp(task, 1);
  k.sim.runUntil(until);
}

describe('ep->napi_id (ep_set_busy_poll_napi_id)', () => {
  it('a socket callback records its sk_napi_id only while busy polling is on; ids below MIN_NAPI_ID are not NAPIs', () => {
    const { k, napi } = idleKernel();
    const sock = k.sockets.sockets[0]!;
    const off = k.epollCreate([sock], { busyPollUsecs: 0, busyPollBudget: 0, preferBusyPoll: false });
    off.pollCallback(sock);
    expect(off.napiId).toBe(0);
    const on = k.epollCreate([sock], { busyPollUsecs: 0, busyPollBudget: 0, preferBusyPoll: true });
    expect(on.napiId).toBe(napi.id); // ep_insert already took it
    on.napiId = 0;
    sock.napiId = 5; // a sender_cpu value, not a NAPI id
    on.pollCallback(sock);
    expect(on.napiId).toBe(0);
  });

  it('a busy loop that finds nothing ends after busy_poll_usecs and drops the id until a callback brings it back', () => {
    const { k, poller, napi } = idleKernel();
    const sock = k.sockets.sockets[0]!;
    const ep = k.epollCreate([sock], { busyPollUsecs: 20, busyPollBudget: 0, preferBusyPoll: false });
    let found: boolean | undefined;
    let spent = -1;
    runTask(k, poller, function* () {
      yield 100_000; // after the first datagram (t = 0) was read
      if (sock.queue.length > 0) sock.queue.shift(k.sim.now);
      const t0 = k.sim.now;
      found = yield* ep.busyLoop(poller);
      spent = k.sim.now - t0;
    });
    expect(found).toBe(false);
    expect(spent).toBeGreaterThan(19 * 1024);
    expect(spent).toBeLessThan(22 * 1024);
    expect(poller.time[Acct.SYS]!).toBeGreaterThanOrEqual(spent);
    expect(ep.napiId).toBe(0);
    expect(napi.inBusyPoll).toBe(false);
    ep.pollCallback(sock);
    expect(ep.napiId).toBe(napi.id);
  });

  it('prefer_busy_poll with no time at all (busy_poll_usecs 0, net.core.busy_poll 0) polls once: busy_loop_timeout is true at once', () => {
    const { k, poller, napi } = idleKernel();
    const sock = k.sockets.sockets[0]!;
    const ep = k.epollCreate([sock], { busyPollUsecs: 0, busyPollBudget: 0, preferBusyPoll: true });
    let polls = -1;
    runTask(k, poller, function* () {
      yield 100_000;
      if (sock.queue.length > 0) sock.queue.shift(k.sim.now);
      const before = napi.polls;
      yield* ep.busyLoop(poller);
      polls = napi.polls - before;
    });
    expect(polls).toBe(1);
  });
});

/** A NAPI whose driver completes every poll with `work` packets (napi_complete_done), GRO holding packets. */
function completing(k: Kernel, work: number): { n: Napi; ret: boolean[] } {
  const ret: boolean[] = [];
  const poller: NapiPoller = {
    *poll(cpu, budget, napi) {
      yield 100;
      ret.push(yield* napiCompleteDone(k, cpu, napi, work));
      return Math.min(work, budget - 1);
    },
    groHeld: () => true,
    *groFlush() {},
  };
  const n = new Napi(90_000, 'test', poller);
  k.napis.add(n);
  return { n, ret };
}

function drive<T>(gen: Generator<unknown, T, void>): T {
  for (;;) {
    const r = gen.next();
    if (r.done) return r.value;
  }
}

describe('irq_suspend_timeout is read only by napi_suspend_irqs (6.18: not by napi_complete_done or busy_poll_stop)', () => {
  const k2 = () => kernel({ cpus: 2, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }], apps: [] });

  it('napi_complete_done under PREFER_BUSY_POLL ignores irq_suspend_timeout: with no deferral count the interrupt comes back', () => {
    const k = k2();
    const { n } = completing(k, 0);
    n.irqSuspendTimeout = 5_000_000;
    n.sched = true;
    n.preferBusyPoll = true;
    expect(drive(napiCompleteDone(k, k.cpus[0]!, n, 3))).toBe(true);
    expect(n.timer!.armed).toBe(false);
    expect(n.preferBusyPoll).toBe(false); // cleared with SCHED
  });

  it("PREFER_BUSY_POLL leaves the GRO timeout alone: GRO's held packets keep the gro_flush_timeout timer", () => {
    const k = k2();
    const { n } = completing(k, 0);
    n.groFlushTimeout = 100_000;
    n.sched = true;
    n.preferBusyPoll = true;
    expect(drive(napiCompleteDone(k, k.cpus[0]!, n, 3))).toBe(true);
    expect(n.timer!.armed).toBe(true);
    expect(n.timer!.when).toBe(k.sim.now + 100_000);
  });

  /**
   * A busy poller takes `n` and gives it back (busy_poll_stop with prefer). Right after: how far out
   * the hrtimer is armed (-1: not) and defer_hard_irqs_count.
   */
  function stopWithPrefer(k: Kernel, poller: Task, n: Napi): { armedFor: number; count: number } {
    const after = { armedFor: -1, count: -1 };
    runTask(k, poller, function* () {
      yield 100_000;
      expect(napiBusyPollStart(n, true)).toBe(true);
      yield* busyPollStop(k, poller, n, true, 8);
      if (n.timer!.armed) after.armedFor = n.timer!.when - k.sim.now;
      after.count = n.deferHardIrqsCount;
    });
    return after;
  }

  it('busy_poll_stop with prefer, irq_suspend_timeout set and napi_defer_hard_irqs 0 re-enables the interrupt', () => {
    const { k, poller } = idleKernel();
    const { n, ret } = completing(k, 0);
    n.irqSuspendTimeout = 20_000_000;
    expect(stopWithPrefer(k, poller, n).armedFor).toBe(-1);
    // The last poll's napi_complete_done tells the driver to unmask its vector.
    expect(ret).toEqual([true]);
    expect(n.sched).toBe(false);
  });

  it('busy_poll_stop with prefer arms gro_flush_timeout, not irq_suspend_timeout, and refills the deferral count', () => {
    const { k, poller } = idleKernel();
    const { n, ret } = completing(k, 0);
    n.irqSuspendTimeout = 20_000_000;
    n.deferHardIrqs = 2;
    n.groFlushTimeout = 200_000;
    const { armedFor, count } = stopWithPrefer(k, poller, n);
    // Refilled to 2, then the last (empty) poll's napi_complete_done took one, kept the vector
    // masked and re-armed the timer for gro_flush_timeout (it fires later: ret holds its polls too).
    expect(ret[0]).toBe(false);
    expect(count).toBe(1);
    expect(armedFor).toBeGreaterThan(199_000);
    expect(armedFor).toBeLessThanOrEqual(200_000);
  });

  it('napi_watchdog clears PREFER_BUSY_POLL when it takes the NAPI, so its softirq poll hands the interrupt back', () => {
    const k = k2();
    const { n } = completing(k, 0);
    n.preferBusyPoll = true;
    drive(napiWatchdog(k, k.cpus[0]!, n));
    expect(n.sched).toBe(true);
    expect(n.preferBusyPoll).toBe(false);
  });
});

describe('napi_resume_irqs: ep_busy_loop found nothing', () => {
  function resume(irqSuspendTimeout: number): { k: Kernel; poller: Task; napi: Napi } {
    const { k, poller, napi } = idleKernel();
    napi.irqSuspendTimeout = irqSuspendTimeout;
    const sock = k.sockets.sockets[0]!;
    const ep = k.epollCreate([sock], { busyPollUsecs: 10, busyPollBudget: 0, preferBusyPoll: true });
    runTask(k, poller, function* () {
      yield 100_000;
      if (sock.queue.length > 0) sock.queue.shift(k.sim.now);
      k.softirq.resetWindow();
      expect(yield* ep.busyLoop(poller)).toBe(false);
    });
    return { k, poller, napi };
  }

  it("the softirq polls the NAPI at once in the task's local_bh_enable, and its napi_complete_done unmasks the vector", () => {
    const { k, poller, napi } = resume(20_000_000);
    expect(k.softirq.counts[NET_RX_SOFTIRQ]![1]).toBe(1);
    expect(poller.time[Acct.SOFT]!).toBeGreaterThan(0);
    expect(napi.sched).toBe(false);
    expect(k.nics[0]!.vectors[0]!.masked).toBe(false);
  });

  it('without irq_suspend_timeout napi_resume_irqs does nothing', () => {
    const { k, poller } = resume(0);
    expect(k.softirq.counts[NET_RX_SOFTIRQ]![1]).toBe(0);
    expect(poller.time[Acct.SOFT]!).toBe(0);
  });
});

describe('IRQ suspension under load: while epoll_wait keeps finding events, the NAPI stays quiet', () => {
  // Eight requests in flight to a server spending 30 µs on each, rx-0's interrupt on the server's CPU.
  const tuned = { napi_defer_hard_irqs: 2, gro_flush_timeout: 20_000 };
  const params = { epoll_prefer_busy_poll: true, epoll_busy_poll_usecs: 50 };

  it('with deferral only, the gro_flush_timeout hrtimer polls the NAPI in NET_RX on the busy server CPU; with irq_suspend_timeout the loop takes every request itself', () => {
    const defer = runRr(params, tuned, {}, '1', 8, 30);
    const suspend = runRr(params, { ...tuned, queues: { 'rx-0': { irq_suspend_timeout: 20_000_000 } } }, {}, '1', 8, 30);
    const requests = suspend.r.nstat.UdpInDatagrams!;
    expect(requests).toBeGreaterThan(400);
    // Deferral: epoll_wait always has events, so ep_busy_loop never runs; the 20 µs timer polls.
    expect(defer.r.nstat.TcpExtBusyPollRxPackets).toBe(0);
    expect(defer.k.softirq.counts[NET_RX_SOFTIRQ]![1]).toBeGreaterThan(500);
    expect(defer.r.cpus[1]!.soft).toBeGreaterThan(1);
    // Suspension: each ep_send_events pushes the timer out to 20 ms (napi_suspend_irqs); the NAPI
    // is polled only when the loop runs dry and busy-polls: no softirq, no interrupt.
    expect(suspend.k.softirq.counts[NET_RX_SOFTIRQ]![1]).toBe(0);
    expect(suspend.r.interrupts.total).toBe(0);
    // (up to the eight in flight at the window's edges)
    expect(suspend.r.nstat.TcpExtBusyPollRxPackets).toBeGreaterThanOrEqual(requests - 8);
    // Several requests per poll: the loop polls only when its socket is empty.
    expect(suspend.k.nics[0]!.napis[0]!.polls).toBeLessThan(requests / 3);
    expect(suspend.r.cpus[1]!.soft).toBe(0);
    expect(requests).toBeGreaterThan(defer.r.nstat.UdpInDatagrams!);
  });
});
