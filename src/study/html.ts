import { d3Page, escapeHtml } from './page-html.ts';
import { summaryCells, type Layout, type PointSummary } from './table.ts';

/**
 * `rxsim sweep --html`: one self-contained page (d3 inlined, the data inlined, no request to
 * anywhere) with, for each metric and each axis, the metric's mean against the axis's values —
 * one line per combination of the other axes' values, the 95 % confidence interval as a band —
 * and the summary table below.
 */

export interface HtmlInput {
  title: string;
  /** Sweep hash, run count, seeds: shown under the title. */
  subtitle: string;
  layout: Layout;
  points: readonly PointSummary[];
  /** The text of d3.min.js (the UMD build: defines `d3`). */
  d3Source: string;
}

export function sweepHtml(input: HtmlInput): string {
  const { layout, points } = input;
  const data = {
    axes: layout.axes,
    metrics: layout.metrics,
    points: points.map((p) => ({
      labels: p.labels,
      values: p.values,
      stats: p.stats.map((s) => ({ n: s.n, mean: s.mean, lo: s.ci95_lo, hi: s.ci95_hi, sd: s.sd, min: s.min, max: s.max })),
    })),
  };
  const { columns, rows } = summaryCells(layout, points, 6);
  const table = `<table><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${i >= layout.axes.length + 1 ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n')}</tbody></table>`;
  return d3Page({
    title: input.title,
    subtitle: input.subtitle,
    monospaceHeadings: true,
    styles: `.chart .axis-title { font: 12px ui-monospace, monospace; fill: #444; }
.legend { font: 11px ui-monospace, monospace; }
table { border-collapse: collapse; font: 12px ui-monospace, monospace; margin-top: 8px; }
th, td { border-bottom: 1px solid #eee; padding: 2px 8px; text-align: left; white-space: nowrap; }
td.num { text-align: right; }`,
    body: `<div id="plots"></div>
<h2>summary (mean, sd and the 95 % confidence interval of the mean, Student t)</h2>
${table}`,
    dataId: 'sweep-data',
    data,
    d3Source: input.d3Source,
    script: PAGE_SCRIPT,
  });
}

const PAGE_SCRIPT = String.raw`
(function () {
  const data = JSON.parse(document.getElementById('sweep-data').textContent);
  const plots = d3.select('#plots');
  const fmt = (x) => (x === null || x === undefined ? '—' : String(Number(x.toPrecision(6))));
  const W = 460, H = 280, M = { top: 12, right: 16, bottom: 40, left: 64 };
  if (data.axes.length === 0) {
    plots.append('p').text('No axis was varied: the table below has the one point.');
    return;
  }
  data.metrics.forEach((metric, m) => {
    plots.append('h2').text(metric);
    const row = plots.append('div').attr('class', 'charts');
    data.axes.forEach((axis, a) => {
      const xsLabels = [...new Set(data.points.map((p) => p.labels[a]))];
      const numeric = data.points.every((p) => typeof p.values[a] === 'number');
      const others = data.axes.map((_, i) => i).filter((i) => i !== a);
      const seriesKey = (p) => others.map((i) => data.axes[i] + '=' + p.labels[i]).join(', ');
      const series = d3.groups(data.points, seriesKey);
      const pts = data.points.filter((p) => p.stats[m].mean !== null);
      const lo = d3.min(pts, (p) => (p.stats[m].lo ?? p.stats[m].mean));
      const hi = d3.max(pts, (p) => (p.stats[m].hi ?? p.stats[m].mean));
      const x = numeric
        ? d3.scaleLinear().domain(d3.extent(data.points, (p) => p.values[a])).nice().range([M.left, W - M.right])
        : d3.scalePoint().domain(xsLabels).range([M.left, W - M.right]).padding(0.5);
      const xOf = (p) => (numeric ? x(p.values[a]) : x(p.labels[a]));
      const pad = lo === hi ? Math.abs(lo || 1) * 0.05 : 0;
      const y = d3.scaleLinear().domain([(lo ?? 0) - pad, (hi ?? 1) + pad]).nice().range([H - M.bottom, M.top]);
      const color = d3.scaleOrdinal(d3.schemeTableau10).domain(series.map((s) => s[0]));
      const div = row.append('div').attr('class', 'chart');
      const svg = div.append('svg').attr('width', W).attr('height', H).attr('data-metric', metric).attr('data-axis', axis);
      const xAxis = d3.axisBottom(x);
      if (numeric && xsLabels.length <= 12) xAxis.tickValues([...new Set(data.points.map((p) => p.values[a]))]).tickFormat((v) => String(v));
      else if (numeric) xAxis.ticks(6);
      svg.append('g').attr('transform', 'translate(0,' + (H - M.bottom) + ')').call(xAxis);
      svg.append('g').attr('transform', 'translate(' + M.left + ',0)').call(d3.axisLeft(y).ticks(6));
      svg.append('text').attr('class', 'axis-title').attr('x', (M.left + W - M.right) / 2).attr('y', H - 6).attr('text-anchor', 'middle').text(axis);
      for (const [key, ps] of series) {
        const sorted = ps.filter((p) => p.stats[m].mean !== null);
        if (numeric) sorted.sort((p, q) => p.values[a] - q.values[a]);
        const c = color(key);
        const band = d3.area().x(xOf).y0((p) => y(p.stats[m].lo ?? p.stats[m].mean)).y1((p) => y(p.stats[m].hi ?? p.stats[m].mean));
        svg.append('path').datum(sorted).attr('class', 'band').attr('fill', c).attr('fill-opacity', 0.18).attr('stroke', 'none').attr('d', band);
        svg.append('path').datum(sorted).attr('class', 'line').attr('fill', 'none').attr('stroke', c).attr('stroke-width', 1.5).attr('d', d3.line().x(xOf).y((p) => y(p.stats[m].mean)));
        svg.append('g').selectAll('circle').data(sorted).join('circle')
          .attr('cx', xOf).attr('cy', (p) => y(p.stats[m].mean)).attr('r', 2.5).attr('fill', c)
          .append('title').text((p) => axis + ' = ' + p.labels[a] + (key ? ' (' + key + ')' : '') + '\nmean ' + fmt(p.stats[m].mean) + ', 95 % CI [' + fmt(p.stats[m].lo) + ', ' + fmt(p.stats[m].hi) + '], n ' + p.stats[m].n);
      }
      if (series.length > 1) {
        const legend = div.append('div').attr('class', 'legend');
        for (const [key] of series) {
          const item = legend.append('div');
          item.append('span').style('color', color(key)).text('■ ');
          item.append('span').text(key);
        }
      }
    });
  });
})();
`;
