import * as d3 from 'd3';
import type { Result } from '../../src/metrics/result.ts';
import type { Stage } from '../../src/trace/viz.ts';
import { fmt } from './colors.ts';

const fmtRate = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));

/**
 * The receive path as a diagram: wire → ring → IRQ → NAPI/GRO → RPS/backlog → IP/netfilter →
 * [bridge/veth] → TCP/UDP → socket → app, one lane per RX queue (with its IRQ CPU) where the
 * path splits, live counts at each stage and drops leaving the path where they happen.
 */
interface Box {
  id: Stage | 'wire' | 'ip' | 'veth' | 'l4' | 'socket' | 'app';
  title: string;
  lines: string[];
  drop?: { n: number; why: string };
  lanes?: { label: string; value: string; drop: number }[];
}

function boxes(r: Result): Box[] {
  const d = r.packets.dropped;
  const rx = Object.values(r.ethtool_S).reduce((a, c) => a + (c.rx_packets ?? 0), 0);
  const pod = r.flows.some((f) => f.path === 'veth-bridge' || f.path === 'vxlan-overlay');
  const routed = r.packets.forwarded !== undefined;
  const ipis = r.ipis.reduce((a, c) => a + c.sent, 0);
  const lanes = r.nics.flatMap((n) =>
    n.queues.filter((q) => q.packets > 0 || q.drops > 0).map((q) => ({ label: `${n.name}/rx-${q.queue}`, value: `${fmt(q.packets)} pkts · ring ${q.ring_size} · peak ${q.ring_peak}`, drop: q.drops })),
  );
  const perSec = (n: number) => `${fmtRate(n / (r.sim.window_ns / 1e9))}/s`;
  // softnet_stat per CPU: processed, dropped, received_rps (columns 1, 2, 10).
  const softnet = r.proc.softnet_stat
    .trim()
    .split('\n')
    .map((l) =>
      l
        .trim()
        .split(/\s+/)
        .map((h) => parseInt(h, 16)),
    );
  const backlogLanes = softnet
    .map((c, cpu) => ({ cpu, processed: c[0]!, dropped: c[1]!, rps: c[9]! }))
    .filter((c) => c.processed > 0 || c.dropped > 0)
    .map((c) => ({ label: `CPU ${c.cpu} backlog (processed, IPIs in)`, value: `${fmt(c.processed)} · ${perSec(c.processed)} · ${fmt(c.rps)} IPIs`, drop: c.dropped }));
  const irqLanes = r.nics.flatMap((n) =>
    // A queue with traffic but no interrupt in the window is polled without one (NAPI never
    // completed, the vector stayed masked): its lane says so instead of vanishing.
    n.queues
      .filter((q) => q.interrupts > 0 || q.packets > 0)
      .map((q) => ({ label: `IRQ ${q.irq} → CPU ${q.irq_cpu}`, value: q.interrupts > 0 ? `${fmt(q.interrupts)} irqs · itr ${q.itr_usecs} µs` : 'masked: NAPI kept polling', drop: 0 })),
  );
  const out: Box[] = [
    {
      id: 'wire',
      title: 'wire',
      lines: [`${fmt(r.packets.offered)} frames · ${perSec(r.packets.offered)}`, `${r.throughput.offered_gbps.toFixed(2)} Gbit/s`],
      drop: { n: d.wire ?? 0, why: 'switch buffer' },
    },
    {
      id: 'nic',
      title: 'NIC RX rings (DMA)',
      lines: [`${fmt(rx)} rx_packets`],
      drop: { n: (d.nic_ring ?? 0) + (d.nic_missed ?? 0), why: 'ring full (rx_no_dma_resources / rx_missed_errors)' },
      lanes,
    },
    { id: 'irq', title: 'hardirq (MSI-X)', lines: [`${fmt(r.interrupts.total)} interrupts`, `${fmt(r.interrupts.per_sec)}/s`], lanes: irqLanes },
    {
      id: 'napi',
      title: 'NAPI poll + GRO',
      lines: [`${fmt(r.napi.polls)} polls`, `GRO ${fmt(r.gro.received)} → ${fmt(r.gro.delivered)} skbs`, `time_squeeze ${fmt(r.napi.time_squeeze.reduce((a, b) => a + b, 0))}`],
    },
    {
      id: 'backlog',
      title: 'RPS / backlog → stack',
      lines: [`${fmt(ipis)} RPS IPIs sent`],
      drop: { n: (d.backlog ?? 0) + (d.flow_limit ?? 0), why: 'backlog full / flow limit' },
      lanes: backlogLanes,
    },
    {
      id: 'ip',
      title: routed ? 'IP / netfilter / ip_forward → egress qdisc' : 'IP / netfilter',
      lines: [`${fmt(r.nstat.IpInReceives ?? 0)} IpInReceives`, pod || routed ? `${fmt(r.nstat.IpForwDatagrams ?? 0)} forwarded` : `${fmt(r.stack.processed)} passes`],
      // Forwarded packets leave the path here, out of their route's device (packets.forwarded).
      ...(routed ? { drop: { n: (d.route ?? 0) + (d.ttl ?? 0) + (d.qdisc ?? 0), why: 'ip_error (forwarding off) / TTL expired / egress qdisc full' } } : {}),
    },
  ];
  if (pod) out.push({ id: 'veth', title: 'bridge → veth → pod stack', lines: [`passes/skb ${r.stack.passes_per_skb?.toFixed(2) ?? '–'}`], drop: { n: d.veth ?? 0, why: 'veth ring full' } });
  out.push(
    { id: 'l4', title: 'TCP / UDP', lines: [`${fmt(r.nstat.TcpInSegs ?? 0)} TcpInSegs`, `${fmt(r.nstat.UdpInDatagrams ?? 0)} UdpInDatagrams`], drop: { n: d.tcp_dup ?? 0, why: 'duplicate segments' } },
    {
      id: 'socket',
      title: 'socket receive queue',
      lines: r.sockets.slice(0, 3).map((s) => `${s.app ?? 'socket'}: rcvbuf ${fmt(s.rcvbuf)}`),
      drop: { n: d.socket ?? 0, why: 'rcvbuf full (RcvbufErrors, TCPRcvQDrop)' },
    },
    { id: 'app', title: 'application', lines: [`${fmt(r.packets.delivered)} delivered · ${perSec(r.packets.delivered)}`, `${r.throughput.delivered_gbps.toFixed(2)} Gbit/s`] },
  );
  return out;
}

export function renderPath(container: HTMLElement, r: Result, highlight: Stage | null = null): void {
  const bs = boxes(r);
  // Two rows, left to right: the device half (wire … backlog), then the protocol half.
  const perRow = Math.ceil(bs.length / 2);
  const w = 214;
  const gap = 34;
  const width = perRow * (w + gap) + 10;
  const laneH = 32;
  const maxLanes = Math.min(6, Math.max(0, ...bs.map((b) => b.lanes?.length ?? 0)));
  const boxH = 84 + maxLanes * laneH;
  const rowH = boxH + 86;
  const height = 2 * rowH + 10;
  const pos = (i: number) => ({ x: 10 + (i % perRow) * (w + gap), y: 10 + Math.floor(i / perRow) * rowH });
  const hot = (b: Box) => b.id === highlight || (highlight === 'softirq' && b.id === 'napi') || (highlight === 'rps' && b.id === 'backlog') || (highlight === 'sched' && b.id === 'app');
  container.replaceChildren();
  const svg = d3.select(container).append('svg').attr('viewBox', `0 0 ${width} ${height}`).attr('width', '100%').attr('data-testid', 'path-svg');
  svg
    .append('defs')
    .append('marker')
    .attr('id', 'arrow')
    .attr('viewBox', '0 0 10 10')
    .attr('refX', 9)
    .attr('refY', 5)
    .attr('markerWidth', 6)
    .attr('markerHeight', 6)
    .attr('orient', 'auto')
    .append('path')
    .attr('d', 'M0,0L10,5L0,10z')
    .attr('fill', '#9aa6bd');
  // Arrows between stages (the row change goes down and back to the left).
  for (let i = 1; i < bs.length; i++) {
    const a = pos(i - 1);
    const b = pos(i);
    const path =
      a.y === b.y ? `M${a.x + w},${a.y + 30}L${b.x - 2},${b.y + 30}` : `M${a.x + w / 2},${a.y + boxH}L${a.x + w / 2},${a.y + rowH - 14}L${b.x + w / 2},${a.y + rowH - 14}L${b.x + w / 2},${b.y - 2}`;
    svg.append('path').attr('d', path).attr('fill', 'none').attr('stroke', '#9aa6bd').attr('stroke-width', 2).attr('marker-end', 'url(#arrow)');
  }
  const g = svg
    .selectAll('g.stage')
    .data(bs)
    .enter()
    .append('g')
    .attr('class', (b) => `stage${hot(b) ? ' hot' : ''}`)
    .attr('data-stage', (b) => b.id)
    .attr('transform', (_, i) => `translate(${pos(i).x},${pos(i).y})`);
  g.append('rect').attr('width', w).attr('height', boxH).attr('rx', 6);
  g.append('text')
    .attr('class', 'title')
    .attr('x', 10)
    .attr('y', 20)
    .text((b) => b.title);
  g.each(function (b) {
    const sel = d3.select(this);
    b.lines.forEach((l, j) =>
      sel
        .append('text')
        .attr('class', 'num')
        .attr('x', 10)
        .attr('y', 40 + j * 15)
        .text(l),
    );
    const lanes = b.lanes ?? [];
    lanes.slice(0, maxLanes).forEach((lane, j) => {
      const y = 40 + b.lines.length * 15 + j * laneH;
      sel
        .append('rect')
        .attr('x', 6)
        .attr('y', y)
        .attr('width', w - 12)
        .attr('height', laneH - 4)
        .attr('rx', 3)
        .attr('fill', lane.drop > 0 ? '#fdecea' : '#ffffff')
        .attr('stroke', '#cfd6e4');
      sel
        .append('text')
        .attr('class', 'num')
        .attr('x', 12)
        .attr('y', y + 12)
        .text(lane.label + (lane.drop > 0 ? ` · ${fmt(lane.drop)} dropped` : ''));
      sel
        .append('text')
        .attr('class', 'num')
        .attr('x', 12)
        .attr('y', y + 24)
        .text(lane.value);
    });
    if (lanes.length > maxLanes)
      sel
        .append('text')
        .attr('class', 'num')
        .attr('x', 10)
        .attr('y', boxH - 6)
        .text(`… ${lanes.length - maxLanes} more`);
    if (b.drop && b.drop.n > 0) {
      // Drops leave the path where they happen: down and out of the stage, on the right.
      const dg = sel.append('g').attr('class', 'drop').attr('data-testid', `drop-${b.id}`);
      dg.append('line')
        .attr('x1', w - 30)
        .attr('y1', boxH)
        .attr('x2', w - 6)
        .attr('y2', boxH + 30)
        .attr('marker-end', 'url(#arrow)');
      dg.append('text')
        .attr('x', w - 10)
        .attr('y', boxH + 46)
        .attr('text-anchor', 'end')
        .text(`✕ ${fmt(b.drop.n)} dropped`);
      dg.append('text')
        .attr('x', w - 10)
        .attr('y', boxH + 60)
        .attr('text-anchor', 'end')
        .attr('font-weight', 400)
        .text(b.drop.why.length > 40 ? `${b.drop.why.slice(0, 38)}…` : b.drop.why)
        .append('title')
        .text(b.drop.why);
    }
  });
}
