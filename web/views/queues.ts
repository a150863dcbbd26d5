import * as d3 from 'd3';
import type { VizData, VizSeries } from '../../src/trace/viz.ts';
import { cursor } from '../cursor.ts';
import { fmtTime } from './timeline.ts';

/**
 * Queues over time: ring occupancy per queue, backlog per CPU, socket buffer fill, each chart
 * with its limit drawn (ring size, netdev_max_backlog, sk_rcvbuf). Series that never leave 0
 * are left out so the charts show what moved.
 */
const TITLES: Record<VizSeries['kind'], string> = {
  ring: 'RX ring occupancy (descriptors holding packets; limit: ring size)',
  backlog: 'per-CPU backlog (input_pkt_queue, which enqueue_to_backlog checks; limit: netdev_max_backlog)',
  socket: 'socket receive memory (sk_rmem_alloc; limit: sk_rcvbuf)',
};

/** The charts drawn last, with their time scales: the shared cursor is a line on each, and a click seeks. */
let cursorLines: { line: d3.Selection<SVGLineElement, unknown, null, undefined>; x: d3.ScaleLinear<number, number> }[] = [];
cursor.subscribe((t) => {
  for (const { line, x } of cursorLines)
    line
      .attr('x1', x(t))
      .attr('x2', x(t))
      .attr('opacity', t >= x.domain()[0]! && t <= x.domain()[1]! ? 1 : 0);
});

export function renderQueues(container: HTMLElement, viz: VizData): void {
  container.replaceChildren();
  cursorLines = [];
  for (const kind of ['ring', 'backlog', 'socket'] as const) {
    const series = viz.series.filter((s) => s.kind === kind && s.v.some((v) => v > 0));
    const h3 = document.createElement('h3');
    h3.textContent = TITLES[kind];
    container.append(h3);
    if (series.length === 0) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = 'always empty in this run';
      container.append(p);
      continue;
    }
    chart(container, viz, series, kind);
  }
}

function chart(container: HTMLElement, viz: VizData, series: VizSeries[], kind: string): void {
  const width = 1100;
  const height = 170;
  const m = { l: 60, r: 180, t: 8, b: 22 };
  const x = d3
    .scaleLinear()
    .domain([viz.fromNs, viz.toNs])
    .range([m.l, width - m.r]);
  const maxV = Math.max(...series.map((s) => Math.max(s.limit, d3.max(s.v) ?? 0)));
  const y = d3
    .scaleLinear()
    .domain([0, maxV * 1.05])
    .range([height - m.b, m.t]);
  const svg = d3.select(container).append('svg').attr('viewBox', `0 0 ${width} ${height}`).attr('width', '100%').attr('data-testid', `queues-${kind}`);
  svg
    .append('g')
    .attr('transform', `translate(0,${height - m.b})`)
    .call(
      d3
        .axisBottom(x)
        .ticks(8)
        .tickFormat((d) => fmtTime(Number(d))),
    );
  svg
    .append('g')
    .attr('transform', `translate(${m.l},0)`)
    .call(d3.axisLeft(y).ticks(4).tickFormat(d3.format('~s')));
  const colour = d3.scaleOrdinal(d3.schemeTableau10);
  series.slice(0, 10).forEach((s, i) => {
    // Step lines: a length holds until the next sample.
    const pts: [number, number][] = [];
    for (let j = 0; j < s.t.length; j++) pts.push([s.t[j]!, s.v[j]!]);
    if (pts.length) pts.push([viz.toNs, pts[pts.length - 1]![1]]);
    svg
      .append('path')
      .datum(pts)
      .attr('fill', 'none')
      .attr('stroke', colour(String(i)))
      .attr('stroke-width', 1.2)
      .attr(
        'd',
        d3
          .line<[number, number]>()
          .x((p) => x(p[0]))
          .y((p) => y(p[1]))
          .curve(d3.curveStepAfter),
      );
    svg
      .append('line')
      .attr('x1', m.l)
      .attr('x2', width - m.r)
      .attr('y1', y(s.limit))
      .attr('y2', y(s.limit))
      .attr('stroke', colour(String(i)))
      .attr('stroke-dasharray', '5 4')
      .attr('opacity', 0.7);
    svg
      .append('text')
      .attr('x', width - m.r + 8)
      .attr('y', m.t + 12 + i * 15)
      .attr('fill', colour(String(i)))
      .attr('font-size', 11)
      .text(`${s.name} (limit ${d3.format('~s')(s.limit)})`);
  });
  const t = cursor.value;
  const line = svg
    .append('line')
    .attr('class', 'cursor')
    .attr('data-testid', `queues-${kind}-cursor`)
    .attr('y1', m.t)
    .attr('y2', height - m.b)
    .attr('x1', x(t))
    .attr('x2', x(t))
    .attr('opacity', t >= viz.fromNs && t <= viz.toNs ? 1 : 0);
  cursorLines.push({ line, x });
  svg.on('click', (e: MouseEvent) => {
    const px = d3.pointer(e)[0];
    if (px >= m.l && px <= width - m.r) cursor.seek(x.invert(px), 'queues');
  });
}
