import type { Result } from '../../src/metrics/result.ts';
import type { StepEvent, VizSeries } from '../../src/trace/viz.ts';
import { el } from './colors.ts';
import { renderPath } from './path.ts';
import { fmtTime } from './timeline.ts';

/**
 * Step mode: the first few hundred microseconds after the warm-up, replayed event by event (or
 * poll by poll) from the recorded trace. Each step names the kernel function and its file, says
 * what happens, and highlights the stage of the path it belongs to. Play/pause with a speed.
 */
export class StepView {
  private steps: StepEvent[] = [];
  private series: VizSeries[] = [];
  private result: Result | null = null;
  private i = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly list: HTMLElement;
  private readonly info: HTMLElement;
  private readonly diagram: HTMLElement;
  private readonly speed: HTMLSelectElement;
  private readonly play: HTMLButtonElement;

  private readonly from: HTMLInputElement;

  constructor(container: HTMLElement, recordAt: (fromNs: number) => void) {
    const bar = el('div', { class: 'controls' });
    const prev = el('button', { 'data-testid': 'step-prev', class: 'secondary' }, '◀ event');
    const next = el('button', { 'data-testid': 'step-next' }, 'event ▶');
    const nextPoll = el('button', { 'data-testid': 'step-next-poll' }, 'poll ▶▶');
    this.play = el('button', { 'data-testid': 'step-play', class: 'secondary' }, 'play');
    this.speed = el('select', { 'data-testid': 'step-speed' });
    for (const s of ['1', '4', '16', '64']) this.speed.add(new Option(`${s} events/s`, s));
    this.speed.value = '4';
    this.from = el('input', { type: 'number', step: '0.1', min: '0', 'data-testid': 'step-from', title: 'simulated time (ms) where the recorded steps start' });
    const record = el('button', { class: 'secondary', 'data-testid': 'step-record' }, 'record 1 ms from');
    record.addEventListener('click', () => recordAt(Number(this.from.value) * 1e6));
    bar.append(prev, next, nextPoll, this.play, this.speed, record, this.from, el('span', { class: 'muted' }, 'ms (re-runs the scenario)'));
    this.info = el('div', { class: 'stepinfo card', 'data-testid': 'step-info' });
    this.list = el('div', { class: 'steplist', 'data-testid': 'step-list' });
    this.diagram = el('div', { 'data-testid': 'step-diagram' });
    const grid = el('div', { class: 'steps' });
    grid.append(this.list, this.info);
    container.replaceChildren(bar, grid, this.diagram);
    prev.addEventListener('click', () => this.go(this.i - 1));
    next.addEventListener('click', () => this.go(this.i + 1));
    nextPoll.addEventListener('click', () => this.go(this.nextPoll()));
    this.play.addEventListener('click', () => this.toggle());
    this.speed.addEventListener('change', () => {
      if (this.timer) {
        this.toggle();
        this.toggle();
      }
    });
  }

  set(steps: StepEvent[], result: Result, series: VizSeries[], fromNs: number): void {
    this.steps = steps;
    this.from.value = String(fromNs / 1e6);
    this.series = series;
    this.result = result;
    this.list.replaceChildren(
      ...steps.map((s, i) => {
        const d = el('div', { 'data-i': String(i) }, `${fmtTime(s.t).padStart(10)} [${String(s.cpu).padStart(3, '0')}] ${s.task}: ${s.line}`);
        d.addEventListener('click', () => this.go(i));
        return d;
      }),
    );
    this.go(0);
  }

  private nextPoll(): number {
    for (let j = this.i + 1; j < this.steps.length; j++) if (this.steps[j]!.tracepoint === 'napi:napi_poll') return j;
    return this.steps.length - 1;
  }

  private toggle(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.play.textContent = 'play';
      return;
    }
    this.play.textContent = 'pause';
    this.timer = setInterval(
      () => {
        if (this.i >= this.steps.length - 1) this.toggle();
        else this.go(this.i + 1);
      },
      1000 / Number(this.speed.value),
    );
  }

  go(i: number): void {
    if (this.steps.length === 0) {
      this.info.textContent = 'no events recorded';
      return;
    }
    this.i = Math.max(0, Math.min(this.steps.length - 1, i));
    const s = this.steps[this.i]!;
    for (const c of this.list.querySelectorAll('.current')) c.classList.remove('current');
    const row = this.list.children[this.i] as HTMLElement | undefined;
    row?.classList.add('current');
    row?.scrollIntoView({ block: 'nearest' });
    this.info.replaceChildren(
      el('div', { class: 'label' }, `step ${this.i + 1} of ${this.steps.length} · ${fmtTime(s.t)} · CPU ${s.cpu} · running ${s.task}`),
      el('div', { class: 'fn', 'data-testid': 'step-fn' }, `${s.fn}()`),
      el('div', { class: 'file', 'data-testid': 'step-file' }, s.file),
      el('p', {}, s.what),
      el('div', { class: 'muted' }, s.tracepoint ? `tracepoint ${s.tracepoint}` : ''),
      el('pre', {}, s.line),
      this.queuesAt(s),
    );
    if (this.result) renderPath(this.diagram, this.result, { highlight: s.stage });
  }

  /**
   * The queues at this step's time; those the step works on are marked: the rings for a driver
   * poll or interrupt, this CPU's backlog for RPS and process_backlog, the sockets for the stack
   * and the scheduler (a reader woken or switched to).
   */
  private queuesAt(s: StepEvent): HTMLElement {
    const involved = (q: VizSeries): boolean =>
      s.queues.includes(q.name) ||
      (q.kind === 'backlog' && q.name === `backlog/${s.cpu}` && (s.stage === 'backlog' || s.stage === 'rps')) ||
      (q.kind === 'socket' && (s.stage === 'stack' || s.stage === 'sched'));
    const t = el('table', { class: 'counters', 'data-testid': 'step-queues' });
    t.append(el('tr'));
    t.firstChild!.appendChild(el('th', {}, 'queue now'));
    t.firstChild!.appendChild(el('th', {}, 'length'));
    for (const q of this.series) {
      const v = valueAt(q, s.t);
      if (v === 0 && !involved(q)) continue;
      const tr = el('tr', involved(q) ? { class: 'involved' } : {});
      tr.append(el('td', { class: 'name' }, q.name), el('td', {}, `${v} / ${q.limit} ${q.unit}`));
      t.append(tr);
    }
    return t;
  }

  stop(): void {
    if (this.timer) this.toggle();
  }
}

/** A series' value at time t: the last sample at or before it (0 before the first). */
function valueAt(q: VizSeries, t: number): number {
  let lo = 0;
  let hi = q.t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (q.t[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : q.v[lo - 1]!;
}
