/**
 * A scheduling domain (kernel/sched/topology.c: sd_init, build_sched_domains): the CPUs one
 * CPU balances load across at one level of the topology, with the level's tunables and the
 * state load balancing keeps per CPU and level (each CPU has its own copy of every domain it
 * is in, as in the kernel).
 *
 * rxsim's machines have one last-level cache and no SMT siblings, so every CPU has one domain,
 * "MC", spanning all CPUs, whose groups are single CPUs — sd_init() with SD_SHARE_LLC:
 * imbalance_pct 117, cache_nice_tries 1, busy_factor 16, min_interval = the span's weight in ms,
 * max_interval twice that, balance_interval starting at min_interval. A machine of one CPU has
 * no domain (the kernel attaches a NULL domain: nothing to balance).
 */

/** enum cpu_idle_type: why a balance pass runs — the CPU is idle (tick or nohz), busy, or about to go idle. */
export const enum CpuIdleType {
  IDLE = 0,
  NOT_IDLE = 1,
  NEWLY_IDLE = 2,
}
export const CPU_IDLE_TYPES = ['idle', 'busy', 'newidle'] as const;

/** MAX_PINNED_INTERVAL: the longest balance interval (ms) once every task was pinned. */
export const MAX_PINNED_INTERVAL_MS = 512;

/** Per idle type, what /proc/schedstat's domain line counts (lb_count, lb_balanced, lb_failed, lb_gained). */
export interface LbStats {
  count: number;
  balanced: number;
  failed: number;
  gained: number;
}

export class SchedDomain {
  /** sd->imbalance_pct: a group must be this much (percent) busier to be pulled from when both are overloaded. */
  readonly imbalancePct = 117;
  /** sd->cache_nice_tries: failed balances before a cache-hot task may be moved anyway. */
  readonly cacheNiceTries = 1;
  /** sd->busy_factor: a busy CPU balances this many times less often. */
  readonly busyFactor = 16;
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  /** sd->balance_interval (ms): doubles while balanced, back to min_interval after an imbalance. */
  balanceIntervalMs: number;
  /** sd->last_balance (jiffies). */
  lastBalance = 0;
  /** sd->nr_balance_failed. */
  nrBalanceFailed = 0;

  // /proc/schedstat, per idle type.
  readonly lb: LbStats[] = CPU_IDLE_TYPES.map(() => ({ count: 0, balanced: 0, failed: 0, gained: 0 }));
  /** alb_count / alb_pushed: active balances started and tasks they moved. */
  albCount = 0;
  albPushed = 0;

  constructor(
    readonly name: string,
    /** The CPUs of the domain, sorted; each is one group. */
    readonly span: readonly number[],
  ) {
    this.minIntervalMs = span.length;
    this.maxIntervalMs = 2 * span.length;
    this.balanceIntervalMs = this.minIntervalMs;
  }

  /**
   * get_sd_balance_interval(): the interval in jiffies — times busy_factor on a busy CPU (less
   * one jiffy, so levels do not balance in step), at least 1, at most
   * max_load_balance_interval (HZ × CPUs / 10).
   */
  interval(busy: boolean, hz: number, ncpus: number): number {
    let ms = this.balanceIntervalMs;
    if (busy) ms *= this.busyFactor;
    let j = Math.ceil((ms * hz) / 1000); // msecs_to_jiffies
    if (busy) j -= 1;
    return Math.max(1, Math.min(j, Math.floor((hz * ncpus) / 10)));
  }

  /** Start of the measurement window: the schedstat counters restart. */
  resetStats(): void {
    for (const s of this.lb) s.count = s.balanced = s.failed = s.gained = 0;
    this.albCount = this.albPushed = 0;
  }
}

/** build_sched_domains() for one LLC without SMT: an MC domain per CPU when there is more than one CPU. */
export function buildSchedDomains(ncpus: number): SchedDomain[][] {
  const all = Array.from({ length: ncpus }, (_, c) => c);
  return all.map(() => (ncpus > 1 ? [new SchedDomain('MC', all)] : []));
}
