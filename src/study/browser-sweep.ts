import { collectResult } from '../metrics/result.ts';
import { simulate } from '../model/simulate.ts';
import { InputError } from '../scenario/errors.ts';
import { extractMetrics } from './metrics.ts';
import { loadRun, parseVary, parseVaryApply, prepareSweep, scenarioObject, type Axis, type RunSpec, type Sweep } from './sweep.ts';
import type { SweepRow } from './table.ts';
import { parseJsonText, parseSeeds, valueLabel } from './values.ts';

/**
 * The browser's sweep (the Sweep tab, web/views/sweep.ts) on the same core as `rxsim sweep`: the
 * axes are parsed by `parseVary` / `parseVaryApply`, the sweep is checked and hashed by
 * `prepareSweep`, each run is loaded by `loadRun` and its metrics extracted by
 * `extractMetrics`, and the rows are formatted by table.ts — so the CSV the tab exports is the
 * CLI's, byte for byte, for the same scenario, axes, seeds and metrics. Platform-neutral: no DOM,
 * no Node, no wall clock (the page and the workers time what they want themselves).
 */

/** What the Sweep tab's fields hold, as typed. */
export interface SweepForm {
  /** The scenario as JSON text (the app's current scenario). */
  scenarioText: string;
  scenarioLabel: string;
  /** One axis per entry: `<path>=<values>` as `--vary` takes it, or `"<command with {}>"=<values>` as `--vary-apply` (an axis with `{}` is a command). Empty entries are skipped. */
  axes: string[];
  /** `--seeds`: N or a list; empty for the scenario's own seed. */
  seeds: string;
  /** `--metric`s; empty for the default set. */
  metrics: string[];
}

/** A problem with the form: which field it belongs to, and the message the CLI would print. */
export interface FormProblem {
  field: { axis: number } | 'seeds' | 'metrics' | 'scenario';
  message: string;
}

/** An axis as typed: a command (with `{}`) is `--vary-apply`, anything else `--vary`. Quotes around the command, as a shell would take them, are dropped. */
export function parseAxis(text: string): Axis {
  const t = text.trim();
  if (!t.includes('{}')) return parseVary(t);
  const quoted = /^"([^"]*\{\}[^"]*)"(=.*)$/s.exec(t) ?? /^'([^']*\{\}[^']*)'(=.*)$/s.exec(t);
  return parseVaryApply(quoted ? quoted[1]! + quoted[2]! : t);
}

/** The field an error of `prepareSweep` (or of parsing) names. */
function fieldOf(e: InputError, axes: readonly Axis[], source: readonly number[]): FormProblem['field'] {
  for (let i = axes.length - 1; i >= 0; i--) {
    const a = axes[i]!;
    if (e.where.startsWith(a.source) || e.where.includes(a.name)) return { axis: source[i]! };
  }
  if (e.where.startsWith('--seeds')) return 'seeds';
  if (e.where.startsWith('--metric')) return 'metrics';
  return 'scenario';
}

/**
 * The form → a checked sweep (every point loaded and probed, as the CLI checks it), or the first
 * problem, under its field. Nothing runs before this succeeds.
 */
export function sweepFromForm(form: SweepForm): { sweep: Sweep } | { problem: FormProblem } {
  const axes: Axis[] = [];
  const source: number[] = [];
  try {
    const scenario = scenarioObject(parseJsonText(form.scenarioText, form.scenarioLabel), form.scenarioLabel);
    for (const [i, text] of form.axes.entries()) {
      if (text.trim() === '') continue;
      try {
        axes.push(parseAxis(text));
        source.push(i);
      } catch (e) {
        if (e instanceof InputError) return { problem: { field: { axis: i }, message: e.message } };
        throw e;
      }
    }
    let seeds: number[] | null = null;
    if (form.seeds.trim() !== '') {
      try {
        seeds = parseSeeds(form.seeds.trim());
      } catch (e) {
        if (e instanceof InputError) return { problem: { field: 'seeds', message: e.message } };
        throw e;
      }
    }
    const metrics = form.metrics.map((m) => m.trim()).filter((m) => m !== '');
    const sweep = prepareSweep({ scenario, scenarioLabel: form.scenarioLabel, axes, seeds, metrics: metrics.length ? metrics : null });
    return { sweep };
  } catch (e) {
    if (e instanceof InputError) return { problem: { field: fieldOf(e, axes, source), message: e.message } };
    throw e;
  }
}

/** What a worker needs of the sweep (structured-cloneable). */
export interface WorkerSweep {
  scenario: Sweep['scenario'];
  axes: Sweep['axes'];
  metrics: string[];
}

export interface RunTask {
  run: number;
  valueIndex: number[];
  seed: number;
  /** The unchanged scenario (no axis set): `rxsim tune`'s baseline. */
  baseline?: boolean;
}

export type RunAnswer = { run: number; metrics: (number | null)[]; digest: string } | { run: number; error: string };

/**
 * One run, wherever it runs (a CLI worker thread, a Web Worker): the point's scenario (or the
 * unchanged one) with the run's seed, simulated; its metrics and digest. Throws on bad input.
 */
export function measureRun(sweep: WorkerSweep, task: RunTask): { metrics: (number | null)[]; digest: string } {
  const loaded = task.baseline ? loadRun({ scenario: sweep.scenario, axes: [] }, { valueIndex: [], seed: task.seed }) : loadRun(sweep, task);
  const result = collectResult(simulate(loaded.resolved), 0);
  return { metrics: extractMetrics(result, sweep.metrics), digest: result.digest };
}

/** One run in the browser's sweep worker: its answer, or the error's stack. */
export function runOne(sweep: WorkerSweep, task: RunTask): RunAnswer {
  try {
    return { run: task.run, ...measureRun(sweep, task) };
  } catch (e) {
    return { run: task.run, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}

/** A row of the output from a run's outcome (the CLI's and the browser's). */
export function rowOf(sweep: Sweep, spec: RunSpec, o: { metrics: (number | null)[]; digest: string }): SweepRow {
  const values = sweep.axes.map((a, i) => a.values[spec.valueIndex[i]!]);
  return { run: spec.run, labels: values.map(valueLabel), values, seed: spec.seed, metrics: o.metrics, digest: o.digest, sweep: sweep.hash, runs: sweep.runs };
}
