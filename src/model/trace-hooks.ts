import type { Task } from './task.ts';

/** What a CPU spent time on, for cpuTime(). */
export const CPU_IDLE = 0;
export const CPU_HARDIRQ = 1;
export const CPU_SOFTIRQ = 2;
export const CPU_TASK = 3;
/** schedule(): the context switch itself. */
export const CPU_SWITCH = 4;

/** Who polled a NAPI: the softirq (net_rx_action) or its thread; a task's napi_busy_loop (sk_busy_loop, do_select); epoll_wait's ep_busy_loop. */
export const POLL_SOFTIRQ = 0;
export const POLL_BUSY = 1;
export const POLL_EP_BUSY = 2;

/** What a trace records of a NAPI instance (napi_struct's id and its device). */
export interface TracedNapi {
  readonly id: number;
  readonly dev: string;
}

/**
 * What the model reports to an optional tracer (src/trace implements it). Calls are guarded
 * with `trace?.`, so a run without tracing pays one null check per hook.
 */
export interface TraceHooks {
  irqRaise(cpu: number, desc: number): void;
  irqEntry(cpu: number, desc: number): void;
  /** The handler returned (irq_handler_exit). */
  irqExit?(cpu: number, desc: number): void;
  /** CPU time from `start` to `end` went to `level` (CPU_* below); `task` is the current task. */
  cpuTime?(cpu: number, start: number, end: number, level: number, task: Task | null): void;
  /** __raise_softirq_irqoff() of vector `vec`. */
  softirqRaise?(cpu: number, vec: number): void;
  /** __netif_receive_skb_core: one pass of one skb (`segs` segments, `len` bytes). */
  netifReceiveSkb?(cpu: number, len: number, segs: number, dev: string): void;
  /** trace_xdp_exception(): an XDP program on `dev` returned `action` (XDP_ABORTED, or an action the driver cannot carry out). */
  xdpException?(cpu: number, dev: string, action: string): void;
  /** trace_xdp_cpumap_enqueue(): one bq_flush_to_queue on `cpu` of `processed` frames (`drops` of them refused by a full ring) to the entry of `toCpu`. */
  xdpCpumapEnqueue?(cpu: number, mapId: number, processed: number, drops: number, toCpu: number): void;
  /** trace_xdp_cpumap_kthread(): one round of cpu_map_kthread_run on `cpu` took `processed` frames; `sched` if it had slept. */
  xdpCpumapKthread?(cpu: number, mapId: number, processed: number, drops: number, sched: number): void;
  /** trace_xdp_devmap_xmit(): one ndo_xdp_xmit on `cpu` of frames received on `from` to `to`: `sent` frames (`drops` refused). */
  xdpDevmapXmit?(cpu: number, from: string, to: string, sent: number, drops: number): void;
  /**
   * trace_xdp_redirect_map / trace_xdp_redirect_map_err from xdp_do_redirect into an xskmap: the
   * frame on `dev` went to the AF_XDP socket at key `index` of map `mapId` (xsk_rcv in copy mode,
   * xsk_rcv_zc in zero-copy); `err` 0, or the socket's error (-ENOBUFS: RX ring full; -ENOMEM: no
   * fill-ring frame; -ENOSPC: larger than a chunk).
   */
  xdpRedirectXsk?(cpu: number, dev: string, mapId: number, index: number, zeroCopy: boolean, err: number): void;
  /**
   * bpf_prog_run_xdp() on `dev` (RX queue `queue`): the program's verdicts, by enum xdp_action, for
   * the frames of one driver poll (native) or for one skb (generic). No tracepoint fires here: step
   * mode shows it, the ftrace export does not.
   */
  xdpRun?(cpu: number, dev: string, queue: number, actions: ArrayLike<number>, generic: boolean): void;
  /**
   * trace_xdp_redirect() (err 0) or trace_xdp_redirect_err() from xdp_do_redirect (native) or
   * xdp_do_generic_redirect (generic): a frame of `dev` redirected into map `mapId` at `index`, to
   * device `to` for a devmap ('' for a cpumap).
   */
  xdpRedirect?(cpu: number, dev: string, to: string, mapId: number, index: number, err: number, generic: boolean): void;
  /** net_rps_send_ipi(): an IPI from `from` to `to` (to kick its backlog). */
  ipiSend?(from: number, to: number): void;
  /** The IPI's handler runs on `cpu`. */
  ipiReceive?(cpu: number): void;
  softirqFrame(cpu: number, begin: boolean, ksoftirqd: boolean): void;
  softirqEntry(cpu: number, vec: number): void;
  softirqExit(cpu: number, vec: number): void;
  /** One napi_poll that began at `start` (ns); `via`: who polled (POLL_* below; net_rx_action or a NAPI thread if absent). */
  napiPoll(cpu: number, napi: TracedNapi, work: number, budget: number, start: number, via?: number): void;
  sched(cpu: number, prev: Task | null, next: Task | null): void;
  wakeup(cpu: number, task: Task, from: number): void;
}
