/**
 * SNMP MIB counters under the names `nstat -az` prints (include/uapi/linux/snmp.h; the IP, TCP
 * and UDP MIBs and the TcpExt/UdpExt extensions). The fields are the counters: a new one is one
 * field here, and it appears in the result and restarts with the window by itself.
 */
export class Snmp {
  IpInReceives = 0;
  /** Segments received without ECN (per segment: ip_rcv_core adds an aggregate's gso_segs). */
  IpExtInNoECTPkts = 0;
  IpInDelivers = 0;
  /** Forwarded datagrams that expired (ip_forward, too_many_hops: IPSTATS_MIB_INHDRERRORS, per skb). */
  IpInHdrErrors = 0;
  /** Datagrams not for this host with forwarding off (ip_error: IPSTATS_MIB_INADDRERRORS, per skb). */
  IpInAddrErrors = 0;
  /** Datagrams forwarded (ip_forward: IPSTATS_MIB_OUTFORWDATAGRAMS, per skb, before the FORWARD hook). */
  IpForwDatagrams = 0;
  TcpInSegs = 0;
  TcpOutSegs = 0;
  /** Segments that found no socket, answered with a RST (tcp_v4_send_reset: TCP_MIB_OUTRSTS). */
  TcpOutRsts = 0;
  TcpExtTCPRcvQDrop = 0;
  TcpExtTCPBacklogDrop = 0;
  TcpExtTCPBacklogCoalesce = 0;
  TcpExtTCPOFOQueue = 0;
  /** SACKs held by SACK compression and covered by a later ACK (tcp_event_ack_sent). */
  TcpExtTCPAckCompressed = 0;
  TcpExtPruneCalled = 0;
  TcpExtTCPRcvCollapsed = 0;
  TcpExtRcvPruned = 0;
  /** Packets busy polling took off a ring: the work of each napi_busy_loop poll (LINUX_MIB_BUSYPOLLRXPACKETS, in the driver's poll unit). */
  TcpExtBusyPollRxPackets = 0;
  UdpInDatagrams = 0;
  /** Datagrams to a port with no socket (__udp4_lib_rcv: UDP_MIB_NOPORTS, per skb). */
  UdpNoPorts = 0;
  UdpOutDatagrams = 0;
  UdpRcvbufErrors = 0;
  UdpInErrors = 0;
  /** ICMP messages sent (icmp_out_count: ICMP_MIB_OUTMSGS), of which destination unreachable. */
  IcmpOutMsgs = 0;
  IcmpOutDestUnreachs = 0;
  /** ICMP errors icmp_send refused: the host-wide bucket (icmp_msgs_per_sec) or the destination's (icmp_ratelimit). */
  IcmpOutRateLimitGlobal = 0;
  IcmpOutRateLimitHost = 0;
  /** Time exceeded messages sent (ICMP_MIB_OUTTIMEEXCDS). */
  IcmpOutTimeExcds = 0;
  /** The per-type count of the same sends (ICMPMSGOUT_INC_STATS, type 3). */
  IcmpMsgOutType3 = 0;
  /** ... and of type 11, time exceeded. */
  IcmpMsgOutType11 = 0;

  /** The counters by name. */
  report(): Record<string, number> {
    return { ...(this as unknown as Record<string, number>) };
  }

  /** Start of the measurement window. */
  resetWindow(): void {
    const counters = this as unknown as Record<string, number>;
    for (const key of Object.keys(counters)) counters[key] = 0;
  }
}
