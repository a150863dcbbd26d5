import * as d3 from 'd3';
import type { Result } from '../../src/metrics/result.ts';
import type { ReplayFrame } from '../../src/trace/replay.ts';
import type { Stage, VizData } from '../../src/trace/viz.ts';
import { focus, type Focus } from '../cursor.ts';
import { fmt, SPAN_COLOURS } from './colors.ts';
import { pathStages, type StageId } from './path-stages.ts';

const fmtRate = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(0));

/**
 * The receive path as a diagram of the stages this run used (path-stages.ts), in path order, each
 * with the CPUs it ran on, one lane per RX queue (with its IRQ CPU) or backlog where the path
 * splits, live counts at each stage and drops leaving the path where they happen. The main
 * diagram also replays: at the time cursor each ring, backlog and socket shows its fill, each CPU
 * what it runs, and interrupts and IPIs light up (replayFrame below).
 */
interface Lane {
  label: string;
  value: string;
  drop: number;
  /** The queue series this lane replays (`ens4f1/rx-4 ring`, `backlog/4`, `socket iperf3 #0`). */
  series?: string;
}

interface Box {
  id: StageId;
  title: string;
  lines: string[];
  drop?: { n: number; why: string };
  lanes?: Lane[];
  cpus: number[];
}

const cpuLabel = (cpus: number[]): string =>
  cpus.length === 0 ? 'hardware' : cpus.length === 1 ? `CPU ${cpus[0]}` : cpus.length <= 4 ? `CPUs ${cpus.join(', ')}` : `CPUs ${cpus.slice(0, 3).join(', ')} … (${cpus.length})`;

function boxes(r: Result, viz: VizData | null): Box[] {
  const d = r.packets.dropped;
  const rx = Object.values(r.ethtool_S).reduce((a, c) => a + (c.rx_packets ?? 0), 0);
  const pod = r.flows.some((f) => f.path === 'veth-bridge' || f.path === 'vxlan-overlay');
  const routed = r.packets.forwarded !== undefined;
  const ipis = r.ipis.reduce((a, c) => a + c.sent, 0);
  const lanes = r.nics.flatMap((n) =>
    n.queues
      .filter((q) => q.packets > 0 || q.drops > 0)
      .map((q) => ({ label: `${n.name}/rx-${q.queue}`, value: `${fmt(q.packets)} pkts · ring ${q.ring_size} · peak ${q.ring_peak}`, drop: q.drops, series: `${n.name}/rx-${q.queue} ring` })),
  );
  const xdpLanes = r.nics.flatMap((n) =>
    n.xdp
      ? n.queues
          .filter((q) => q.xdp && q.packets > 0)
          .map((q) => ({
            label: `${n.name}/rx-${q.queue} ${n.xdp!.mode} ${n.xdp!.prog}`,
            value: Object.entries(q.xdp!)
              .filter(([, v]) => v > 0)
              .map(([k, v]) => `${k} ${fmt(v)}`)
              .join(' · '),
            drop: 0,
          }))
      : [],
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
    .map((c) => ({ label: `CPU ${c.cpu} backlog (processed, IPIs in)`, value: `${fmt(c.processed)} · ${perSec(c.processed)} · ${fmt(c.rps)} IPIs`, drop: c.dropped, series: `backlog/${c.cpu}` }));
  const irqLanes = r.nics.flatMap((n) =>
    // A queue with traffic but no interrupt in the window is polled without one (NAPI never
    // completed, the vector stayed masked): its lane says so instead of vanishing.
    n.queues
      .filter((q) => q.interrupts > 0 || q.packets > 0)
      .map((q) => ({ label: `IRQ ${q.irq} → CPU ${q.irq_cpu}`, value: q.interrupts > 0 ? `${fmt(q.interrupts)} irqs · itr ${q.itr_usecs} µs` : 'masked: NAPI kept polling', drop: 0 })),
  );
  const cpumapLanes = (r.xdp_maps ?? []).flatMap((m) =>
    m.type === 'cpumap'
      ? m.entries.map((e) => ({ label: `${e.kthread} on CPU ${e.cpu}`, value: `${fmt(e.enqueue.processed)} enqueued · ${fmt(e.kthread_stats.processed)} built`, drop: e.enqueue.drops }))
      : [],
  );
  const devmapLanes = (r.xdp_maps ?? []).flatMap((m) =>
    m.type === 'devmap' ? m.entries.map((e) => ({ label: `${m.name} → ${e.dev}`, value: `${fmt(e.xmit.sent)} sent · ${fmt(e.xmit.calls)} xmits`, drop: e.xmit.drops })) : [],
  );
  const sockets = r.sockets.slice(0, 6);
  const socketLanes = sockets.map((s, i) => ({
    label: `${s.app ?? 'socket'} (${s.proto})`,
    value: `rcvbuf ${fmt(s.rcvbuf)}`,
    drop: s.drops,
    // The recorder lists the sockets in the result's order (socket-table.ts).
    series: viz?.series.filter((x) => x.kind === 'socket')[i]?.name,
  }));
  const all: Record<StageId, Omit<Box, 'id' | 'cpus'>> = {
    wire: {
      title: 'wire',
      lines: [`${fmt(r.packets.offered)} frames · ${perSec(r.packets.offered)}`, `${r.throughput.offered_gbps.toFixed(2)} Gbit/s`],
      drop: { n: d.wire ?? 0, why: 'switch buffer' },
    },
    nic: {
      title: 'NIC RX rings (DMA)',
      lines: [`${fmt(rx)} rx_packets`],
      drop: { n: (d.nic_ring ?? 0) + (d.nic_missed ?? 0), why: 'ring full (rx_no_dma_resources / rx_missed_errors)' },
      lanes,
    },
    irq: { title: 'hardirq (MSI-X)', lines: [`${fmt(r.interrupts.total)} interrupts`, `${fmt(r.interrupts.per_sec)}/s`], lanes: irqLanes },
    napi: { title: 'NAPI poll (net_rx_action)', lines: [`${fmt(r.napi.polls)} polls`, `time_squeeze ${fmt(r.napi.time_squeeze.reduce((a, b) => a + b, 0))}`] },
    xdp: { title: 'XDP in the driver', lines: ['bpf_prog_run_xdp on the xdp_buff'], drop: { n: d.xdp ?? 0, why: 'XDP_DROP / XDP_ABORTED' }, lanes: xdpLanes },
    cpumap: { title: 'cpumap → kthreads', lines: [`${fmt(r.packets.xdp_redirect ?? 0)} redirected in flight`], drop: { n: d.cpumap ?? 0, why: 'cpumap ring full' }, lanes: cpumapLanes },
    devmap: {
      title: 'devmap → XDP TX',
      lines: [`${fmt(r.packets.xdp_tx ?? 0)} sent (bq_xmit_all)`],
      drop: { n: d.devmap ?? 0, why: 'target XDP TX ring full / no XDP program' },
      lanes: devmapLanes,
    },
    afxdp: {
      title: 'AF_XDP socket → reader',
      lines: [`${fmt((r.xsks ?? []).reduce((a, x) => a + x.app_packets, 0))} frames read`, `${fmt(r.packets.xsk ?? 0)} in RX rings`],
      drop: { n: d.xsk ?? 0, why: 'RX ring full / fill ring empty' },
      lanes: (r.xsks ?? []).map((x) => ({
        label: `${x.app} · ${x.dev}/rx-${x.queue} · ${x.mode}`,
        value: `${fmt(x.app_pps)}/s · full ${fmt(x.stats.rx_ring_full)} · no fill ${fmt(x.stats.rx_fill_ring_empty_descs)}`,
        drop: x.stats.rx_dropped,
      })),
    },
    busypoll: { title: 'busy poll (napi_busy_loop)', lines: [`${fmt(r.nstat.TcpExtBusyPollRxPackets ?? 0)} BusyPollRxPackets`, 'in the reading task'] },
    gro: { title: 'GRO', lines: [`${fmt(r.gro.received)} → ${fmt(r.gro.delivered)} skbs`] },
    rps: { title: 'RPS (IPIs)', lines: [`${fmt(ipis)} RPS IPIs sent`] },
    vxlan: { title: 'VXLAN decap (flannel.1)', lines: ['second pass'] },
    bridge: { title: 'bridge (br_handle_frame)', lines: [`${fmt(r.nstat.IpForwDatagrams ?? 0)} forwarded`] },
    veth: { title: 'veth → pod', lines: [`passes/skb ${r.stack.passes_per_skb?.toFixed(2) ?? '–'}`], drop: { n: d.veth ?? 0, why: 'veth ring full' } },
    backlog: {
      title: 'backlog (process_backlog)',
      lines: [],
      drop: { n: (d.backlog ?? 0) + (d.flow_limit ?? 0), why: 'backlog full / flow limit' },
      lanes: backlogLanes,
    },
    ip: {
      title: routed ? 'IP / netfilter / ip_forward → egress qdisc' : pod ? 'IP / netfilter (both passes)' : 'IP / netfilter',
      lines: [`${fmt(r.nstat.IpInReceives ?? 0)} IpInReceives`, routed ? `${fmt(r.nstat.IpForwDatagrams ?? 0)} forwarded` : `${fmt(r.stack.processed)} passes`],
      // Forwarded packets leave the path here, out of their route's device (packets.forwarded).
      ...(routed ? { drop: { n: (d.route ?? 0) + (d.ttl ?? 0) + (d.qdisc ?? 0), why: 'ip_forward off / TTL expired / qdisc full' } } : {}),
    },
    l4: { title: 'TCP / UDP', lines: [`${fmt(r.nstat.TcpInSegs ?? 0)} TcpInSegs`, `${fmt(r.nstat.UdpInDatagrams ?? 0)} UdpInDatagrams`], drop: { n: d.tcp_dup ?? 0, why: 'duplicate segments' } },
    socket: {
      title: 'socket receive queue',
      lines: [],
      drop: { n: d.socket ?? 0, why: 'rcvbuf full (RcvbufErrors, TCPRcvQDrop)' },
      lanes: socketLanes,
    },
    app: { title: 'application (copy)', lines: [`${fmt(r.packets.delivered)} delivered · ${perSec(r.packets.delivered)}`, `${r.throughput.delivered_gbps.toFixed(2)} Gbit/s`] },
  };
  return pathStages(r).map((s) => ({ id: s.id, cpus: s.cpus, ...all[s.id] }));
}

export interface PathOptions {
  /** The step view's stage to highlight. */
  highlight?: Stage | null;
  /** The main diagram: `data-testid="stage-<id>"` on each stage, and the replay layer drawn from `viz`. */
  live?: VizData;
}

/** The step view's stage → the diagram's. */
function stepStage(highlight: Stage, ids: Set<StageId>): StageId {
  if (highlight === 'softirq') return 'napi';
  if (highlight === 'stack') return 'ip';
  if (highlight === 'sched') return 'app';
  if (highlight === 'rps') return ids.has('rps') ? 'rps' : ids.has('backlog') ? 'backlog' : 'ip';
  if (highlight === 'backlog' && !ids.has('backlog')) return 'ip';
  return highlight;
}

const W = 214;
const GAP = 34;
const LANE_H = 32;
const CHIP_W = 128;

export function renderPath(container: HTMLElement, r: Result, opts: PathOptions = {}): void {
  const live = opts.live ?? null;
  const bs = boxes(r, live);
  const ids = new Set(bs.map((b) => b.id));
  const hotId = opts.highlight ? stepStage(opts.highlight, ids) : null;
  // Rows left to right: two rows, at most seven stages a row.
  const perRow = Math.min(7, Math.ceil(bs.length / 2));
  const rows = Math.ceil(bs.length / perRow);
  const width = perRow * (W + GAP) + 10;
  const maxLanes = Math.min(6, Math.max(0, ...bs.map((b) => b.lanes?.length ?? 0)));
  const maxLines = Math.max(...bs.map((b) => b.lines.length));
  const boxH = 58 + maxLines * 15 + maxLanes * LANE_H;
  const rowH = boxH + 86;
  const chipsPerRow = Math.floor((width - 20) / (CHIP_W + 8));
  const cpuRows = live ? Math.ceil(live.cpus / chipsPerRow) : 0;
  const cpuTop = rows * rowH + 10;
  const height = cpuTop + (live ? 34 + cpuRows * 58 : 0);
  const pos = (i: number) => ({ x: 10 + (i % perRow) * (W + GAP), y: 10 + Math.floor(i / perRow) * rowH });
  container.replaceChildren();
  const svg = d3
    .select(container)
    .append('svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('width', '100%')
    .attr('data-testid', live ? 'path-svg' : 'step-path-svg');
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
  // Arrows between stages (a row change goes down and back to the left).
  for (let i = 1; i < bs.length; i++) {
    const a = pos(i - 1);
    const b = pos(i);
    const path =
      a.y === b.y ? `M${a.x + W},${a.y + 30}L${b.x - 2},${b.y + 30}` : `M${a.x + W / 2},${a.y + boxH}L${a.x + W / 2},${a.y + rowH - 14}L${b.x + W / 2},${a.y + rowH - 14}L${b.x + W / 2},${b.y - 2}`;
    svg.append('path').attr('d', path).attr('fill', 'none').attr('stroke', '#9aa6bd').attr('stroke-width', 2).attr('marker-end', 'url(#arrow)');
  }
  const g = svg
    .selectAll('g.stage')
    .data(bs)
    .enter()
    .append('g')
    .attr('class', (b) => `stage${b.id === hotId ? ' hot' : ''}`)
    .attr('data-stage', (b) => b.id)
    .attr('transform', (_, i) => `translate(${pos(i).x},${pos(i).y})`);
  if (live) g.attr('data-testid', (b) => `stage-${b.id}`).attr('data-cpus', (b) => b.cpus.join(','));
  g.append('rect').attr('class', 'box').attr('width', W).attr('height', boxH).attr('rx', 6);
  g.append('text')
    .attr('class', 'title')
    .attr('x', 10)
    .attr('y', 20)
    .text((b) => b.title);
  g.append('text')
    .attr('class', 'cpu')
    .attr('x', W - 8)
    .attr('y', 38)
    .attr('text-anchor', 'end')
    .text((b) => cpuLabel(b.cpus));
  g.each(function (b) {
    const sel = d3.select(this);
    b.lines.forEach((l, j) =>
      sel
        .append('text')
        .attr('class', 'num')
        .attr('x', 10)
        .attr('y', 54 + j * 15)
        .text(l),
    );
    const lanes = b.lanes ?? [];
    lanes.slice(0, maxLanes).forEach((lane, j) => {
      const y = 54 + maxLines * 15 - 8 + j * LANE_H;
      const lg = sel.append('g').attr('class', 'lane');
      lg.append('rect')
        .attr('x', 6)
        .attr('y', y)
        .attr('width', W - 12)
        .attr('height', LANE_H - 4)
        .attr('rx', 3)
        .attr('fill', lane.drop > 0 ? '#fdecea' : '#ffffff')
        .attr('stroke', '#cfd6e4');
      if (live && lane.series !== undefined) {
        // The replay's fill bar: the queue's length at the cursor over its limit.
        lg.attr('data-series', lane.series).attr('data-fill', '0');
        lg.append('rect')
          .attr('class', 'fill')
          .attr('x', 7)
          .attr('y', y + 1)
          .attr('width', 0)
          .attr('height', LANE_H - 6)
          .attr('rx', 2);
      }
      lg.append('text')
        .attr('class', 'num')
        .attr('x', 12)
        .attr('y', y + 12)
        .text(lane.label + (lane.drop > 0 ? ` · ${fmt(lane.drop)} dropped` : ''));
      lg.append('text')
        .attr('class', 'num value')
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
      const dg = sel
        .append('g')
        .attr('class', 'drop')
        .attr('data-testid', live ? `drop-${b.id}` : null);
      // "ring full (rx_no_dma_resources / rx_missed_errors)": the cause beside the count, the counters below it, so neither is cut.
      const why = splitWhy(b.drop.why);
      dg.append('line')
        .attr('x1', W - 30)
        .attr('y1', boxH)
        .attr('x2', W - 6)
        .attr('y2', boxH + 30)
        .attr('marker-end', 'url(#arrow)');
      dg.append('text')
        .attr('x', W - 10)
        .attr('y', boxH + 46)
        .attr('text-anchor', 'end')
        .text(`✕ ${fmt(b.drop.n)} dropped${why.head ? ` · ${why.head}` : ''}`);
      dg.append('text')
        .attr('x', W - 10)
        .attr('y', boxH + 60)
        .attr('text-anchor', 'end')
        .attr('font-weight', 400)
        .text(why.rest.length > 40 ? `${why.rest.slice(0, 38)}…` : why.rest)
        .append('title')
        .text(b.drop.why);
    }
  });
  if (live) {
    drawCpus(svg, live.cpus, cpuTop, chipsPerRow);
    const caption = d3.select(container).append('div').attr('class', 'focus-caption').attr('data-testid', 'path-focus');
    caption.node()!.hidden = true;
    liveContainer = container;
    showFocus(focus.value);
  }
}

/** The main diagram (the one the focus lights up). */
let liveContainer: HTMLElement | null = null;
focus.subscribe((f) => showFocus(f));

/** Light the stages a lesson step, an explanation or a followed packet points at, with its caption. */
function showFocus(f: Focus): void {
  if (!liveContainer) return;
  const ids = new Set(f.stages.map((s) => (s === 'softirq' ? 'napi' : s)));
  d3.select(liveContainer)
    .selectAll<SVGGElement, Box>('g.stage')
    .classed('focus', (b) => ids.has(b.id));
  const caption = liveContainer.querySelector<HTMLElement>('[data-testid=path-focus]');
  if (caption) {
    caption.hidden = f.caption === '';
    caption.textContent = f.caption;
  }
}

/** The CPU strip under the main diagram: what each CPU runs at the cursor, its interrupts and the IPIs between them. */
function drawCpus(svg: d3.Selection<SVGSVGElement, unknown, null, undefined>, n: number, top: number, perRow: number): void {
  const strip = svg.append('g').attr('class', 'cpus').attr('data-testid', 'replay-cpus');
  strip
    .append('text')
    .attr('class', 'title')
    .attr('x', 10)
    .attr('y', top + 14)
    .attr('font-weight', 600)
    .text('CPUs at the cursor');
  const chip = (cpu: number) => ({ x: 10 + (cpu % perRow) * (CHIP_W + 8), y: top + 24 + Math.floor(cpu / perRow) * 58 });
  for (let cpu = 0; cpu < n; cpu++) {
    const { x, y } = chip(cpu);
    const c = strip.append('g').attr('class', 'cpu').attr('data-testid', `cpu-${cpu}`).attr('data-state', 'idle').attr('transform', `translate(${x},${y})`);
    c.append('rect').attr('class', 'chip').attr('width', CHIP_W).attr('height', 46).attr('rx', 5).attr('fill', SPAN_COLOURS.idle);
    c.append('text').attr('class', 'cpu-name').attr('x', 8).attr('y', 17).text(`CPU ${cpu}`);
    c.append('text').attr('class', 'cpu-task').attr('x', 8).attr('y', 35).text('idle');
    c.append('circle')
      .attr('class', 'irq-dot')
      .attr('cx', CHIP_W - 12)
      .attr('cy', 12)
      .attr('r', 6)
      .attr('opacity', 0);
  }
  strip.append('g').attr('class', 'ipis');
  strip.datum({ perRow, top });
}

/** Draw the replay frame on the main diagram in `container` (the fills, the CPUs, interrupts and IPIs), with d3 transitions. */
export function replayFrame(container: HTMLElement, f: ReplayFrame, animateMs: number): void {
  const svg = d3.select(container).select<SVGSVGElement>('svg[data-testid=path-svg]');
  if (svg.empty()) return;
  const values = new Map(f.queues.map((q) => [q.name, q]));
  svg.selectAll<SVGGElement, unknown>('g.lane[data-series]').each(function () {
    const lane = d3.select(this);
    const q = values.get(lane.attr('data-series'));
    const known = q !== undefined && !Number.isNaN(q.value);
    const v = known ? q.value : 0;
    const frac = known && q.limit > 0 ? Math.min(1, v / q.limit) : 0;
    lane.attr('data-fill', known ? String(v) : '');
    lane
      .select('rect.fill')
      .classed('full', frac >= 0.95)
      .transition()
      .duration(animateMs)
      .attr('width', (W - 14) * frac);
    lane.select('text.value').text(!q ? '' : known ? `${fmt(v)} / ${fmt(q.limit)}${q.unit === 'bytes' ? ' B' : ''} at the cursor` : 'not sampled yet at the cursor');
  });
  // Stage totals for the tests and the curious: the fill summed over the stage's lanes.
  svg.selectAll<SVGGElement, { id: StageId }>('g.stage').each(function () {
    const st = d3.select(this);
    let sum = 0;
    let any = false;
    let unknown = false;
    st.selectAll<SVGGElement, unknown>('g.lane[data-series]').each(function () {
      any = true;
      const fill = d3.select(this).attr('data-fill');
      if (fill === '') unknown = true;
      sum += Number(fill);
    });
    if (any) st.attr('data-fill', unknown ? '' : String(sum));
  });
  const firing = new Set(f.irqs.map((i) => i.cpu));
  svg
    .select('[data-testid=stage-irq]')
    .classed('firing', f.irqs.length > 0)
    .attr('data-firing', String(f.irqs.length));
  for (const c of f.cpus) {
    const chip = svg.select(`[data-testid=cpu-${c.cpu}]`);
    chip.attr('data-state', c.cls);
    chip.select('rect.chip').transition().duration(animateMs).attr('fill', SPAN_COLOURS[c.cls]);
    chip.select('text.cpu-task').text(c.cls === 'idle' ? 'idle' : c.cls === 'app' ? c.task : `${c.cls}${c.cls === 'ksoftirqd' || c.cls === 'napi-thread' ? '' : ` · ${c.task}`}`);
    chip
      .select('circle.irq-dot')
      .interrupt()
      .attr('opacity', firing.has(c.cpu) ? 1 : 0);
  }
  const strip = svg.select<SVGGElement>('g.cpus');
  const { perRow, top } = strip.datum() as { perRow: number; top: number };
  const centre = (cpu: number) => ({ x: 10 + (cpu % perRow) * (CHIP_W + 8) + CHIP_W / 2, y: top + 24 + Math.floor(cpu / perRow) * 58 + 23 });
  const arcs = strip.select('g.ipis').attr('data-count', String(f.ipis.length)).selectAll<SVGPathElement, ReplayFrame['ipis'][number]>('path').data(f.ipis.slice(0, 16));
  arcs.exit().remove();
  arcs
    .enter()
    .append('path')
    .attr('class', 'ipi')
    .attr('marker-end', 'url(#arrow)')
    .merge(arcs)
    .attr('d', (i) => {
      const a = centre(i.from);
      const b = centre(i.to);
      return `M${a.x},${a.y - 23}Q${(a.x + b.x) / 2},${Math.min(a.y, b.y) - 50} ${b.x},${b.y - 23}`;
    });
}

/** A drop's reason as a short cause and its detail in parentheses (the detail alone when there is none). */
export function splitWhy(why: string): { head: string; rest: string } {
  const m = /^(.{1,24}?) \((.+)\)$/.exec(why);
  return m ? { head: m[1]!, rest: m[2]! } : { head: '', rest: why };
}
