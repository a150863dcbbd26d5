import { describe, expect, it } from 'vitest';
import { run } from '../helpers.ts';

/** drivers/net/veth.c: one RX queue unless numrxqueues is given; its NAPI runs where it was first scheduled. */
describe('veth RX queue (GRO on: NAPI mode)', () => {
  const scenario = {
    cpus: 4,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 2 }, irq_affinity: { '0': '0', '1': '1' } }],
    veth: { gro: 'on' },
    apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '3' }],
    // Eight flows that RSS spreads over the two queues, so CPUs 0 and 1 both transmit into the veth.
    flows: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ name: `f${i}`, proto: 'udp', src: `10.0.0.${10 + i}:1000`, dst: '10.0.0.2:9', rate: '50kpps', size: 200, path: 'veth-bridge' })),
    duration_ms: 5,
  };

  it('two CPUs transmitting into the veth share its one RX queue and NAPI (veth_init_queues: real_num_rx_queues = 1)', () => {
    const { kernel, result } = run(scenario);
    // Both NIC queues (interrupts on CPUs 0 and 1) carry flows into the veth.
    expect(new Set(result.flows.flatMap((f) => f.rx_queues))).toEqual(new Set([0, 1]));
    expect(kernel.veth.queues()).toHaveLength(1);
    expect(kernel.napis.all.filter((n) => n.dev === 'veth')).toHaveLength(1);
    expect(result.packets.delivered).toBeGreaterThan(0);
  });
});
