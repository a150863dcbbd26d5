import { sameEndpoint, type ResolvedFlow, type ResolvedScenario } from '../scenario/resolve.ts';

/**
 * The socket lookup (net/ipv4/udp.c __udp4_lib_lookup, net/ipv4/inet_hashtables.c
 * __inet_lookup_listener), resolved once per flow: the application that has a socket bound to the
 * flow's destination, or null when nobody does — a port with no socket, where __udp4_lib_rcv
 * counts UdpNoPorts and answers with ICMP port unreachable, and tcp_v4_rcv answers with a RST.
 * A stream-reader listens for TCP, a udp-sink is bound for plain UDP, an rr-server for requests.
 * (The whole flow goes one way: a flow whose destination is a port range reaches the socket bound
 * to its first port.)
 */
export function listenerOf(f: ResolvedFlow, apps: ResolvedScenario['apps']): number | null {
  const reads = (a: ResolvedScenario['apps'][number]) =>
    a.kind === 'stream-reader' ? f.proto === 'tcp' : a.kind === 'udp-sink' ? f.proto === 'udp' && !f.rr : a.kind === 'rr-server' && f.rr !== null;
  const app = apps.find((a) => reads(a) && a.listen !== null && sameEndpoint(a.listen, f.dst));
  return app ? app.index : null;
}
