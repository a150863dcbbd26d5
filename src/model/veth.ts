import type { Cpu } from './cpu.ts';
import { Gro } from './gro.ts';
import type { Kernel } from './kernel.ts';
import { Napi, napiCompleteDone, napiSchedule, type NapiPoller } from './napi.ts';
import { PacketQueue } from './packet.ts';
import { RxBatch } from './stack.ts';

/** A veth device's default MTU (ETH_DATA_LEN). */
export const VETH_MTU = 1500;
/** VETH_RING_SIZE: the ptr_ring of each veth RX queue in NAPI mode. */
export const VETH_RING_SIZE = 256;

/**
 * A veth RX queue in NAPI mode (drivers/net/veth.c), used when GRO is enabled on the veth
 * (`ethtool -K <veth> gro on`; off by default since veth_newlink): veth_xmit puts the skb in the
 * peer queue's ptr_ring (full: dropped, counted as the device's tx_dropped) and schedules its NAPI
 * on the transmitting CPU; veth_poll takes up to the budget through GRO. rxsim keeps one such
 * queue per CPU (the NAPI runs where it was scheduled).
 */
export class VethRq implements NapiPoller {
  readonly ring: PacketQueue;
  readonly napi: Napi;
  readonly gro: Gro;
  private readonly batch = new RxBatch();
  drops = 0;

  constructor(
    private readonly k: Kernel,
    id: number,
  ) {
    this.ring = new PacketQueue(k.pool);
    this.napi = new Napi(id, 'veth', this);
    this.gro = new Gro(k.pool, k.costs, k.groTcpFlows, true, k.groNormalBatch, (rows, t) => {
      for (const row of rows) k.stack.steer(this.batch, k.stack.vethRps, row, t);
    });
  }

  /** veth_xdp_rx + __veth_xdp_flush: queue and schedule the NAPI on this CPU. False if the ring was full. */
  xmit(cpu: Cpu, row: number): boolean {
    if (this.ring.length >= VETH_RING_SIZE) {
      this.drops++;
      return false;
    }
    this.ring.push(row, this.k.sim.now);
    napiSchedule(this.k, cpu, this.napi);
    return true;
  }

  *poll(cpu: Cpu, budget: number, napi: Napi): Generator<number, number, void> {
    const k = this.k;
    const t = k.sim.now;
    const jiffies = k.jiffies();
    let cost = k.costs.napi_poll;
    let work = 0;
    while (work < budget && this.ring.length > 0) {
      const row = this.ring.shift(t);
      cost += this.gro.receive(row, t + cost, jiffies);
      work++;
    }
    yield cost + this.batch.cost;
    const extra = k.stack.commit(cpu, this.batch);
    if (extra > 0) yield extra;
    if (work < budget) yield* napiCompleteDone(k, cpu, napi, work);
    return work;
  }

  groHeld(): boolean {
    return this.gro.holding;
  }

  *groFlush(cpu: Cpu, flushOld: boolean): Generator<number, void, void> {
    const k = this.k;
    const cost = this.gro.flush(flushOld, k.jiffies(), k.sim.now, flushOld ? 'old' : 'complete');
    if (this.batch.length === 0 && cost === 0) return;
    yield cost + this.batch.cost;
    const extra = k.stack.commit(cpu, this.batch);
    if (extra > 0) yield extra;
  }
}
