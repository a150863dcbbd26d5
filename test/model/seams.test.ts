import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { napiBusyPoll } from '../../src/model/napi.ts';
import type { CoreHook } from '../../src/model/netif-receive.ts';
import type { RxHook } from '../../src/model/nic/driver.ts';
import { Acct, type TaskYield } from '../../src/model/task.ts';
import { kernel } from '../helpers.ts';

/**
 * The receive path's seams: hooks in the driver's clean loop before the skb exists (XDP's place),
 * hooks at __netif_receive_skb_core (generic XDP, taps), and a task polling a NAPI itself
 * (napi_busy_loop). Each test checks the verdict's effect, where the cost lands, and conservation.
 */

const FLOOD = {
  cpus: 2,
  duration_ms: 2,
  nics: [{ name: 'eth0', channels: { combined: 1 } }],
  apps: [{ name: 'sink', kind: 'udp-sink', cpus: '1', listen: '10.0.0.2:9' }],
  flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '200kpps', size: 64 }],
};

function run(k: ReturnType<typeof kernel>, ns: number) {
  k.start();
  k.sim.runUntil(ns);
  for (const nic of k.nics) nic.settleAt(k.sim.now);
  for (const cpu of k.cpus) cpu.account();
  return collectResult(k, 0);
}

describe('RX hooks in the driver clean loop (before the skb is built)', () => {
  it('a hook that consumes every frame: nothing reaches GRO or the stack, its cost is softirq time, packets are conserved', () => {
    const base = run(kernel(FLOOD), 2_000_000);
    const k = kernel(FLOOD);
    let seen = 0;
    const hook: RxHook = {
      run: (_cpu, row) => {
        seen++;
        k.accounting.drop(row, 'nic_ring');
        return { consumed: true, cost: 500 };
      },
    };
    k.nics[0]!.pollers[0]!.rxHooks.push(hook);
    const r = run(k, 2_000_000);
    expect(seen).toBeGreaterThan(300);
    expect(r.gro.received).toBe(0);
    expect(r.stack.processed).toBe(0);
    expect(r.nstat.IpInReceives).toBe(0);
    expect(r.packets.delivered).toBe(0);
    expect(r.packets.dropped.nic_ring).toBe(seen);
    expect(r.packets.offered).toBe(r.packets.delivered + Object.values(r.packets.dropped).reduce((a, b) => a + b, 0) + r.packets.in_flight);
    // 500 ns per frame on CPU 0, in softirq: more than the stack work it replaced.
    expect(k.cpus[0]!.time[Acct.SOFT]!).toBeGreaterThan(seen * 500);
    expect(base.packets.delivered).toBeGreaterThan(300);
  });

  it('a hook that passes frames changes nothing but the cost', () => {
    const base = run(kernel(FLOOD), 2_000_000);
    const k = kernel(FLOOD);
    k.nics[0]!.pollers[0]!.rxHooks.push({ run: () => ({ consumed: false, cost: 0 }) });
    expect(run(k, 2_000_000).digest).toBe(base.digest);
  });
});

describe('hooks at __netif_receive_skb_core', () => {
  it('run after the skb exists (softnet processed counts) and before ip_rcv (IpInReceives does not)', () => {
    const k = kernel(FLOOD);
    let seen = 0;
    const hook: CoreHook = {
      run: (_cpu, row) => {
        seen++;
        k.accounting.drop(row, 'udp_rcvbuf'); // any drop site: what a future hook (generic XDP) would count as its own
        return { consumed: true, cost: 0 };
      },
      consumes: () => true,
    };
    k.path.coreHooks.push(hook);
    const r = run(k, 2_000_000);
    expect(seen).toBeGreaterThan(300);
    expect(r.stack.processed).toBe(seen);
    expect(r.nstat.IpInReceives).toBe(0);
    expect(r.nstat.UdpInDatagrams).toBe(0);
    expect(r.packets.dropped.socket).toBe(seen);
  });
});

describe('a task polling a NAPI itself (napi_busy_loop)', () => {
  it('with the interrupt held off, the task polls the ring: packets are delivered in its system time, on its CPU', () => {
    // rx-usecs 1022 (ixgbe's maximum): at most ~980 interrupts/s, so in 1 ms the softirq polls once.
    const k = kernel({ ...FLOOD, nics: [{ name: 'eth0', channels: { combined: 1 }, coalesce: { 'rx-usecs': 1022 } }], apps: [] });
    // napi_by_id(): the socket's NAPI id finds the device queue's NAPI.
    const napi = k.napis.byId(k.nics[0]!.napis[0]!.id)!;
    expect(napi).toBe(k.nics[0]!.napis[0]);
    const poller = k.tasks.spawn('busy', [1], 0, 'app', null);
    let polled = 0;
    poller.activity = (function* (): Generator<TaskYield, void, void> {
      for (;;) {
        polled += yield* napiBusyPoll(k, poller, napi, 8);
        poller.acct = Acct.USR;
        yield 2_000; // between polls: user work
      }
    })();
    k.start();
    k.sched.wakeUp(poller, 1);
    k.sim.runUntil(1_000_000);
    // apps: [] leaves port 9 without a socket: each polled packet ends in __udp4_lib_rcv
    // (UdpNoPorts, NO_SOCKET), the end of the stack for it, as delivery is for a bound port.
    const reachedL4 = k.accounting.totals().delivered + k.accounting.dropped.no_socket;
    expect(polled).toBeGreaterThan(100);
    expect(reachedL4).toBeGreaterThanOrEqual(polled - 8);
    // The stack work ran in the poller's context on CPU 1 as system time, not as softirq on CPU 0.
    expect(poller.time[Acct.SYS]!).toBeGreaterThan(polled * k.costs.udp_rcv);
    expect(k.softnet[1]!.processed).toBeGreaterThanOrEqual(polled - 8);
    expect(k.softnet[0]!.processed).toBeLessThan(polled / 4);
  });

  it('leaves a NAPI alone while the softirq owns it (NAPI_STATE_SCHED)', () => {
    const k = kernel(FLOOD);
    const napi = k.nics[0]!.napis[0]!;
    napi.sched = true;
    const t = k.tasks.spawn('busy', [1], 0, 'app', null);
    const gen = napiBusyPoll(k, t, napi, 8);
    const r = gen.next();
    expect(r.done).toBe(true);
    expect(r.value).toBe(0);
  });
});
