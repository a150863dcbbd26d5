import type { Result } from '../../src/metrics/result.ts';
import { assignPath } from '../../src/scenario/load.ts';
import type { History, ScenarioObject } from '../state.ts';
import { el, fmt } from './colors.ts';

/**
 * Tuning: the scenario's knobs under their Linux names, a box that takes the same commands as
 * `apply` (they are appended to the scenario's apply list), undo/redo (immer history), and
 * Compare: pin a run as A, change something, run B, and see both side by side.
 */
type Get = (s: ScenarioObject) => unknown;
type Set = (s: ScenarioObject, v: unknown) => void;
interface Knob {
  label: string;
  kind: 'number' | 'text' | string[];
  get: Get;
  set: Set;
}

const obj = (o: unknown): Record<string, unknown> => (o && typeof o === 'object' ? (o as Record<string, unknown>) : {});
function path(s: ScenarioObject, keys: (string | number)[]): unknown {
  let o: unknown = s;
  for (const k of keys) o = obj(o)[k];
  return o;
}
const at = (keys: (string | number)[], label: string, kind: Knob['kind']): Knob => ({ label, kind, get: (s) => path(s, keys), set: (s, v) => assignPath(s, keys, v === '' ? undefined : v, label) });

function knobs(s: ScenarioObject): Knob[] {
  const nic = String(path(s, ['nics', 0, 'name']) ?? 'eth0');
  const out: Knob[] = [
    at(['nics', 0, 'coalesce', 'rx-usecs'], `ethtool -C ${nic} rx-usecs`, 'number'),
    at(['nics', 0, 'ring', 'rx'], `ethtool -G ${nic} rx`, 'number'),
    at(['nics', 0, 'channels', 'combined'], `ethtool -L ${nic} combined`, 'number'),
    at(['nics', 0, 'features', 'gro'], `ethtool -K ${nic} gro`, ['', 'on', 'off']),
    at(['nics', 0, 'queues', 'rx-0', 'rps_cpus'], `${nic}/queues/rx-0/rps_cpus`, 'text'),
    at(['nics', 0, 'napi_defer_hard_irqs'], `${nic}/napi_defer_hard_irqs`, 'number'),
    at(['nics', 0, 'gro_flush_timeout'], `${nic}/gro_flush_timeout`, 'number'),
    at(['nics', 0, 'threaded'], `${nic}/threaded`, ['', '0', '1']),
    at(['sysctl', 'net.core.netdev_budget'], 'net.core.netdev_budget', 'number'),
    at(['sysctl', 'net.core.netdev_budget_usecs'], 'net.core.netdev_budget_usecs', 'number'),
    at(['sysctl', 'net.core.netdev_max_backlog'], 'net.core.netdev_max_backlog', 'number'),
    at(['sysctl', 'net.core.dev_weight'], 'net.core.dev_weight', 'number'),
    at(['kernel', 'softirq_mode'], 'kernel.softirq_mode', ['', 'inline', 'defer-to-ksoftirqd']),
    at(['kernel', 'sched'], 'kernel.sched', ['', 'eevdf', 'cfs']),
    at(['kernel', 'hz'], 'CONFIG_HZ', ['', '100', '250', '300', '1000']),
    at(['kernel', 'irq_time_accounting'], 'CONFIG_IRQ_TIME_ACCOUNTING', ['', 'true', 'false']),
  ];
  const apps = path(s, ['apps']);
  if (Array.isArray(apps)) apps.forEach((a, i) => out.push(at(['apps', i, 'cpus'], `taskset -c … ${String(obj(a).name)}`, 'text')));
  return out;
}

function parseValue(kind: Knob['kind'], raw: string): unknown {
  if (raw === '' || kind === 'text') return raw; // CPU lists and hex masks stay strings
  if (kind === 'number') return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return /^\d+$/.test(raw) ? Number(raw) : raw; // a choice of numbers (CONFIG_HZ, threaded)
}

export interface CompareRow {
  label: string;
  a: number | null;
  b: number | null;
  better: 'higher' | 'lower';
  digits: number;
}

export function compareRows(a: Result, b: Result): CompareRow[] {
  const sum = (r: Result, k: 'soft' | 'irq' | 'idle') => r.cpus.reduce((x, c) => x + c[k], 0) / r.cpus.length;
  const drops = (r: Result) => Object.values(r.packets.dropped).reduce((x, y) => x + y, 0);
  const goodput = (r: Result) => r.flows.reduce((x, f) => x + f.goodput_gbps, 0);
  const rows: CompareRow[] = [
    { label: 'delivered Gbit/s', a: a.throughput.delivered_gbps, b: b.throughput.delivered_gbps, better: 'higher', digits: 3 },
    { label: 'goodput Gbit/s (all flows)', a: goodput(a), b: goodput(b), better: 'higher', digits: 3 },
    { label: 'delivered pps', a: a.throughput.delivered_pps, b: b.throughput.delivered_pps, better: 'higher', digits: 0 },
    { label: 'latency p50 µs', a: a.latency_us.p50, b: b.latency_us.p50, better: 'lower', digits: 1 },
    { label: 'latency p99 µs', a: a.latency_us.p99, b: b.latency_us.p99, better: 'lower', digits: 1 },
    { label: 'dropped packets', a: drops(a), b: drops(b), better: 'lower', digits: 0 },
    { label: 'device interrupts/s', a: a.interrupts.per_sec, b: b.interrupts.per_sec, better: 'lower', digits: 0 },
    { label: 'CPU %soft (mean)', a: sum(a, 'soft'), b: sum(b, 'soft'), better: 'lower', digits: 2 },
    { label: 'CPU %irq (mean)', a: sum(a, 'irq'), b: sum(b, 'irq'), better: 'lower', digits: 2 },
    { label: 'CPU %idle (mean)', a: sum(a, 'idle'), b: sum(b, 'idle'), better: 'higher', digits: 2 },
    { label: 'ksoftirqd % (busiest CPU)', a: Math.max(...a.cpus.map((c) => c.ksoftirqd)), b: Math.max(...b.cpus.map((c) => c.ksoftirqd)), better: 'lower', digits: 2 },
    { label: 'cores per Gbit/s (irq + soft)', a: a.throughput.rx_cores_per_gbps, b: b.throughput.rx_cores_per_gbps, better: 'lower', digits: 4 },
  ];
  for (const f of b.rr) {
    const fa = a.rr.find((x) => x.flow === f.flow);
    rows.push({ label: `${f.flow} transactions/s`, a: fa?.transactions_per_sec ?? null, b: f.transactions_per_sec, better: 'higher', digits: 0 });
    rows.push({ label: `${f.flow} rr p99 µs`, a: fa?.latency_us.p99 ?? null, b: f.latency_us.p99, better: 'lower', digits: 1 });
  }
  return rows;
}

export class TuningView {
  private readonly knobsEl: HTMLElement;
  private readonly applyList: HTMLElement;
  private readonly compareEl: HTMLElement;
  private readonly undo: HTMLButtonElement;
  private readonly redo: HTMLButtonElement;
  private a: { label: string; result: Result } | null = null;
  private last: Result | null = null;

  constructor(
    container: HTMLElement,
    private readonly history: History,
    run: () => void,
  ) {
    const bar = el('div', { class: 'controls' });
    this.undo = el('button', { class: 'secondary', 'data-testid': 'undo' }, 'undo');
    this.redo = el('button', { class: 'secondary', 'data-testid': 'redo' }, 'redo');
    const runB = el('button', { 'data-testid': 'tuning-run' }, 'Run');
    const pin = el('button', { class: 'secondary', 'data-testid': 'pin-a' }, 'Pin last run as A');
    bar.append(this.undo, this.redo, runB, pin);
    const box = el('form', { class: 'applybox' });
    const input = el('input', { placeholder: 'ethtool -C eth0 rx-usecs 100   (any apply command)', 'data-testid': 'apply-input' });
    box.append(input, el('button', { 'data-testid': 'apply-add' }, 'apply'));
    this.knobsEl = el('div', { class: 'knobs', 'data-testid': 'knobs' });
    this.applyList = el('div', { class: 'muted', 'data-testid': 'apply-list' });
    this.compareEl = el('div', { 'data-testid': 'compare' });
    container.replaceChildren(bar, el('h3', {}, 'knobs (empty: the kernel or driver default)'), this.knobsEl, el('h3', {}, 'commands (the scenario\'s apply list)'), box, this.applyList, el('h3', {}, 'compare'), this.compareEl);
    this.undo.addEventListener('click', () => history.undo());
    this.redo.addEventListener('click', () => history.redo());
    runB.addEventListener('click', run);
    pin.addEventListener('click', () => {
      if (!this.last) return;
      this.a = { label: `${this.last.scenario} (seed ${this.last.seed})`, result: this.last };
      this.renderCompare();
    });
    box.addEventListener('submit', (e) => {
      e.preventDefault();
      const cmd = input.value.trim();
      if (!cmd) return;
      history.edit((d) => {
        const list = Array.isArray(d.apply) ? (d.apply as string[]) : [];
        list.push(cmd);
        d.apply = list;
      });
      input.value = '';
    });
    this.refresh();
  }

  /** The scenario changed (edit, undo, load): redraw the knobs. */
  refresh(): void {
    const s = this.history.current;
    this.undo.disabled = !this.history.canUndo;
    this.redo.disabled = !this.history.canRedo;
    this.knobsEl.replaceChildren(
      ...knobs(s).map((k) => {
        const v = k.get(s);
        const label = el('label', {}, k.label);
        let input: HTMLInputElement | HTMLSelectElement;
        if (Array.isArray(k.kind)) {
          input = el('select');
          for (const o of k.kind) input.add(new Option(o === '' ? '(default)' : o, o));
          input.value = v === undefined ? '' : String(v);
        } else {
          input = el('input', { type: k.kind === 'number' ? 'number' : 'text', placeholder: '(default)' });
          input.value = v === undefined ? '' : String(v);
        }
        input.setAttribute('data-knob', k.label);
        input.addEventListener('change', () => this.history.edit((d) => k.set(d as ScenarioObject, parseValue(k.kind, input.value))));
        label.append(input);
        return label;
      }),
    );
    const apply = Array.isArray(s.apply) ? (s.apply as string[]) : [];
    this.applyList.replaceChildren(...(apply.length ? apply.map((c, i) => el('div', {}, `apply[${i}]: ${c}`)) : [el('div', {}, 'none')]));
  }

  /** A run finished: it is B in the comparison (and can be pinned as A). */
  setResult(r: Result): void {
    this.last = r;
    this.renderCompare();
  }

  private renderCompare(): void {
    const b = this.last;
    if (!this.a || !b) {
      this.compareEl.replaceChildren(el('p', { class: 'muted' }, 'Pin a run as A, change a knob or add a command, and run again: the table shows A and B side by side.'));
      return;
    }
    const t = el('table', { class: 'compare', 'data-testid': 'compare-table' });
    t.innerHTML = `<tr><th></th><th>A: ${this.a.label}</th><th>B: ${b.scenario} (seed ${b.seed})</th><th>B − A</th></tr>`;
    for (const row of compareRows(this.a.result, b)) {
      const tr = el('tr');
      const f = (x: number | null) => (x === null ? '–' : fmt(x, row.digits));
      let cls = '';
      if (row.a !== null && row.b !== null && Math.abs(row.b - row.a) > 1e-9 * Math.max(1, Math.abs(row.a))) {
        const up = row.b > row.a;
        cls = up === (row.better === 'higher') ? 'better' : 'worse';
      }
      const diff = row.a !== null && row.b !== null ? (row.b - row.a >= 0 ? '+' : '') + fmt(row.b - row.a, row.digits) : '–';
      tr.append(el('td', {}, row.label), el('td', {}, f(row.a)), el('td', cls ? { class: cls } : {}, f(row.b)), el('td', cls ? { class: cls } : {}, diff));
      t.append(tr);
    }
    this.compareEl.replaceChildren(t);
  }
}
