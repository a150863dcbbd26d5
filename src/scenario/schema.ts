import { LIMIT_KINDS } from '../metrics/limit-kinds.ts';
import { z } from 'zod';
import { DRIVER_NAMES } from '../model/nic/drivers.ts';
import * as app from './knobs/app.ts';
import * as cgroupKnobs from './knobs/cgroup.ts';
import * as device from './knobs/device.ts';
import * as ethtool from './knobs/ethtool.ts';
import * as irq from './knobs/irq.ts';
import * as kernel from './knobs/kernel-config.ts';
import * as queue from './knobs/queue.ts';
import { SYSCTL_KNOBS } from './knobs/sysctl.ts';
import { field, fields, fieldWithDefault, requiredField } from './knobs/zod.ts';

/**
 * The scenario file format. Names are Linux's own: sysctl names, ethtool names (`rx-usecs`,
 * `combined`, `rx`, `gro`), sysfs names (`rps_cpus`, `napi_defer_hard_irqs`), cgroup v2 files.
 * Values keep the kernel's forms (CPU lists, hex bitmaps, tc-style rates). Every knob's field —
 * its type, description and default — comes from the knob registry (knobs/); driver-dependent
 * defaults are filled in by `resolve`.
 *
 * Shapes are checked here; knob values are checked by the registry's checks in `resolve` (they
 * depend on the driver and the CPU count), the same checks `apply` runs. `rxsim schema` prints
 * this as JSON Schema.
 */

const onOff = z.enum(['on', 'off']);
const hexMask = z.string().describe('hex CPU bitmap as written to sysfs, e.g. "f" or "ff,ffffffff"');
const nonNegInt = z.number().int().min(0);
const endpoint = z.string().describe('address and port, "10.0.0.1:5201" or "[2001:db8::1]:5201"');

const coalesce = z
  .strictObject({
    'rx-usecs': field('rx-usecs', ethtool.rxUsecs),
    'rx-frames': field('rx-frames', ethtool.rxFrames),
    'tx-frames-irq': field('tx-frames-irq', ethtool.txFramesIrq),
    'adaptive-rx': field('adaptive-rx', ethtool.adaptiveRx),
  })
  .describe('Interrupt moderation, as `ethtool -C`.');

const rxQueue = z.strictObject({
  rps_cpus: field('rps_cpus', queue.rpsCpus),
  rps_flow_cnt: field('rps_flow_cnt', queue.rpsFlowCnt),
  irq_suspend_timeout: field('irq_suspend_timeout', queue.irqSuspendTimeout),
  threaded: field('threaded', queue.threaded),
});

const pause = z
  .strictObject({
    autoneg: field('autoneg', ethtool.pauseAutoneg),
    rx: field('rx', ethtool.pauseRx),
    tx: field('tx', ethtool.pauseTx),
  })
  .describe('802.3x link flow control, as `ethtool -A`.');

const linkPartner = z
  .strictObject({
    pause: z
      .enum(['honour', 'ignore'])
      .default('ignore')
      .describe(
        'Whether the sending switch port stops on our PAUSE frames ("flowcontrol receive on") and advertises pause in autonegotiation. Default "ignore": data-centre switch ports ship with flowcontrol receive off.',
      ),
    buffer_bytes: z
      .number()
      .int()
      .min(0)
      .default(512 * 1024)
      .describe(
        "The switch port's egress buffer in front of the link: frames that find this much queued ahead of them are dropped there. Default 512 KiB (an assumption: a shallow-buffer switch's share per port).",
      ),
  })
  .default({ pause: 'ignore', buffer_bytes: 512 * 1024 })
  .describe('The device at the other end of the link, which sends every flow.');

const xdpAction = z.enum(['drop', 'pass', 'tx', 'aborted']).describe('XDP_DROP, XDP_PASS, XDP_TX or XDP_ABORTED.');
const xdpRuleAction = z.enum(['drop', 'pass', 'tx', 'aborted', 'redirect']).describe("XDP_DROP, XDP_PASS, XDP_TX, XDP_ABORTED, or XDP_REDIRECT (bpf_redirect_map into the rule's map, at its key).");
const xdpRedirectKey = z
  .union([nonNegInt, z.enum(['rx_queue', 'hash'])])
  .describe(
    'bpf_redirect_map\'s key: a number (for a cpumap, the CPU), "rx_queue" (ctx->rx_queue_index, as xdpsock keys its xskmap) or "hash" (the frame\'s flow hash modulo the number of entries, picking an entry in their order, as xdp_redirect_cpu\'s load-balancing programs spread over their cpus_available list).',
  );
const portMatch = z.union([z.number().int().min(0).max(65535), z.string().regex(/^\d+-\d+$/, 'a port range like "1000-1063"')]).describe('A port, or a range "lo-hi".');
const prefixMatch = z.string().describe('An address or prefix: "10.0.0.2", "10.0.0.0/24", "2001:db8::/64".');
const xdpRule = z.strictObject({
  match: z
    .strictObject({
      proto: z.enum(['tcp', 'udp']).optional(),
      src: prefixMatch.optional(),
      dst: prefixMatch.optional(),
      src_port: portMatch.optional(),
      dst_port: portMatch.optional(),
      queue: nonNegInt.optional().describe('The RX queue (xdp_md->rx_queue_index).'),
    })
    .default({})
    .describe('What the rule matches; every field given must match; none given matches every frame.'),
  action: xdpRuleAction,
  map: z.string().optional().describe('With action "redirect": the name of a map in xdp_maps.'),
  key: xdpRedirectKey.optional(),
  fallback: z
    .enum(['aborted', 'drop', 'pass', 'tx'])
    .optional()
    .describe(
      'With action "redirect": the action when the key has no entry (bpf_redirect_map\'s flags, whose low bits are returned on a failed lookup: `bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS)`). Default "aborted" (flags 0).',
    ),
  cost_ns: z.number().min(0).default(0).describe('Extra CPU time of evaluating this rule (a map lookup, more parsing), ns; charged for every frame that reaches the rule.'),
});
const cpumapEntry = z.strictObject({
  cpu: nonNegInt.describe('The CPU of the entry: the map key (cpu_map_update_elem: key_cpu), where its kthread cpumap/<cpu>/map:<id> runs.'),
  qsize: z
    .number()
    .int()
    .min(1)
    .max(16384)
    .default(2048)
    .describe("The entry's ptr_ring size, frames (bpf_cpumap_val.qsize; the kernel refuses above 16384 with EOVERFLOW; xdp_redirect_cpu defaults to 2048)."),
});
const xdpMap = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('cpumap'),
      entries: z.array(cpumapEntry).min(1).describe('The CPUs present in the map (BPF_MAP_TYPE_CPUMAP: key = CPU), in order ("hash" keys pick among them in this order).'),
    }),
    z.strictObject({
      type: z.literal('devmap'),
      entries: z
        .array(z.strictObject({ dev: z.string().describe("The device a redirect to this entry transmits on (the entry's ifindex), a name in nics.") }))
        .min(1)
        .describe("The devices of the map (BPF_MAP_TYPE_DEVMAP: key = the entry's index), in order."),
    }),
    z.strictObject({
      type: z.literal('xskmap'),
      max_entries: z
        .number()
        .int()
        .min(1)
        .default(64)
        .describe(
          'BPF_MAP_TYPE_XSKMAP max_entries: the keys an AF_XDP socket can be stored under (xdpsock keys it by RX queue). The af-xdp-reader apps that name this map insert their socket at their queue (xsk_socket__update_xskmap).',
        ),
    }),
  ])
  .describe('A BPF map an XDP program redirects into (bpf_redirect_map): a cpumap (kernel/bpf/cpumap.c), a devmap (kernel/bpf/devmap.c) or an xskmap of AF_XDP sockets (kernel/bpf/xskmap.c).');
const xdpProgram = z.strictObject({
  program: z.array(xdpRule).default([]).describe('Ordered rules: the first that matches gives the action.'),
  default: xdpAction.default('pass').describe('The action when no rule matches.'),
});
const xdpAttach = z
  .strictObject({
    mode: z.enum(['native', 'generic']).default('native').describe('native (ip link … xdpdrv): in the driver before the skb; generic (xdpgeneric): at __netif_receive_skb_core on the skb.'),
    prog: z.string().optional().describe('The name of a program in xdp_programs (instead of program/default here).'),
    program: z.array(xdpRule).optional().describe('Ordered rules: the first that matches gives the action.'),
    default: xdpAction.optional().describe('The action when no rule matches (default pass).'),
  })
  .describe('An XDP program attached to the device, as `ip link set dev <dev> xdpdrv|xdpgeneric`: a rule list over the parsed headers.');

const features = z.strictObject({
  gro: fieldWithDefault('gro', ethtool.gro),
  rxhash: fieldWithDefault('rxhash', ethtool.rxhash),
  ntuple: fieldWithDefault('ntuple', ethtool.ntuple),
});

export const nicSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z][\w.-]{0,14}$/, 'an interface name like "eth0" (at most 15 characters)')
    .default('eth0'),
  driver: z
    .enum(DRIVER_NAMES as [string, ...string[]])
    .default('ixgbe')
    .describe('Driver profile: defaults and limits of ixgbe (82599), ice (E810) or a generic NAPI driver.'),
  speed_gbps: fieldWithDefault('speed_gbps', ethtool.speed),
  mtu: fieldWithDefault('mtu', device.mtu),
  channels: z.strictObject({ combined: field('combined', ethtool.combined) }).default({}),
  ring: z.strictObject({ rx: field('rx', ethtool.ringRx) }).default({}),
  coalesce: coalesce.default({}),
  features: features.default(features.parse({})),
  pause: pause.default({}),
  link_partner: linkPartner,
  rss: z
    .strictObject({
      hkey: field('hkey', ethtool.hkey),
      indir: field('indir', ethtool.indir),
      'rx-flow-hash': z
        .strictObject({ udp4: field('udp4', ethtool.flowHashUdp4), udp6: field('udp6', ethtool.flowHashUdp6) })
        .optional()
        .describe('ethtool -N rx-flow-hash: hash UDP on addresses only (sd) or also ports (sdfn).'),
    })
    .default({}),
  irq_affinity: z.record(z.string().regex(/^\d+$/, 'a queue index like "0"'), requiredField(irq.smpAffinityList)).default({}).describe('smp_affinity_list per queue vector, keyed by queue index.'),
  queues: z
    .record(z.string().regex(/^rx-\d+$/, 'a queue name like "rx-0"'), rxQueue)
    .default({})
    .describe('Per-RX-queue sysfs settings, keyed "rx-<n>".'),
  napi_defer_hard_irqs: fieldWithDefault('napi_defer_hard_irqs', device.napiDeferHardIrqs),
  gro_flush_timeout: fieldWithDefault('gro_flush_timeout', device.groFlushTimeout),
  threaded: fieldWithDefault('threaded', device.threaded),
  numa_node: nonNegInt
    .default(0)
    .describe(
      "The device's NUMA node, that of the socket its PCIe root port hangs off (/sys/class/net/<dev>/device/numa_node, from ACPI _PXM; -1 there on a machine without NUMA information: node 0 here): DDIO puts its DMA writes in that node's L3. Hardware, not a knob: numa_node_store (drivers/pci/pci-sysfs.c) overrides what the kernel believes, not where the device is wired.",
    ),
  rx_mode: z
    .enum(['napi', 'netif_rx'])
    .default('napi')
    .describe('"napi" (every modern driver) or "netif_rx": a pre-NAPI driver that cleans the ring in its hard IRQ handler and calls netif_rx per frame, to show receive livelock.'),
  xdp: xdpAttach.optional(),
  dma_latency_ns: nonNegInt.optional().describe("Time from a frame's last bit on the wire to its descriptor write-back (DMA of data then descriptor). Default 600 ns."),
});

const kernelSchema = z.strictObject({
  hz: fieldWithDefault('hz', kernel.hz),
  softirq_mode: fieldWithDefault('softirq_mode', kernel.softirqMode),
  sched: fieldWithDefault('sched', kernel.sched),
  idle_exit_us: fieldWithDefault('idle_exit_us', kernel.idleExitUs),
  irq_time_accounting: fieldWithDefault('irq_time_accounting', kernel.irqTimeAccounting),
  sched_migration_cost_ns: fieldWithDefault('sched_migration_cost_ns', kernel.schedMigrationCostNs),
  version: fieldWithDefault('version', kernel.version),
});

const machine = z
  .strictObject({
    numa_nodes: z.array(z.string()).min(1).optional().describe('CPUs of each NUMA node as /sys/devices/system/node/node<N>/cpulist shows them, e.g. ["0-3", "4-7"]. Default: one node with every CPU.'),
    l3_kb: z.number().int().min(1).optional().describe("L3 (last-level cache) of one node in KiB, as lscpu shows it per socket. Default: the cost profile's machine."),
    l3_ways: z.number().int().min(1).max(64).optional().describe("The L3's associativity (ways). Default: the cost profile's machine."),
    ddio_ways: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe("L3 ways DDIO may allocate DMA writes in (the IIO LLC WAYS register, MSR 0xC8B; Intel's default 2). 0: DDIO off, every DMA goes to DRAM. Default: the cost profile's machine."),
  })
  .describe("The hardware under the kernel: NUMA nodes and each node's last-level cache, for where DMA leaves the payload (DDIO).");

const cgroup = z.strictObject({
  'cpuset.cpus': field('cpuset.cpus', cgroupKnobs.cpusetCpus),
  'cpu.max': field('cpu.max', cgroupKnobs.cpuMax),
  'cpu.weight': field('cpu.weight', cgroupKnobs.cpuWeight),
});

export const APP_KINDS = ['stream-reader', 'udp-sink', 'rr-server', 'cpu-hog', 'stream-writer', 'af-xdp-reader'] as const;

const appSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(APP_KINDS),
  cpus: field('cpus', app.cpus),
  cgroup: z.string().optional(),
  listen: endpoint.optional().describe('The socket it reads from.'),
  nice: fieldWithDefault('nice', app.nice),
  recv_size: field('recv_size', app.recvSize),
  batch: field('batch', app.batch),
  rate: field('rate', app.rate),
  busy_poll: field('busy_poll', app.busyPoll),
  prefer_busy_poll: field('prefer_busy_poll', app.preferBusyPoll),
  busy_poll_budget: field('busy_poll_budget', app.busyPollBudget),
  epoll: field('epoll', app.epoll),
  epoll_busy_poll_usecs: field('epoll_busy_poll_usecs', app.epollBusyPollUsecs),
  epoll_busy_poll_budget: field('epoll_busy_poll_budget', app.epollBusyPollBudget),
  epoll_prefer_busy_poll: field('epoll_prefer_busy_poll', app.epollPreferBusyPoll),
  xsk_mode: field('xsk_mode', app.xskMode),
  need_wakeup: field('need_wakeup', app.needWakeup),
  umem_frames: field('umem_frames', app.umemFrames),
  frame_size: field('frame_size', app.frameSize),
  fill_ring: field('fill_ring', app.fillRing),
  rx_ring: field('rx_ring', app.rxRing),
  xsk_poll: field('xsk_poll', app.xskPoll),
  user_ns_per_kb: z.number().min(0).optional().describe('User-space work per KiB received (the application processing its data), ns. Default 0.'),
  service_us: z.number().min(0).optional().describe('rr-server: user-space time to serve one request (default 0).'),
  xsk: z
    .strictObject({
      dev: z.string().optional().describe('The device (sockaddr_xdp.sxdp_ifindex), a name in nics. Default: the first.'),
      queue: nonNegInt.default(0).describe('The RX queue (sxdp_queue_id).'),
      map: z.string().describe('The xskmap in xdp_maps the socket is inserted into, at key = queue (xsk_socket__update_xskmap).'),
    })
    .optional()
    .describe('af-xdp-reader: where its AF_XDP socket is bound (bind(2) with struct sockaddr_xdp) and the xskmap it joins.'),
  work_ns: z.number().min(0).optional().describe('af-xdp-reader: user-space work per frame, ns (0: xdpsock --rxdrop, which only returns the frame to the fill ring).'),
});

const sizeMixEntry = z.strictObject({ size: z.number().int(), weight: z.number().positive() });

const flow = z.strictObject({
  name: z.string().min(1),
  proto: z.enum(['tcp', 'udp']),
  src: endpoint,
  dst: endpoint,
  nic: z.string().optional().describe('Receiving NIC (default: the first).'),
  rate: z.string().default('line').describe('"line" (the NIC\'s line rate), a bit rate like "5gbit" / "800mbit", or a packet rate like "1mpps" / "2000pps"'),
  size: z
    .union([z.number().int(), z.literal('mtu'), z.literal('imix'), z.array(sizeMixEntry).min(1)])
    .default('mtu')
    .describe('Ethernet frame size in bytes including FCS (64..MTU+18), "mtu" for MTU-sized frames, "imix" (64/594/1518 in 7:4:1), or a weighted mix.'),
  arrival: z.enum(['cbr', 'poisson', 'onoff']).default('cbr'),
  burst: z.number().int().min(1).optional().describe('onoff: frames per burst, sent back to back at `rate`'),
  gap_us: z.number().min(0).optional().describe('onoff: silence between bursts in µs'),
  start_ms: z.number().min(0).default(0),
  stop_ms: z.number().min(0).optional().describe('Default: the end of the run.'),
  rtt_us: z.number().min(0).optional().describe('TCP: round-trip time to the sender (default 20).'),
  write_size: z.number().int().min(1).optional().describe('TCP: bytes per application write at the sender; its last segment carries PSH (default 131072, iperf3).'),
  path: z
    .enum(['host', 'veth-bridge', 'vxlan-overlay', 'veth-local', 'forward'])
    .default('host')
    .describe(
      '"host": to a socket of the host. "veth-bridge": routed to a container through a bridge and a veth pair (a second pass through the stack). "vxlan-overlay": VXLAN decapsulation, then the bridge and veth (three passes). "veth-local": from a stream-writer in another namespace of this host over a veth pair (no NIC): the sender\'s CPU does the receive processing. "forward": dst is not an address of this host: ip_forward sends it out of the device of its route in `routes` when net.ipv4.ip_forward is 1 (UDP).',
    ),
  ttl: z.number().int().min(1).max(255).optional().describe('IPv4 TTL of the frames as they arrive (default 64); a forwarded frame with TTL 1 expires (ICMP time exceeded).'),
  sender: z.string().optional().describe('veth-local: the stream-writer app (iperf3 -c) that sends this flow.'),
  rr: z
    .strictObject({
      concurrency: z.number().int().min(1).max(1024).default(1).describe('Transactions in flight (netperf UDP_RR has 1).'),
      response_size: z.number().int().min(1).max(65507).optional().describe("Response payload bytes (default: the request's)."),
    })
    .optional()
    .describe('Request/response (closed loop): each request is sent when the answer to an earlier one has come back, rtt_us after the server sent it. Needs an rr-server listening on dst. UDP only.'),
});

const netns = z
  .strictObject({
    conntrack: z.boolean().default(false).describe('nf_conntrack hooks registered (Docker, NAT or stateful rules need them)'),
    nat: z.boolean().default(false).describe('NAT rules (DNAT for a published port, masquerade)'),
    rules: z
      .strictObject({
        PREROUTING: nonNegInt.optional(),
        INPUT: nonNegInt.optional(),
        FORWARD: nonNegInt.optional(),
        POSTROUTING: nonNegInt.optional(),
      })
      .default({})
      .describe('iptables rules a packet evaluates per chain (non-matching, before its verdict)'),
  })
  .default({ conntrack: false, nat: false, rules: {} });

const explainClaim = z.strictObject({
  flow: z.string().min(1).describe('The flow, by name.'),
  limit: z.enum(LIMIT_KINDS).describe('What limits it (rxsim explain: wire, offered-load, cpu, queue, receive-window, latency, no-listener, not-forwarded, xdp-program, idle).'),
  resource: z.string().min(1).optional().describe('The limiting resource as explain names it, e.g. "cpu 4", "cpus 0,1,2,3", "backlog".'),
  mechanisms: z.array(z.string().min(1)).default([]).describe('Mechanisms explain must find at work, e.g. "ksoftirqd", "softirq-and-reader-share-cpu", "rwnd-limited".'),
  why: z.string().optional().describe('What the claim shows (printed by rxsim check).'),
});

/** One claim about a result: a metric path and exactly one comparison (scenarios' `expect`, lessons' steps). */
export const expectationSchema = z
  .strictObject({
    metric: z
      .string()
      .min(1)
      .describe(
        'Dotted path into the result, e.g. "throughput.delivered_gbps" or "cpus[2].soft"; a list entry by index or by name: "flows[iperf3].goodput_gbps", "tasks[ksoftirqd/4].soft_ms", "nics[eth0].queues[rx-4].drops"',
      ),
    '>=': z.number().optional(),
    '<=': z.number().optional(),
    '>': z.number().optional(),
    '<': z.number().optional(),
    '==': z.number().optional(),
    within: z.tuple([z.number(), z.number()]).optional().describe('[lo, hi], inclusive'),
    why: z.string().optional().describe('What the expectation shows (printed by rxsim check).'),
  })
  .refine((e) => ['>=', '<=', '>', '<', '==', 'within'].filter((k) => k in e).length === 1, {
    message: 'needs exactly one of ">=", "<=", ">", "<", "==", "within"',
  });

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a slug like "single-flow-10g"'),
    description: z.string().default(''),
    narrative: z.string().optional().describe('A short teaching narrative: what to look at and why it happens.'),
    snapshot: z
      .strictObject({
        source: z.string().describe('What was read: "/" (the running machine), "/ (netns NAME)" or a recorded tree (--root DIR).'),
        hostname: z.string().optional(),
        kernel_release: z.string().optional().describe('uname -r of the machine (/proc/sys/kernel/osrelease).'),
        warnings: z.array(z.string()).default([]).describe('Every value rxsim snapshot could not read, or that rxsim does not model, and what the scenario holds instead.'),
      })
      .optional()
      .describe('Written by rxsim snapshot: where the scenario came from and what it left out. The model does not read it.'),
    seed: z.number().int().min(0).default(1),
    duration_ms: z.number().positive().max(10_000).default(50),
    warmup_ms: z
      .union([z.number().min(0), z.literal('auto')])
      .default(0)
      .describe('Counters and latencies start after this. "auto": a pilot run finds where the transient ends (MSER-5 on the goodput series) and the run starts its window there.'),
    variability: z
      .strictObject({
        cost_cv: z
          .number()
          .min(0)
          .max(2)
          .default(0.3)
          .describe(
            "Coefficient of variation of the CPU cost of one ~100 ns step (cache misses, branch mispredictions). A chunk of L ns (a poll, a copy) varies with CV cost_cv·√(100/L) (independent steps). 0: every cost is the profile's mean.",
          ),
        wire_jitter_ns: z
          .number()
          .min(0)
          .max(100_000)
          .default(100)
          .describe('Each frame leaves the sender up to this much later than scheduled (uniform; the sending host and switch). Frames keep their order and the line rate. 0: exact schedules.'),
        random_phase: z.boolean().default(true).describe("The tick's phase (the boot time) and each TCP sender's start are drawn from the seed. false: every clock starts in phase at 0."),
      })
      .default({ cost_cv: 0.3, wire_jitter_ns: 100, random_phase: true })
      .describe('The run-to-run variation real machines have, drawn from the seed: the same seed gives the same run, another seed another trajectory.'),
    kernel: kernelSchema.default(kernelSchema.parse({})),
    cpus: z.number().int().min(1).max(256).default(4),
    machine: machine.default({}),
    costs: z.string().default('baremetal-10g').describe('Cost profile name (see README, "Costs"), or a costs file written by rxsim calibrate ("./<name>.costs.json", relative to the scenario file).'),
    cost_overrides: z.record(z.string(), z.number().min(0)).default({}).describe('Override individual costs of the profile, in ns.'),
    nics: z.array(nicSchema).min(1),
    xdp_maps: z
      .record(z.string().regex(/^[A-Za-z_][\w.-]*$/, 'a map name like "cpu_map"'), xdpMap)
      .default({})
      .describe('Named BPF maps that XDP rules with action "redirect" name (their ids follow this order, from 1).'),
    xdp_programs: z
      .record(z.string().regex(/^[A-Za-z_][\w.-]*$/, 'a program name like "xdp-drop"'), xdpProgram)
      .default({})
      .describe('Named XDP programs that nics[].xdp.prog and `ip link set dev <dev> xdpdrv|xdpgeneric obj <name>` attach.'),
    sysctl: z.strictObject(fields(SYSCTL_KNOBS)).default({}),
    netfilter: z
      .strictObject({ host: netns, container: netns })
      .default({ host: { conntrack: false, nat: false, rules: {} }, container: { conntrack: false, nat: false, rules: {} } })
      .describe('Netfilter work per network namespace ("container" is the far side of veth paths).'),
    veth: z
      .strictObject({
        gro: onOff.default('off').describe('ethtool -K <veth> gro: off (the default since veth_newlink) uses netif_rx into a backlog; on uses the veth NAPI'),
        rps_cpus: hexMask.default('0').describe('rps_cpus of the container-side veth RX queue'),
      })
      .default({ gro: 'off', rps_cpus: '0' }),
    routes: z
      .array(
        z.strictObject({
          dst: z.string().describe('Destination prefix, "10.1.0.0/16", or "default" (0.0.0.0/0).'),
          dev: z.string().describe('The NIC the route leaves by (ip route add <dst> dev <dev>).'),
        }),
      )
      .default([])
      .describe('The main routing table beyond the connected routes: where "forward" flows leave (fib_lookup, longest prefix).'),
    cgroups: z.record(z.string().regex(/^[\w.-]+(\/[\w.-]+)*$/, 'a cgroup name like "pod-a", or a path like "kubepods/pod-a/web" below /sys/fs/cgroup'), cgroup).default({}),
    apps: z.array(appSchema).default([]),
    flows: z.array(flow).default([]),
    apply: z.array(z.string()).default([]).describe('Commands as run on a real machine: ethtool, sysctl -w, echo > /sys|/proc, taskset.'),
    timeline: z
      .array(
        z.strictObject({
          at_ms: z.number().min(0).describe('When, from the start of the run.'),
          apply: z.array(z.string()).min(1).describe('Commands that take effect at that moment: taskset, echo LIST > /proc/irq/N/smp_affinity_list.'),
        }),
      )
      .default([])
      .describe('Changes while the machine runs (a reader moved to another CPU, an IRQ re-pinned), in time order.'),
    expect: z.array(expectationSchema).default([]),
    explain: z.array(explainClaim).default([]).describe("What `rxsim explain` must find for each named flow, in every seed: the narrative's limiting cause as a claim `rxsim check` verifies."),
  })
  .describe('An rxsim scenario.');

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type NicConfig = z.output<typeof nicSchema>;
export type XdpRuleConfig = z.output<typeof xdpRule>;
export type XdpMapConfig = z.output<typeof xdpMap>;
export type FlowConfig = Scenario['flows'][number];
export type AppConfig = Scenario['apps'][number];
export type Expectation = Scenario['expect'][number];
export type ExplainClaim = Scenario['explain'][number];

/** The JSON Schema editors use (`$schema` in scenario files). */
export function scenarioJsonSchema(): object {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://rxsim.invalid/scenario.schema.json', title: 'rxsim scenario' };
}
