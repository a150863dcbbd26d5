import * as d3 from 'd3';
import type { Result } from '../../src/metrics/result.ts';
import type { VizData } from '../../src/trace/viz.ts';
import { el, fmt } from './colors.ts';
import { placeMarkerLabels } from './marker-labels.ts';

/** Latency: the wire → application histogram with its percentiles, and where the time goes by stage. */
export function renderLatency(container: HTMLElement, r: Result, viz: VizData): void {
  container.replaceChildren();
  const l = r.latency_us;
  container.append(el('h3', {}, `wire arrival → application: ${fmt(l.samples)} packets`));
  if (l.p50 === null) {
    container.append(el('p', { class: 'muted' }, 'nothing was delivered in the window'));
    return;
  }
  const width = 1100;
  const height = 260;
  const m = { l: 60, r: 20, t: 10, b: 36 };
  const b = viz.latency.filter((x) => x[2] > 0);
  const lo = Math.max(0.01, d3.min(b, (x) => x[0]) ?? 0.01);
  const hi = Math.max(lo * 2, d3.max(b, (x) => x[1]) ?? 1);
  const x = d3
    .scaleLog()
    .domain([lo, hi])
    .range([m.l, width - m.r]);
  const y = d3
    .scaleLinear()
    .domain([0, d3.max(b, (x) => x[2]) ?? 1])
    .nice()
    .range([height - m.b, m.t]);
  const svg = d3.select(container).append('svg').attr('viewBox', `0 0 ${width} ${height}`).attr('width', '100%').attr('data-testid', 'latency-histogram');
  svg
    .append('g')
    .attr('transform', `translate(0,${height - m.b})`)
    .call(d3.axisBottom(x).ticks(10, '~g'));
  svg
    .append('text')
    .attr('x', width / 2)
    .attr('y', height - 4)
    .attr('text-anchor', 'middle')
    .attr('font-size', 11)
    .text('µs (log scale)');
  svg
    .append('g')
    .attr('transform', `translate(${m.l},0)`)
    .call(d3.axisLeft(y).ticks(5).tickFormat(d3.format('~s')));
  svg
    .selectAll('rect.bar')
    .data(b)
    .enter()
    .append('rect')
    .attr('class', 'bar')
    .attr('x', (d) => x(Math.max(lo, d[0])))
    .attr('width', (d) => Math.max(1, x(d[1]) - x(Math.max(lo, d[0]))))
    .attr('y', (d) => y(d[2]))
    .attr('height', (d) => y(0) - y(d[2]))
    .attr('fill', '#2563eb');
  const markers: [string, number][] = [];
  for (const [name, v] of [
    ['p50', l.p50],
    ['p99', l.p99],
    ['p99.9', l.p999],
  ] as const) {
    if (v !== null && v >= lo) markers.push([name, v]);
  }
  const texts = markers.map(([name, v]) => `${name} ${v.toFixed(1)} µs`);
  const placed = placeMarkerLabels(
    markers.map(([, v]) => x(v)),
    texts,
    width - m.r,
  );
  markers.forEach(([name, v], i) => {
    const p = placed[i]!;
    svg
      .append('line')
      .attr('x1', x(v))
      .attr('x2', x(v))
      .attr('y1', m.t)
      .attr('y2', height - m.b)
      .attr('stroke', '#c62828')
      .attr('stroke-dasharray', '4 3');
    svg
      .append('text')
      .attr('x', p.x)
      .attr('y', m.t + 10 + 13 * p.row)
      .attr('text-anchor', p.anchor)
      .attr('fill', '#c62828')
      .attr('font-size', 11)
      .attr('data-testid', `marker-${name}`)
      .text(texts[i]!);
  });
  const t = el('table', { class: 'counters', 'data-testid': 'latency-stages' });
  t.innerHTML = '<tr><th>stage</th><th>p50 µs</th><th>p99 µs</th><th>mean µs</th></tr>';
  const st = r.latency_stages_us;
  const rows: [string, string, typeof st.ring][] = [
    ['wire → driver poll', 'ring and interrupt wait (moderation, NAPI scheduling)', st.ring],
    ['driver poll → socket', 'GRO, RPS backlog, IP, netfilter, TCP/UDP', st.stack],
    ['socket → application', 'socket queue until the reader copies it', st.socket],
  ];
  for (const [name, title, s] of rows) {
    const tr = el('tr');
    tr.append(el('td', { class: 'name', title }, name), el('td', {}, s.p50?.toFixed(2) ?? '–'), el('td', {}, s.p99?.toFixed(2) ?? '–'), el('td', {}, s.mean?.toFixed(2) ?? '–'));
    t.append(tr);
  }
  container.append(el('h3', {}, 'per stage'), t);
  if (r.rr.length) {
    const rr = el('table', { class: 'counters', 'data-testid': 'latency-rr' });
    rr.innerHTML = '<tr><th>rr flow</th><th>transactions/s</th><th>p50 µs</th><th>p99 µs</th></tr>';
    for (const f of r.rr) {
      const tr = el('tr');
      tr.append(el('td', { class: 'name' }, f.flow), el('td', {}, fmt(f.transactions_per_sec)), el('td', {}, f.latency_us.p50?.toFixed(1) ?? '–'), el('td', {}, f.latency_us.p99?.toFixed(1) ?? '–'));
      rr.append(tr);
    }
    container.append(el('h3', {}, 'request/response, as the client sees it'), rr);
  }
}
