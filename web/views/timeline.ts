import * as d3 from 'd3';
import { SPAN_CLASSES, type VizData } from '../../src/trace/viz.ts';
import { cursor } from '../cursor.ts';
import { SPAN_COLOURS } from './colors.ts';
import { timeTicks } from './time-ticks.ts';

/**
 * The CPU timeline: per CPU, hardirq / softirq / ksoftirqd / app / idle as coloured spans over
 * time, on a canvas (a 100 ms run has ~10^5 spans). d3.zoom rescales the time axis; spans are
 * found by binary search per CPU, and spans narrower than a pixel are merged into the pixel's
 * busiest colour so the picture stays true at every zoom.
 */
export class Timeline {
  private viz: VizData | null = null;
  /** Per CPU: indices into viz.spans, in time order. */
  private byCpu: Int32Array[] = [];
  private x = d3.scaleLinear();
  private x0 = d3.scaleLinear();
  private readonly zoom: d3.ZoomBehavior<HTMLCanvasElement, unknown>;
  private frameTimes: number[] = [];
  /** How long each of the last draws took (ms): the frame rate the canvas could reach. */
  private drawTimes: number[] = [];
  private rowH = 40;
  /** The time axis's labels as last drawn (for the browser tests: the canvas has no text nodes). */
  tickLabels: string[] = [];
  private readonly tip: HTMLElement;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly rangeLabel: HTMLElement,
    legend: HTMLElement,
  ) {
    legend.replaceChildren(
      ...SPAN_CLASSES.map((c) => {
        const s = document.createElement('span');
        s.style.setProperty('--c', SPAN_COLOURS[c]);
        s.textContent = c;
        return s;
      }),
    );
    this.zoom = d3
      .zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1, 1e6])
      .on('zoom', (e: d3.D3ZoomEvent<HTMLCanvasElement, unknown>) => {
        this.x = e.transform.rescaleX(this.x0);
        this.draw();
      });
    d3.select(canvas)
      .call(this.zoom)
      .on('dblclick.zoom', () => d3.select(canvas).call(this.zoom.transform, d3.zoomIdentity));
    this.tip = document.createElement('div');
    this.tip.className = 'tooltip';
    this.tip.setAttribute('data-testid', 'timeline-tooltip');
    this.tip.hidden = true;
    canvas.parentElement!.append(this.tip);
    canvas.addEventListener('mousemove', (e) => this.hover(e));
    // The shared time cursor: drawn as a line; a click (not a drag: d3.zoom swallows those) seeks.
    canvas.addEventListener('click', (e) => this.viz && cursor.seek(this.x.invert(e.clientX - canvas.getBoundingClientRect().left), 'timeline'));
    cursor.subscribe(() => {
      if (this.canvas.offsetParent !== null) this.draw(); // hidden: the tab's resize() draws it when shown
    });
    canvas.addEventListener('mouseleave', () => (this.tip.hidden = true));
  }

  /** The span under the pointer: CPU, what ran (task), from, to, length. */
  private hover(e: MouseEvent): void {
    const viz = this.viz;
    if (!viz) return;
    const r = this.canvas.getBoundingClientRect();
    const px = e.clientX - r.left;
    const cpu = Math.floor((e.clientY - r.top - 4) / this.rowH);
    const t = this.x.invert(px);
    const i = cpu >= 0 && cpu < viz.cpus ? this.spanAt(cpu, t) : -1;
    if (i < 0) {
      this.tip.hidden = true;
      return;
    }
    const s = viz.spans;
    const pid = s.pid[i]!;
    const task = pid < 0 ? `swapper/${cpu}` : (viz.tasks.find((x) => x.pid === pid)?.comm ?? `pid ${pid}`);
    this.tip.textContent = `CPU ${cpu} · ${SPAN_CLASSES[s.cls[i]!]} · ${task} · ${fmtTime(s.start[i]!)} – ${fmtTime(s.start[i]! + s.dur[i]!)} (${fmtTime(s.dur[i]!)})`;
    this.tip.style.left = `${this.canvas.offsetLeft + px + 12}px`;
    this.tip.style.top = `${this.canvas.offsetTop + e.clientY - r.top + 12}px`;
    this.tip.hidden = false;
  }

  /** Index of the span of `cpu` containing time t, or -1. */
  spanAt(cpu: number, t: number): number {
    const i = this.byCpu[cpu]![this.firstEndingAfter(cpu, t)];
    return i !== undefined && this.viz!.spans.start[i]! <= t ? i : -1;
  }

  /** Position in byCpu[cpu] of the first span that ends after t (binary search). */
  private firstEndingAfter(cpu: number, t: number): number {
    const s = this.viz!.spans;
    const idx = this.byCpu[cpu]!;
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const i = idx[mid]!;
      if (s.start[i]! + s.dur[i]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(viz: VizData): void {
    this.viz = viz;
    const per: number[][] = Array.from({ length: viz.cpus }, () => []);
    for (let i = 0; i < viz.spans.cpu.length; i++) per[viz.spans.cpu[i]!]!.push(i);
    this.byCpu = per.map((a) => Int32Array.from(a));
    this.canvas.style.height = `${Math.max(140, Math.min(560, viz.cpus * 44 + 34))}px`;
    // A new run starts unzoomed: forget the old run's span before resizing to it.
    this.x = d3.scaleLinear().domain([viz.fromNs, viz.toNs]);
    this.resize();
    d3.select(this.canvas).call(this.zoom.transform, d3.zoomIdentity);
  }

  /**
   * The canvas changed size (window resize, tab shown): redraw at the new width showing the same
   * span of time as before, so a zoomed-in view stays zoomed in.
   */
  resize(): void {
    const shown = this.viz ? (this.x.domain() as [number, number]) : null;
    const w = this.canvas.clientWidth || 1000;
    const h = this.canvas.clientHeight || 360;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    if (!this.viz) return;
    this.x0 = d3
      .scaleLinear()
      .domain([this.viz.fromNs, this.viz.toNs])
      .range([70, w - 10]);
    this.x = this.x0.copy();
    const [d0, d1] = shown ?? [this.viz.fromNs, this.viz.toNs];
    if (shown && d1 > d0 && (d0 !== this.viz.fromNs || d1 !== this.viz.toNs)) {
      // The zoom transform that maps the new full-width scale onto the span shown before.
      const k = (this.x0(this.viz.toNs) - this.x0(this.viz.fromNs)) / (this.x0(d1) - this.x0(d0));
      const tx = this.x0.range()[0]! - k * this.x0(d0);
      d3.select(this.canvas).call(this.zoom.transform, d3.zoomIdentity.translate(tx, 0).scale(k));
      return;
    }
    this.draw();
  }

  /** Frames per second over the last draws (measured, printed by the browser test). */
  fps(): number {
    const t = this.frameTimes;
    if (t.length < 2) return 0;
    return ((t.length - 1) * 1000) / (t[t.length - 1]! - t[0]!);
  }

  resetFps(): void {
    this.frameTimes = [];
    this.drawTimes = [];
  }

  /** Mean time of the recent draws, ms. */
  drawMs(): number {
    return this.drawTimes.length ? this.drawTimes.reduce((a, b) => a + b, 0) / this.drawTimes.length : 0;
  }

  draw(): void {
    const viz = this.viz;
    if (!viz) return;
    const started = performance.now();
    const ctx = this.canvas.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.width / dpr;
    const h = this.canvas.height / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const rowH = Math.max(8, Math.min(44, (h - 30) / viz.cpus));
    this.rowH = rowH;
    const [t0, t1] = this.x.domain() as [number, number];
    const s = viz.spans;
    const colours = SPAN_CLASSES.map((c) => SPAN_COLOURS[c]);
    const px0 = this.x.range()[0]!;
    const px1 = this.x.range()[1]!;
    for (let cpu = 0; cpu < viz.cpus; cpu++) {
      const y = 4 + cpu * rowH;
      ctx.fillStyle = '#1d2330';
      ctx.font = '11px system-ui';
      ctx.fillText(`CPU ${cpu}`, 6, y + rowH / 2 + 4);
      ctx.fillStyle = colours[0]!;
      ctx.fillRect(px0, y, px1 - px0, rowH - 2);
      const idx = this.byCpu[cpu]!;
      const lo = this.firstEndingAfter(cpu, t0);
      // Sub-pixel spans: per pixel column, the class with the most time wins.
      let col = -1;
      const acc = new Float64Array(SPAN_CLASSES.length);
      const flush = () => {
        if (col < 0) return;
        let best = 0;
        for (let c = 1; c < acc.length; c++) if (acc[c]! > acc[best]!) best = c;
        if (best !== 0) {
          ctx.fillStyle = colours[best]!;
          ctx.fillRect(col, y, 1, rowH - 2);
        }
        acc.fill(0);
      };
      for (let k = lo; k < idx.length; k++) {
        const i = idx[k]!;
        const st = s.start[i]!;
        if (st >= t1) break;
        const cls = s.cls[i]!;
        const xa = Math.max(px0, this.x(st));
        const xb = Math.min(px1, this.x(st + s.dur[i]!));
        if (xb - xa >= 1) {
          flush();
          col = -1;
          if (cls !== 0) {
            ctx.fillStyle = colours[cls]!;
            ctx.fillRect(xa, y, xb - xa, rowH - 2);
          }
        } else {
          const c = Math.floor(xa);
          if (c !== col) {
            flush();
            col = c;
          }
          acc[cls]! += s.dur[i]!;
        }
      }
      flush();
    }
    // Time axis.
    const axisY = 4 + viz.cpus * rowH + 4;
    ctx.fillStyle = '#5b6475';
    ctx.strokeStyle = '#c9cfdb';
    const ticks = timeTicks(t0, t1, 8);
    this.tickLabels = ticks.map((t) => t.label);
    for (const tick of ticks) {
      const px = this.x(tick.ns);
      ctx.beginPath();
      ctx.moveTo(px, axisY - 4);
      ctx.lineTo(px, axisY);
      ctx.stroke();
      ctx.fillText(tick.label, px - 18, axisY + 12);
    }
    const cx = this.x(cursor.value);
    if (cx >= px0 && cx <= px1) {
      ctx.strokeStyle = '#1d2330';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(cx, 0);
      ctx.lineTo(cx, axisY);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    this.rangeLabel.textContent = `showing ${fmtTime(t0)} – ${fmtTime(t1)} (${fmtTime(t1 - t0)})`;
    const now = performance.now();
    this.frameTimes.push(now);
    this.drawTimes.push(now - started);
    if (this.frameTimes.length > 120) this.frameTimes.shift();
    if (this.drawTimes.length > 120) this.drawTimes.shift();
  }
}

export function fmtTime(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 1e6) return `${(ns / 1e6).toFixed(a >= 1e7 ? 1 : 3)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}
