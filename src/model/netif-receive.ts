import type { ResolvedFlow, ResolvedNetns, ResolvedScenario } from '../scenario/resolve.ts';
import type { Simulator } from '../engine/simulator.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { PacketPool } from './packet.ts';
import type { RpsChoice, RpsDevFlowTable, RxQueueRps } from './rps.ts';
import type { RxAccounting } from './rx-accounting.ts';
import type { RxBatch, RxPath } from './rx-batch.ts';
import type { Snmp } from './snmp.ts';
import type { Socket } from './socket.ts';
import { listenerOf } from './socket-lookup.ts';
import type { SoftnetData } from './softnet.ts';
import { FOLLOW, type TraceHooks } from './trace-hooks.ts';

/** IPv4 (20) + UDP (8) + Ethernet (14) + FCS (4). */
export const UDP_FRAME_OVERHEAD = 46;
/** VXLAN encapsulation: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;

/**
 * A hook at __netif_receive_skb_core, after the skb exists and before the protocol (where generic
 * XDP and packet taps run): it sees one skb at time `t` on `cpu` and returns its verdict — pass it
 * on, or it consumed the skb (dropped, redirected: it has freed or queued the rows itself) — and
 * the CPU time it took.
 */
export interface CoreHook {
  run(cpu: Cpu, row: number, t: number): { consumed: boolean; cost: number };
  /** Will run() consume the skb in `row`? Decided from the skb alone, without effects, when its pass is planned. */
  consumes(row: number): boolean;
}

export interface NetifHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly pool: PacketPool;
  readonly trace: TraceHooks | null;
  readonly softnet: readonly SoftnetData[];
  readonly flows: readonly ResolvedFlow[];
  readonly accounting: RxAccounting;
  readonly snmp: Snmp;
  readonly rps: {
    choice(rps: RxQueueRps, row: number): RpsChoice;
    enqueueBacklog(from: Cpu, target: number, row: number, flows: RpsDevFlowTable | null, slot: number, now: number): void;
  };
  /** veth_xmit on `cpu` (bridge → veth): returns its extra cost. */
  readonly veth: { xmit(cpu: Cpu, row: number): number };
  readonly l4: { deliver(cpu: Cpu, sock: Socket | null, row: number, t: number): number };
  /** ip_rcv_finish's route for an skb not for this host: ip_forward or ip_error (ip-forward.ts). Returns its extra cost. */
  readonly forwarding: { forward(cpu: Cpu, row: number): number };
  readonly sockets: { forFlow(flow: number): Socket | null };
  /** The name of the device a flow's frames arrive on from the wire. */
  nicName(nic: number): string;
}

/**
 * Above the driver (net/core/dev.c): where an skb goes once NAPI hands it up.
 *
 * netif_receive_skb_list_internal: with RPS configured on the RX queue, get_rps_cpu picks a CPU
 * and the skb goes to that CPU's backlog (even the local one); otherwise __netif_receive_skb runs
 * here. One pass through the stack (`__netif_receive_skb_core`, counted in softnet_stat
 * `processed` on the CPU doing it) then depends on the flow's path:
 *
 *   host:           ip_rcv → PREROUTING → INPUT → tcp_v4_rcv / udp_rcv → socket
 *   veth-bridge:    ip_rcv → PREROUTING (conntrack, DNAT) → ip_forward → FORWARD → POSTROUTING
 *                   → bridge → veth_xmit → __netif_rx into a backlog (or the veth NAPI with GRO on)
 *                   ... second pass in the container: ip_rcv → PREROUTING → INPUT → L4 → socket
 *   vxlan-overlay:  ip_rcv → INPUT → udp_rcv/vxlan_rcv (decapsulation) → gro_cells (modelled as the
 *                   local backlog) → bridge → veth → backlog → container pass as above
 *   forward:        ip_rcv → PREROUTING (conntrack, DNAT) → the route (fib_lookup) → ip_forward
 *                   → FORWARD → ip_output → POSTROUTING → dev_queue_xmit on another device (or
 *                   ip_error with forwarding off): ip-forward.ts
 */
export class NetifReceive implements RxPath {
  /** CPU cost of each pass of each flow (stages fixed by path and netfilter config). */
  private readonly passCost: number[][];
  /** Hooks at __netif_receive_skb_core, in order (generic XDP, taps). */
  readonly coreHooks: CoreHook[] = [];

  constructor(
    private readonly k: NetifHost,
    s: Pick<ResolvedScenario, 'flows' | 'netfilter' | 'apps'>,
  ) {
    this.passCost = s.flows.map((f) => {
      const bound = listenerOf(f, s.apps) !== null;
      return [0, 1, 2].map((p) => passCost(k.costs, f, p, s.netfilter.host, s.netfilter.container, bound));
    });
  }

  /** The payload of a frame of a flow (UDP; TCP frames carry theirs from the sender). */
  static udpPayload(frameBytes: number, path: ResolvedFlow['path']): number {
    return frameBytes - UDP_FRAME_OVERHEAD - (path === 'vxlan-overlay' ? VXLAN_OVERHEAD : 0);
  }

  /**
   * netif_receive_skb_list_internal() for one skb handed up at time `t` by a poll on an RX
   * queue with RPS configuration `rps`: steer it to a backlog, or plan a pass here.
   */
  steer(batch: RxBatch, rps: RxQueueRps, row: number, t: number): void {
    const choice = this.k.rps.choice(rps, row);
    if (choice.cpu >= 0) batch.push(row, t, choice.cpu, choice.flows, choice.slot, this.k.costs.rps_enqueue);
    else this.planPass(batch, row, t);
  }

  /**
   * __netif_receive_skb() here: one pass through the stack, costed now, run at commit. An skb a
   * core hook consumes costs __netif_receive_skb_core alone (plus the hook's own cost at commit):
   * on a verdict other than XDP_PASS it goes to `out` (net/core/dev.c: __netif_receive_skb_core,
   * `if (ret2 != XDP_PASS) { ret = NET_RX_DROP; goto out; }`), so ip_rcv, netfilter, L4 and the
   * socket never see it.
   */
  planPass(batch: RxBatch, row: number, t: number): void {
    const pool = this.k.pool;
    const cost = this.hookConsumes(row) ? this.k.costs.netif_receive_skb : this.passCost[pool.flow[row]!]![pool.pass[row]!]!;
    batch.push(row, t, -1, null, -1, cost);
  }

  /** Does a core hook take the skb (the hooks before it pass it on)? */
  private hookConsumes(row: number): boolean {
    for (const hook of this.coreHooks) if (hook.consumes(row)) return true;
    return false;
  }

  commit(cpu: Cpu, batch: RxBatch): number {
    const k = this.k;
    const now = k.sim.now;
    let extra = 0;
    for (let i = 0; i < batch.length; i++) {
      const row = batch.rows[i]!;
      const target = batch.targets[i]!;
      if (target >= 0) {
        k.rps.enqueueBacklog(cpu, target, row, batch.flowTables[i]!, batch.slots[i]!, now);
      } else {
        extra += this.pass(cpu, row, batch.times[i]!);
      }
    }
    batch.clear();
    return extra;
  }

  /** The device an skb of `flow` arrives on in pass `p` (for traces): the NIC, the VXLAN device, the pod's eth0. */
  private devName(flow: ResolvedFlow, p: number): string {
    if (flow.path === 'veth-local') return 'eth0';
    if (p === 0) return this.k.nicName(flow.nic);
    return flow.path === 'vxlan-overlay' && p === 1 ? 'flannel.1' : 'eth0';
  }

  /** One pass through the stack on `cpu` (its planned cost already spent). Returns extra cost. */
  private pass(cpu: Cpu, row: number, t: number): number {
    const k = this.k;
    const pool = k.pool;
    k.softnet[cpu.id]!.processed++;
    const flow = k.flows[pool.flow[row]!]!;
    const p = pool.pass[row]!;
    const segs = pool.segs[row]!;
    if (k.trace?.netifReceiveSkb) k.trace.netifReceiveSkb(cpu.id, pool.len[row]!, segs, this.devName(flow, p));
    const follow = k.trace?.follow;
    if (follow && follow.skb === row) follow.stage(FOLLOW.NETIF, t, cpu.id, p, 0, this.devName(flow, p));
    let hookCost = 0;
    if (this.coreHooks.length > 0) {
      for (const hook of this.coreHooks) {
        const v = hook.run(cpu, row, t);
        hookCost += v.cost;
        if (v.consumed) return hookCost;
      }
    }
    const last = flow.path === 'host' || flow.path === 'veth-local' || flow.path === 'forward' ? 0 : flow.path === 'veth-bridge' ? 1 : 2;
    // ip_rcv_core: IPSTATS_MIB_IN (InReceives) counts the skb once — a GRO aggregate is one —
    // while InNoECTPkts adds its gso_segs (max(1, gso_segs)).
    k.snmp.IpInReceives++;
    k.snmp.IpExtInNoECTPkts += segs;
    if (flow.path === 'forward') return hookCost + k.forwarding.forward(cpu, row);
    if (p === last) return hookCost + k.l4.deliver(cpu, k.sockets.forFlow(flow.index), row, t);
    pool.pass[row] = p + 1;
    if (flow.path === 'vxlan-overlay' && p === 0) {
      // vxlan_rcv → gro_cells_receive: queued on this CPU (gro_cells modelled as the backlog).
      const verdict = k.softnet[cpu.id]!.enqueue(cpu, row, k.sim.now);
      if (verdict !== 'queued') k.accounting.drop(row, verdict, cpu.id);
      return hookCost;
    }
    // bridge → veth_xmit on this CPU: the veth NAPI (GRO on) or __netif_rx into a backlog.
    if (flow.path === 'veth-bridge') k.snmp.IpForwDatagrams++; // ip_forward_finish: OUTFORWDATAGRAMS per skb
    return hookCost + k.veth.xmit(cpu, row);
  }
}

/**
 * The CPU cost of one pass of a flow's packet through the stack, up to the next hand-off or the
 * socket: the stages named in the NetifReceive comment, with the namespace's netfilter work. A
 * flow to a port with no socket (`bound` false) stops after the protocol's lookup: nothing is
 * queued and nobody woken (its ICMP or RST is charged when it is sent).
 */
function passCost(c: CostTable, f: ResolvedFlow, pass: number, host: ResolvedNetns, container: ResolvedNetns, bound: boolean): number {
  const l4 = (f.proto === 'tcp' ? c.tcp_v4_rcv : c.udp_rcv) + (bound ? c.sock_enqueue + c.sk_data_ready : 0);
  const hook = (ns: ResolvedNetns, chain: keyof ResolvedNetns['rules'], withConntrack: boolean, withNat: boolean): number => nfHookCost(c, ns, chain, withConntrack, withNat);
  const local = (ns: ResolvedNetns): number => c.ip_rcv + hook(ns, 'PREROUTING', true, true) + hook(ns, 'INPUT', false, false) + l4;
  const forward = (ns: ResolvedNetns): number =>
    c.ip_rcv + hook(ns, 'PREROUTING', true, true) + c.ip_forward + hook(ns, 'FORWARD', false, false) + hook(ns, 'POSTROUTING', false, true) + c.bridge_forward + c.veth_xmit;
  const base = c.netif_receive_skb;
  if (f.path === 'host') return base + local(host);
  // forward: up to the route; what follows depends on it (ip-forward.ts charges it).
  if (f.path === 'forward') return base + c.ip_rcv + hook(host, 'PREROUTING', true, true) + c.fib_lookup;
  // veth-local: from the backlog straight into the receiving namespace.
  if (f.path === 'veth-local') return base + local(container);
  if (f.path === 'veth-bridge') return base + (pass === 0 ? forward(host) : local(container));
  // vxlan-overlay: outer packet to the local VXLAN socket; then the inner frame on the bridge; then the container.
  if (pass === 0) return base + c.ip_rcv + hook(host, 'PREROUTING', true, false) + hook(host, 'INPUT', false, false) + c.vxlan_rcv;
  if (pass === 1) return base + c.bridge_forward + c.veth_xmit;
  return base + local(container);
}

/** One netfilter hook of namespace `ns` on chain `chain`: its rules, and conntrack and NAT where they hook in; 0 with nothing registered. */
export function nfHookCost(c: CostTable, ns: ResolvedNetns, chain: keyof ResolvedNetns['rules'], withConntrack: boolean, withNat: boolean): number {
  const rules = ns.rules[chain];
  const ct = withConntrack && ns.conntrack ? c.conntrack_in : 0;
  const nat = withNat && ns.nat ? c.nat : 0;
  const any = rules > 0 || ct > 0 || nat > 0;
  return any ? c.nf_hook + rules * c.nf_rule + ct + nat : 0;
}
