import type { Simulator } from '../engine/simulator.ts';
import type { ResolvedFlow, ResolvedNetns } from '../scenario/resolve.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { Icmp } from './icmp.ts';
import { nfHookCost } from './netif-receive.ts';
import type { PacketPool } from './packet.ts';
import type { RxAccounting } from './rx-accounting.ts';
import type { Snmp } from './snmp.ts';

/** Ethernet header (14) and FCS (4): a received frame's size less its IP datagram. */
const ETH_HLEN_FCS = 18;
/** The FCS: a frame's size less skb->len as the driver transmits it. */
const FCS = 4;

/** The device a route leaves by: dev_queue_xmit of a forwarded skb (false: its qdisc dropped it). */
export interface EgressDevice {
  forwardXmit(cpu: number, hash: number, rxQueue: number, len: number, at: number, row: number): boolean;
}

export interface IpForwardHost {
  readonly sim: Simulator;
  readonly costs: CostTable;
  readonly pool: PacketPool;
  readonly snmp: Snmp;
  readonly accounting: RxAccounting;
  readonly sysctl: SysctlValues;
  readonly flows: readonly ResolvedFlow[];
  readonly icmp: Pick<Icmp, 'timeExceeded'>;
  readonly rps: { hashOf(row: number): number };
  /** NIC `nic` as the device a route leaves by. */
  egressDevice(nic: number): EgressDevice;
  /** The RX queue the driver recorded on the skb (skb_record_rx_queue): skb_tx_hash's choice without XPS. */
  recordedRxQueue(row: number): number;
}

/**
 * IPv4 forwarding (net/ipv4/ip_forward.c, net/ipv4/route.c, net/ipv4/ip_output.c), for an skb
 * whose destination is not an address of this host, after ip_rcv and the PREROUTING hook:
 *
 *   ip_rcv_finish → ip_route_input_noref → ip_route_input_slow: fib_lookup finds the route
 *     (the flow's, looked up at load: `routes`); with forwarding off on the device
 *     (!IN_DEV_FORWARD, net.ipv4.ip_forward 0, the kernel's default) the route is an error
 *     route (-EHOSTUNREACH) whose input is ip_error: InAddrErrors, no ICMP, kfree_skb with
 *     SKB_DROP_REASON_IP_INADDRERRORS. Otherwise dst_input is ip_forward.
 *   ip_forward: TTL ≤ 1 → too_many_hops: InHdrErrors, icmp_send(ICMP_TIME_EXCEEDED,
 *     ICMP_EXC_TTL) under the ICMP limits (icmp.ts), SKB_DROP_REASON_IP_INHDR. Else
 *     OutForwDatagrams (counted in ip_forward since 6.4, before the FORWARD hook), skb_cow,
 *     ip_decrease_ttl, NF_INET_FORWARD → ip_forward_finish → dst_output = ip_output →
 *     POST_ROUTING → ip_finish_output2 → neigh_output → dev_queue_xmit on the route's device:
 *     its qdisc (qdisc.ts) and the driver's TX ring (the wire out, completions cleaned by that
 *     queue's poll). The skb leaves the receive path there: `forwarded`, its own term of the
 *     conservation law.
 *
 * Not modelled: ICMP redirects (the route leaves by the device it came in on: IPSKB_DOREDIRECT
 * with send_redirects), fragmentation (the frames fit the egress MTU), xfrm policies (none), the
 * no-route case (a flow without a route is refused at load), OutTransmits (IPSTATS_MIB_OUTPKTS).
 */
export class IpForward {
  /** ip_forward to the driver: the FORWARD and POST_ROUTING hooks, ip_output and the neighbour, dev_queue_xmit with the qdisc. */
  private readonly forwardCost: number;

  constructor(
    private readonly k: IpForwardHost,
    host: ResolvedNetns,
  ) {
    const c = k.costs;
    this.forwardCost = c.ip_forward + nfHookCost(c, host, 'FORWARD', false, false) + nfHookCost(c, host, 'POSTROUTING', false, true) + c.ip_output + c.dev_queue_xmit;
  }

  /**
   * The forwarding decision for the skb in `row` on `cpu` at `t` (ip_rcv, PREROUTING and the route
   * lookup already costed in the pass): dropped, or handed to the egress device. Returns the cost
   * beyond the pass's.
   */
  forward(cpu: Cpu, row: number): number {
    const k = this.k;
    const pool = k.pool;
    const flow = k.flows[pool.flow[row]!]!;
    if (k.sysctl['net.ipv4.ip_forward'] === 0) {
      k.snmp.IpInAddrErrors++; // ip_error: IPSTATS_MIB_INADDRERRORS (EHOSTUNREACH with forwarding off)
      k.accounting.drop(row, 'ip_forward_off', cpu.id);
      return 0;
    }
    if (flow.ttl <= 1) {
      k.snmp.IpInHdrErrors++; // ip_forward, too_many_hops: IPSTATS_MIB_INHDRERRORS
      const cost = k.costs.ip_forward + k.icmp.timeExceeded(flow.index, pool.tuple[row]!, cpu.id, pool.size[row]! - ETH_HLEN_FCS);
      k.accounting.drop(row, 'ttl_expired', cpu.id);
      return cost;
    }
    k.snmp.IpForwDatagrams++; // ip_forward: IPSTATS_MIB_OUTFORWDATAGRAMS per skb
    if (!k.egressDevice(flow.egress).forwardXmit(cpu.id, k.rps.hashOf(row), k.recordedRxQueue(row), pool.size[row]! - FCS, k.sim.now, row)) {
      k.accounting.drop(row, 'qdisc', cpu.id);
      return this.forwardCost;
    }
    k.accounting.forwardedOut(row);
    return this.forwardCost + k.costs.ndo_start_xmit;
  }
}
