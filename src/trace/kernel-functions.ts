import { EV } from './buffer.ts';

/**
 * Where each traced event happens in the kernel: the tracepoint, the function that fires it and
 * its file (for step mode in the browser and for the ftrace export). Sources: the v6.18 tree.
 */
export interface KernelSite {
  tracepoint: string;
  fn: string;
  file: string;
  what: string;
}

export const KERNEL_SITES: Record<number, KernelSite> = {
  [EV.SPAN]: { tracepoint: '', fn: 'account_system_index_time', file: 'kernel/sched/cputime.c', what: 'the CPU spends time in one context (what /proc/stat accounts)' },
  [EV.IRQ_ENTRY]: {
    tracepoint: 'irq:irq_handler_entry',
    fn: '__handle_irq_event_percpu',
    file: 'kernel/irq/handle.c',
    what: "a hard interrupt: the device's handler runs (a NIC queue vector's: its driver's MSI-X handler, named per driver in viz.ts siteOf)",
  },
  [EV.IRQ_EXIT]: { tracepoint: 'irq:irq_handler_exit', fn: '__handle_irq_event_percpu', file: 'kernel/irq/handle.c', what: 'the handler returned; irq_exit() will run pending softirqs' },
  [EV.SOFTIRQ_RAISE]: { tracepoint: 'irq:softirq_raise', fn: '__raise_softirq_irqoff', file: 'kernel/softirq.c', what: 'NET_RX marked pending (napi_schedule, or the backlog on an RPS IPI)' },
  [EV.SOFTIRQ_ENTRY]: { tracepoint: 'irq:softirq_entry', fn: 'handle_softirqs', file: 'kernel/softirq.c', what: 'a pending softirq vector runs (at irq_exit, local_bh_enable or in ksoftirqd)' },
  [EV.SOFTIRQ_EXIT]: { tracepoint: 'irq:softirq_exit', fn: 'handle_softirqs', file: 'kernel/softirq.c', what: 'net_rx_action returned' },
  [EV.NAPI_POLL]: {
    tracepoint: 'napi:napi_poll',
    fn: '__napi_poll',
    file: 'net/core/dev.c',
    what: 'net_rx_action polled one NAPI: the driver freed its TX completions (ixgbe_clean_tx_irq, ice_clean_tx_irq), then cleaned up to `budget` RX descriptors',
  },
  [EV.BUSY_POLL]: {
    tracepoint: 'napi:napi_poll',
    fn: 'napi_busy_loop',
    file: 'net/core/dev.c',
    what: 'a task busy-polled the NAPI itself (sk_busy_loop from a blocking read, or do_select): napi->poll with the busy-poll budget, bottom halves off, in its own system time',
  },
  [EV.EP_BUSY_POLL]: {
    tracepoint: 'napi:napi_poll',
    fn: 'ep_busy_loop',
    file: 'fs/eventpoll.c',
    what: "epoll_wait found no events and busy-polled the epoll instance's NAPI (ep_busy_loop → napi_busy_loop) in the task's system time",
  },
  [EV.SCHED_SWITCH]: { tracepoint: 'sched:sched_switch', fn: '__schedule', file: 'kernel/sched/core.c', what: 'the CPU switches tasks' },
  [EV.SCHED_WAKEUP]: { tracepoint: 'sched:sched_wakeup', fn: 'ttwu_do_activate', file: 'kernel/sched/core.c', what: 'a task becomes runnable (sk_data_ready woke a reader, or wakeup_softirqd)' },
  [EV.NETIF_RECEIVE_SKB]: { tracepoint: 'net:netif_receive_skb', fn: '__netif_receive_skb_core', file: 'net/core/dev.c', what: 'one skb enters the protocol stack (one pass; a second after veth)' },
  [EV.COUNTER]: { tracepoint: '', fn: '', file: '', what: 'a queue length changed' },
  [EV.IPI_SEND]: { tracepoint: 'ipi:ipi_send_cpu', fn: 'net_rps_send_ipi', file: 'net/core/dev.c', what: 'RPS: kick the remote CPU whose backlog got packets' },
  // Generic XDP's site; native XDP's is the device driver's XDP run function (viz.ts siteOf).
  [EV.XDP_EXCEPTION]: {
    tracepoint: 'xdp:xdp_exception',
    fn: 'netif_receive_generic_xdp',
    file: 'net/core/dev.c',
    what: 'an XDP program returned XDP_ABORTED: the frame is dropped',
  },
  [EV.XDP_CPUMAP_ENQUEUE]: {
    tracepoint: 'xdp:xdp_cpumap_enqueue',
    fn: 'bq_flush_to_queue',
    file: 'kernel/bpf/cpumap.c',
    what: "xdp_do_flush at the end of a driver poll moved one bulk queue (up to CPU_MAP_BULK_SIZE 8 redirected frames) onto a cpumap entry's ptr_ring; drops: the ring was full",
  },
  [EV.XDP_CPUMAP_KTHREAD]: {
    tracepoint: 'xdp:xdp_cpumap_kthread',
    fn: 'cpu_map_kthread_run',
    file: 'kernel/bpf/cpumap.c',
    what: 'a cpumap kthread took up to CPUMAP_BATCH 8 frames from its ring and built their skbs for the stack on its CPU; sched: it had slept',
  },
  [EV.XDP_DEVMAP_XMIT]: {
    tracepoint: 'xdp:xdp_devmap_xmit',
    fn: 'bq_xmit_all',
    file: 'kernel/bpf/devmap.c',
    what: "xdp_do_flush at the end of a driver poll sent one devmap bulk queue (up to DEV_MAP_BULK_SIZE 16 redirected frames) with the target's ndo_xdp_xmit; drops: frames its XDP TX ring had no room for, freed by bq_xmit_all",
  },
  [EV.XDP_REDIRECT_XSK]: {
    tracepoint: 'xdp:xdp_redirect',
    fn: 'xsk_rcv',
    file: 'net/xdp/xsk.c',
    what: "XDP_REDIRECT into an xskmap, copy mode: __xsk_rcv took a UMEM frame from the fill ring, copied the frame into it and reserved its descriptor on the socket's RX ring (err: -ENOBUFS RX ring full, -ENOMEM fill ring empty — xdp_redirect_err)",
  },
  [EV.XDP_REDIRECT_XSK_ZC]: {
    tracepoint: 'xdp:xdp_redirect',
    fn: 'xsk_rcv_zc',
    file: 'net/xdp/xsk.c',
    what: "XDP_REDIRECT into an xskmap, zero-copy: the NIC wrote the frame into a UMEM frame from the fill ring; xsk_rcv_zc only posts its descriptor on the socket's RX ring (err: -ENOBUFS RX ring full — xdp_redirect_err)",
  },
  [EV.XDP_RUN]: {
    tracepoint: '',
    fn: 'bpf_prog_run_xdp',
    file: 'include/net/xdp.h',
    what: "the driver's clean loop ran the XDP program on each frame's xdp_buff before any skb (its XDP run function: ixgbe_run_xdp, ice_run_xdp); the verdicts of one poll (no tracepoint: counted as xdp_rxq_info counts them). Generic XDP: one skb at __netif_receive_skb_core (bpf_prog_run_generic_xdp)",
  },
  [EV.XDP_REDIRECT]: {
    tracepoint: 'xdp:xdp_redirect',
    fn: 'xdp_do_redirect',
    file: 'net/core/filter.c',
    what: "XDP_REDIRECT through bpf_redirect_map: the frame joins this CPU's bulk queue of the map entry (cpumap: bq_enqueue, to the entry's ring at xdp_do_flush; devmap: to ndo_xdp_xmit). Generic XDP (xdp_do_generic_redirect): the skb goes to the entry at once; xdp_redirect_err when the map refused it",
  },
  [EV.IPI_RECEIVE]: { tracepoint: 'csd:csd_function_entry', fn: 'rps_trigger_softirq', file: 'net/core/dev.c', what: 'the IPI schedules the backlog NAPI on this CPU' },
};

/** Interrupts that are not a device's: the x86 vectors behind the LOC, RES and CAL rows. */
export const ARCH_IRQ_SITES: Record<string, Pick<KernelSite, 'fn' | 'file' | 'what'>> = {
  LOC: {
    fn: 'sysvec_apic_timer_interrupt',
    file: 'arch/x86/kernel/apic/apic.c',
    what: 'the local timer: the scheduler tick (sched_tick: accounting, preemption check) and hrtimers such as napi_watchdog',
  },
  RES: { fn: 'sysvec_reschedule_ipi', file: 'arch/x86/kernel/smp.c', what: 'a rescheduling IPI: another CPU woke a task here that should preempt (scheduler_ipi)' },
  CAL: { fn: 'sysvec_call_function_single', file: 'arch/x86/kernel/smp.c', what: 'a function-call IPI: RPS asks this CPU to process its backlog (rps_trigger_softirq)' },
};
