import type { Result } from '../src/metrics/result.ts';
import type { VizData } from '../src/trace/viz.ts';
import { decodeScenario, download, encodeScenario, showSource } from './scenario-io.ts';
import { chooseScenario } from './scenario-choice.ts';
import { History, type ScenarioObject } from './state.ts';
import { el, fmt } from './views/colors.ts';
import { renderCounters } from './views/counters.ts';
import { ExplainView } from './views/explain.ts';
import { cursor, focus } from './cursor.ts';
import { LessonPanel } from './views/lesson.ts';
import { Presenter } from './views/presenter.ts';
import { renderLatency } from './views/latency.ts';
import { clearNotices, showNotice } from './views/notice.ts';
import { renderPath } from './views/path.ts';
import { renderQueues } from './views/queues.ts';
import { ReplayView } from './views/replay.ts';
import { StepView } from './views/step.ts';
import { markStale } from './views/stale.ts';
import { SweepView } from './views/sweep.ts';
import { Timeline } from './views/timeline.ts';
import { TuningView } from './views/tuning.ts';
import type { EventChoice } from '../src/lesson/schema.ts';
import type { WorkerRequest, WorkerResponse } from './worker.ts';

/** Every scenario shipped in sim-scenarios/, as text (the same files `rxsim check` runs). */
const scenarios = import.meta.glob<string>('../sim-scenarios/*.json', { query: '?raw', import: 'default', eager: true });
const names = Object.keys(scenarios)
  .map((p) => p.replace(/^.*\//, '').replace(/\.json$/, ''))
  .sort();
/** Opens on the seed lab: iperf3 sharing the interrupt core with softirq and ksoftirqd. */
const DEFAULT = 'seed-lab-iperf3-on-irq-core';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const select = $<HTMLSelectElement>('scenario');
const seedInput = $<HTMLInputElement>('seed');
const runButton = $<HTMLButtonElement>('run');
const cancelButton = $<HTMLButtonElement>('cancel');
const progress = $<HTMLProgressElement>('progress');
const status = $('status');
const errorBox = $('error');
const source = $('scenario-source');

const textOf = (name: string): string => scenarios[`../sim-scenarios/${name}.json`]!;

const timeline = new Timeline($<HTMLCanvasElement>('timeline-canvas'), $('timeline-range'), $('timeline-legend'));
const step = new StepView($('view-step'), (fromNs) => run(fromNs));
const replay = new ReplayView($('replay'), $('view-path'), (flow, afterNs) => worker.postMessage({ id: nextId++, type: 'follow', flow, afterNs } satisfies WorkerRequest));
/** Raw text to run instead of the history's object: an import that does not parse as JSON. */
let rawText: string | null = null;
const history = new History({}, (s) => {
  rawText = null;
  seedInput.value = String(typeof s.seed === 'number' ? s.seed : 1);
  tuning?.refresh();
});
seedInput.addEventListener('change', () => {
  const seed = Number(seedInput.value);
  if (seedInput.value !== '' && Number.isInteger(seed) && seed >= 0) history.edit((d) => void (d.seed = seed));
});
const tuning: TuningView = new TuningView($('view-tuning'), history, () => run());
/** The Sweep tab sweeps the current scenario (as edited), under its name. */
const sweep = new SweepView($('view-sweep'), () => ({ text: currentText(), label: typeof history.current.name === 'string' ? history.current.name : 'scenario' }));

/** For the browser tests and for the curious: the last run and how long the views took. */
/** The Explain tab explains each run of the scenario text that produced it. */
const explainView = new ExplainView($('view-explain'));
let ranText = '';
const debug = { result: null as Result | null, viz: null as VizData | null, renderMs: 0, runs: 0, timeline, sweep, explain: explainView, cursor };
(window as unknown as { rxsim: typeof debug }).rxsim = debug;

function load(text: string, label: string): void {
  errorBox.hidden = true;
  source.hidden = true;
  try {
    const obj = JSON.parse(text) as ScenarioObject;
    history.reset(obj);
    $('description').textContent = typeof obj.narrative === 'string' ? obj.narrative : typeof obj.description === 'string' ? obj.description : '';
    seedInput.value = String(typeof obj.seed === 'number' ? obj.seed : 1);
  } catch {
    rawText = text; // the worker reports where the JSON breaks
  }
  status.textContent = label;
}

function currentText(): string {
  return rawText ?? JSON.stringify(history.current, null, 2);
}

// ---- running ----

let worker: Worker;
let nextId = 1;
let pending = 0;

function startWorker(): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (e: MessageEvent<WorkerResponse>) => onMessage(e.data);
}

function run(stepFromNs?: number, seekEvent?: EventChoice): number {
  const id = nextId++;
  pending = id;
  runButton.disabled = true;
  cancelButton.disabled = false;
  progress.value = 0;
  status.textContent = 'running…';
  errorBox.hidden = true;
  source.hidden = true;
  // The seed is part of the scenario (the seed field edits it), so a share or an export carries it.
  ranText = currentText();
  const request: WorkerRequest = { id, type: 'run', text: ranText, ...(stepFromNs === undefined ? {} : { stepFromNs }), ...(seekEvent ? { seekEvent } : {}) };
  worker.postMessage(request);
  return id;
}

function cancel(): void {
  worker.terminate();
  startWorker();
  pending = 0;
  runButton.disabled = false;
  cancelButton.disabled = true;
  status.textContent = 'cancelled';
  settleLesson(null);
}

function onMessage(m: WorkerResponse): void {
  if (m.type === 'trace') {
    download(m.name, m.text);
    return;
  }
  if (m.type === 'follow') {
    replay.showFollowed(m.followed);
    return;
  }
  if (m.id !== pending) return;
  if (m.type === 'progress') {
    progress.value = m.done / m.total;
    status.textContent = `running… ${(m.done / 1e6).toFixed(1)} of ${(m.total / 1e6).toFixed(0)} ms simulated`;
    return;
  }
  runButton.disabled = false;
  cancelButton.disabled = true;
  if (m.type === 'error') {
    status.textContent = 'the scenario is not valid';
    // The views still show the last valid run: say so rather than pass them off as this one.
    $('digest').textContent = '–';
    $('summary').innerHTML = '<div class="card"><div class="label">not run</div><div class="value">fix the scenario</div></div>';
    markStale(
      resultViews(),
      debug.result ? `stale: these are the numbers of the last run that worked (${debug.result.scenario}, seed ${debug.result.seed}), not of this scenario` : 'not run: fix the scenario',
    );
    errorBox.hidden = false;
    errorBox.textContent = m.error;
    showSource(source, currentText(), m.where, m.problem);
    settleLesson(null);
    return;
  }
  progress.value = 1;
  const t0 = performance.now();
  show(m.result, m.report, m.viz, m.stepFromNs);
  debug.renderMs = performance.now() - t0;
  debug.runs++;
  status.textContent = `done: ${fmt(m.result.sim.events)} events in ${m.result.sim.wall_ms.toFixed(0)} ms; views drawn in ${debug.renderMs.toFixed(0)} ms`;
  $('traceinfo').textContent = `trace: ${fmt(m.viz.recorded)} events${m.viz.overwritten ? `, oldest ${fmt(m.viz.overwritten)} overwritten` : ''}`;
  if (lessonRun?.id === m.id) settleLesson({ eventNs: m.eventNs });
}

// ---- lessons and presenter mode ----

/** The run a lesson step waits for. */
let lessonRun: { id: number; resolve: (r: { eventNs: number | null } | null) => void } | null = null;
function settleLesson(r: { eventNs: number | null } | null): void {
  lessonRun?.resolve(r);
  lessonRun = null;
}
const tabButtons = (): HTMLButtonElement[] => [...document.querySelectorAll<HTMLButtonElement>('#tabs button')];
const showView = (view: string): void =>
  tabButtons()
    .find((b) => b.dataset.view === view)
    ?.click();
const lessons = new LessonPanel(
  $('lesson'),
  {
    run: (text, label, scenarioName, seekEvent, stepFromNs) =>
      new Promise((resolve) => {
        settleLesson(null);
        load(text, label);
        select.value = scenarioName ?? '';
        lessonRun = { id: run(stepFromNs, seekEvent), resolve };
      }),
    showView,
  },
  (name) => (names.includes(name) ? textOf(name) : undefined),
  names,
  $<HTMLSelectElement>('lesson-select'),
);
const presenter = new Presenter($<HTMLButtonElement>('presenter'), lessons, {
  views: () => tabButtons().map((b) => b.dataset.view!),
  current: () => tabButtons().find((b) => b.classList.contains('active'))?.dataset.view ?? 'path',
  showView,
});
Object.assign(debug, { lessons, presenter, cursor, focus });
// Choosing or importing another scenario leaves the lesson.
select.addEventListener('change', () => void lessons.open(''));
$('import').addEventListener('change', () => void lessons.open(''));

function card(label: string, value: string): string {
  return `<div class="card"><div class="label">${label}</div><div class="value">${value}</div></div>`;
}

/** The views that draw a run's result (not the editors: tuning, sweep). */
const resultViews = () => [...document.querySelectorAll<HTMLElement>('.view')].filter((v) => v.id !== 'view-tuning' && v.id !== 'view-sweep');

function show(r: Result, report: string, viz: VizData, stepFromNs: number): void {
  markStale(resultViews(), null);
  debug.result = r;
  debug.viz = viz;
  const dropped = Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
  const goodput = r.flows.reduce((a, f) => a + f.goodput_gbps, 0);
  $('summary').innerHTML = [
    card('delivered', `${r.throughput.delivered_gbps.toFixed(3)} Gbit/s`),
    card('goodput (all flows)', `${goodput.toFixed(3)} Gbit/s`),
    card('delivered', `${(r.throughput.delivered_pps / 1e6).toFixed(3)} Mpps`),
    card('dropped (window cohort)', fmt(dropped)),
    card('latency p50 / p99', r.latency_us.p50 === null ? '–' : `${r.latency_us.p50.toFixed(1)} / ${r.latency_us.p99!.toFixed(1)} µs`),
    card('device interrupts/s', fmt(r.interrupts.per_sec)),
    card('ksoftirqd (busiest CPU)', `${Math.max(...r.cpus.map((c) => c.ksoftirqd)).toFixed(1)} %`),
  ].join('');
  $('digest').textContent = r.digest;
  $('report').textContent = report;
  renderPath($('view-path'), r, { live: viz });
  replay.set(viz, r);
  timeline.set(viz);
  renderQueues($('view-queues'), viz);
  renderLatency($('view-latency'), r, viz);
  renderCounters($('view-counters'), r);
  step.set(viz.steps, r, viz.series, stepFromNs);
  tuning.setResult(r);
  explainView.set(r, ranText, typeof history.current.name === 'string' ? history.current.name : 'scenario', viz);
}

// ---- tabs ----

for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button')) {
  b.addEventListener('click', () => {
    for (const o of document.querySelectorAll('#tabs button')) o.classList.toggle('active', o === b);
    for (const v of document.querySelectorAll('.view')) v.classList.toggle('active', v.id === `view-${b.dataset.view}`);
    if (b.dataset.view === 'timeline') timeline.resize();
    if (b.dataset.view !== 'step') step.stop();
  });
}
window.addEventListener('resize', () => timeline.resize());
for (const format of ['perfetto', 'ftrace'] as const) {
  $(`trace-${format}`).addEventListener('click', () => worker.postMessage({ id: nextId++, type: 'trace', format } satisfies WorkerRequest));
}

// ---- scenario choice, import, export, share ----

for (const name of names) select.add(new Option(name, name));
select.addEventListener('change', () => {
  clearNotices();
  load(textOf(select.value), '');
  run();
});
runButton.addEventListener('click', () => run());
cancelButton.addEventListener('click', cancel);

$<HTMLInputElement>('import').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (!f) return;
  void f.text().then((text) => {
    clearNotices();
    load(text, `imported ${f.name}`);
    select.value = '';
    run();
  });
});

$('export').addEventListener('click', () => {
  const name = typeof history.current.name === 'string' ? history.current.name : 'scenario';
  download(`${name}.json`, currentText() + '\n');
});

$('share').addEventListener('click', () => void share());

async function share(): Promise<void> {
  let url: string;
  try {
    url = `${location.origin}${location.pathname}#${await encodeScenario(currentText())}`;
  } catch {
    status.textContent = 'fix the scenario (it is not valid JSON) before sharing it';
    return;
  }
  window.history.replaceState(null, '', url);
  void navigator.clipboard?.writeText(url).catch(() => {});
  status.replaceChildren(el('span', { 'data-testid': 'share-url' }, url.length > 80 ? `${url.slice(0, 80)}… (copied)` : url));
  status.setAttribute('data-url', url);
}

// ---- start ----

startWorker();
const hash = new URLSearchParams(location.hash.slice(1));
const query = new URLSearchParams(location.search);
if (query.has('present')) presenter.toggle(true);
if (query.has('lesson')) {
  // ?lesson=NAME[&step=N] (N from 1) opens a lesson at a step; its scenario replaces the default.
  void lessons.open(query.get('lesson')!, Math.max(0, Number(query.get('step') ?? 1) - 1 || 0));
} else if (hash.has('s') || hash.has('z')) {
  let text: string | null = null;
  try {
    text = await decodeScenario(hash);
  } catch {
    // A link cut short or mangled: say so, and open the default scenario so the page is usable.
    showNotice(errorBox, `the shared URL does not hold a valid scenario (its #${hash.has('z') ? 'z' : 's'}= part does not decode); showing ${DEFAULT} instead`);
  }
  if (text) {
    load(text, 'restored from the URL');
    select.value = names.includes(String(history.current.name)) ? String(history.current.name) : '';
  } else {
    select.value = DEFAULT;
    load(textOf(DEFAULT), '');
  }
  run();
} else {
  const choice = chooseScenario(query.get('scenario'), names, DEFAULT);
  if (choice.error) showNotice(errorBox, choice.error);
  select.value = choice.name;
  load(textOf(select.value), '');
  run();
}
