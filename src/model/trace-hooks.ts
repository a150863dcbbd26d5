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
  /** Follow one packet (see FollowProbe); absent or null: no site reports anything. */
  readonly follow?: FollowProbe | null;
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
  /** trace_xdp_exception(): an XDP program on `dev` returned `action` (XDP_ABORTED, or an action the driver cannot carry out); generic: at netif_receive_generic_xdp, else in the driver. */
  xdpException?(cpu: number, dev: string, action: string, generic?: boolean): void;
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

/**
 * The stages a followed packet passes, in path order (FollowProbe.stage's `kind`). Each names the
 * kernel function where the model records it.
 */
export const FOLLOW = {
  /** The frame's last bit reached the port (or a local sender's tcp_sendmsg built the skb). a: -1. */
  WIRE: 0,
  /** DMA into a posted RX descriptor (the write-back the driver polls for). a: frames ahead in the ring; b: RX queue. */
  DMA: 1,
  /** irq_handler_entry of the queue's vector after the DMA (the driver's MSI-X handler → napi_schedule). a: IRQ descriptor. */
  IRQ: 2,
  /** The driver's RX clean loop cleaned the descriptor in a NAPI poll (napi_build_skb). a: NAPI id; b: position in the poll. */
  POLL: 3,
  /** dev_gro_receive held the skb as the head of a new aggregate. */
  GRO_HOLD: 4,
  /** dev_gro_receive → skb_gro_receive merged the segment into the held skb `a` (b: segments then). */
  GRO_MERGE: 5,
  /** gro_normal_one: the skb (a: segments) joined the NAPI's rx list. */
  GRO_LIST: 6,
  /** enqueue_to_backlog queued the skb on CPU `cpu`'s input_pkt_queue (a: skbs ahead; b: the CPU that queued it). */
  BACKLOG: 7,
  /** process_backlog took the skb off the backlog (a: its position in the poll). */
  BACKLOG_POLL: 8,
  /** __netif_receive_skb_core: one pass through the stack (a: the pass, 0 from the NIC; `what`: the device). */
  NETIF: 9,
  /** tcp_v4_rcv / udp_rcv reached the socket (a: bytes already queued, sk_rmem_alloc; b: 1 if the reader owned it: tcp_add_backlog). */
  SOCKET: 10,
  /** tcp_add_backlog → skb_try_coalesce merged the skb into the backlog's tail `a`. */
  COALESCE: 11,
  /** The reader copied it out (tcp_recvmsg / udp_recvmsg → skb_copy_datagram_iter) on `cpu`. a: segments in the skb. */
  COPY: 12,
  /** kfree_skb with a drop reason (`what`: the drop site), or XDP consumed it (XDP_DROP; XDP_TX or a devmap redirect: a = the NIC it left by). */
  DROP: 13,
  /** XDP_REDIRECT into a cpumap: bq_enqueue put the frame on this CPU's bulk queue for the entry of CPU `a` (b: frames then in it). */
  CPUMAP_ENQUEUE: 14,
  /** cpu_map_kthread_run took the frame off the entry's ptr_ring and built its skb (__xdp_build_skb_from_frame) on `cpu`. */
  CPUMAP_KTHREAD: 15,
} as const;

/**
 * "Follow one packet": an opt-in probe a tracer may offer as `follow`. The model picks the first
 * frame of `flow` arriving at or after `afterNs`, then reports each stage of the skb carrying it
 * (`skb`, the row it rides in: its own, or the GRO aggregate's head after a merge). A site costs
 * one comparison when a probe is set and nothing when none is; it only reads the run, so a
 * followed run has the digest of an unfollowed one.
 */
export interface FollowProbe {
  readonly flow: number;
  readonly afterNs: number;
  /** True until a frame is picked. */
  armed: boolean;
  /** The row of the skb carrying the packet (-1: not picked yet, or its path has ended). */
  skb: number;
  /** The frame `row` of `flow` arrived at `t`: follow it. */
  pick(row: number, t: number): void;
  /** The followed skb reached stage `kind` (FOLLOW) at `t` on `cpu` (-1: no CPU; NaN t: now). */
  stage(kind: number, t: number, cpu: number, a: number, b: number, what?: string): void;
}
