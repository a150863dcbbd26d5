import { MS } from '../engine/time.ts';
import type { Simulator } from '../engine/simulator.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { Ddio } from './ddio.ts';
import { Gro } from './gro.ts';
import type { Jiffies } from './jiffies.ts';
import type { LocalTcpSender } from './local-sender.ts';
import { Napi, napiCompleteDone, napiSchedule, type NapiHost, type NapiPoller, type NapiTable } from './napi.ts';
import { NIL, PacketQueue, PSH, type PacketPool } from './packet.ts';
import type { RxQueueRps } from './rps.ts';
import type { DropSite } from './rx-accounting.ts';
import { groFlushNormal, handUp, RxBatch, type RxPath } from './rx-batch.ts';
import { SKB_OVERHEAD } from './socket.ts';
import { TCP_FRAME_OVERHEAD } from './tcp-sender.ts';

/** A veth device's default MTU (ETH_DATA_LEN). */
export const VETH_MTU = 1500;
/** VETH_RING_SIZE: the ptr_ring of each veth RX queue in NAPI mode. */
export const VETH_RING_SIZE = 256;
/** NAPI id of the veth RX queue (not in the napi_hash range of devices). */
const VETH_NAPI_ID = -100;

export interface VethHost extends NapiHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly pool: PacketPool;
  readonly jiffies: Jiffies;
  readonly sysctl: NapiHost['sysctl'] & Pick<SysctlValues, 'net.core.gro_normal_batch'>;
  readonly napis: NapiTable;
  readonly path: RxPath;
  readonly accounting: { drop(row: number, site: DropSite, cpu: number): void; offer(row: number, counted: boolean): void };
  readonly rps: NapiHost['rps'] & { netifRx(cpu: Cpu, row: number, rps: RxQueueRps): void };
  /** Start of the measurement window (packets sent after it count). */
  readonly warmupNs: number;
  readonly ddio: Pick<Ddio, 'cpuWrite'>;
}

/**
 * The veth pairs between the host and its containers (drivers/net/veth.c): veth_xmit hands an
 * skb to the peer's RX queue — __netif_rx into a backlog (GRO off, the default since
 * veth_newlink), or the peer queue's NAPI ring (GRO on) — and a local stream writer's skbs
 * enter here (tcp_sendmsg → … → veth_xmit).
 */
export class Veth {
  /**
   * The RX queue in NAPI mode (veth GRO on), created on first use. One: veth_init_queues()
   * leaves real_num_rx_queues = 1 unless the link was created with numrxqueues, and a
   * forwarded skb's queue_mapping is the veth's one TX queue, so veth_xmit picks rq[0].
   */
  private rq: VethRq | null = null;

  constructor(
    private readonly k: VethHost,
    private readonly gro: boolean,
    /** The flows GRO may merge (TCP), by flow index. */
    private readonly groTcpFlows: Uint8Array,
    /** RPS of the container-side veth RX queue. */
    readonly rps: RxQueueRps,
  ) {}

  /**
   * veth_xmit on `cpu`: with GRO on the veth, into rq[0]'s ring, its NAPI scheduled on this CPU
   * unless it is already scheduled (on whichever CPU scheduled it first); otherwise __netif_rx →
   * enqueue_to_backlog of this CPU, or of the RPS CPU of the veth's RX queue. Returns extra CPU
   * cost (none: veth_xmit is in the pass cost).
   */
  xmit(cpu: Cpu, row: number): number {
    if (!this.gro) {
      this.k.rps.netifRx(cpu, row, this.rps);
      return 0;
    }
    if (!this.rq) {
      this.rq = new VethRq(this.k, VETH_NAPI_ID, this.groTcpFlows, this.rps);
      this.k.napis.add(this.rq.napi);
    }
    if (!this.rq.xmit(cpu, row)) this.k.accounting.drop(row, 'veth', cpu.id);
    return 0;
  }

  /** The veth RX queue, if NAPI mode has created it. */
  queues(): VethRq[] {
    return this.rq ? [this.rq] : [];
  }

  /** Start of the measurement window: the queues' GRO counters restart. */
  resetWindow(): void {
    for (const q of this.queues()) q.gro.resetWindow();
  }

  /**
   * A stream-writer on `cpu` sends `bytes` at its connection's snd_nxt over the veth pair: one
   * GSO skb (its segments chained as rows, each counted as offered now), __netif_rx into this
   * CPU's backlog or the RPS CPU of the peer's RX queue (veth.rps_cpus). Called with bottom
   * halves off; NET_RX runs at the writer's local_bh_enable.
   */
  localXmit(cpu: Cpu, conn: LocalTcpSender, bytes: number, endOfWrite: boolean): void {
    const k = this.k;
    const pool = k.pool;
    const now = k.sim.now;
    const flow = conn.flow.index;
    const counted = now >= k.warmupNs;
    let head = NIL;
    for (let off = 0; off < bytes; off += conn.mss) {
      const seg = Math.min(conn.mss, bytes - off);
      const row = pool.alloc();
      pool.flow[row] = flow;
      pool.tuple[row] = 0;
      pool.hash[row] = 0;
      pool.size[row] = seg + TCP_FRAME_OVERHEAD; // as a frame on the wire, for L2 rates
      pool.arrival[row] = now;
      pool.tPoll[row] = now;
      pool.allocCpu[row] = cpu.id; // the sender's tcp_sendmsg built it
      pool.napiId[row] = 0; // no device NAPI: sk_mark_napi_id leaves the socket's id alone
      pool.seq[row] = conn.sndNxt + off;
      pool.payload[row] = seg;
      pool.len[row] = seg;
      pool.truesize[row] = 0;
      pool.tsval[row] = Math.floor(now / MS); // a millisecond TCP timestamp clock
      k.ddio.cpuWrite(row, cpu.id); // tcp_sendmsg copied the payload from user space on this CPU
      k.accounting.offer(row, counted);
      if (head === NIL) head = row;
      else pool.frag[pool.lastFrag[head]!] = row;
      pool.lastFrag[head] = row;
    }
    pool.len[head] = bytes;
    pool.segs[head] = Math.ceil(bytes / conn.mss);
    // tcp_sendmsg fills page fragments: the skb charges its pages plus the skb itself.
    pool.truesize[head] = Math.ceil(bytes / 4096) * 4096 + SKB_OVERHEAD;
    if (endOfWrite) pool.flags[head] = PSH;
    conn.transmit(bytes, now);
    const f = k.trace?.follow;
    if (f && f.armed && f.flow === flow && now >= f.afterNs) f.pick(head, now);
    k.rps.netifRx(cpu, head, this.rps); // a local TSO skb is not eligible for veth GRO
  }
}

/**
 * A veth RX queue in NAPI mode, used when GRO is enabled on the veth (`ethtool -K <veth> gro
 * on`): veth_xmit puts the skb in the peer queue's ptr_ring (full: dropped, counted as the
 * device's tx_dropped) and schedules its NAPI on the transmitting CPU; veth_poll takes up to the
 * budget through GRO. rxsim keeps one such queue per CPU (the NAPI runs where it was scheduled).
 */
export class VethRq implements NapiPoller {
  readonly ring: PacketQueue;
  readonly napi: Napi;
  readonly gro: Gro;
  private readonly batch = new RxBatch();
  drops = 0;

  constructor(
    private readonly k: VethHost,
    id: number,
    groTcpFlows: Uint8Array,
    rps: RxQueueRps,
  ) {
    this.ring = new PacketQueue(k.pool);
    this.napi = new Napi(id, 'veth', this);
    this.gro = new Gro(k.pool, k.costs, groTcpFlows, true, k.sysctl['net.core.gro_normal_batch'], (rows, t) => {
      for (const row of rows) k.path.steer(this.batch, rps, row, t);
    });
    this.gro.follow = k.trace?.follow ?? null;
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
    const jiffies = k.jiffies.now();
    let cost = k.costs.napi_poll;
    let work = 0;
    while (work < budget && this.ring.length > 0) {
      const row = this.ring.shift(t);
      cost += this.gro.receive(row, t + cost, jiffies);
      work++;
    }
    yield* handUp(k.path, cpu, this.batch, cost);
    if (work < budget) yield* napiCompleteDone(k, cpu, napi, work);
    return work;
  }

  groHeld(): boolean {
    return this.gro.holding;
  }

  groFlush(cpu: Cpu, flushOld: boolean): Generator<number, void, void> {
    return groFlushNormal(this.k, this.gro, this.batch, cpu, flushOld);
  }
}
