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
  IpForwDatagrams = 0;
  TcpInSegs = 0;
  TcpOutSegs = 0;
  TcpExtTCPRcvQDrop = 0;
  TcpExtTCPBacklogDrop = 0;
  TcpExtTCPBacklogCoalesce = 0;
  TcpExtTCPOFOQueue = 0;
  /** SACKs held by SACK compression and covered by a later ACK (tcp_event_ack_sent). */
  TcpExtTCPAckCompressed = 0;
  TcpExtPruneCalled = 0;
  TcpExtTCPRcvCollapsed = 0;
  TcpExtRcvPruned = 0;
  UdpInDatagrams = 0;
  UdpOutDatagrams = 0;
  UdpRcvbufErrors = 0;
  UdpInErrors = 0;

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
