import { d3Page } from './page-html.ts';
import type { SeriesTable } from './series-csv.ts';

/**
 * `rxsim plot --html`: one self-contained page (page-html.ts: d3 and the data inlined)
 * drawing measured and simulated series on the same axes: per-CPU shares (the mean
 * usr/sys/irq/soft/idle of each run, stacked, one bar per run and CPU) and, for every other
 * metric, its rate against the time since the start of each run — one line per file, with each
 * run's mean as a dashed line across the chart (a 30 ms simulated window and a 10 s measurement
 * compare by their levels).
 */

export interface PlotInput {
  title: string;
  files: { label: string; table: SeriesTable }[];
  /** The text of d3.min.js (the UMD build: defines `d3`). */
  d3Source: string;
}

/** Each file's series with time from the start of its first interval (ms). */
function pageData(files: PlotInput['files']): unknown {
  return files.map(({ label, table }) => {
    const metrics: Record<string, { x: number[]; v: number[] }> = {};
    for (const [name, { t, v }] of table.metrics) {
      const first = t[0] ?? 0;
      const step = t.length > 1 ? t[1]! - first : first;
      metrics[name] = { x: t.map((x) => Math.round((x - first + step) * 1000) / 1000), v };
    }
    return { label, metrics };
  });
}

export function plotHtml(input: PlotInput): string {
  return d3Page({
    title: input.title,
    subtitle: input.files.map((f) => f.label).join(' · '),
    monospaceHeadings: false,
    styles: `.chart-title { font: 12px ui-monospace, monospace; fill: #222; }
.legend, .tick text, .bar-label { font: 11px ui-monospace, monospace; }`,
    body: `<h2>CPU shares (mean over each run, % as mpstat)</h2>
<div id="shares"></div>
<h2>Rates (per second; dashed: each run's mean)</h2>
<div id="rates" class="charts"></div>`,
    dataId: 'plot-data',
    data: pageData(input.files),
    d3Source: input.d3Source,
    script: PAGE_SCRIPT,
  });
}

const PAGE_SCRIPT = String.raw`
(function () {
  const files = JSON.parse(document.getElementById('plot-data').textContent);
  const colour = d3.scaleOrdinal(d3.schemeTableau10).domain(files.map((f) => f.label));
  const mean = (v) => (v.length ? d3.mean(v) : 0);
  const CLASSES = ['usr', 'sys', 'irq', 'soft', 'idle'];
  const classColour = { usr: '#4e79a7', sys: '#f28e2b', irq: '#e15759', soft: '#76b7b2', idle: '#e8e8e8' };

  // Per-CPU shares: one stacked bar per (file, CPU).
  const bars = [];
  for (const f of files) {
    const cpus = [...new Set(Object.keys(f.metrics).filter((m) => /^cpus\.\d+\./.test(m)).map((m) => Number(m.split('.')[1])))].sort((a, b) => a - b);
    for (const c of cpus) bars.push({ label: f.label + ' · CPU' + c, file: f.label, shares: CLASSES.map((k) => mean((f.metrics['cpus.' + c + '.' + k] || { v: [] }).v)) });
  }
  if (bars.length) {
    const W = 760, rowH = 18, left = 260, top = 24;
    const svg = d3.select('#shares').append('svg').attr('class', 'chart').attr('width', W).attr('height', top + bars.length * rowH + 10);
    const x = d3.scaleLinear().domain([0, 100]).range([left, W - 20]);
    svg.append('g').attr('transform', 'translate(0,' + (top - 4) + ')').call(d3.axisTop(x).ticks(10).tickFormat((d) => d + '%'));
    bars.forEach((b, i) => {
      const g = svg.append('g').attr('class', 'share-bar').attr('transform', 'translate(0,' + (top + i * rowH) + ')');
      g.append('text').attr('class', 'bar-label').attr('x', left - 6).attr('y', rowH - 6).attr('text-anchor', 'end').attr('fill', colour(b.file)).text(b.label);
      let acc = 0;
      b.shares.forEach((s, j) => {
        g.append('rect').attr('x', x(acc)).attr('y', 2).attr('width', Math.max(0, x(acc + s) - x(acc))).attr('height', rowH - 4).attr('fill', classColour[CLASSES[j]])
          .append('title').text(CLASSES[j] + ' ' + s.toFixed(1) + '%');
        acc += s;
      });
    });
    const lg = d3.select('#shares').append('div').attr('class', 'legend');
    CLASSES.forEach((k) => lg.append('span').style('margin-right', '12px').html('<span style="display:inline-block;width:10px;height:10px;background:' + classColour[k] + ';border:1px solid #999"></span> ' + k));
  }

  // Rates: one chart per metric, the metrics more than one file has first.
  const names = [...new Set(files.flatMap((f) => Object.keys(f.metrics)))].filter((m) => !/^cpus\./.test(m));
  const count = (m) => files.filter((f) => f.metrics[m]).length;
  names.sort((a, b) => count(b) - count(a) || (a < b ? -1 : 1));
  const W = 440, H = 220, M = { l: 64, r: 12, t: 22, b: 40 };
  for (const name of names) {
    const series = files.filter((f) => f.metrics[name]).map((f) => ({ label: f.label, pts: f.metrics[name].x.map((x, i) => [x, f.metrics[name].v[i]]), mean: mean(f.metrics[name].v) }));
    const xmax = d3.max(series, (s) => d3.max(s.pts, (p) => p[0])) || 1;
    const ymax = d3.max(series, (s) => d3.max(s.pts, (p) => p[1])) || 1;
    const x = d3.scaleLinear().domain([0, xmax]).range([M.l, W - M.r]);
    const y = d3.scaleLinear().domain([0, ymax * 1.05]).nice().range([H - M.b, M.t]);
    const svg = d3.select('#rates').append('svg').attr('class', 'chart rate-chart').attr('width', W).attr('height', H).attr('data-metric', name);
    svg.append('text').attr('class', 'chart-title').attr('x', M.l).attr('y', 14).text(name);
    svg.append('g').attr('transform', 'translate(0,' + (H - M.b) + ')').call(d3.axisBottom(x).ticks(6));
    svg.append('text').attr('class', 'legend').attr('x', W - M.r).attr('y', H - 6).attr('text-anchor', 'end').text('ms from the start of each run');
    svg.append('g').attr('transform', 'translate(' + M.l + ',0)').call(d3.axisLeft(y).ticks(5, 's'));
    for (const s of series) {
      svg.append('path').attr('class', 'series').attr('fill', 'none').attr('stroke', colour(s.label)).attr('stroke-width', 1.5)
        .attr('d', d3.line().x((p) => x(p[0])).y((p) => y(p[1]))(s.pts));
      svg.append('line').attr('x1', M.l).attr('x2', W - M.r).attr('y1', y(s.mean)).attr('y2', y(s.mean)).attr('stroke', colour(s.label)).attr('stroke-dasharray', '4 3')
        .append('title').text(s.label + ' mean ' + d3.format('.4s')(s.mean) + '/s');
    }
    series.forEach((s, i) => svg.append('text').attr('class', 'legend').attr('x', M.l + 6).attr('y', M.t + 12 + i * 12).attr('fill', colour(s.label)).text(s.label + ' (mean ' + d3.format('.3s')(s.mean) + ')'));
  }
})();
`;
