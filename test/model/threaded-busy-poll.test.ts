import { describe, expect, it } from 'vitest';
import { Acct } from '../../src/model/task.ts';
import { inputError, resolve, run } from '../helpers.ts';

/**
 * Threaded NAPI busy polling (net/core/dev.c: napi_threaded_poll with
 * NAPI_STATE_THREADED_BUSY_POLL; commit c18d4b190a46, 6.19): netlink napi-set threaded
 * "busy-poll" — after the first interrupt the napi/<dev>-<id> kthread polls without sleeping,
 * its NAPI in IN_BUSY_POLL so napi_complete_done keeps the interrupt masked; its CPU is 100 %
 * busy. A 6.18 kernel refuses the value (NLA_POLICY_MAX(NLA_U32, 1)).
 */

const NAPI = 8193;
const napiSet = (mode: string) => `ynl --family netdev --do napi-set --json '{"id": ${NAPI}, "threaded": "${mode}"}'`;
const rr = (mode: string, version = '6.19') => ({
  cpus: 2,
  duration_ms: 10,
  warmup_ms: 2,
  kernel: { version },
  nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 }, irq_affinity: { '0': '0' } }],
  apps: [{ name: 'srv', kind: 'rr-server', listen: '10.0.0.2:11211', cpus: '1', service_us: 5, busy_poll: 0 }],
  flows: [{ name: 'c', proto: 'udp', src: '10.0.0.1:40000', dst: '10.0.0.2:11211', size: 128, rtt_us: 20, rr: { concurrency: 1 } }],
  apply: [napiSet(mode)],
});
const thread = (k: ReturnType<typeof run>['kernel']) => k.tasks.all.find((t) => t.comm === `napi/eth0-${NAPI}`)!;

describe('threaded busy-poll NAPI (6.19)', () => {
  it('the kthread never sleeps after the first interrupt: its CPU is all system time, the vector stays masked', () => {
    const { result: r, kernel: k } = run(rr('busy-poll'));
    const t = thread(k);
    const windowNs = (10 - 2) * 1e6;
    expect(t.time[Acct.SYS]!).toBeGreaterThan(0.95 * windowNs);
    expect(r.tasks.find((x) => x.comm === t.comm)!.wakeups).toBe(0);
    expect(r.nics[0]!.queues[0]!.interrupts).toBe(0);
    expect(r.rr[0]!.transactions).toBeGreaterThan(200);
    // The thread's polls: far more than one per request (it polls an empty ring on and on).
    expect(k.napis.all[0]!.polls).toBeGreaterThan(50 * r.rr[0]!.transactions);
    // busy polling by the kthread is not a socket's: TcpExtBusyPollRxPackets does not move.
    expect(r.nstat.TcpExtBusyPollRxPackets ?? 0).toBe(0);
  });

  it('"enabled" (threaded NAPI, the old rule): the kthread sleeps between requests and each one interrupts', () => {
    const { result: r, kernel: k } = run(rr('enabled'));
    const t = thread(k);
    expect(t.time[Acct.SYS]!).toBeLessThan(0.3 * 8e6);
    expect(r.tasks.find((x) => x.comm === t.comm)!.wakeups).toBeGreaterThan(200);
    expect(r.nics[0]!.queues[0]!.interrupts).toBeGreaterThan(200);
  });

  it('busy polling takes the interrupt, the wake-up of the kthread and its scheduling out of each request', () => {
    const busy = run(rr('busy-poll')).result.rr[0]!.latency_us.p50!;
    const threaded = run(rr('enabled')).result.rr[0]!.latency_us.p50!;
    expect(busy).toBeLessThan(threaded - 1);
  });
});

describe('threaded "busy-poll" is 6.19: refused on 6.18 with one line', () => {
  it('through napi-set: the token, the expected form and the version', () => {
    expect(inputError(() => resolve(rr('busy-poll', '6.18')))).toBe(
      `apply[0]: token "{"id": ${NAPI}, "threaded": "busy-poll"}": "busy-poll" needs kernel ≥ 6.19 (NETDEV_NAPI_THREADED_BUSY_POLL; kernel.version is 6.18): "disabled" or "enabled"`,
    );
  });
  it('in the scenario file: the JSON path', () => {
    const s = { ...rr('busy-poll', '6.18'), apply: [], nics: [{ name: 'eth0', queues: { 'rx-0': { threaded: 'busy-poll' } } }] };
    expect(inputError(() => resolve(s))).toBe('nics[0].queues["rx-0"].threaded: "busy-poll" needs kernel ≥ 6.19 (NETDEV_NAPI_THREADED_BUSY_POLL; kernel.version is 6.18): "disabled" or "enabled"');
  });
  it('a misspelt mode, a number, and the sysfs file that has no such value', () => {
    expect(inputError(() => resolve(rr('busypoll')))).toMatch(/"busypoll" is not one of disabled, enabled, busy-poll \(did you mean "busy-poll"\?\)/);
    expect(inputError(() => resolve({ ...rr('x'), apply: [`ynl --family netdev --do napi-set --json '{"id": ${NAPI}, "threaded": 2}'`] }))).toMatch(/"threaded" is a name of enum napi-threaded/);
    expect(inputError(() => resolve({ ...rr('x'), apply: ['echo 2 > /sys/class/net/eth0/threaded'] }))).toMatch(/expected 0 or 1 for threaded/);
    expect(inputError(() => resolve({ ...rr('x'), kernel: { version: '6.20' } }))).toMatch(/^kernel\.version: "6\.20" is not one of 6\.18, 6\.19/);
  });
});
