import type { ResolvedFlow } from '../scenario/resolve.ts';
import type { Cpu } from './cpu.ts';
import { napiScheduleOn, type NapiHost } from './napi.ts';
import type { PacketPool } from './packet.ts';
import { getRpsCpu, RpsDevFlowTable, RpsSockFlowTable, type RpsChoice, type RxQueueRps } from './rps.ts';
import type { DropSite } from './rx-accounting.ts';
import { NET_RX_SOFTIRQ } from './softirq.ts';
import type { SoftnetData } from './softnet.ts';

/** What steering needs besides NAPI scheduling. */
export interface RpsHost extends NapiHost {
  readonly pool: PacketPool;
  readonly softnet: readonly SoftnetData[];
  readonly flows: readonly ResolvedFlow[];
  readonly irqs: { readonly CAL: number };
  readonly smp: { register(onReceive: (cpu: Cpu) => void): number; send(cpu: number, kind: number): void };
  readonly accounting: { drop(row: number, site: DropSite, cpu: number): void };
  /** The flow dissector's hash of a flow's tuple (skb_get_hash when the NIC gave none). */
  softwareHash(flow: number, tuple: number): number;
}

const NO_STEERING: RpsChoice = { cpu: -1, flows: null, slot: -1 };

/**
 * RPS/RFS steering and the per-CPU backlogs' scheduling (net/core/dev.c): skb_get_hash,
 * get_rps_cpu (with the RX queue's aRFS hook), enqueue_to_backlog, __netif_rx,
 * napi_schedule_rps with its IPI list, net_rps_send_ipi and the IPI's rps_trigger_softirq.
 */
export class RpsSteering {
  /** The global RFS table (net.core.rps_sock_flow_entries), if any. */
  readonly sockFlow: RpsSockFlowTable | null;
  /** Per CPU: remote softnet_data whose backlog this CPU must IPI (sd->rps_ipi_list, newest first). */
  private readonly ipiList: SoftnetData[][] = [];
  private readonly ipiKind: number;

  constructor(
    private readonly k: RpsHost,
    ncpus: number,
    sockFlowEntries: number,
  ) {
    this.sockFlow = sockFlowEntries > 0 ? new RpsSockFlowTable(sockFlowEntries, ncpus) : null;
    for (let c = 0; c < ncpus; c++) this.ipiList.push([]);
    // The call-function IPI's handler on the target: rps_trigger_softirq in hardirq context.
    this.ipiKind = k.smp.register((cpu) => cpu.raiseHardirq({ desc: k.irqs.CAL, handler: (c) => this.rpsTriggerSoftirq(c) }));
  }

  /** The RPS configuration of an RX queue (rps_cpus and rps_flow_cnt), with its device's aRFS hook. */
  static queueRps(map: number[], flowCnt: number, arfs?: (row: number, cpu: number) => void): RxQueueRps {
    return { map, flows: flowCnt > 0 ? new RpsDevFlowTable(flowCnt) : null, arfs };
  }

  /** skb_get_hash(): the NIC's hash, or the flow dissector's (computed once and kept in skb->hash). */
  hashOf(row: number): number {
    const pool = this.k.pool;
    let h = pool.hash[row]!;
    if (h === 0) {
      h = this.k.softwareHash(pool.flow[row]!, pool.tuple[row]!);
      pool.hash[row] = h;
    }
    return h;
  }

  /** get_rps_cpu() for an skb from an RX queue (with the queue's aRFS hook); cpu -1: no steering. */
  choice(rps: RxQueueRps, row: number): RpsChoice {
    if (rps.map.length === 0 && !rps.flows) return NO_STEERING;
    const k = this.k;
    const arfs = rps.arfs;
    return getRpsCpu(rps, this.sockFlow, this.hashOf(row), (c) => k.softnet[c]!.inputQueueHead, arfs && ((cpu) => arfs(row, cpu)));
  }

  /**
   * enqueue_to_backlog(skb, cpu, &rflow->last_qtail) at `now`: a queued skb stamps its RFS flow
   * slot with the target's queue tail (the in-order rule's reference); a refused one is dropped.
   */
  enqueueBacklog(from: Cpu, target: number, row: number, flows: RpsDevFlowTable | null, slot: number, now: number): void {
    const sd = this.k.softnet[target]!;
    const verdict = sd.enqueue(from, row, now);
    if (verdict !== 'queued') this.k.accounting.drop(row, verdict, from.id);
    else if (flows) flows.lastQtail[slot] = sd.inputQueueTail;
  }

  /**
   * __netif_rx() on `cpu` for a device whose RX queue has RPS configuration `rps` (a veth: RPS
   * map only): enqueue_to_backlog of the RPS CPU, or of this CPU.
   */
  netifRx(cpu: Cpu, row: number, rps: RxQueueRps): void {
    const target = rps.map.length > 0 ? getRpsCpu(rps, null, this.hashOf(row), () => 0).cpu : -1;
    this.enqueueBacklog(cpu, target >= 0 ? target : cpu.id, row, null, -1, this.k.sim.now);
  }

  /**
   * napi_schedule_rps(): the target backlog is local → schedule it here; remote → queue an IPI
   * for the end of net_rx_action (and raise NET_RX so that there is one).
   */
  scheduleBacklog(from: Cpu, sd: SoftnetData): void {
    const k = this.k;
    if (sd.cpu === from.id) {
      napiScheduleOn(k, from, sd.backlog);
      return;
    }
    this.ipiList[from.id]!.unshift(sd);
    // napi_schedule_rps(): net_rx_action and the threaded poll send the IPIs themselves when
    // they finish; anywhere else NET_RX is raised to send them.
    const mysd = k.softnet[from.id]!;
    if (!mysd.inNetRxAction && !mysd.inNapiThreadedPoll) k.softirq.raiseIrqoff(from, NET_RX_SOFTIRQ);
  }

  /** sd_has_rps_ipi_waiting(). */
  ipiWaiting(cpu: Cpu): boolean {
    return this.ipiList[cpu.id]!.length > 0;
  }

  /** net_rps_send_ipi(): one IPI per remote CPU whose backlog this CPU scheduled. */
  *sendIpis(cpu: Cpu): Generator<number, void, void> {
    const k = this.k;
    const list = this.ipiList[cpu.id]!;
    while (list.length > 0) {
      const sd = list.shift()!;
      k.softnet[cpu.id]!.ipiSent++;
      yield k.costs.ipi_send;
      k.trace?.ipiSend?.(cpu.id, sd.cpu);
      k.smp.send(sd.cpu, this.ipiKind);
    }
  }

  /** rps_trigger_softirq(): the IPI handler schedules the local backlog NAPI. */
  private *rpsTriggerSoftirq(cpu: Cpu): Generator<number, void, void> {
    const k = this.k;
    yield k.costs.hardirq_entry_exit + k.costs.ipi_handler;
    const sd = k.softnet[cpu.id]!;
    k.trace?.ipiReceive?.(cpu.id);
    napiScheduleOn(k, cpu, sd.backlog);
    sd.receivedRps++;
  }
}
