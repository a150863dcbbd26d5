import type { Result } from '../src/metrics/result.ts';
import type { WorkerRequest, WorkerResponse } from './worker.ts';

/** Every scenario shipped in sim-scenarios/, as text (the same files `rxsim check` runs). */
const scenarios = import.meta.glob('../sim-scenarios/*.json', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const names = Object.keys(scenarios)
  .map((p) => p.replace(/^.*\//, '').replace(/\.json$/, ''))
  .sort();
const DEFAULT = 'ksoftirqd-vs-hog';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const select = $<HTMLSelectElement>('scenario');
const seed = $<HTMLInputElement>('seed');
const button = $<HTMLButtonElement>('run');
const status = $('status');

for (const name of names) select.add(new Option(name, name));
select.value = new URLSearchParams(location.search).get('scenario') ?? (names.includes(DEFAULT) ? DEFAULT : names[0]!);

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;

function textOf(name: string): string {
  return scenarios[`../sim-scenarios/${name}.json`]!;
}

function showDescription(name: string): void {
  const s = JSON.parse(textOf(name)) as { description?: string; narrative?: string };
  $('description').textContent = s.narrative ?? s.description ?? '';
}

function card(label: string, value: string): string {
  return `<div class="card"><div class="label">${label}</div><div class="value">${value}</div></div>`;
}

function showResult(r: Result, report: string): void {
  const mpps = (r.throughput.delivered_pps / 1e6).toFixed(3);
  const dropped = Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
  $('summary').innerHTML = [
    card('delivered', `${r.throughput.delivered_gbps.toFixed(3)} Gbit/s`),
    card('delivered', `${mpps} Mpps`),
    card('dropped (window cohort)', dropped.toLocaleString('en')),
    card('latency p50 / p99', r.latency_us.p50 === null ? '–' : `${r.latency_us.p50.toFixed(1)} / ${r.latency_us.p99!.toFixed(1)} µs`),
    card('device interrupts/s', r.interrupts.per_sec.toLocaleString('en')),
    card('ksoftirqd (busiest CPU)', `${Math.max(...r.cpus.map((c) => c.ksoftirqd)).toFixed(1)} %`),
  ].join('');
  $('digest').textContent = r.digest;
  $('report').textContent = report;
}

function run(): void {
  const id = nextId++;
  button.disabled = true;
  status.textContent = 'running…';
  const request: WorkerRequest = { id, text: textOf(select.value), seed: seed.value === '' ? undefined : Number(seed.value) };
  worker.postMessage(request);
}

worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
  button.disabled = false;
  const m = e.data;
  if (!m.ok) {
    status.textContent = m.error;
    return;
  }
  status.textContent = `done in ${m.result.sim.wall_ms.toFixed(0)} ms`;
  showResult(m.result, m.report);
};

select.addEventListener('change', () => {
  showDescription(select.value);
  const s = JSON.parse(textOf(select.value)) as { seed?: number };
  seed.value = String(s.seed ?? 1);
  run();
});
button.addEventListener('click', run);
showDescription(select.value);
seed.value = String((JSON.parse(textOf(select.value)) as { seed?: number }).seed ?? 1);
run();
