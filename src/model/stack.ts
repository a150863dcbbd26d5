import { Histogram } from '../metrics/histogram.ts';
import type { Cpu } from './cpu.ts';
import type { Kernel } from './kernel.ts';
import type { Napi } from './napi.ts';

/**
 * Above the driver: where a received frame goes once NAPI hands it up, and the packet
 * accounting of the whole path.
 *
 * This stage stands for everything from napi_gro_receive() to the packet sitting in its socket:
 * __netif_receive_skb_core() counts `processed` on the CPU doing the work, then one per-packet
 * cost (`stack_deliver`) covers IP, L4 and the socket enqueue. GRO, RPS/RFS, netfilter, the
 * container paths and sockets replace it piece by piece (the kernel-half issue); nothing in the
 * NIC/NAPI half depends on what happens in here.
 *
 * Packets count in the results if they were offered inside the measurement window (arrival
 * after warmup): offered = delivered + Σ dropped + in flight holds exactly for that cohort.
 * Rates use the deliveries that happened inside the window instead (`window*`), so a deep queue
 * at the start of the window does not depress them.
 */
export type DropPlace = 'wire' | 'nic_ring' | 'nic_missed' | 'backlog';
export const DROP_PLACES: DropPlace[] = ['wire', 'nic_ring', 'nic_missed', 'backlog'];

export interface FlowCounters {
  offered: number;
  offeredBytes: number;
  delivered: number;
  deliveredBytes: number;
  dropped: number;
  /** Deliveries that happened inside the window, whenever the packet arrived (for rates). */
  windowDelivered: number;
  windowDeliveredBytes: number;
}

export class Stack {
  offered = 0;
  offeredBytes = 0;
  delivered = 0;
  deliveredBytes = 0;
  windowDelivered = 0;
  windowDeliveredBytes = 0;
  readonly dropped: Record<DropPlace, number> = { wire: 0, nic_ring: 0, nic_missed: 0, backlog: 0 };
  /** Counted packets currently held somewhere in the path. */
  inFlight = 0;
  readonly latency = new Histogram();
  readonly flows: FlowCounters[];

  constructor(
    private readonly k: Kernel,
    nflows: number,
  ) {
    this.flows = Array.from({ length: nflows }, () => ({ offered: 0, offeredBytes: 0, delivered: 0, deliveredBytes: 0, dropped: 0, windowDelivered: 0, windowDeliveredBytes: 0 }));
  }

  /** Start of the measurement window: rate counters restart. */
  resetWindow(): void {
    this.windowDelivered = this.windowDeliveredBytes = 0;
    for (const f of this.flows) f.windowDelivered = f.windowDeliveredBytes = 0;
  }

  /** A frame reached the NIC: it is offered from now on. */
  offer(row: number, counted: boolean): void {
    const pool = this.k.pool;
    pool.counted[row] = counted ? 1 : 0;
    if (!counted) return;
    const size = pool.size[row]!;
    const f = this.flows[pool.flow[row]!]!;
    this.offered++;
    this.offeredBytes += size;
    f.offered++;
    f.offeredBytes += size;
    this.inFlight++;
  }

  /** A frame dropped before the NIC (upstream switch buffer); it never had a row. */
  upstreamDrop(flow: number, size: number, counted: boolean): void {
    if (!counted) return;
    const f = this.flows[flow]!;
    this.offered++;
    this.offeredBytes += size;
    f.offered++;
    f.offeredBytes += size;
    this.dropped.wire++;
    f.dropped++;
  }

  /** The packet is dropped at `place`; its row is freed. */
  drop(row: number, place: DropPlace): void {
    const pool = this.k.pool;
    if (pool.counted[row]) {
      this.dropped[place]++;
      this.flows[pool.flow[row]!]!.dropped++;
      this.inFlight--;
    }
    pool.release(row);
  }

  /** CPU cost per packet of the work above the driver when done on the NAPI's CPU. */
  rxCost(_nic: number): number {
    return this.k.costs.stack_deliver;
  }

  /** napi_gro_receive() for each frame a driver poll cleaned (`times`: when each was handed up). */
  napiGroReceive(cpu: Cpu, _napi: Napi, rows: Int32Array, times: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) this.netifReceiveSkbCore(cpu, rows[i]!, times[i]!);
  }

  /** __netif_receive_skb_core() on `cpu` at time `t`: counted in softnet_stat `processed`, then delivered. */
  netifReceiveSkbCore(cpu: Cpu, row: number, t: number): void {
    this.k.softnet[cpu.id]!.processed++;
    this.deliver(row, t);
  }

  /** The packet reached its socket at `t`. */
  private deliver(row: number, t: number): void {
    const pool = this.k.pool;
    const size = pool.size[row]!;
    const f = this.flows[pool.flow[row]!]!;
    this.windowDelivered++;
    this.windowDeliveredBytes += size;
    f.windowDelivered++;
    f.windowDeliveredBytes += size;
    if (pool.counted[row]) {
      this.delivered++;
      this.deliveredBytes += size;
      f.delivered++;
      f.deliveredBytes += size;
      this.inFlight--;
      this.latency.record(t - pool.arrival[row]!);
    }
    pool.release(row);
  }
}
