import { describe, expect, it } from 'vitest';
import { collectResult, type Result } from '../../src/metrics/result.ts';
import type { Kernel } from '../../src/model/kernel.ts';
import { Napi, napiBusyPollStart, napiPoll, type NapiPoller } from '../../src/model/napi.ts';
import { simulate } from '../../src/model/simulate.ts';
import { Acct, type Task, type TaskYield } from '../../src/model/task.ts';
import { kernel, resolve } from '../helpers.ts';

/**
 * Busy polling (net/core/dev.c: napi_busy_loop, busy_poll_stop; include/net/busy_poll.h:
 * sk_busy_loop): a reader with an empty socket polls the socket's NAPI itself, in its own system
 * time, until data arrives, sk_ll_usec has passed or need_resched; with SO_PREFER_BUSY_POLL and
 * IRQ deferral the device interrupt stays masked.
 */

/** One request in flight (netperf UDP_RR): the server on CPU 1, rx-0's interrupt on CPU 0. */
function rr(app: Record<string, unknown> = {}, nic: Record<string, unknown> = {}, sysctl: Record<string, unknown> = {}) {
  return {
    cpus: 2,
    duration_ms: 20,
    warmup_ms: 5,
    sysctl,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' }, ...nic }],
    apps: [{ name: 'server', kind: 'rr-server', listen: '10.0.0.2:11211', cpus: '1', service_us: 5, ...app }],
    flows: [{ name: 'c', proto: 'udp', src: '10.0.0.1:40000', dst: '10.0.0.2:11211', size: 128, rtt_us: 20, rr: { concurrency: 1 } }],
  };
}

function runRr(...args: Parameters<typeof rr>): { r: Result; k: Kernel } {
  const k = simulate(resolve(rr(...args)));
  return { r: collectResult(k, 0), k };
}

const server = (r: Result) => r.tasks.find((t) => t.comm === 'server')!;

describe('sk_busy_loop from a blocking udp_recvmsg (net.core.busy_read)', () => {
  it('the reader polls the ring itself: the requests reach the socket in its context on CPU 1, not in the softirq on CPU 0', () => {
    const irq = runRr();
    const busy = runRr({}, {}, { 'net.core.busy_read': 50 });
    // sk_mark_napi_id_once: the socket took rx-0's NAPI id from its first skb.
    expect(busy.k.sockets.sockets[0]!.napiId).toBe(busy.k.nics[0]!.napis[0]!.id);
    const requests = busy.r.nstat.UdpInDatagrams!;
    expect(requests).toBeGreaterThan(200);
    // Without busy polling the softirq on the interrupt's CPU runs the stack for every request.
    expect(irq.r.nstat.TcpExtBusyPollRxPackets).toBe(0);
    expect(irq.k.softnet[0]!.processed).toBeGreaterThanOrEqual(irq.r.nstat.UdpInDatagrams!);
    expect(irq.k.softnet[1]!.processed).toBe(0);
    // With it, nearly every request is taken off the ring by the reader on CPU 1.
    expect(busy.k.softnet[1]!.processed).toBeGreaterThan(0.9 * requests);
    expect(busy.k.softnet[0]!.processed).toBeLessThan(0.1 * requests);
    // The loop's time is the reader's system time: it spins while the request is on its way.
    expect(server(busy.r).sys_ms).toBeGreaterThan(3 * server(irq.r).sys_ms);
    expect(busy.r.cpus[1]!.idle).toBeLessThan(5);
    expect(busy.r.cpus[1]!.soft).toBeLessThan(1);
    // gro_normal_list after each poll: a request goes up at once, not when the loop ends.
    expect(busy.r.rr[0]!.latency_us.p50!).toBeLessThan(irq.r.rr[0]!.latency_us.p50!);
  });

  it('TcpExtBusyPollRxPackets adds the work of each busy-poll napi->poll: packets, one per request here', () => {
    const busy = runRr({}, {}, { 'net.core.busy_read': 50 });
    const requests = busy.r.nstat.UdpInDatagrams!;
    const bp = busy.r.nstat.TcpExtBusyPollRxPackets;
    // A 128-byte request is one descriptor, one packet: the counter moves by packets, not bytes
    // or polls, and only for what the loop's own polls returned.
    expect(bp).toBeLessThanOrEqual(requests + 1);
    expect(bp).toBeGreaterThan(0.9 * requests);
    expect(bp).toBeLessThan(busy.k.napis.all[0]!.polls);
  });

  it('SO_BUSY_POLL 0 on the socket opts out of net.core.busy_read; SO_BUSY_POLL alone turns it on', () => {
    expect(runRr({ busy_poll: 0 }, {}, { 'net.core.busy_read': 50 }).r.nstat.TcpExtBusyPollRxPackets).toBe(0);
    expect(runRr({ busy_poll: 50 }).r.nstat.TcpExtBusyPollRxPackets).toBeGreaterThan(200);
  });
});

/** A NIC whose one flow sends nothing for a while: the socket stays empty. */
function idleKernel(): { k: Kernel; poller: Task } {
  const k = kernel({
    cpus: 2,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
    apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '0' }],
    flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '10pps', size: 64 }],
  });
  const sock = k.sockets.sockets[0]!;
  sock.napiId = k.nics[0]!.napis[0]!.id;
  const poller = k.tasks.spawn('poller', [1], 0, 'app', null);
  return { k, poller };
}

describe('napi_busy_loop ends', () => {
  it('after sk_ll_usec µs of busy_loop_current_time (local_clock() >> 10), all of it system time of the task', () => {
    const { k, poller } = idleKernel();
    const sock = k.sockets.sockets[0]!;
    sock.llUsec = 50;
    let spent = -1;
    poller.activity = (function* (): Generator<TaskYield, void, void> {
      yield 100_000; // after the first datagram (t = 0) was read
      const t0 = k.sim.now;
      yield* k.busyPoll.skBusyLoop(poller, sock);
      spent = k.sim.now - t0;
    })();
    k.start();
    k.sched.wakeUp(poller, 1);
    k.sim.runUntil(1_000_000);
    expect(sock.queue.length).toBe(0);
    // Ends on the first pass after the µs clock passed start + 50: 49 to 51 "µs" of 1.024 µs.
    expect(spent).toBeGreaterThan(49 * 1024);
    expect(spent).toBeLessThan(52 * 1024);
    expect(poller.time[Acct.SYS]!).toBeGreaterThanOrEqual(spent);
    expect(k.nics[0]!.napis[0]!.polls).toBeGreaterThan(50); // it polled the empty ring all along
    expect(k.nics[0]!.napis[0]!.inBusyPoll).toBe(false); // busy_poll_stop gave it back
    expect(k.nics[0]!.napis[0]!.sched).toBe(false);
  });

  it('on need_resched: busy_poll_stop, cond_resched lets the other task run, then the loop goes on to its end', () => {
    const { k, poller } = idleKernel();
    const sock = k.sockets.sockets[0]!;
    sock.llUsec = 20_000; // 20 ms
    let spent = -1;
    poller.activity = (function* (): Generator<TaskYield, void, void> {
      yield 100_000;
      const t0 = k.sim.now;
      yield* k.busyPoll.skBusyLoop(poller, sock);
      spent = k.sim.now - t0;
    })();
    const hog = k.tasks.spawn('hog', [1], 0, 'app', null);
    hog.activity = (function* (): Generator<TaskYield, void, void> {
      hog.acct = Acct.USR;
      for (;;) yield 100_000;
    })();
    k.start();
    k.sched.wakeUp(poller, 1);
    k.sim.runUntil(200_000);
    k.sched.wakeUp(hog, 1);
    k.sim.runUntil(15_000_000);
    // The loop runs with preemption off; only its own need_resched check lets the hog in.
    expect(hog.time[Acct.USR]!).toBeGreaterThan(4_000_000);
    expect(spent).toBe(-1); // still within its 20 ms
    k.sim.runUntil(30_000_000);
    // The end is checked after cond_resched: the hog's slice can carry it past 20 ms.
    expect(spent).toBeGreaterThan(19_900_000);
    expect(spent).toBeLessThan(24_000_000);
  });

  it('leaves a NAPI the softirq owns alone (NAPI_STATE_SCHED) and polls nothing', () => {
    const { k, poller } = idleKernel();
    const sock = k.sockets.sockets[0]!;
    sock.llUsec = 20;
    const napi = k.nics[0]!.napis[0]!;
    let polls = -1;
    poller.activity = (function* (): Generator<TaskYield, void, void> {
      yield 100_000;
      napi.sched = true;
      const before = napi.polls;
      yield* k.busyPoll.skBusyLoop(poller, sock);
      polls = napi.polls - before;
      napi.sched = false;
    })();
    k.start();
    k.sched.wakeUp(poller, 1);
    k.sim.runUntil(1_000_000);
    expect(polls).toBe(0);
    expect(poller.time[Acct.SYS]!).toBeGreaterThan(19 * 1024);
  });
});

describe('SO_PREFER_BUSY_POLL with napi_defer_hard_irqs and gro_flush_timeout', () => {
  const defer = { napi_defer_hard_irqs: 2, gro_flush_timeout: 200_000 };

  it('busy_poll_stop arms the hrtimer instead of unmasking: the device interrupt stays masked while the reader polls', () => {
    const plain = runRr({ busy_poll: 50 }, defer);
    const prefer = runRr({ busy_poll: 50, prefer_busy_poll: true }, defer);
    const tx = prefer.r.nstat.UdpInDatagrams!;
    expect(tx).toBeGreaterThan(200);
    // Without prefer, busy_poll_stop's last poll completes the NAPI with defer_hard_irqs_count
    // left at 0 after an empty poll, and re-enables the vector: the next request interrupts.
    expect(plain.r.interrupts.total).toBeGreaterThan(0.5 * plain.r.nstat.UdpInDatagrams!);
    // With prefer the count is refilled and the timer armed before that poll: no interrupt.
    expect(prefer.r.interrupts.total).toBeLessThan(0.05 * tx);
    expect(prefer.r.cpus[0]!.irq).toBeLessThan(0.2);
    expect(prefer.r.nstat.TcpExtBusyPollRxPackets).toBeGreaterThan(0.9 * tx);
  });
});

describe('busy polling under a flood', () => {
  it('a busy-polling sink competes with the softirq for the NAPI: packets are conserved and the counter only counts what its polls took', () => {
    const { r, k } = (() => {
      const k = simulate(
        resolve({
          cpus: 2,
          duration_ms: 10,
          warmup_ms: 2,
          nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
          apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1', busy_poll: 50, busy_poll_budget: 16 }],
          flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '300kpps', size: 64, arrival: 'poisson' }],
        }),
      );
      return { r: collectResult(k, 0), k };
    })();
    const p = r.packets;
    const dropped = Object.values(p.dropped).reduce((a, b) => a + b, 0);
    expect(p.offered).toBe(p.delivered + dropped + p.in_flight);
    const bp = r.nstat.TcpExtBusyPollRxPackets!;
    expect(bp).toBeGreaterThan(0);
    // Every packet the loop took went through the stack on the reader's CPU.
    expect(bp).toBeLessThanOrEqual(k.softnet[1]!.processed + 16);
    // Both pollers got some: the softirq polls the NAPI while it owns it (after an interrupt).
    expect(k.softnet[0]!.processed + k.softnet[1]!.processed).toBeGreaterThanOrEqual(r.nstat.UdpInDatagrams! - 64);
  });
});

describe('__napi_poll with NAPI_STATE_PREFER_BUSY_POLL', () => {
  /** A driver with more work than any budget: every poll returns its whole budget. */
  const full: NapiPoller = {
    *poll(_cpu, budget) {
      yield 100;
      return budget;
    },
    groHeld: () => false,
    *groFlush() {},
  };

  function drive(gen: Generator<number, number, void>): number {
    for (;;) {
      const r = gen.next();
      if (r.done) return r.value;
    }
  }

  it('a full poll completes the NAPI instead of repolling it, so a busy poller that wants it can take it', () => {
    const k = kernel({ cpus: 2, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }], apps: [] });
    const n = new Napi(90_000, 'test', full);
    k.napis.add(n);
    n.deferHardIrqs = 2;
    n.groFlushTimeout = 100_000;
    n.sched = true; // the softirq owns it
    expect(napiBusyPollStart(n, true)).toBe(false); // the busy poller is refused, and says it prefers
    expect(n.preferBusyPoll).toBe(true);
    const repoll: Napi[] = [];
    expect(drive(napiPoll(k, k.cpus[0]!, n, repoll))).toBe(64);
    // Not repolled: napi_complete_done released it (IRQ deferral armed the timer instead of the IRQ).
    expect(repoll).toEqual([]);
    expect(n.sched).toBe(false);
    expect(n.preferBusyPoll).toBe(false);
    expect(n.timer!.armed).toBe(true);
    expect(napiBusyPollStart(n, true)).toBe(true);
  });

  it('a busy poller that takes the NAPI does not set PREFER_BUSY_POLL: a full NAPI busy_poll_stop reschedules is repolled by the softirq', () => {
    const k = kernel({ cpus: 2, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }], apps: [] });
    const n = new Napi(90_000, 'test', full);
    k.napis.add(n);
    // __napi_busy_loop's cmpxchg sets IN_BUSY_POLL | SCHED only; set_bit(PREFER_BUSY_POLL) is on the goto count paths.
    expect(napiBusyPollStart(n, true)).toBe(true);
    expect(n.preferBusyPoll).toBe(false);
    // busy_poll_stop clears IN_BUSY_POLL; without IRQ deferral it arms no timer, so when its last poll
    // uses the whole budget __busy_poll_stop keeps SCHED and __napi_schedule()s the NAPI for the softirq.
    n.inBusyPoll = false;
    const repoll: Napi[] = [];
    expect(drive(napiPoll(k, k.cpus[0]!, n, repoll))).toBe(64);
    // Full work and no preference: the softirq keeps it and repolls, the interrupt stays masked.
    expect(repoll).toEqual([n]);
    expect(n.sched).toBe(true);
    expect(n.timer!.armed).toBe(false);
  });

  it('without the preference the softirq keeps a full NAPI on its repoll list', () => {
    const k = kernel({ cpus: 2, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }], apps: [] });
    const n = new Napi(90_000, 'test', full);
    k.napis.add(n);
    n.sched = true;
    const repoll: Napi[] = [];
    drive(napiPoll(k, k.cpus[0]!, n, repoll));
    expect(repoll).toEqual([n]);
    expect(n.sched).toBe(true);
    expect(napiBusyPollStart(n, false)).toBe(false);
  });
});
