import { RngStream } from '../engine/rng.ts';
import type { ResolvedFlow } from '../scenario/resolve.ts';
import type { SysctlValues } from '../scenario/sysctl.ts';
import type { CostTable } from './costs.ts';
import { srcAddrIndex } from './nic/flow-hashes.ts';
import type { Snmp } from './snmp.ts';

/** ICMP_DEST_UNREACH. */
const ICMP_DEST_UNREACH = 3;
/** ICMP_TIME_EXCEEDED. */
const ICMP_TIME_EXCEEDED = 11;
/** Ethernet (14) + IPv4 (20) + ICMP (8) headers of the reply, without FCS (as the host transmits it). */
const ICMP_REPLY_HEADERS = 42;
/**
 * __icmp_send: room = min(dst_mtu, 576) - sizeof(struct iphdr) - sizeof(struct icmphdr): the most
 * of the offending datagram (from its IP header on) a reply quotes.
 */
const ICMP_QUOTE_MAX = 576 - 20 - 8;
/** XRLIM_BURST_FACTOR (net/ipv4/inetpeer.c): a peer may save up six icmp_ratelimit periods. */
const XRLIM_BURST_FACTOR = 6;
/**
 * inet_getpeer() creates a peer with rate_last = jiffies - 60*HZ, "so that the first calculation
 * of tokens is at its maximum".
 */
const NEW_PEER_AGE_S = 60;

export interface IcmpHost {
  readonly seed: number;
  readonly snmp: Snmp;
  readonly costs: CostTable;
  readonly sysctl: SysctlValues;
  readonly jiffies: { now(): number; readonly hz: number };
  /** dev_queue_xmit of a frame of `len` bytes (no FCS) on flow `flow`'s NIC from CPU `cpu`. */
  xmit(flow: number, cpu: number, len: number): void;
}

/** The per-destination state of inet_peer that ICMP uses: rate_tokens and rate_last (jiffies). */
interface Peer {
  tokens: number;
  last: number;
}

/**
 * The sending of ICMP errors (net/ipv4/icmp.c __icmp_send) for a datagram that found no socket, or
 * that expired on its way through (time exceeded, from ip_forward):
 * icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0), called from __udp4_lib_rcv in softirq
 * on the CPU that ran the protocol, with the two rate limits of 6.12+ ("icmp: change the order of
 * rate limits") in their order:
 *
 *  1. icmpv4_global_allow → icmp_global_allow(net): a host-wide token bucket, icmp_msgs_per_sec
 *     tokens a second up to icmp_msgs_burst. It only refills once the credit is used up and at
 *     least HZ/50 jiffies have passed (then by msgs_per_sec × Δjiffies / HZ, Δ capped at HZ);
 *     while credit is left it answers yes without taking any. Refused: OutRateLimitGlobal, and
 *     icmp_send returns at once (local_bh_disable and an atomic read: not charged).
 *  2. icmpv4_xrlim_allow, after icmp_xmit_lock and icmp_route_lookup: the destination's inet_peer
 *     bucket (inet_peer_xrlim_allow): one token per jiffy, up to XRLIM_BURST_FACTOR ×
 *     icmp_ratelimit, an ICMP costs icmp_ratelimit (ms, stored in jiffies). Refused:
 *     OutRateLimitHost. Allowed: icmp_global_consume takes 0, 1 or 2 global credits
 *     (get_random_u32_below(3): one on average, randomised against side channels; the credit may
 *     go negative), and the reply is built and sent (icmp_push_reply → ip_push_pending_frames →
 *     the driver: IcmpOutMsgs and IcmpMsgOutType3 in __ip_make_skb's icmp_out_count).
 *
 * Both limits apply only to types in icmp_ratemask (DEST_UNREACH, bit 3, is in the default 6168).
 * The defaults are 6.18's: 1000 messages a second with a burst of 50 (later net-next raised both
 * to 10000). Peers are never garbage collected here (inet_peer_gc needs more than
 * inet_peer_threshold peers and minutes of idleness; runs are seconds long).
 */
export class Icmp {
  /** net->ipv4.icmp_global_credit and icmp_global_stamp (jiffies). */
  private credit = 0;
  private stamp = -Infinity;
  private readonly peers = new Map<number, Peer>();
  private readonly rng: RngStream;
  /** Per flow: its sources' 32 low address bits and the id of their upper bits (the peer key). */
  private readonly srcLow: Float64Array;
  private readonly srcHigh: Float64Array;

  constructor(
    private readonly k: IcmpHost,
    private readonly flows: readonly ResolvedFlow[],
  ) {
    this.rng = new RngStream(k.seed, 'icmp_global_consume');
    const prefixes = new Map<string, number>();
    this.srcLow = Float64Array.from(flows, (f) => low32(f.src.addr));
    this.srcHigh = Float64Array.from(flows, (f) => {
      const prefix = `${f.src.family}:${f.src.addr.subarray(0, f.src.addr.length - 4).join('.')}`;
      if (!prefixes.has(prefix)) prefixes.set(prefix, prefixes.size);
      return prefixes.get(prefix)!;
    });
  }

  /**
   * icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0) for a datagram of `flow`, tuple
   * `tuple`, whose IP datagram is `ipLen` bytes, on `cpu`. A reply that is sent leaves through the
   * NIC (ip_push_pending_frames → dev_queue_xmit: the TX ring of the CPU's XPS queue) quoting at
   * most ICMP_QUOTE_MAX bytes of it. Returns the CPU time it took on the receiving CPU (ns).
   */
  portUnreach(flow: number, tuple: number, cpu: number, ipLen: number): number {
    return this.send(ICMP_DEST_UNREACH, flow, tuple, cpu, ipLen);
  }

  /**
   * icmp_send(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0) from ip_forward (too_many_hops) for a
   * datagram that arrived with TTL 1: the same limits (type 11 is in the default icmp_ratemask),
   * the reply back out of the device it came in by, towards its source.
   */
  timeExceeded(flow: number, tuple: number, cpu: number, ipLen: number): number {
    return this.send(ICMP_TIME_EXCEEDED, flow, tuple, cpu, ipLen);
  }

  private send(type: number, flow: number, tuple: number, cpu: number, ipLen: number): number {
    const k = this.k;
    const limited = ((1 << type) & k.sysctl['net.ipv4.icmp_ratemask']) !== 0; // icmpv4_mask_allow
    if (limited && !this.globalAllow()) {
      k.snmp.IcmpOutRateLimitGlobal++;
      return 0;
    }
    // icmp_xmit_lock, __ip_options_echo, icmp_route_lookup: paid whatever the peer says.
    let cost = k.costs.icmp_route_lookup;
    if (limited) {
      if (!this.peerAllow(flow, tuple)) {
        k.snmp.IcmpOutRateLimitHost++;
        return cost;
      }
      this.globalConsume();
    }
    k.snmp.IcmpOutMsgs++;
    if (type === ICMP_DEST_UNREACH) {
      k.snmp.IcmpOutDestUnreachs++;
      k.snmp.IcmpMsgOutType3++;
    } else {
      k.snmp.IcmpOutTimeExcds++;
      k.snmp.IcmpMsgOutType11++;
    }
    k.xmit(flow, cpu, ICMP_REPLY_HEADERS + Math.min(ipLen, ICMP_QUOTE_MAX));
    cost += k.costs.icmp_send;
    return cost;
  }

  /** icmp_global_allow(net). */
  private globalAllow(): boolean {
    if (this.credit > 0) return true;
    const { hz } = this.k.jiffies;
    const now = this.k.jiffies.now();
    const delta = Math.min(now - this.stamp, hz);
    if (delta < Math.floor(hz / 50)) return false;
    const incr = Math.floor((this.k.sysctl['net.ipv4.icmp_msgs_per_sec'] * delta) / hz);
    if (incr === 0) return false;
    this.stamp = now;
    this.credit = Math.min(this.credit + incr, this.k.sysctl['net.ipv4.icmp_msgs_burst']);
    return true;
  }

  /** icmp_global_consume(net): get_random_u32_below(3) credits. */
  private globalConsume(): void {
    this.credit -= this.rng.int(3);
  }

  /** inet_getpeer_v4 (creating the peer) and inet_peer_xrlim_allow(peer, icmp_ratelimit). */
  private peerAllow(flow: number, tuple: number): boolean {
    const f = this.flows[flow]!;
    const low = (this.srcLow[flow]! + (f.src.addrCount > 1 ? srcAddrIndex(f, tuple) : 0)) % 2 ** 32;
    const key = this.srcHigh[flow]! * 2 ** 32 + low;
    const { hz } = this.k.jiffies;
    const now = this.k.jiffies.now();
    let peer = this.peers.get(key);
    if (!peer) {
      peer = { tokens: 0, last: now - NEW_PEER_AGE_S * hz };
      this.peers.set(key, peer);
    }
    // proc_dointvec_ms_jiffies stored msecs_to_jiffies(icmp_ratelimit): rounded up.
    const timeout = Math.ceil((this.k.sysctl['net.ipv4.icmp_ratelimit'] * hz) / 1000);
    let token = peer.tokens;
    const delta = now - peer.last;
    if (delta > 0) {
      peer.last = now;
      token = Math.min(token + delta, XRLIM_BURST_FACTOR * timeout);
    }
    let ok = false;
    if (token >= timeout) {
      token -= timeout;
      ok = true;
    }
    peer.tokens = token;
    return ok;
  }
}

/** The last four bytes of an address as an unsigned 32-bit number (network order). */
function low32(addr: Uint8Array): number {
  const n = addr.length;
  return ((addr[n - 4]! << 24) | (addr[n - 3]! << 16) | (addr[n - 2]! << 8) | addr[n - 1]!) >>> 0;
}
