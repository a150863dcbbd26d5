import { describe, expect, it } from 'vitest';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { readFileSync } from 'node:fs';

/** The skb:kfree_skb table: each drop under the kernel's reason and the function that frees it. */
const shipped = (name: string) => {
  const obj = JSON.parse(readFileSync(new URL(`../../sim-scenarios/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
  return collectResult(simulate(loadScenarioObject({ ...obj, duration_ms: 20, warmup_ms: 5 }).resolved), 0);
};

describe('drop reasons', () => {
  it('a full backlog: SKB_DROP_REASON_CPU_BACKLOG in enqueue_to_backlog, one skb per packet', () => {
    const r = shipped('rps-backlog-drops');
    expect(r.packets.dropped.backlog).toBeGreaterThan(0);
    // The flood's port has no socket: what the backlog let through is freed in __udp4_lib_rcv.
    expect(r.drop_reasons).toEqual([
      { reason: 'SKB_DROP_REASON_NO_SOCKET', location: '__udp4_lib_rcv', skbs: r.packets.dropped.no_socket, packets: r.packets.dropped.no_socket },
      { reason: 'SKB_DROP_REASON_CPU_BACKLOG', location: 'enqueue_to_backlog', skbs: r.packets.dropped.backlog, packets: r.packets.dropped.backlog },
    ]);
  });

  it("per flow, by place and reason: the flood's backlog drops under CPU_BACKLOG, its closed-port drops under NO_SOCKET", () => {
    const r = shipped('rps-backlog-drops');
    const f = r.flows[0]!;
    expect(f.drops.backlog).toBeGreaterThan(0);
    expect(f.drops.no_socket).toBeGreaterThan(0);
    expect(f.drop_reasons).toEqual({ backlog: { SKB_DROP_REASON_CPU_BACKLOG: f.drops.backlog }, no_socket: { SKB_DROP_REASON_NO_SOCKET: f.drops.no_socket } });
  });

  it("per flow: the NIC's drops keep their place but have no reason", () => {
    const f = shipped('budget-squeeze').flows[0]!;
    expect(f.drops.nic_ring).toBeGreaterThan(0);
    expect(f.drop_reasons.nic_ring).toBeUndefined();
  });

  it('a full UDP receive buffer: SKB_DROP_REASON_SOCKET_RCVBUFF in udp_queue_rcv_one_skb, as many as UdpRcvbufErrors', () => {
    const r = shipped('udp-sink-starved-on-irq-core');
    const row = r.drop_reasons.find((d) => d.reason === 'SKB_DROP_REASON_SOCKET_RCVBUFF');
    expect(row?.location).toBe('udp_queue_rcv_one_skb');
    expect(row!.packets).toBe(r.packets.dropped.socket);
    expect(row!.packets).toBeGreaterThan(0);
  });

  it('the NIC’s own drops have no skb and no reason: a one-queue 64 B flood drops in the ring and the table is empty', () => {
    const r = shipped('flood-64b-one-queue');
    expect((r.packets.dropped.nic_ring ?? 0) + (r.packets.dropped.nic_missed ?? 0)).toBeGreaterThan(0);
    // The only skb drops are those that reached the closed port (port 9 has no socket); the
    // ring's drops add no row.
    expect(r.packets.dropped.no_socket).toBeGreaterThan(0);
    expect(r.drop_reasons).toEqual([{ reason: 'SKB_DROP_REASON_NO_SOCKET', location: '__udp4_lib_rcv', skbs: r.packets.dropped.no_socket, packets: r.packets.dropped.no_socket }]);
  });
});
