import { describe, expect, it } from 'vitest';
import type { Kernel } from '../../src/model/kernel.ts';
import { QUIET_TRACE, run } from '../helpers.ts';

/**
 * rx-queue.ts dropOnArrival: a frame the ring refuses while its queue lands the wire's frames is
 * dropped as it is generated, without a row. It is a shortcut, not a rule: the run must be the
 * same as with every frame taking a row and landing in the loop.
 */
function flood(over: Record<string, unknown>, shortcut: boolean): { digest: string; calls: number; peak: number } {
  let calls = 0;
  const attach = (k: Kernel): void => {
    for (const nic of k.nics) {
      for (const q of nic.queues) {
        const drop = q.onDropArriving!;
        q.onDropArriving = shortcut
          ? (flow, size, arrival, missed) => {
              calls++;
              drop(flow, size, arrival, missed);
            }
          : null;
      }
    }
  };
  const { result } = run({ variability: { cost_cv: 0.3, wire_jitter_ns: 5 }, duration_ms: 4, warmup_ms: 1, ...over }, { trace: { ...QUIET_TRACE, attach } });
  return { digest: result.digest, calls, peak: result.sim.peak_packets_in_flight };
}

describe('frames dropped on arrival (a speed shortcut)', () => {
  const cases: [string, Record<string, unknown>][] = [
    [
      'one queue, no DROP_EN: the packet buffer fills, rx_missed_errors',
      { cpus: 2, nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 1 } }], flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: 'line', size: 64 }] },
    ],
    [
      'four queues, DROP_EN: rx_no_dma_resources',
      {
        cpus: 4,
        nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 4 } }],
        flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
        apply: ['ethtool -N eth0 rx-flow-hash udp4 sdfn', 'ethtool -A eth0 autoneg off rx off tx off'],
      },
    ],
    [
      'ice at 100 GbE over 8 queues',
      {
        cpus: 8,
        nics: [{ name: 'eth0', driver: 'ice', speed_gbps: 100, channels: { combined: 8 } }],
        flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: 'line', size: 64 }],
      },
    ],
  ];
  for (const [name, over] of cases) {
    it(`${name}: the same result (digest and peak in flight) as landing every frame`, () => {
      const fast = flood(over, true);
      const slow = flood(over, false);
      expect(fast.calls).toBeGreaterThan(100); // the shortcut is taken
      expect(fast.digest).toBe(slow.digest);
      expect(fast.peak).toBe(slow.peak);
    });
  }
});
