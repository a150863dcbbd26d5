import type { Result } from '../../src/metrics/result.ts';
import { el, fmt } from './colors.ts';

/**
 * Kernel counters as a user reads them on a real machine — /proc/interrupts, /proc/softirqs,
 * /proc/net/softnet_stat, ethtool -S, mpstat, nstat — with a tooltip per field saying where the
 * kernel increments it.
 */
const SOFTNET_COLUMNS: [string, string][] = [
  ['processed', '__netif_receive_skb_core() (net/core/dev.c): every pass of an skb through the stack on this CPU'],
  ['dropped', 'enqueue_to_backlog() (net/core/dev.c): the backlog held netdev_max_backlog packets, or the flow limit hit'],
  ['time_squeeze', 'net_rx_action() (net/core/dev.c): the poll loop stopped on netdev_budget or netdev_budget_usecs (counted even when no work was left)'],
  ['0', 'unused (was fastroute)'],
  ['0', 'unused (was fastroute)'],
  ['0', 'unused (was fastroute)'],
  ['0', 'unused (was fastroute)'],
  ['0', 'unused (was fastroute)'],
  ['cpu_collision', 'always 0 since 4.x'],
  ['received_rps', 'rps_trigger_softirq() (net/core/dev.c): RPS IPIs this CPU received'],
  ['flow_limit_count', "skb_flow_limit() (net/core/dev.c): packets dropped by the per-flow backlog limit, counted in the enqueuing CPU's table (not the target's)"],
  ['backlog_len', 'softnet_seq_show(): input_pkt_queue + process_queue length now'],
  ['cpu', "the CPU index (the row's CPU)"],
  ['input_qlen', 'softnet_seq_show(): input_pkt_queue length now'],
  ['process_qlen', 'softnet_seq_show(): process_queue length now'],
];

const MPSTAT: [keyof Result['cpus'][number], string][] = [
  ['usr', 'user time of tasks (CPUTIME_USER, account_user_time)'],
  ['sys', 'kernel time of tasks: syscalls, copies, ksoftirqd and napi threads outside softirq (CPUTIME_SYSTEM)'],
  ['irq', 'hardirq time (CPUTIME_IRQ: irqtime_account_irq at irq_exit)'],
  ['soft', 'softirq time, inline and in ksoftirqd (CPUTIME_SOFTIRQ)'],
  ['idle', 'the idle task (CPUTIME_IDLE)'],
  ['ksoftirqd', 'share of the CPU used by ksoftirqd/N (top -H shows it as a task)'],
];

/** Where each modelled MIB counter is incremented (net/ipv4/*.c). */
const NSTAT_SITES: Record<string, string> = {
  IpInReceives: 'ip_rcv_core(): IPSTATS_MIB_IN, per skb (a GRO aggregate counts once)',
  IpExtInNoECTPkts: "ip_rcv_core(): IPSTATS_MIB_NOECTPKTS, per segment (adds a GRO skb's gso_segs)",
  IpInDelivers: 'ip_protocol_deliver_rcu(): IPSTATS_MIB_INDELIVERS, per skb handed to TCP/UDP',
  IpForwDatagrams: 'ip_forward_finish(): IPSTATS_MIB_OUTFORWDATAGRAMS, routed on (to a bridge or a pod)',
  TcpInSegs: 'tcp_v4_rcv(): TCP_MIB_INSEGS, per skb (a GRO aggregate counts once)',
  TcpOutSegs: "__tcp_transmit_skb(): TCP_MIB_OUTSEGS (the receiver's ACKs)",
  TcpExtTCPRcvQDrop: 'tcp_data_queue(): tcp_try_rmem_schedule failed even after pruning (LINUX_MIB_TCPRCVQDROP)',
  TcpExtTCPBacklogDrop: 'tcp_add_backlog(): the socket backlog limit was hit while a reader held the socket',
  TcpExtTCPBacklogCoalesce: 'tcp_add_backlog(): skb_try_coalesce() merged the skb into the backlog tail (no new skb to process at release_sock)',
  TcpExtTCPOFOQueue: 'tcp_data_queue_ofo(): a segment queued out of order (a hole before it)',
  TcpExtPruneCalled: 'tcp_prune_queue(): the receive queue was over sk_rcvbuf',
  TcpExtTCPRcvCollapsed: 'tcp_collapse_one(): skbs merged to reclaim truesize',
  TcpExtRcvPruned: 'tcp_prune_queue(): collapsing did not free enough',
  UdpInDatagrams: 'udp_recvmsg(): UDP_MIB_INDATAGRAMS, when the application reads the datagram',
  UdpOutDatagrams: "udp_send_skb(): UDP_MIB_OUTDATAGRAMS (an rr-server's responses)",
  UdpRcvbufErrors: '__udp_queue_rcv_skb(): the receive buffer was full (UDP_MIB_RCVBUFERRORS)',
  UdpInErrors: '__udp_queue_rcv_skb(): counted with every RcvbufErrors drop (UDP_MIB_INERRORS)',
};

/** Where a /proc/interrupts or /proc/softirqs row is counted. */
function procRowTip(label: string): string {
  if (/^\d+:/.test(label)) return "handle_edge_irq() → kstat_incr_irqs_this_cpu(): the device's MSI-X vector, counted on the CPU that took it (its smp_affinity)";
  if (label.startsWith('LOC')) return 'sysvec_apic_timer_interrupt(): inc_irq_stat(apic_timer_irqs) — the scheduler tick and hrtimers';
  if (label.startsWith('RES')) return 'sysvec_reschedule_ipi(): inc_irq_stat(irq_resched_count) — a wake-up on another CPU asked this one to preempt';
  if (label.startsWith('CAL')) return 'sysvec_call_function_single(): inc_irq_stat(irq_call_count) — RPS IPIs (rps_trigger_softirq)';
  if (label.startsWith('NET_RX')) return 'handle_softirqs(): kstat_incr_softirqs_this_cpu(NET_RX_SOFTIRQ) — one per net_rx_action run';
  return '';
}

/** A /proc file as text, one element per line with the line's tooltip. */
function procText(text: string, testid: string): HTMLElement {
  const pre = el('pre', { 'data-testid': testid });
  for (const line of text.replace(/\n$/, '').split('\n')) {
    const tip = procRowTip(line.trim());
    pre.append(el('div', tip ? { title: tip, class: 'tip' } : {}, line));
  }
  return pre;
}

function ethtoolTip(name: string): string {
  if (name === 'rx_packets' || name === 'rx_bytes') return 'the driver clean loop (ixgbe_clean_rx_irq / ice_clean_rx_irq) per descriptor';
  if (name.startsWith('rx_queue_')) return 'per-queue ring statistics, updated at the end of each clean loop';
  if (name === 'rx_no_dma_resources') return 'ixgbe: the NIC found no free descriptor (DROP_EN set; QPRDC)';
  if (name === 'rx_missed_errors') return 'ixgbe: the NIC packet buffer overflowed (MPC)';
  if (name === 'rx_dropped' || name === 'rx_discards') return 'ice: no free descriptor in the ring (RX_DISCARDS from the NIC)';
  if (name.startsWith('rx_flow_steer')) return 'aRFS: ndo_rx_flow_steer filters added';
  return 'driver statistic';
}

function table(headers: [string, string][], rows: (string | number)[][], testid: string): HTMLTableElement {
  const t = el('table', { class: 'counters', 'data-testid': testid });
  const hr = el('tr');
  for (const [h, tip] of headers) hr.append(el('th', tip ? { title: tip } : {}, h));
  t.append(hr);
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((v, i) => tr.append(el('td', i === 0 ? { class: 'name' } : {}, typeof v === 'number' ? fmt(v, Number.isInteger(v) ? 0 : 2) : v)));
    t.append(tr);
  }
  return t;
}

export function renderCounters(container: HTMLElement, r: Result): void {
  container.replaceChildren();
  container.append(el('h3', {}, '$ mpstat -P ALL (percent of the window)'));
  container.append(
    table(
      [['CPU', ''], ...MPSTAT.map(([k, tip]) => [`%${k}`, tip] as [string, string])],
      r.cpus.map((c) => [String(c.cpu), ...MPSTAT.map(([k]) => c[k])]),
      'counters-mpstat',
    ),
  );

  container.append(el('h3', {}, '$ cat /proc/interrupts'));
  container.append(procText(r.proc.interrupts, 'counters-interrupts'));

  container.append(el('h3', {}, '$ cat /proc/softirqs'));
  container.append(procText(r.proc.softirqs, 'counters-softirqs'));

  container.append(el('h3', {}, '$ cat /proc/net/softnet_stat (decoded; one row per CPU)'));
  const rows = r.proc.softnet_stat
    .trim()
    .split('\n')
    .map((line) =>
      line
        .trim()
        .split(/\s+/)
        .map((h) => parseInt(h, 16)),
    );
  container.append(table(SOFTNET_COLUMNS, rows, 'counters-softnet'));

  for (const [dev, stats] of Object.entries(r.ethtool_S)) {
    container.append(el('h3', {}, `$ ethtool -S ${dev}`));
    const t = el('table', { class: 'counters', 'data-testid': 'counters-ethtool' });
    for (const [k, v] of Object.entries(stats)) {
      const tr = el('tr');
      tr.append(el('td', { class: 'name', title: ethtoolTip(k) }, k), el('td', {}, fmt(v)));
      t.append(tr);
    }
    container.append(t);
  }

  container.append(el('h3', {}, '$ nstat -az (the modelled counters)'));
  const n = el('table', { class: 'counters', 'data-testid': 'counters-nstat' });
  for (const [k, v] of Object.entries(r.nstat)) {
    const tr = el('tr');
    tr.append(el('td', { class: 'name', ...(NSTAT_SITES[k] ? { title: NSTAT_SITES[k] } : {}) }, k), el('td', {}, fmt(v)));
    n.append(tr);
  }
  container.append(n);
}
