import { COST_KEYS, type CostKey } from '../model/costs.ts';

/**
 * Cost classes for `rxsim calibrate`: the costs of costs.ts grouped by the kind of work they are,
 * so that a fit to a handful of real measurements scales a few factors, not seventy values.
 * Each cost is in exactly one class (a test checks it). Within a class the ratios of the base
 * profile stay; a factor scales them all.
 */
export const COST_CLASSES = {
  /** The driver's per-frame and per-poll work: clean loop, refill and its pages, MMIO writes, TX completions, XDP in the driver and its redirects. */
  driver: [
    'irq_handler',
    'napi_poll',
    'rx_descriptor',
    'refill_batch',
    'refill_buffer',
    'page_alloc',
    'page_pool_fast',
    'page_pool_ring',
    'napi_complete',
    'tx_clean',
    'dim_work',
    'build_skb',
    'xdp_run',
    'xdp_tx',
    'xdp_tx_tail',
    'ndo_start_xmit',
    'xdp_redirect',
    'cpumap_flush',
    'cpumap_produce',
    'xsk_rcv',
    'xsk_rcv_zc',
    'xsk_buff_alloc',
    'xsk_flush',
  ],
  /** The protocol stack per packet or skb: softirq dispatch, GRO, netif_receive_skb, IP, UDP/TCP, sockets, backlog, veth/bridge/VXLAN, skb frees, the transmit path. */
  stack: [
    'net_rx_action',
    'gro_receive',
    'gro_merge',
    'gro_complete',
    'netif_receive_skb',
    'rps_enqueue',
    'ip_rcv',
    'ip_forward',
    'fib_lookup',
    'ip_output',
    'dev_queue_xmit',
    'bridge_forward',
    'veth_xmit',
    'vxlan_rcv',
    'udp_rcv',
    'tcp_v4_rcv',
    'sock_enqueue',
    'sk_data_ready',
    'tcp_send_ack',
    'tcp_v4_send_reset',
    'icmp_route_lookup',
    'icmp_send',
    'netif_rx',
    'process_backlog',
    'backlog_packet',
    'tcp_recvmsg',
    'udp_recvmsg',
    'skb_consume',
    'skb_free',
    'skb_defer',
    'tcp_sendmsg',
    'tcp_transmit_skb',
    'tcp_ack_rcv',
    'udp_sendmsg',
    'xdp_generic',
    'cpumap_skb',
    'busy_poll_loop',
    'xsk_ring_batch',
    'xsk_ring_frame',
  ],
  /** Netfilter: hooks, rules, conntrack, NAT. */
  netfilter: ['nf_hook', 'nf_rule', 'conntrack_in', 'nat'],
  /** copy_to_user per KiB, from the LLC, local DRAM or the other node. */
  copy: ['copy_kb_llc', 'copy_kb_dram', 'copy_kb_remote'],
  /** Entering the kernel or an interrupt context: hardirq, softirq entry, IPIs, timers, system calls. */
  entry: ['hardirq_entry_exit', 'softirq_entry', 'ipi_send', 'ipi_handler', 'timer_tick', 'hrtimer_handler', 'syscall'],
  /** The scheduler: switches, migrations, load balancing, wake-ups, kthread loops. */
  sched: ['context_switch', 'task_migration', 'sched_balance', 'sched_balance_cpu', 'sched_migrate_task', 'wakeup', 'kthread_loop'],
} as const satisfies Record<string, readonly CostKey[]>;

export type CostClass = keyof typeof COST_CLASSES;
export const COST_CLASS_NAMES = Object.keys(COST_CLASSES) as CostClass[];

/** The class of each cost. */
export const CLASS_OF = Object.fromEntries(COST_CLASS_NAMES.flatMap((c) => COST_CLASSES[c].map((k) => [k, c]))) as Record<CostKey, CostClass>;

/** Costs in no class or in two (empty when the table is whole). */
export function unclassified(): string[] {
  const seen = COST_CLASS_NAMES.flatMap((c) => [...COST_CLASSES[c]] as string[]);
  return [...COST_KEYS.filter((k) => !seen.includes(k)), ...seen.filter((k, i) => seen.indexOf(k) !== i)];
}

/** A cost table scaled by class factors (a class not given keeps factor 1), in ns, unrounded. */
export function scaleByClass(table: Record<CostKey, number>, factors: Partial<Record<CostClass, number>>): Record<CostKey, number> {
  const out = {} as Record<CostKey, number>;
  for (const key of COST_KEYS) out[key] = table[key] * (factors[CLASS_OF[key]] ?? 1);
  return out;
}
