import * as d3 from 'd3';
import { rowOf, sweepFromForm, type FormProblem } from '../../src/study/browser-sweep.ts';
import { DEFAULT_METRICS } from '../../src/study/metrics.ts';
import { pointLabel, pointValueIndex, shardRuns, type RunSpec, type Sweep } from '../../src/study/sweep.ts';
import { valueLabel } from '../../src/study/values.ts';
import { formatRows, layoutOf, summarizeRows, summaryCells, type Layout, type PointSummary, type SweepRow } from '../../src/study/table.ts';
import { download } from '../scenario-io.ts';
import type { SweepWorkerRequest, SweepWorkerResponse } from '../sweep-worker.ts';
import { el } from './colors.ts';

/**
 * Sweep: the current scenario at every combination of some knob values, each with several seeds,
 * run in a pool of Web Workers — `rxsim sweep` in the browser. The axes, seeds and metrics take
 * the CLI's syntax (`--vary`, `--vary-apply`, `--seeds`, `--metric`) and go through the same code
 * (src/study: parsing, checks, run order, hash, statistics, rows), so "Export CSV" writes exactly
 * the file `rxsim sweep … --out FILE.csv` writes. A chart per metric (mean against the first
 * axis, a line per combination of the other axes, the 95 % confidence interval as a band) fills
 * in as runs finish; the summary table is the CLI's summary.
 */

/** Workers in the pool: the browser's hardware concurrency, at least 1, at most this. */
const MAX_WORKERS = 8;

/** A pool of module workers, one run at a time each; `terminate` ends them all (cancel). The Explain tab runs its remedies in one too. */
export class Pool {
  private readonly workers: Worker[] = [];
  private queue: RunSpec[];

  constructor(
    sweep: Sweep,
    runs: RunSpec[],
    size: number,
    private readonly onAnswer: (a: SweepWorkerResponse) => void,
  ) {
    this.queue = [...runs];
    const init: SweepWorkerRequest = { type: 'init', sweep: { scenario: sweep.scenario, axes: sweep.axes, metrics: sweep.metrics } };
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('../sweep-worker.ts', import.meta.url), { type: 'module' });
      w.onmessage = (e: MessageEvent<SweepWorkerResponse>) => {
        this.onAnswer(e.data);
        this.next(w);
      };
      w.onerror = (e) => {
        e.preventDefault();
        this.onAnswer({ run: -1, error: e.message || 'a sweep worker failed' });
      };
      w.postMessage(init);
      this.workers.push(w);
      this.next(w);
    }
  }

  private next(w: Worker): void {
    const r = this.queue.shift();
    if (r) w.postMessage({ type: 'run', run: r.run, valueIndex: r.valueIndex, seed: r.seed } satisfies SweepWorkerRequest);
  }

  get size(): number {
    return this.workers.length;
  }

  terminate(): void {
    this.queue = [];
    for (const w of this.workers) w.terminate();
  }
}

const W = 420;
const H = 270;
const M = { top: 12, right: 16, bottom: 40, left: 64 };
const fmt6 = (x: number | null): string => (x === null ? '—' : String(Number(x.toPrecision(6))));

export class SweepView {
  private readonly axesBox: HTMLElement;
  private readonly seeds: HTMLInputElement;
  private readonly seedsError: HTMLElement;
  private readonly metrics: HTMLInputElement;
  private readonly metricsError: HTMLElement;
  private readonly error: HTMLElement;
  private readonly runButton: HTMLButtonElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly exportButton: HTMLButtonElement;
  private readonly progress: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly info: HTMLElement;
  private readonly charts: HTMLElement;
  private readonly table: HTMLElement;

  private pool: Pool | null = null;
  private sweep: Sweep | null = null;
  private rows: SweepRow[] = [];
  private specs = new Map<number, RunSpec>();
  private t0 = 0;
  private drawPending = false;

  constructor(
    private readonly container: HTMLElement,
    /** The app's current scenario, as JSON text, and its name. */
    private readonly scenario: () => { text: string; label: string },
  ) {
    container.replaceChildren();
    container.append(
      el(
        'p',
        { class: 'muted' },
        'The current scenario at every combination of the axes’ values, each with every seed, in a pool of Web Workers — the same sweep as rxsim sweep: the exported CSV is the file rxsim sweep --out writes.',
      ),
    );
    const form = el('div', { class: 'sweepform' });
    this.axesBox = el('div', { class: 'sweepaxes' });
    const addAxis = el('button', { class: 'secondary', 'data-testid': 'sweep-add-axis' }, '+ axis');
    addAxis.addEventListener('click', () => this.addAxis(''));
    const axesField = el('div', { class: 'field' });
    axesField.append(
      el('label', {}, 'Axes'),
      el(
        'div',
        { class: 'hint' },
        'one per field: a scenario path as --vary takes it (nics[0].coalesce.rx-usecs=90..110:2), or a command with {} as --vary-apply ("sysctl -w net.core.netdev_budget={}"=300,600)',
      ),
      this.axesBox,
      addAxis,
    );
    this.seeds = el('input', { 'data-testid': 'sweep-seeds', placeholder: "the scenario's seed", size: '14' });
    this.seedsError = el('div', { class: 'fielderror', 'data-testid': 'sweep-seeds-error' });
    const seedsField = el('div', { class: 'field' });
    seedsField.append(el('label', {}, 'Seeds'), el('div', { class: 'hint' }, 'N (seeds 1..N), or a list 1,5,9 / 1..10'), this.seeds, this.seedsError);
    this.metrics = el('input', { 'data-testid': 'sweep-metrics', placeholder: DEFAULT_METRICS.join(' '), class: 'wide' });
    this.metricsError = el('div', { class: 'fielderror', 'data-testid': 'sweep-metrics-error' });
    const metricsField = el('div', { class: 'field' });
    metricsField.append(
      el('label', {}, 'Metrics'),
      el('div', { class: 'hint' }, 'result paths, separated by spaces (* sums: packets.dropped.*); empty: the default set'),
      this.metrics,
      this.metricsError,
    );
    form.append(axesField, seedsField, metricsField);

    const controls = el('div', { class: 'controls' });
    this.runButton = el('button', { 'data-testid': 'sweep-run' }, 'Run sweep');
    this.cancelButton = el('button', { class: 'secondary', 'data-testid': 'sweep-cancel' }, 'Cancel');
    this.cancelButton.disabled = true;
    this.bar = el('progress', { max: '1', value: '0' });
    this.progress = el('span', { 'data-testid': 'sweep-progress' });
    this.exportButton = el('button', { class: 'secondary', 'data-testid': 'sweep-export' }, 'Export CSV');
    this.exportButton.disabled = true;
    controls.append(this.runButton, this.cancelButton, this.bar, this.progress, el('span', { class: 'spacer' }), this.exportButton);
    this.runButton.addEventListener('click', () => this.run());
    this.cancelButton.addEventListener('click', () => this.cancel());
    this.exportButton.addEventListener('click', () => this.exportCsv());

    this.error = el('div', { class: 'error', 'data-testid': 'sweep-error' });
    this.error.hidden = true;
    this.info = el('div', { class: 'muted sweepinfo', 'data-testid': 'sweep-info' });
    this.charts = el('div', { class: 'sweepcharts', 'data-testid': 'sweep-charts' });
    this.table = el('div', { 'data-testid': 'sweep-summary-box' });
    container.append(form, controls, this.error, this.info, this.charts, this.table);
    this.addAxis('nics[0].coalesce.rx-usecs=50..150:50');
  }

  private addAxis(text: string): HTMLInputElement {
    const row = el('div', { class: 'sweepaxis' });
    const input = el('input', { 'data-testid': 'sweep-axis', class: 'wide', placeholder: 'nics[0].coalesce.rx-usecs=90..110:2' });
    input.value = text;
    const remove = el('button', { class: 'secondary', title: 'remove this axis' }, '×');
    remove.addEventListener('click', () => row.remove());
    const err = el('div', { class: 'fielderror', 'data-testid': 'sweep-axis-error' });
    const line = el('div', { class: 'line' });
    line.append(input, remove);
    row.append(line, err);
    this.axesBox.append(row);
    return input;
  }

  private axisInputs(): HTMLInputElement[] {
    return [...this.axesBox.querySelectorAll<HTMLInputElement>('input[data-testid=sweep-axis]')];
  }

  private clearProblems(): void {
    for (const e of this.container.querySelectorAll<HTMLElement>('.fielderror')) e.textContent = '';
    for (const i of this.container.querySelectorAll('input.bad')) i.classList.remove('bad');
    this.error.hidden = true;
  }

  private showProblem(p: FormProblem): void {
    const f = p.field;
    if (typeof f === 'object') {
      const input = this.axisInputs()[f.axis]!;
      input.classList.add('bad');
      input.parentElement!.nextElementSibling!.textContent = p.message;
    } else if (f === 'seeds') {
      this.seeds.classList.add('bad');
      this.seedsError.textContent = p.message;
    } else if (f === 'metrics') {
      this.metrics.classList.add('bad');
      this.metricsError.textContent = p.message;
    } else {
      this.error.hidden = false;
      this.error.textContent = p.message;
    }
    this.progress.textContent = 'not run: fix the input';
  }

  run(): void {
    this.cancel(false);
    this.clearProblems();
    const { text, label } = this.scenario();
    const prepared = sweepFromForm({
      scenarioText: text,
      scenarioLabel: label,
      axes: this.axisInputs().map((i) => i.value),
      seeds: this.seeds.value,
      metrics: this.metrics.value.split(/[\s,]+/),
    });
    if ('problem' in prepared) {
      this.showProblem(prepared.problem);
      return;
    }
    const sweep = prepared.sweep;
    this.sweep = sweep;
    this.rows = [];
    const runs = shardRuns(sweep);
    this.specs = new Map(runs.map((r) => [r.run, r]));
    const size = Math.max(1, Math.min(MAX_WORKERS, navigator.hardwareConcurrency || 1, runs.length));
    this.t0 = performance.now();
    this.runButton.disabled = true;
    this.cancelButton.disabled = false;
    this.exportButton.disabled = true;
    this.info.textContent = `sweep ${sweep.hash.slice(0, 12)}: ${sweep.points} point${sweep.points === 1 ? '' : 's'} × ${sweep.seeds.length} seed${sweep.seeds.length === 1 ? '' : 's'} = ${sweep.runs} runs, ${size} worker${size === 1 ? '' : 's'}`;
    this.pool = new Pool(sweep, runs, size, (a) => this.onAnswer(sweep, a));
    this.showProgress();
    this.draw();
  }

  private onAnswer(sweep: Sweep, a: SweepWorkerResponse): void {
    if (sweep !== this.sweep || !this.pool) return;
    if ('error' in a) {
      const spec = this.specs.get(a.run);
      this.cancel(false);
      this.error.hidden = false;
      this.error.textContent = `${spec ? `run ${a.run} (${[pointLabel(sweep.axes, spec.valueIndex), `seed ${spec.seed}`].filter(Boolean).join(', ')})` : 'a worker'}: ${a.error}`;
      this.progress.textContent = `failed after ${this.rows.length} of ${sweep.runs} runs`;
      return;
    }
    this.rows.push(rowOf(sweep, this.specs.get(a.run)!, a));
    this.showProgress();
    if (this.rows.length === sweep.runs) {
      const workers = this.pool.size;
      this.pool.terminate();
      this.pool = null;
      this.runButton.disabled = false;
      this.cancelButton.disabled = true;
      this.exportButton.disabled = false;
      this.progress.textContent = `${sweep.runs} of ${sweep.runs} runs, done in ${((performance.now() - this.t0) / 1000).toFixed(1)} s with ${workers} worker${workers === 1 ? '' : 's'}`;
      this.draw();
      return;
    }
    this.scheduleDraw();
  }

  private showProgress(): void {
    const s = this.sweep!;
    this.bar.value = this.rows.length / s.runs;
    this.progress.textContent = `${this.rows.length} of ${s.runs} runs`;
  }

  /** Cancel terminates the workers; the runs done so far stay drawn. */
  cancel(say = true): void {
    if (!this.pool) return;
    this.pool.terminate();
    this.pool = null;
    this.runButton.disabled = false;
    this.cancelButton.disabled = true;
    if (say && this.sweep) this.progress.textContent = `cancelled after ${this.rows.length} of ${this.sweep.runs} runs`;
  }

  /** The rows in run order, as `rxsim sweep --out FILE.csv` writes them. */
  csv(): string {
    const s = this.sweep!;
    return formatRows(
      [...this.rows].sort((a, b) => a.run - b.run),
      layoutOf(s),
      'csv',
    );
  }

  private exportCsv(): void {
    const s = this.sweep;
    if (!s || this.rows.length !== s.runs) return;
    const name = typeof s.scenario.name === 'string' ? s.scenario.name : 'scenario';
    download(`${name}-sweep-${s.hash.slice(0, 12)}.csv`, this.csv());
  }

  private scheduleDraw(): void {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.draw();
    });
  }

  private draw(): void {
    const s = this.sweep;
    if (!s) return;
    const layout = layoutOf(s);
    const points = summarizeRows(layout, this.rows);
    this.drawCharts(s, layout, points);
    this.drawTable(layout, points);
  }

  private drawCharts(s: Sweep, layout: Layout, points: readonly PointSummary[]): void {
    this.charts.replaceChildren();
    if (s.axes.length === 0) {
      this.charts.append(el('p', { class: 'muted' }, 'No axis was varied: the table below has the one point.'));
      return;
    }
    const axis = s.axes[0]!;
    const numeric = axis.values.every((v) => typeof v === 'number');
    const xLabels = axis.values.map(valueLabel);
    const x = numeric
      ? d3
          .scaleLinear()
          .domain(d3.extent(axis.values as number[]) as [number, number])
          .nice()
          .range([M.left, W - M.right])
      : d3
          .scalePoint<string>()
          .domain(xLabels)
          .range([M.left, W - M.right])
          .padding(0.5);
    const xOf = (p: PointSummary): number => (numeric ? (x as d3.ScaleLinear<number, number>)(p.values[0] as number) : (x as d3.ScalePoint<string>)(p.labels[0]!)!);
    const seriesKey = (p: PointSummary): string =>
      layout.axes
        .slice(1)
        .map((a, i) => `${a}=${p.labels[i + 1]}`)
        .join(', ');
    // Every series the sweep will have, so colours do not move as points arrive.
    const allKeys: string[] = [];
    for (let p = 0; p < s.points; p++) {
      const vi = pointValueIndex(s.axes, p);
      const key = layout.axes
        .slice(1)
        .map((a, i) => `${a}=${valueLabel(s.axes[i + 1]!.values[vi[i + 1]!])}`)
        .join(', ');
      if (!allKeys.includes(key)) allKeys.push(key);
    }
    const color = d3.scaleOrdinal<string, string>(d3.schemeTableau10).domain(allKeys);
    layout.metrics.forEach((metric, m) => {
      const div = el('div', { class: 'chart' });
      div.append(el('h3', {}, metric));
      this.charts.append(div);
      const pts = points.filter((p) => p.stats[m]!.mean !== null);
      const lo = d3.min(pts, (p) => p.stats[m]!.ci95_lo ?? p.stats[m]!.mean!) ?? 0;
      const hi = d3.max(pts, (p) => p.stats[m]!.ci95_hi ?? p.stats[m]!.mean!) ?? 1;
      const pad = lo === hi ? Math.abs(lo || 1) * 0.05 : 0;
      const y = d3
        .scaleLinear()
        .domain([lo - pad, hi + pad])
        .nice()
        .range([H - M.bottom, M.top]);
      const svg = d3.select(div).append('svg').attr('width', W).attr('height', H).attr('data-testid', 'sweep-chart').attr('data-metric', metric);
      const xAxis = numeric ? d3.axisBottom(x as d3.ScaleLinear<number, number>) : d3.axisBottom(x as d3.ScalePoint<string>);
      if (numeric && axis.values.length <= 12) (xAxis as d3.Axis<d3.NumberValue>).tickValues(axis.values as number[]).tickFormat((v) => String(v));
      else if (numeric) xAxis.ticks(6);
      svg
        .append('g')
        .attr('transform', `translate(0,${H - M.bottom})`)
        .call(xAxis as d3.Axis<d3.AxisDomain>);
      svg.append('g').attr('transform', `translate(${M.left},0)`).call(d3.axisLeft(y).ticks(6));
      svg
        .append('text')
        .attr('class', 'axis-title')
        .attr('x', (M.left + W - M.right) / 2)
        .attr('y', H - 6)
        .attr('text-anchor', 'middle')
        .text(axis.name);
      for (const [key, ps] of d3.groups(pts, seriesKey)) {
        const sorted = numeric ? [...ps].sort((p, q) => (p.values[0] as number) - (q.values[0] as number)) : ps;
        const c = color(key);
        const st = (p: PointSummary) => p.stats[m]!;
        svg
          .append('path')
          .datum(sorted)
          .attr('fill', c)
          .attr('fill-opacity', 0.18)
          .attr('stroke', 'none')
          .attr(
            'd',
            d3
              .area<PointSummary>()
              .x(xOf)
              .y0((p) => y(st(p).ci95_lo ?? st(p).mean!))
              .y1((p) => y(st(p).ci95_hi ?? st(p).mean!)),
          );
        svg
          .append('path')
          .datum(sorted)
          .attr('fill', 'none')
          .attr('stroke', c)
          .attr('stroke-width', 1.5)
          .attr(
            'd',
            d3
              .line<PointSummary>()
              .x(xOf)
              .y((p) => y(st(p).mean!)),
          );
        svg
          .append('g')
          .selectAll('circle')
          .data(sorted)
          .join('circle')
          .attr('class', 'point')
          .attr('cx', xOf)
          .attr('cy', (p) => y(st(p).mean!))
          .attr('r', 3)
          .attr('fill', c)
          .append('title')
          .text((p) => `${layout.axes.map((a, i) => `${a}=${p.labels[i]}`).join(', ')}\nmean ${fmt6(st(p).mean)}, 95 % CI [${fmt6(st(p).ci95_lo)}, ${fmt6(st(p).ci95_hi)}], n ${st(p).n}`);
      }
      if (allKeys.length > 1) {
        const legend = el('div', { class: 'sweeplegend' });
        for (const key of allKeys) {
          const item = el('div');
          item.append(el('span', { style: `color:${color(key)}` }, '■ '), document.createTextNode(key));
          legend.append(item);
        }
        div.append(legend);
      }
    });
  }

  private drawTable(layout: Layout, points: readonly PointSummary[]): void {
    const { columns, rows } = summaryCells(layout, points, 6);
    const table = el('table', { class: 'counters sweepsummary', 'data-testid': 'sweep-summary' });
    const head = el('tr');
    for (const c of columns) head.append(el('th', {}, c));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    for (const r of rows) {
      const tr = el('tr');
      r.forEach((c, i) => tr.append(el('td', i <= layout.axes.length ? { class: 'name' } : {}, c)));
      table.tBodies[0]!.append(tr);
    }
    this.table.replaceChildren(el('h3', {}, 'summary: mean, sd and the 95 % confidence interval of the mean (Student t), per point and metric'), table);
  }
}
