import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/scenario/errors.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { scenario } from '../helpers.ts';

/** Two NICs of two and one queues: NAPI ids 8193, 8194 (eth0 rx-0, rx-1) and 8195 (eth1 rx-0). */
const over = (extra: Record<string, unknown> = {}) =>
  scenario({
    cpus: 2,
    nics: [
      { name: 'eth0', channels: { combined: 2 } },
      { name: 'eth1', channels: { combined: 1 } },
    ],
    ...extra,
  });

function error(extra: Record<string, unknown>): string {
  try {
    loadScenarioObject(over(extra));
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

const napiSet = (json: string) => `ynl --family netdev --do napi-set --json '${json}'`;

describe('per-NAPI irq_suspend_timeout: the scenario field and netlink napi-set', () => {
  it('napi-set by NAPI id writes the queue NAPI it names, in order of the NICs and their queues', () => {
    const { scenario: s, resolved: r } = loadScenarioObject(over({ apply: [napiSet('{"id": 8194, "irq-suspend-timeout": 20000000}'), napiSet('{"id": 8195, "irq-suspend-timeout": 5000}')] }));
    expect(s.nics[0]!.queues['rx-1']!.irq_suspend_timeout).toBe(20_000_000);
    expect(r.nics[0]!.rxQueues.map((q) => q.irqSuspendTimeoutNs)).toEqual([0, 20_000_000]);
    expect(r.nics[1]!.rxQueues.map((q) => q.irqSuspendTimeoutNs)).toEqual([5000]);
  });

  it('the same as the scenario field nics[].queues["rx-<n>"].irq_suspend_timeout', () => {
    const { resolved: r } = loadScenarioObject(
      over({
        nics: [
          { name: 'eth0', channels: { combined: 2 }, queues: { 'rx-1': { irq_suspend_timeout: 20_000_000 } } },
          { name: 'eth1', channels: { combined: 1 } },
        ],
      }),
    );
    expect(r.nics[0]!.rxQueues[1]!.irqSuspendTimeoutNs).toBe(20_000_000);
  });

  it('rejects what netlink would, naming the token', () => {
    expect(error({ apply: [napiSet('{"id": 8200, "irq-suspend-timeout": 1}')] })).toMatch(/no NAPI with id 8200: this scenario's queue NAPIs are 8193, 8194, 8195/);
    expect(error({ apply: [napiSet('{"irq-suspend-timeout": 1}')] })).toMatch(/napi-set needs "id"/);
    expect(error({ apply: [napiSet('{"id": 8193, "irq-suspend-timout": 1}')] })).toMatch(/unknown napi-set attribute "irq-suspend-timout" \(did you mean "irq-suspend-timeout"\?\)/);
    expect(error({ apply: [napiSet('{"id": 8193, "defer-hard-irqs": 2}')] })).toMatch(
      /per NAPI is not modelled: rxsim keeps it per device \(echo V > \/sys\/class\/net\/<dev>\/napi_defer_hard_irqs\)/,
    );
    expect(error({ apply: [napiSet('{"id": 8193, "irq-suspend-timeout": "x"}')] })).toMatch(/a number of ns/);
    expect(error({ apply: [napiSet('{"id": 8193')] })).toMatch(/token "\{"id": 8193": expected a JSON object/);
    expect(error({ apply: ['ynl --family netdev --do napi-get --json {}'] })).toMatch(/token "napi-get": unknown or unmodelled netdev operation \(did you mean "napi-set"\?\)/);
    expect(error({ apply: ['ynl --family rt-link --do napi-set --json {}'] })).toMatch(/token "rt-link": rxsim models the netdev family only/);
    expect(error({ apply: ['ynl --famly netdev'] })).toMatch(/token "--famly": unknown or unmodelled ynl option \(did you mean "--family"\?\)/);
    expect(error({ nics: [{ name: 'eth0', channels: { combined: 2 }, queues: { 'rx-0': { irq_suspend_timeout: -1 } } }] })).toMatch(/irq_suspend_timeout/);
    // No sysfs file holds it: only netlink writes a NAPI's irq_suspend_timeout.
    expect(error({ apply: ['echo 5 > /sys/class/net/eth0/queues/rx-0/irq_suspend_timeout'] })).toMatch(/there is no such sysfs file: irq_suspend_timeout is per NAPI, set with netlink/);
  });
});

describe('epoll and EPIOCSPARAMS as app options', () => {
  const app = (a: Record<string, unknown>) => ({ apps: [{ name: 'server', kind: 'rr-server', listen: '10.0.0.2:9', ...a }] });

  it('resolves the parameters, 0 meaning the defaults the kernel takes (net.core.busy_poll, BUSY_POLL_BUDGET)', () => {
    expect(loadScenarioObject(over(app({}))).resolved.apps[0]!.epoll).toBeNull();
    expect(loadScenarioObject(over(app({ epoll: true }))).resolved.apps[0]!.epoll).toEqual({ busyPollUsecs: 0, busyPollBudget: 0, preferBusyPoll: false });
    expect(loadScenarioObject(over(app({ epoll: true, epoll_busy_poll_usecs: 64, epoll_busy_poll_budget: 64, epoll_prefer_busy_poll: true }))).resolved.apps[0]!.epoll).toEqual({
      busyPollUsecs: 64,
      busyPollBudget: 64,
      preferBusyPoll: true,
    });
  });

  it('rejects an EPIOCSPARAMS field without an epoll instance, and epoll on an app that is not an event loop', () => {
    expect(error(app({ epoll_prefer_busy_poll: true }))).toMatch(/apps\[0\]\.epoll_prefer_busy_poll: EPIOCSPARAMS is an ioctl on an epoll instance: set "epoll": true/);
    expect(error({ apps: [{ name: 'r', kind: 'stream-reader', listen: '10.0.0.2:9', epoll: true }] })).toMatch(/apps\[0\]\.epoll: only an event loop \(udp-sink, rr-server\) waits in epoll_wait/);
    expect(error(app({ epoll: true, epoll_busy_poll_usecs: 2 ** 31 }))).toMatch(/apps\[0\]\.epoll_busy_poll_usecs/);
    expect(error(app({ epoll: true, epoll_busy_poll_budget: 65536 }))).toMatch(/apps\[0\]\.epoll_busy_poll_budget/);
  });
});
