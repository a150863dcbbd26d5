import { z } from 'zod';
import { ValueError } from '../errors.ts';
import * as limits from '../limits.ts';
import { INT_MAX } from '../limits.ts';
import { parseCpuMask } from '../units.ts';
import { defineKnob, type Knob, type SystemContext, type ValueType } from './types.ts';

/**
 * The sysctls rxsim models, under their own names, with the kernel's defaults (net/core/hotdata.c,
 * net/core/sysctl_net_core.c) and the limits their proc handlers enforce (proc_dointvec_minmax and
 * friends: a value outside extra1..extra2 is EINVAL). Adding one is adding an entry here: the
 * schema, `sysctl -w`, `echo > /proc/sys/…`, the typed `SysctlValues` the model reads, the tuning
 * panel and the README's table follow.
 */

interface Common {
  unit?: string;
  description: string;
  source: string;
}
interface IntSpec extends Common {
  kind: 'int';
  default: number | ((ctx: SystemContext) => number);
  defaultText?: string;
  min: number;
  max: number;
}
interface MaskSpec extends Common {
  kind: 'cpumask';
  default: string;
}
interface TripleSpec extends Common {
  kind: 'triple';
  default: string;
}
type SysctlSpec = IntSpec | MaskSpec | TripleSpec;

/** What the model reads for each kind: a number, the CPUs of a bitmap, or min/default/max. */
type Typed<S extends SysctlSpec> = S extends IntSpec ? number : S extends MaskSpec ? number[] : [number, number, number];

/** A value as written to /proc/sys; JSON may give a number or the text. */
export type SysctlText = number | string;

/** The syntax of each kind as the proc handler parses it. */
const TYPES: Record<SysctlSpec['kind'], ValueType<SysctlText>> = {
  int: {
    name: 'int',
    zod: () => z.union([z.number(), z.string()]),
    parse: (text) => {
      const t = String(text).trim();
      if (!/^-?\d+$/.test(t)) throw new ValueError(`expected an integer, got ${JSON.stringify(text)}`);
      return Number(t);
    },
  },
  cpumask: { name: 'hex cpumask', zod: () => z.union([z.number(), z.string()]), parse: (text) => String(text).trim() },
  triple: {
    name: 'triple',
    zod: () => z.union([z.number(), z.string()]),
    parse: (text) => {
      const parts = String(text).trim().split(/\s+/);
      if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) throw new ValueError(`expected three integers "min default max", got ${JSON.stringify(text)}`);
      return parts.join(' ');
    },
  },
};

/** The check of one sysctl: its syntax (as text, whatever JSON gave), then the handler's range. */
function checker(spec: SysctlSpec): (value: SysctlText, ctx: SystemContext) => number | number[] | [number, number, number] {
  if (spec.kind === 'int') {
    return (value) => {
      const n = TYPES.int.parse(String(value)) as number;
      if (n < spec.min || n > spec.max) throw new ValueError(`${n} is outside ${spec.min}..${spec.max} (the kernel rejects it with EINVAL)`);
      return n;
    };
  }
  // bitmap_parse rejects bits beyond nr_cpumask_bits (flow_limit_cpu_sysctl: cpumask_parse).
  if (spec.kind === 'cpumask') return (value, ctx) => limits.existingCpus(parseCpuMask(String(value)), ctx.cpus, 'the bitmap');
  return (value) =>
    String(TYPES.triple.parse(String(value)))
      .split(' ')
      .map(Number);
}

function sysctl<S extends SysctlSpec>(name: string, spec: S): Knob<SysctlText, Typed<S>, SystemContext> {
  return defineKnob<SysctlText, Typed<S>, SystemContext>({
    name,
    kind: 'sysctl',
    path: `sysctl["${name}"]`,
    where: `/proc/sys/${name.replaceAll('.', '/')}`,
    command: `sysctl -w ${name}={value}`,
    type: TYPES[spec.kind],
    ...(spec.unit ? { unit: spec.unit } : {}),
    default: spec.default,
    ...('defaultText' in spec && spec.defaultText ? { defaultText: spec.defaultText } : {}),
    range: spec.kind === 'int' ? `${spec.min}..${spec.max === INT_MAX ? 'INT_MAX' : spec.max}` : spec.kind === 'cpumask' ? 'existing CPUs' : 'three integers',
    check: checker(spec) as (value: SysctlText, ctx: SystemContext) => Typed<S>,
    description: spec.description,
    source: spec.source,
  });
}

/** Build the table keyed by name, keeping each entry's kind (so `SysctlValues` is typed per name). */
function sysctls<S extends Record<string, SysctlSpec>>(specs: S): { [K in keyof S]: Knob<SysctlText, Typed<S[K]>, SystemContext> } {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, sysctl(name, spec)])) as unknown as { [K in keyof S]: Knob<SysctlText, Typed<S[K]>, SystemContext> };
}

export const SYSCTL = sysctls({
  'net.core.netdev_budget': {
    kind: 'int',
    default: 300,
    min: 0,
    max: INT_MAX,
    unit: 'packets',
    description: 'Packets per net_rx_action run, shared by all NAPIs on the CPU (net_hotdata.netdev_budget).',
    source: 'net/core/dev.c: net_rx_action',
  },
  'net.core.netdev_budget_usecs': {
    kind: 'int',
    default: ({ hz }) => Math.floor((2 * 1_000_000) / hz),
    defaultText: '2000000/HZ (2000 at HZ 1000)',
    min: 0,
    max: INT_MAX,
    unit: 'µs',
    description: 'Time limit of one net_rx_action run in µs; default 2*USEC_PER_SEC/HZ (2 jiffies).',
    source: 'net/core/dev.c: net_rx_action',
  },
  'net.core.netdev_max_backlog': {
    kind: 'int',
    default: 1000,
    min: 0,
    max: INT_MAX,
    unit: 'packets',
    description: 'Packets a CPU backlog (input_pkt_queue) may hold before enqueue_to_backlog drops.',
    source: 'net/core/dev.c: enqueue_to_backlog',
  },
  'net.core.skb_defer_max': {
    kind: 'int',
    default: 64,
    min: 0,
    max: INT_MAX,
    unit: 'skbs',
    description:
      'skbs another CPU may queue to an allocating CPU for it to free (skb_attempt_defer_free); past it the reader frees them itself, at half of it an IPI asks that CPU to drain. 0: no deferral.',
    source: 'net/core/skbuff.c: skb_attempt_defer_free',
  },
  'net.core.dev_weight': {
    kind: 'int',
    default: 64,
    min: 1,
    max: INT_MAX,
    unit: 'packets',
    description: 'weight_p: the backlog NAPI quota (process_backlog), not driver NAPIs.',
    source: 'net/core/dev.c: process_backlog',
  },
  'net.core.dev_weight_rx_bias': {
    kind: 'int',
    default: 1,
    min: 1,
    max: INT_MAX,
    description: 'dev_rx_weight = dev_weight * dev_weight_rx_bias.',
    source: 'net/core/sysctl_net_core.c: proc_do_dev_weight',
  },
  'net.core.busy_read': {
    kind: 'int',
    default: 0,
    min: 0,
    max: INT_MAX,
    unit: 'µs',
    description: 'Busy-poll time of a blocking read on a socket with a NAPI id (the default of SO_BUSY_POLL: sk_ll_usec = sysctl_net_busy_read).',
    source: 'net/core/sock.c: sock_init_data',
  },
  'net.core.busy_poll': {
    kind: 'int',
    default: 0,
    min: 0,
    max: INT_MAX,
    unit: 'µs',
    description: 'Busy-poll time of select/poll (do_select) over sockets that have SO_BUSY_POLL (a reader of several sockets); 0: off.',
    source: 'include/net/busy_poll.h: net_busy_loop_on',
  },
  'net.core.gro_normal_batch': {
    kind: 'int',
    default: 8,
    min: 1,
    max: INT_MAX,
    unit: 'segments',
    description: 'Segments GRO collects on gro->rx_list before delivering them as a list.',
    source: 'include/net/gro.h: gro_normal_one',
  },
  'net.core.rps_sock_flow_entries': {
    kind: 'int',
    default: 0,
    min: 0,
    max: INT_MAX,
    unit: 'entries',
    description: 'RFS global socket flow table size (rounded up to a power of two; 0 = RFS off).',
    source: 'net/core/dev.c: get_rps_cpu',
  },
  'net.core.flow_limit_cpu_bitmap': {
    kind: 'cpumask',
    default: '0',
    description: 'CPUs whose backlog enqueue applies the per-flow limit (hex bitmap; 0 = off).',
    source: 'net/core/dev.c: skb_flow_limit',
  },
  'net.core.flow_limit_table_len': {
    kind: 'int',
    default: 4096,
    min: 1,
    max: INT_MAX,
    unit: 'buckets',
    description: 'Buckets of each flow-limit table (power of two; applies to tables allocated later).',
    source: 'net/core/sysctl_net_core.c: flow_limit_cpu_sysctl',
  },
  'net.core.rmem_default': {
    kind: 'int',
    default: 212992,
    min: 256,
    max: INT_MAX,
    unit: 'bytes',
    description: 'Initial sk_rcvbuf of UDP and raw sockets (SK_RMEM_DEFAULT on x86_64).',
    source: 'net/core/sock.c: sock_init_data',
  },
  'net.core.rmem_max': {
    kind: 'int',
    default: 4194304,
    min: 256,
    max: INT_MAX,
    unit: 'bytes',
    description: 'Largest SO_RCVBUF a user may set (4 MB since ≈6.18; 212992 before).',
    source: 'net/core/sock.c: sk_setsockopt',
  },
  'net.ipv4.ip_forward': {
    kind: 'int',
    default: 0,
    min: -(2 ** 31),
    max: INT_MAX,
    unit: 'boolean (nonzero: on)',
    description:
      "Forward IPv4 packets not addressed to this host (devinet_sysctl_forward → inet_forward_change sets every device's forwarding); 0 drops them in ip_error (Ip InAddrErrors, SKB_DROP_REASON_IP_INADDRERRORS).",
    source: 'net/ipv4/route.c: ip_route_input_slow',
  },
  'net.ipv4.icmp_msgs_per_sec': {
    kind: 'int',
    default: 1000,
    min: 0,
    max: INT_MAX,
    unit: 'messages/s',
    description: 'Host-wide token bucket of rate-limited ICMP errors (types in icmp_ratemask): refill rate. 6.18 default; later kernels raise it to 10000.',
    source: 'net/ipv4/icmp.c: icmp_global_allow',
  },
  'net.ipv4.icmp_msgs_burst': {
    kind: 'int',
    default: 50,
    min: 0,
    max: INT_MAX,
    unit: 'messages',
    description: 'Host-wide token bucket of rate-limited ICMP errors: its depth. 6.18 default; later kernels raise it to 10000.',
    source: 'net/ipv4/icmp.c: icmp_global_allow',
  },
  'net.ipv4.icmp_ratelimit': {
    kind: 'int',
    default: 1000,
    min: 0,
    max: INT_MAX,
    unit: 'ms',
    description: 'Per-destination spacing of rate-limited ICMP errors (the inet_peer bucket of inet_peer_xrlim_allow, burst of 6); 0 disables the per-host limit. Stored in jiffies, rounded up.',
    source: 'net/ipv4/icmp.c: icmpv4_xrlim_allow',
  },
  'net.ipv4.icmp_ratemask': {
    kind: 'int',
    default: 6168,
    min: -(2 ** 31),
    max: INT_MAX,
    unit: 'bitmask of ICMP types',
    description: 'ICMP types the two limits apply to: bit 3 (destination unreachable), 4, 11 and 12 by default (6168).',
    source: 'net/ipv4/icmp.c: icmpv4_mask_allow',
  },
  'net.ipv4.tcp_backlog_ack_defer': {
    kind: 'int',
    default: 1,
    min: 0,
    max: 1,
    unit: '0/1',
    description: 'While the reader holds the socket, send the ACK its backlog wants once, at release_sock (tcp_release_cb), instead of per skb. Since 6.7.',
    source: 'net/ipv4/tcp_input.c: __tcp_ack_snd_check',
  },
  'net.ipv4.tcp_comp_sack_nr': {
    kind: 'int',
    default: 44,
    min: 0,
    max: 255,
    unit: 'ACKs',
    description: 'SACKs that may be compressed into one while out-of-order data is queued (after the first TCP_FASTRETRANS_THRESH dupacks of each rcv_nxt); 0 sends every one.',
    source: 'net/ipv4/tcp_input.c: __tcp_ack_snd_check',
  },
  'net.ipv4.tcp_comp_sack_delay_ns': {
    kind: 'int',
    default: 1_000_000,
    min: 0,
    max: INT_MAX,
    unit: 'ns',
    description: 'Longest a compressed SACK waits (the timer is 5 % of the RTT, at most this).',
    source: 'net/ipv4/tcp_input.c: __tcp_ack_snd_check',
  },
  'net.ipv4.tcp_shrink_window': {
    kind: 'int',
    default: 0,
    min: 0,
    max: 1,
    unit: '0/1',
    description: 'Let the advertised window shrink when the receive buffer fills (0, the default: the right edge never moves left). Since 6.5.',
    source: 'net/ipv4/tcp_output.c: tcp_select_window',
  },
  'net.ipv4.tcp_rmem': {
    kind: 'triple',
    default: '4096 131072 33554432',
    unit: 'bytes',
    description: 'TCP receive buffer min, initial and autotuning max (32 MB max since ≈6.16).',
    source: 'net/ipv4/tcp_input.c: tcp_rcv_space_adjust',
  },
});

export const SYSCTL_KNOBS = Object.values(SYSCTL) as Knob<SysctlText, unknown, SystemContext>[];
