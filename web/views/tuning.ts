import type { Result } from '../../src/metrics/result.ts';
import { numberNapis } from '../../src/model/nic/napi-ids.ts';
import { numberVectors } from '../../src/model/nic/vectors.ts';
import { InputError, ValueError, formatPath } from '../../src/scenario/errors.ts';
import { queueCount } from '../../src/scenario/knobs/ethtool.ts';
import {
  KIND_TITLES,
  commandFor,
  contextAt,
  defaultOf,
  defaultText,
  formatKnobPath,
  jsonParts,
  knobsOf,
  nicContext,
  parseAndCheck,
  rangeText,
  textOf,
  type CommandNames,
} from '../../src/scenario/knobs/registry.ts';
import type { AnyKnob, KnobKind } from '../../src/scenario/knobs/types.ts';
import { assignPath } from '../../src/scenario/load.ts';
import { scenarioSchema, type Scenario } from '../../src/scenario/schema.ts';
import type { History, ScenarioObject } from '../state.ts';
import { el, fmt } from './colors.ts';

/**
 * Tuning: the scenario's knobs, listed from the knob registry under their Linux names with the
 * command that sets each on a real machine (the description and the kernel function that reads
 * it as a tooltip); a box that takes the same commands as `apply` (they are appended to the
 * scenario's apply list); undo/redo (immer history); and Compare: pin a run as A, change
 * something, run B, and see both side by side. A value typed into a knob goes through the
 * registry's check, so it is refused with the message `rxsim` would print.
 */

/** One knob of this scenario: a registry entry at one place (a NIC, a queue, a cgroup, an app). */
interface Control {
  knob: AnyKnob;
  /** Its JSON path in the scenario. */
  parts: (string | number)[];
  /** Group heading and the label's prefix within the group (`rx-0`). */
  group: string;
  prefix: string;
  names: CommandNames;
}

/** Edited as JSON or with ethtool -X in the command box: a table and a key are not one value. */
const NOT_IN_PANEL = new Set(['indir', 'hkey']);

const obj = (o: unknown): Record<string, unknown> => (o && typeof o === 'object' ? (o as Record<string, unknown>) : {});
function valueAt(s: ScenarioObject, keys: (string | number)[]): unknown {
  let o: unknown = s;
  for (const k of keys) o = obj(o)[k];
  return o;
}

/** The scenario with its defaults, or null while it does not validate (the run says why). */
function parsed(raw: ScenarioObject): Scenario | null {
  const r = scenarioSchema.safeParse(raw);
  return r.success ? r.data : null;
}

/** Whether a NIC's driver has the knob (rx-frames and adaptive-rx are per driver). */
function supported(knob: AnyKnob, s: Scenario, nic: number): boolean {
  try {
    knob.supported?.(nicContext(s, s.nics[nic]!));
    return true;
  } catch (e) {
    if (e instanceof ValueError) return false;
    throw e;
  }
}

/** Every knob of the registry that this scenario has a place for. */
function controls(s: Scenario | null): Control[] {
  const out: Control[] = [];
  const add = (kind: KnobKind, group: string, prefix: string, args: (string | number)[], names: CommandNames, filter: (k: AnyKnob) => boolean = () => true) => {
    for (const knob of knobsOf(kind)) {
      if (knob.sameFieldAs || NOT_IN_PANEL.has(knob.name) || !filter(knob)) continue;
      out.push({ knob, parts: jsonParts(knob, ...args), group, prefix, names });
    }
  };
  add('sysctl', KIND_TITLES.sysctl, '', [], {});
  add('kernel-config', KIND_TITLES['kernel-config'], '', [], {});
  if (!s) return out;
  const vectors = numberVectors(s.nics.map((n) => ({ queues: queueCount(n, s.cpus), hasOther: nicContext(s, n).driver.otherVectorName(n.name) !== null })));
  const napis = numberNapis(s.nics.map((n) => queueCount(n, s.cpus)));
  s.nics.forEach((nic, i) => {
    const dev = { dev: nic.name };
    add('ethtool', `${KIND_TITLES.ethtool} — ${nic.name}`, '', [i], dev, (k) => supported(k, s, i));
    add('device', `${KIND_TITLES.device} — ${nic.name}`, '', [i], dev);
    for (let q = 0; q < queueCount(nic, s.cpus); q++) {
      const napi = napis.find((x) => x.nic === i && x.queue === q)!.id;
      add('queue', `${KIND_TITLES.queue} — ${nic.name}`, `rx-${q} `, [i, `rx-${q}`], { ...dev, queue: q, napi });
      const irq = vectors.find((v) => v.nic === i && v.queue === q)!.irq;
      add('irq', `${KIND_TITLES.irq} — ${nic.name}`, `${irq} `, [i, String(q)], { irq });
    }
  });
  for (const name of Object.keys(s.cgroups)) add('cgroup', `${KIND_TITLES.cgroup} — ${name}`, '', [name], { cgroup: name });
  s.apps.forEach((a, i) => add('app', `${KIND_TITLES.app} — ${a.name}`, '', [i], { app: a.name }, (k) => !k.appKinds || k.appKinds.includes(a.kind)));
  return out;
}

/**
 * The value a knob at `parts` takes from the text typed for it, through the registry's parse and
 * check for this scenario's machine; or the message `rxsim` prints for it (`path: problem`).
 */
export function knobFromText(raw: ScenarioObject, knob: AnyKnob, parts: (string | number)[], text: string): { value: unknown } | { problem: string } {
  const s = parsed(raw);
  try {
    return { value: s ? parseAndCheck(knob, text, contextAt(s, knob, parts)).stored : knob.type.parse(text) };
  } catch (e) {
    if (e instanceof ValueError) return { problem: new InputError(formatKnobPath(knob, parts), e.message).message };
    throw e;
  }
}

/** The tooltip: what it does, where it lives, default, range and the kernel code that reads it. */
function tooltip(k: AnyKnob): string {
  return `${k.description}\n${k.where}\ndefault: ${defaultText(k)}\nrange: ${rangeText(k)}\nread by ${k.source}`;
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
    this.knobsEl = el('div', { class: 'knobgroups', 'data-testid': 'knobs' });
    this.applyList = el('div', { class: 'muted', 'data-testid': 'apply-list' });
    this.compareEl = el('div', { 'data-testid': 'compare' });
    container.replaceChildren(
      bar,
      el('h3', {}, 'knobs (empty: the kernel or driver default)'),
      this.knobsEl,
      el('h3', {}, "commands (the scenario's apply list)"),
      box,
      this.applyList,
      el('h3', {}, 'compare'),
      this.compareEl,
    );
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
    const raw = this.history.current;
    this.undo.disabled = !this.history.canUndo;
    this.redo.disabled = !this.history.canRedo;
    const s = parsed(raw);
    const groups = new Map<string, HTMLElement>();
    for (const c of controls(s)) {
      let group = groups.get(c.group);
      if (!group) {
        group = el('details', { open: '' });
        group.append(el('summary', {}, c.group), el('div', { class: 'knobs' }));
        groups.set(c.group, group);
      }
      group.lastElementChild!.append(this.control(c, raw, s));
    }
    this.knobsEl.replaceChildren(...groups.values());
    const apply = Array.isArray(raw.apply) ? (raw.apply as string[]) : [];
    this.applyList.replaceChildren(...(apply.length ? apply.map((c, i) => el('div', {}, `apply[${i}]: ${c}`)) : [el('div', {}, 'none')]));
  }

  /** One knob: its Linux name, an input (empty: the default), and the command it stands for. */
  private control(c: Control, raw: ScenarioObject, s: Scenario | null): HTMLElement {
    const { knob } = c;
    const path = formatKnobPath(knob, c.parts);
    const value = valueAt(raw, c.parts);
    const dflt = s && knob.default !== undefined ? textOf(knob, defaultOf(knob, contextAt(s, knob, c.parts))) : (knob.defaultText ?? '');
    const shown = value === undefined ? '' : textOf(knob, value);
    let input: HTMLInputElement | HTMLSelectElement;
    if (knob.type.choices) {
      input = el('select');
      input.add(new Option(dflt ? `(default ${dflt})` : '(default)', ''));
      for (const o of knob.type.choices) input.add(new Option(o, o));
    } else {
      input = el('input', { type: 'text', placeholder: dflt ? `${dflt} (default)` : '(default)' });
    }
    input.value = shown;
    input.setAttribute('data-knob', path);
    const command = commandFor(knob, c.names, shown || dflt || '…') ?? '(no command: set in the scenario)';
    const error = el('div', { class: 'fielderror', 'data-testid': 'knob-error', hidden: '' });
    input.addEventListener('change', () => {
      const problem = this.set(c, input.value.trim());
      error.hidden = !problem;
      error.textContent = problem ?? '';
    });
    const row = el('div', { class: 'knob', title: tooltip(knob) });
    const label = el('label', {}, `${c.prefix}${knob.name}`);
    label.append(input);
    row.append(label, el('code', { class: 'muted' }, command), error);
    return row;
  }

  /** Set a knob from its text (empty: back to the default); the message if the registry refuses it. */
  private set(c: Control, text: string): string | null {
    if (text === '') {
      this.history.edit((d) => assignPath(d, c.parts, undefined, formatPath(c.parts)));
      return null;
    }
    const r = knobFromText(this.history.current, c.knob, c.parts, text);
    if ('problem' in r) return r.problem;
    this.history.edit((d) => assignPath(d, c.parts, r.value, formatPath(c.parts)));
    return null;
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
