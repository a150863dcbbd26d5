import type { Result } from '../src/metrics/result.ts';
import type { VizData } from '../src/trace/viz.ts';
import { decodeScenario, download, encodeScenario, showSource } from './scenario-io.ts';
import { cursor } from './cursor.ts';
import { History, type ScenarioObject } from './state.ts';
import { el, fmt } from './views/colors.ts';
import { renderCounters } from './views/counters.ts';
import { renderLatency } from './views/latency.ts';
import { renderPath } from './views/path.ts';
import { renderQueues } from './views/queues.ts';
import { ReplayView } from './views/replay.ts';
import { StepView } from './views/step.ts';
import { SweepView } from './views/sweep.ts';
import { Timeline } from './views/timeline.ts';
import { TuningView } from './views/tuning.ts';
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
const debug = { result: null as Result | null, viz: null as VizData | null, renderMs: 0, runs: 0, timeline, sweep, cursor };
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

function run(stepFromNs?: number): void {
  const id = nextId++;
  pending = id;
  runButton.disabled = true;
  cancelButton.disabled = false;
  progress.value = 0;
  status.textContent = 'running…';
  errorBox.hidden = true;
  source.hidden = true;
  // The seed is part of the scenario (the seed field edits it), so a share or an export carries it.
  const request: WorkerRequest = { id, type: 'run', text: currentText(), ...(stepFromNs === undefined ? {} : { stepFromNs }) };
  worker.postMessage(request);
}

function cancel(): void {
  worker.terminate();
  startWorker();
  pending = 0;
  runButton.disabled = false;
  cancelButton.disabled = true;
  status.textContent = 'cancelled';
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
    errorBox.hidden = false;
    errorBox.textContent = m.error;
    showSource(source, currentText(), m.where, m.problem);
    return;
  }
  progress.value = 1;
  const t0 = performance.now();
  show(m.result, m.report, m.viz, m.stepFromNs);
  debug.renderMs = performance.now() - t0;
  debug.runs++;
  status.textContent = `done: ${fmt(m.result.sim.events)} events in ${m.result.sim.wall_ms.toFixed(0)} ms; views drawn in ${debug.renderMs.toFixed(0)} ms`;
  $('traceinfo').textContent = `trace: ${fmt(m.viz.recorded)} events${m.viz.overwritten ? `, oldest ${fmt(m.viz.overwritten)} overwritten` : ''}`;
}

function card(label: string, value: string): string {
  return `<div class="card"><div class="label">${label}</div><div class="value">${value}</div></div>`;
}

function show(r: Result, report: string, viz: VizData, stepFromNs: number): void {
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
  load(textOf(select.value), '');
  run();
});
runButton.addEventListener('click', () => run());
cancelButton.addEventListener('click', cancel);

$<HTMLInputElement>('import').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (!f) return;
  void f.text().then((text) => {
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
if (hash.has('s') || hash.has('z')) {
  let text: string | null = null;
  try {
    text = await decodeScenario(hash);
  } catch {
    errorBox.hidden = false;
    errorBox.textContent = 'the shared URL does not hold a valid scenario';
  }
  if (text) {
    load(text, 'restored from the URL');
    select.value = names.includes(String(history.current.name)) ? String(history.current.name) : '';
    run();
  }
} else {
  const name = query.get('scenario') ?? DEFAULT;
  select.value = names.includes(name) ? name : names[0]!;
  load(textOf(select.value), '');
  run();
}
