import type { Result } from '../../src/metrics/result.ts';

/**
 * Which stages of the receive path a run used, in path order, and the CPUs each ran on — read
 * from the result alone (no DOM), so the diagram draws only what the scenario's paths take:
 * no NIC for veth-local flows, XDP in the driver when a program is attached, the cpumap's
 * kthreads, a devmap's XDP transmits, busy polling beside the softirq, RPS and the backlog when packets went through them,
 * VXLAN, the bridge and veth for pods.
 */
export type StageId = 'wire' | 'nic' | 'irq' | 'napi' | 'xdp' | 'cpumap' | 'devmap' | 'afxdp' | 'busypoll' | 'gro' | 'rps' | 'vxlan' | 'bridge' | 'veth' | 'backlog' | 'ip' | 'l4' | 'socket' | 'app';

export interface PathStage {
  id: StageId;
  /** CPUs it ran on ([] for hardware). */
  cpus: number[];
}

const uniq = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);

/** softnet_stat column 1 per CPU: skbs through __netif_receive_skb (the CPUs the stack ran on). */
function stackCpus(r: Result): number[] {
  return r.proc.softnet_stat
    .trim()
    .split('\n')
    .map((l, cpu) => ({ cpu, processed: parseInt(l.trim().split(/\s+/)[0] ?? '0', 16) }))
    .filter((c) => c.processed > 0)
    .map((c) => c.cpu);
}

export function pathStages(r: Result): PathStage[] {
  const paths = new Set(r.flows.map((f) => f.path));
  const nicQueues = r.nics.flatMap((n) => n.queues.filter((q) => q.packets > 0 || q.drops > 0));
  const hasNic = r.flows.some((f) => f.path !== 'veth-local') || nicQueues.length > 0;
  const irqCpus = uniq(nicQueues.map((q) => q.irq_cpu));
  const backlogCpus = uniq(r.queues.filter((q) => /^cpu\d+\/backlog$/.test(q.queue) && q.departures_per_sec > 0).map((q) => Number(/^cpu(\d+)/.exec(q.queue)![1])));
  const cpumaps = (r.xdp_maps ?? []).flatMap((m) => (m.type === 'cpumap' ? m.entries.map((e) => e.cpu) : []));
  const readers = new Set(r.sockets.map((s) => s.app).filter((a): a is string => a !== null));
  const appCpus = uniq(r.tasks.filter((t) => readers.has(t.comm)).map((t) => t.cpu));
  const stack = uniq([...stackCpus(r), ...cpumaps]);
  const pod = paths.has('veth-bridge') || paths.has('vxlan-overlay');
  const out: PathStage[] = [];
  const add = (id: StageId, cpus: number[], when = true) => void (when && out.push({ id, cpus }));
  add('wire', [], hasNic);
  add('nic', [], hasNic);
  add('irq', irqCpus, hasNic);
  add('napi', irqCpus, hasNic);
  add(
    'xdp',
    irqCpus,
    r.nics.some((n) => n.xdp !== undefined),
  );
  add('cpumap', uniq(cpumaps), cpumaps.length > 0);
  // A devmap: bq_enqueue and bq_xmit_all run in the poll of the CPU that redirected.
  add(
    'devmap',
    irqCpus,
    (r.xdp_maps ?? []).some((m) => m.type === 'devmap'),
  );
  // AF_XDP: the frames leave in the driver for a socket's RX ring, read by the app pinned to its CPU.
  const xskApps = new Set((r.xsks ?? []).map((x) => x.app));
  add('afxdp', uniq(r.tasks.filter((t) => xskApps.has(t.comm)).map((t) => t.cpu)), xskApps.size > 0);
  add('busypoll', appCpus, (r.nstat.TcpExtBusyPollRxPackets ?? 0) > 0);
  // A driver whose every frame leaves through XDP (drop, AF_XDP) builds no skb: no GRO, no stack.
  add('gro', irqCpus, hasNic && r.gro.received > 0);
  add(
    'rps',
    uniq(r.ipis.filter((i) => i.sent > 0).map((i) => i.cpu)),
    r.ipis.some((i) => i.sent > 0),
  );
  add('vxlan', irqCpus, paths.has('vxlan-overlay'));
  add('bridge', irqCpus, pod);
  add('veth', pod ? irqCpus : appCpus, pod || paths.has('veth-local'));
  add('backlog', backlogCpus, backlogCpus.length > 0 || (r.packets.dropped.backlog ?? 0) > 0);
  add('ip', stack, stack.length > 0);
  add('l4', stack, stack.length > 0);
  add('socket', stack, r.sockets.length > 0);
  add('app', appCpus, r.sockets.length > 0);
  return out;
}
