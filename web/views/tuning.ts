import type { Result } from '../../src/metrics/result.ts';
import { InputError, ValueError, formatPath } from '../../src/scenario/errors.ts';
import { commandFor, contextAt, defaultOf, defaultText, formatKnobPath, parseAndCheck, rangeText, textOf } from '../../src/scenario/knobs/registry.ts';
import type { AnyKnob } from '../../src/scenario/knobs/types.ts';
import { assignPath } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import type { History, ScenarioObject } from '../state.ts';
import { checkApplyList, checkNewCommand } from './apply-check.ts';
import { el } from './colors.ts';
import { CompareView } from './compare.ts';
import { controls, parsed, valueAt, type Control } from './knob-controls.ts';

/**
 * Tuning: the scenario's knobs, listed from the knob registry under their Linux names with the
 * command that sets each on a real machine (the description and the kernel function that reads
 * it as a tooltip); a box that takes the same commands as `apply` (they are appended to the
 * scenario's apply list); undo/redo (immer history); and Compare: pin a run as A, change
 * something, run B, and see both side by side. A value typed into a knob goes through the
 * registry's check, so it is refused with the message `rxsim` would print.
 */

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

export class TuningView {
  private readonly knobsEl: HTMLElement;
  private readonly applyList: HTMLElement;
  private readonly compare: CompareView;
  private readonly undo: HTMLButtonElement;
  private readonly redo: HTMLButtonElement;

  constructor(
    container: HTMLElement,
    private readonly history: History,
    run: () => void,
  ) {
    const bar = el('div', { class: 'controls' });
    this.undo = el('button', { class: 'secondary', 'data-testid': 'undo' }, 'undo');
    this.redo = el('button', { class: 'secondary', 'data-testid': 'redo' }, 'redo');
    const runB = el('button', { 'data-testid': 'tuning-run' }, 'Run');
    const pin = el('button', { class: 'secondary', 'data-testid': 'pin-a' }, 'Pin last run (A, B, …)');
    const unpin = el('button', { class: 'secondary', 'data-testid': 'unpin' }, 'Clear pins');
    bar.append(this.undo, this.redo, runB, pin, unpin);
    const box = el('form', { class: 'applybox' });
    const input = el('input', { placeholder: 'ethtool -C eth0 rx-usecs 100   (any apply command)', 'data-testid': 'apply-input' });
    const addButton = el('button', { 'data-testid': 'apply-add' }, 'apply');
    const inputError = el('div', { class: 'fielderror', 'data-testid': 'apply-input-error', hidden: '' });
    box.append(input, addButton, inputError);
    this.knobsEl = el('div', { class: 'knobgroups', 'data-testid': 'knobs' });
    this.applyList = el('div', { class: 'muted', 'data-testid': 'apply-list' });
    const compareEl = el('div', { 'data-testid': 'compare' });
    this.compare = new CompareView(compareEl);
    container.replaceChildren(
      bar,
      el('h3', {}, 'knobs (empty: the kernel or driver default)'),
      this.knobsEl,
      el('h3', {}, "commands (the scenario's apply list)"),
      box,
      this.applyList,
      el('h3', {}, 'compare'),
      compareEl,
    );
    this.undo.addEventListener('click', () => history.undo());
    this.redo.addEventListener('click', () => history.redo());
    runB.addEventListener('click', run);
    pin.addEventListener('click', () => this.compare.pinLatest());
    unpin.addEventListener('click', () => this.compare.clearPins());
    // Checked as typed, by the parser the run uses: the message names the token and the nearest command.
    const check = (): string | null => {
      const cmd = input.value.trim();
      const problem = cmd ? checkNewCommand(history.current, cmd) : null;
      input.classList.toggle('bad', problem !== null);
      inputError.hidden = problem === null;
      inputError.textContent = problem ?? '';
      return problem;
    };
    input.addEventListener('input', () => void check());
    box.addEventListener('submit', (e) => {
      e.preventDefault();
      const cmd = input.value.trim();
      if (!cmd || check() !== null) return;
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
    const problems = checkApplyList(raw);
    const line = (c: string, i: number): HTMLElement[] => {
      const problem = problems[i] ?? null;
      const row = el('div', problem ? { class: 'bad', 'data-testid': 'apply-bad-line' } : {}, `apply[${i}]: ${c}`);
      return problem ? [row, el('div', { class: 'fielderror', 'data-testid': 'apply-line-error' }, `↑ ${problem}`)] : [row];
    };
    this.applyList.replaceChildren(...(apply.length ? apply.flatMap(line) : [el('div', {}, 'none')]));
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

  /** A run finished (of the scenario as it is now): the latest column of the comparison. */
  setResult(r: Result): void {
    this.compare.setLatest(r, this.history.current);
  }
}
