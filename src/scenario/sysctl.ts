import { ValueError } from './errors.ts';
import { parseCpuMask } from './units.ts';

/**
 * The sysctls rxsim models, under their own names, with the kernel's defaults and the limits its
 * proc handlers enforce. Sources: net/core/hotdata.c, net/core/sysctl_net_core.c,
 * Documentation/admin-guide/sysctl/net.rst (see ../shared/reference/kernel-receive-path.md §1, §4, §9).
 */
export interface SysctlSpec {
  /** Default value; a function when it depends on the kernel config (HZ). */
  default: number | string | ((ctx: { hz: number }) => number | string);
  kind: 'int' | 'cpumask' | 'triple';
  min?: number;
  max?: number;
  description: string;
}

const INT_MAX = 2 ** 31 - 1;

export const SYSCTLS: Record<string, SysctlSpec> = {
  'net.core.netdev_budget': {
    default: 300,
    kind: 'int',
    min: 0,
    max: INT_MAX,
    description: 'Packets per net_rx_action run, shared by all NAPIs on the CPU (net_hotdata.netdev_budget).',
  },
  'net.core.netdev_budget_usecs': {
    default: ({ hz }) => Math.floor((2 * 1_000_000) / hz),
    kind: 'int',
    min: 0,
    max: INT_MAX,
    description: 'Time limit of one net_rx_action run in µs; default 2*USEC_PER_SEC/HZ (2 jiffies).',
  },
  'net.core.netdev_max_backlog': {
    default: 1000,
    kind: 'int',
    min: 0,
    max: INT_MAX,
    description: 'Packets a CPU backlog (input_pkt_queue) may hold before enqueue_to_backlog drops.',
  },
  'net.core.dev_weight': {
    default: 64,
    kind: 'int',
    min: 1,
    max: INT_MAX,
    description: 'weight_p: the backlog NAPI quota (process_backlog), not driver NAPIs.',
  },
  'net.core.dev_weight_rx_bias': {
    default: 1,
    kind: 'int',
    min: 1,
    max: INT_MAX,
    description: 'dev_rx_weight = dev_weight * dev_weight_rx_bias.',
  },
  'net.core.gro_normal_batch': {
    default: 8,
    kind: 'int',
    min: 1,
    max: INT_MAX,
    description: 'Segments GRO collects on gro->rx_list before delivering them as a list.',
  },
  'net.core.rps_sock_flow_entries': {
    default: 0,
    kind: 'int',
    min: 0,
    max: INT_MAX,
    description: 'RFS global socket flow table size (rounded up to a power of two; 0 = RFS off).',
  },
  'net.core.flow_limit_cpu_bitmap': {
    default: '0',
    kind: 'cpumask',
    description: 'CPUs whose backlog enqueue applies the per-flow limit (hex bitmap; 0 = off).',
  },
  'net.core.flow_limit_table_len': {
    default: 4096,
    kind: 'int',
    min: 1,
    max: INT_MAX,
    description: 'Buckets of each flow-limit table (power of two; applies to tables allocated later).',
  },
  'net.core.rmem_default': {
    default: 212992,
    kind: 'int',
    min: 256,
    max: INT_MAX,
    description: 'Initial sk_rcvbuf of UDP and raw sockets (SK_RMEM_DEFAULT on x86_64).',
  },
  'net.core.rmem_max': {
    default: 4194304,
    kind: 'int',
    min: 256,
    max: INT_MAX,
    description: 'Largest SO_RCVBUF a user may set (4 MB since ≈6.18; 212992 before).',
  },
  'net.ipv4.tcp_rmem': {
    default: '4096 131072 33554432',
    kind: 'triple',
    description: 'TCP receive buffer min, initial and autotuning max (32 MB max since ≈6.16).',
  },
};

export const SYSCTL_NAMES = Object.keys(SYSCTLS);

/**
 * The effective value of every modelled sysctl (defaults overlaid with the scenario's), typed as
 * the model reads it: integers as numbers, a CPU bitmap as its CPU list, tcp_rmem as a triple.
 */
export interface SysctlValues {
  'net.core.netdev_budget': number;
  'net.core.netdev_budget_usecs': number;
  'net.core.netdev_max_backlog': number;
  'net.core.dev_weight': number;
  'net.core.dev_weight_rx_bias': number;
  'net.core.gro_normal_batch': number;
  'net.core.rps_sock_flow_entries': number;
  /** The CPUs of the bitmap. */
  'net.core.flow_limit_cpu_bitmap': number[];
  'net.core.flow_limit_table_len': number;
  'net.core.rmem_default': number;
  'net.core.rmem_max': number;
  /** min, default, max */
  'net.ipv4.tcp_rmem': [number, number, number];
}

/** The typed values of a scenario's sysctls: each text form (as written to /proc/sys) checked and parsed. */
export function sysctlValues(hz: number, given: Record<string, number | string | undefined>, where: (name: string) => (fn: () => number | string) => number | string): SysctlValues {
  const text: Record<string, number | string> = {};
  for (const [name, spec] of Object.entries(SYSCTLS)) {
    const value = given[name];
    text[name] = value !== undefined ? where(name)(() => checkSysctl(name, value)) : typeof spec.default === 'function' ? spec.default({ hz }) : spec.default;
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SYSCTLS)) {
    const v = text[name]!;
    out[name] = spec.kind === 'int' ? Number(v) : spec.kind === 'cpumask' ? parseCpuMask(String(v)) : String(v).split(' ').map(Number);
  }
  return out as unknown as SysctlValues;
}

/**
 * Check a value the way the kernel's handler would (proc_dointvec_minmax and friends) and return
 * it normalised (numbers for int sysctls). Throws ValueError with the accepted form.
 */
export function checkSysctl(name: string, value: unknown): number | string {
  const spec = SYSCTLS[name]!;
  const text = String(value).trim();
  if (spec.kind === 'int') {
    if (!/^-?\d+$/.test(text)) throw new ValueError(`expected an integer, got ${JSON.stringify(value)}`);
    const n = Number(text);
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
      throw new ValueError(`${n} is outside ${spec.min}..${spec.max} (the kernel rejects it with EINVAL)`);
    }
    return n;
  }
  if (spec.kind === 'cpumask') {
    parseCpuMask(text);
    return text;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) {
    throw new ValueError(`expected three integers "min default max", got ${JSON.stringify(value)}`);
  }
  return parts.join(' ');
}
