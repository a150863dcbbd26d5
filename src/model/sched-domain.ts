/**
 * A scheduling domain (kernel/sched/topology.c: sd_init, build_sched_domains): the CPUs one
 * CPU balances load across at one level of the topology, split into groups, with the level's
 * tunables and the state load balancing keeps per CPU and level (each CPU has its own copy of
 * every domain it is in, as in the kernel).
 *
 * rxsim's machines have no SMT siblings and one last-level cache per NUMA node, so a CPU has:
 *
 *  - "MC", the CPUs of its LLC, whose groups are single CPUs — sd_init() with SD_SHARE_LLC:
 *    imbalance_pct 117, cache_nice_tries 1; SD_PREFER_SIBLING, so the level above spreads tasks
 *    evenly over the LLCs. A node of one CPU has no MC domain (a degenerate domain is dropped).
 *  - "NUMA" when the machine has more than one node: every CPU, one group per node —
 *    cache_nice_tries 2, SD_NUMA, and imb_numa_nr (the number of LLCs below it) tasks of
 *    imbalance allowed toward a lightly loaded node (adjust_numa_imbalance).
 *
 * Every level has busy_factor 16, min_interval = the span's weight in ms, max_interval twice that
 * and balance_interval starting at min_interval.
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
  readonly cacheNiceTries: number;
  /** SD_NUMA, and sd->imb_numa_nr: the imbalance (tasks) tolerated toward a lightly loaded node. */
  readonly numa: boolean;
  readonly imbNumaNr: number;
  /** The child domain has SD_PREFER_SIBLING (sds->prefer_sibling): spread tasks evenly over the groups. */
  readonly preferSibling: boolean;
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
  /** sd->max_newidle_lb_cost (ns) and when it last decayed (jiffies): 0 until a newidle pass measures one. */
  maxNewidleLbCost = 0;
  lastDecayMaxLbCost = 0;

  // /proc/schedstat, per idle type.
  readonly lb: LbStats[] = CPU_IDLE_TYPES.map(() => ({ count: 0, balanced: 0, failed: 0, gained: 0 }));
  /** alb_count / alb_pushed: active balances started and tasks they moved. */
  albCount = 0;
  albPushed = 0;

  constructor(
    readonly name: string,
    /** The CPUs of the domain, sorted. */
    readonly span: readonly number[],
    /** Its groups (sched_group spans), the one holding this domain's CPU first. */
    readonly groups: readonly (readonly number[])[],
    level: { numa: boolean; childPrefersSibling: boolean; imbNumaNr: number },
  ) {
    this.numa = level.numa;
    this.cacheNiceTries = level.numa ? 2 : 1;
    this.preferSibling = level.childPrefersSibling;
    this.imbNumaNr = level.imbNumaNr;
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

/**
 * build_sched_domains() for a machine without SMT: per CPU, the MC domain of its node's LLC (if
 * the node has more than one CPU) and, with several nodes, a NUMA domain over all CPUs whose
 * groups are the nodes. Groups are listed from the CPU's own, then in CPU order wrapping around
 * (the sched_group ring starts at the local group).
 */
export function buildSchedDomains(cpuNode: readonly number[], nodes: number): SchedDomain[][] {
  const ncpus = cpuNode.length;
  const nodeCpus = Array.from({ length: nodes }, (_, n) => cpuNode.flatMap((node, c) => (node === n ? [c] : [])));
  const all = Array.from({ length: ncpus }, (_, c) => c);
  return all.map((cpu) => {
    const out: SchedDomain[] = [];
    const llc = nodeCpus[cpuNode[cpu]!]!;
    const hasMc = llc.length > 1;
    if (hasMc)
      out.push(
        new SchedDomain(
          'MC',
          llc,
          ringFrom(
            llc.map((c) => [c]),
            llc.indexOf(cpu),
          ),
          { numa: false, childPrefersSibling: false, imbNumaNr: 0 },
        ),
      );
    if (nodes > 1) {
      // imb_numa_nr for the first level above the LLCs: the number of LLCs it spans.
      out.push(new SchedDomain('NUMA', all, ringFrom(nodeCpus, cpuNode[cpu]!), { numa: true, childPrefersSibling: hasMc, imbNumaNr: Math.max(1, nodes) }));
    } else if (!hasMc) {
      return [];
    }
    return out;
  });
}

/** The groups starting at index `first`, wrapping around. */
function ringFrom<T>(groups: readonly T[], first: number): T[] {
  return groups.map((_, i) => groups[(first + i) % groups.length]!);
}
