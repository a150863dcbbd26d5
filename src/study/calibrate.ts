import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { z } from 'zod';
import { collectResult, type Result } from '../metrics/result.ts';
import { COST_KEYS, COST_PROFILE_NAMES, costTable, type CostKey } from '../model/costs.ts';
import { simulate } from '../model/simulate.ts';
import { COSTS_FILE_FORMAT, isCostsFileRef } from '../scenario/costs-file.ts';
import { didYouMean, InputError } from '../scenario/errors.ts';
import { loadScenarioObject } from '../scenario/load.ts';
import { firstIssueAsError } from '../scenario/zod-errors.ts';
import { COST_CLASS_NAMES, COST_CLASSES, scaleByClass, type CostClass } from './cost-classes.ts';
import { observedMetric, perSecInner } from './measure-observation.ts';
import { metricProblem } from './metrics.ts';
import { PROBE_MS } from './sweep.ts';

/**
 * `rxsim calibrate`: fit a few scale factors, one per cost class (cost-classes.ts), so that the
 * model's runs of the observed scenarios give the values measured on a real machine. The fit is
 * Levenberg–Marquardt (ml-levenberg-marquardt) on relative residuals; before it, the sensitivity
 * of every observation to every class (a finite-difference Jacobian at the base profile) says
 * which classes the data cannot identify: those no observation depends on, and those whose effect
 * is (nearly) a combination of other classes'. They keep factor 1 and are reported.
 */

const metricsRecord = z
  .record(z.string(), z.number().refine(Number.isFinite, 'expected a finite number'))
  .refine((m) => Object.keys(m).length > 0, 'expected at least one measured value, e.g. {"flows[iperf3].goodput_gbps": 9.4}')
  .describe('Measured values by result metric path, as rxsim check reads them: flows[NAME].goodput_gbps, cpus[N].soft, cpus[N].sys (per cent), interrupts.per_sec, packets.dropped.*');

const observationSchema = z
  .strictObject({
    name: z.string().min(1).describe('A name for the run on the real machine'),
    scenario: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())])
      .describe('The scenario of the run: a file (relative to the observations file, e.g. from rxsim snapshot) or the scenario itself'),
    apply: z.array(z.string()).default([]).describe('Commands applied for this run, as rxsim run --apply takes them'),
    seed: z.number().int().min(0).optional(),
    duration_ms: z.number().positive().optional().describe('Simulated length of each fitting run (shorter is faster; long enough for a steady state)'),
    measured: metricsRecord.optional(),
    measure: z
      .strictObject({
        file: z.string().min(1).describe('The series CSV rxsim measure --out wrote (relative to the observations file)'),
        from_ms: z.number().optional().describe("Start of the measured window on the file's time axis (default: its start)"),
        to_ms: z.number().optional().describe("End of the measured window (default: the file's end)"),
        metrics: z
          .array(z.string().min(1))
          .min(1)
          .optional()
          .describe(
            'The reduced values to fit, e.g. "cpus[0].soft", "interrupts.per_sec", "per_sec(nstat.IpInReceives)" (default: per-CPU usr/sys/irq/soft, interrupts/s and the packet rates the file has)',
          ),
      })
      .optional()
      .describe('A measure file as the measured values: reduced over its window to per-CPU shares, interrupts/s and packet rates (values in `measured` take precedence)'),
    weight: z.number().positive().default(1).describe("Weight of this observation's residuals"),
  })
  .refine((o) => o.measured !== undefined || o.measure !== undefined, { message: 'expected "measured" (values by metric path) or "measure" (a measure file), or both', path: ['measured'] });

export const observationsSchema = z.strictObject({
  $schema: z.string().optional(),
  base: z.string().optional().describe('Cost profile to start from (default: --base, else baremetal-10g)'),
  fit: z
    .array(z.enum(COST_CLASS_NAMES as [CostClass, ...CostClass[]]))
    .min(1)
    .optional()
    .describe(`Cost classes to fit (default: all of ${COST_CLASS_NAMES.join(', ')})`),
  observations: z.array(observationSchema).min(1),
});

export type ObservationsFile = z.output<typeof observationsSchema>;

/** The JSON Schema of observations files (rxsim schema --observations). */
export function observationsJsonSchema(): object {
  const schema = z.toJSONSchema(observationsSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://rxsim.invalid/observations.schema.json', title: 'rxsim calibrate observations' };
}
export type Observation = z.output<typeof observationSchema>;

/** An observation with its scenario read (a raw scenario object) and its metrics checked. */
export interface PreparedObservation {
  o: Observation;
  raw: Record<string, unknown>;
}

export function parseObservations(json: unknown, file: string): ObservationsFile {
  const parsed = observationsSchema.safeParse(json);
  if (!parsed.success) {
    const e = firstIssueAsError(parsed.error.issues, observationsSchema);
    throw new InputError(`${file}: ${e.where}`.replace(/: $/, ''), e.problem);
  }
  return parsed.data;
}

export function checkBase(base: string, where: string): string {
  if (!COST_PROFILE_NAMES.includes(base)) throw new InputError(where, `unknown cost profile "${base}"${didYouMean(base, COST_PROFILE_NAMES)}; profiles: ${COST_PROFILE_NAMES.join(', ')}`);
  return base;
}

/** The scenario of a run with the class factors applied to the base profile (and to the scenario's own overrides). */
function scaledScenario(p: PreparedObservation, base: string, factors: Partial<Record<CostClass, number>>): Record<string, unknown> {
  const raw = structuredClone(p.raw);
  const own = (raw.cost_overrides ?? {}) as Record<string, number>;
  raw.costs = base;
  raw.cost_overrides = scaleByClass(costTable(base, own), factors);
  return raw;
}

function runObservation(p: PreparedObservation, base: string, factors: Partial<Record<CostClass, number>>, durationMs?: number): Result {
  const opts = {
    apply: p.o.apply,
    ...(p.o.seed !== undefined ? { seed: p.o.seed } : {}),
    ...((p.o.duration_ms ?? durationMs) !== undefined ? { durationMs: p.o.duration_ms ?? durationMs } : {}),
  };
  return collectResult(simulate(loadScenarioObject(scaledScenario(p, base, factors), opts).resolved), 0);
}

/** Check each observation's scenario, commands and metric paths once (a short probe run), before any fitting run. */
export function checkObservations(prepared: PreparedObservation[], base: string): void {
  prepared.forEach((p, i) => {
    if (isCostsFileRef(p.raw.costs)) throw new InputError(`observations[${i}].scenario: costs`, `"${p.raw.costs}": calibrate starts from a profile (--base), not a costs file`);
    let probe: Result;
    try {
      // the whole scenario as the fit runs it, then a probe of the same shape (no warm-up or timeline)
      loadScenarioObject(scaledScenario(p, base, {}), {
        apply: p.o.apply,
        ...(p.o.seed !== undefined ? { seed: p.o.seed } : {}),
        ...(p.o.duration_ms !== undefined ? { durationMs: p.o.duration_ms } : {}),
      });
      probe = runObservation({ o: { ...p.o, duration_ms: undefined }, raw: { ...p.raw, warmup_ms: 0, timeline: [] } }, base, {}, PROBE_MS);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`observations[${i}].scenario: ${e.where}`, e.problem);
      throw e;
    }
    const measured = Object.keys(p.o.measured ?? {});
    if (measured.length === 0) throw new InputError(`observations[${i}]`, 'has no measured value (its "measure" file was not read: rxsim calibrate reads it)');
    for (const path of measured) {
      const problem = metricProblem(probe, perSecInner(path) ?? path);
      if (problem) throw new InputError(`observations[${i}].measured["${path}"]`, problem);
    }
  });
}

export interface Residual {
  observation: string;
  metric: string;
  measured: number;
  model: number;
  /** (model − measured) / |measured| in per cent; for a measured 0, model − measured. */
  residual: number;
  relative: boolean;
}

export interface Unidentified {
  class: CostClass;
  why: string;
}

export interface Calibration {
  base: string;
  factors: Record<CostClass, number>;
  fitted: CostClass[];
  fixed: CostClass[];
  unidentified: Unidentified[];
  /** d(residual)/d(factor) at the base profile, per class, in relative units per unit factor. */
  sensitivity: Record<CostClass, number>;
  before: Residual[];
  after: Residual[];
  iterations: number;
  runs: number;
  /** The fitted residuals' weighted root mean square, relative (0.01 = 1 %). */
  rms: number;
  /** rms is within CONVERGED. */
  converged: boolean;
}

export interface CalibrateOptions {
  base: string;
  fit?: CostClass[];
  /** Finite-difference step of the factors (default 0.1: small steps vanish in the integer ns of the cost table). */
  step?: number;
  maxIterations?: number;
}

/**
 * The fit is converged when the residuals' weighted root mean square is below this (0.5 %): about
 * the granularity of the runs themselves (costs are whole ns, a run is one seed of a short window),
 * below which a step of the optimizer chases rounding rather than the data.
 */
const CONVERGED = 0.005;
/** The factors' range: a fitted factor at an end says the data want more than the model's costs can give. */
export const FACTOR_MIN = 0.1;
export const FACTOR_MAX = 10;

/** Below this, a 1.0 change of a factor moves no measured value by more than 0.1 %: no observation depends on the class. */
const NO_EFFECT = 1e-3;
/** A column left with less than this share of its length after removing what other classes explain is not separately identifiable. */
const COLLINEAR = 0.05;

type Factors = Partial<Record<CostClass, number>>;

/**
 * The least-squares problem: every measured value is a point, scaled to 1 by its measurement (a
 * measured 0 keeps scale 1: an absolute residual). The model's values for a set of factors come
 * from one run per observation, cached by factors (the optimizer asks for the same point twice).
 */
class FitProblem {
  readonly points: { p: PreparedObservation; metric: string; measured: number; scale: number }[];
  readonly target: number[];
  readonly weights: number[];
  runs = 0;
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly prepared: PreparedObservation[],
    private readonly base: string,
  ) {
    this.points = prepared.flatMap((p) => Object.entries(p.o.measured ?? {}).map(([metric, measured]) => ({ p, metric, measured, scale: measured !== 0 ? Math.abs(measured) : 1 })));
    this.target = this.points.map((pt) => pt.measured / pt.scale);
    this.weights = this.points.map((pt) => pt.p.o.weight);
  }

  /** Every point's model value divided by its scale (points are grouped by observation, in order). */
  evaluate(factors: Factors): number[] {
    const key = COST_CLASS_NAMES.map((c) => (factors[c] ?? 1).toFixed(6)).join(',');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const values: number[] = [];
    for (const p of this.prepared) {
      const r = runObservation(p, this.base, factors);
      this.runs++;
      for (const pt of this.points) if (pt.p === p) values.push((observedMetric(r, pt.metric) ?? NaN) / pt.scale);
    }
    this.cache.set(key, values);
    return values;
  }

  residuals(factors: Factors): Residual[] {
    const v = this.evaluate(factors);
    return this.points.map((pt, i) => {
      const model = v[i]! * pt.scale;
      const relative = pt.measured !== 0;
      return { observation: pt.p.o.name, metric: pt.metric, measured: pt.measured, model, residual: relative ? ((model - pt.measured) / Math.abs(pt.measured)) * 100 : model - pt.measured, relative };
    });
  }

  /** The weighted root mean square of the scaled residuals. */
  rms(factors: Factors): number {
    const v = this.evaluate(factors);
    const sumSq = this.points.reduce((sum, _, i) => sum + this.weights[i]! * (v[i]! - this.target[i]!) ** 2, 0);
    return Math.sqrt(sumSq / this.weights.reduce((a, b) => a + b, 0));
  }
}

/** The Jacobian's column of each class at the base profile (forward differences, weighted): one run per class and observation. */
function sensitivityColumns(problem: FitProblem, classes: readonly CostClass[], step: number): Map<CostClass, number[]> {
  const at1 = problem.evaluate({});
  const columns = new Map<CostClass, number[]>();
  for (const c of classes) {
    const v = problem.evaluate({ [c]: 1 + step });
    columns.set(
      c,
      v.map((x, i) => ((x - at1[i]!) / step) * Math.sqrt(problem.weights[i]!)),
    );
  }
  return columns;
}

/** Levenberg–Marquardt over the identifiable classes' factors, from 1. */
function fitFactors(problem: FitProblem, classes: CostClass[], step: number, maxIterations: number): { factors: Factors; iterations: number } {
  if (classes.length === 0) return { factors: {}, iterations: 0 };
  const fromParams = (ps: number[]): Factors => Object.fromEntries(classes.map((c, j) => [c, round6(ps[j]!)]));
  const { points, target, weights } = problem;
  // Observation weights scale the residuals themselves (y and the model by √weight): the
  // library's own `weights` option scales the step's two sides inconsistently (any value but 1
  // shrinks or blows up the step), so it is left at 1. It also wants more than two data points:
  // with fewer, each is given again, which leaves the minimum where it was.
  const copies = Math.ceil(3 / points.length);
  const xs = Array.from({ length: points.length * copies }, (_, i) => i % points.length);
  const root = weights.map(Math.sqrt);
  const fit = levenbergMarquardt(
    { x: xs, y: xs.map((i) => target[i]! * root[i]!) },
    (ps) => {
      const v = problem.evaluate(fromParams(ps));
      return (x) => v[x]! * root[x]!;
    },
    {
      initialValues: classes.map(() => 1),
      gradientDifference: step,
      damping: 0.01,
      minValues: classes.map(() => FACTOR_MIN),
      maxValues: classes.map(() => FACTOR_MAX),
      maxIterations,
      // the library's error is the sum of squares over its points: copies × Σ weight × residual²
      errorTolerance: copies * weights.reduce((a, b) => a + b, 0) * CONVERGED ** 2,
    },
  );
  return { factors: fromParams(fit.parameterValues), iterations: fit.iterations };
}

export function calibrate(prepared: PreparedObservation[], o: CalibrateOptions): Calibration {
  const wanted = COST_CLASS_NAMES.filter((c) => (o.fit ?? COST_CLASS_NAMES).includes(c));
  const step = o.step ?? 0.1;
  const problem = new FitProblem(prepared, o.base);
  const columns = sensitivityColumns(problem, wanted, step);
  const { identifiable, unidentified } = identifiability(columns);
  const { factors, iterations } = fitFactors(problem, identifiable, step, o.maxIterations ?? 12);
  const rms = problem.rms(factors);
  return {
    base: o.base,
    factors: Object.fromEntries(COST_CLASS_NAMES.map((c) => [c, factors[c] ?? 1])) as Record<CostClass, number>,
    fitted: identifiable,
    fixed: COST_CLASS_NAMES.filter((c) => !wanted.includes(c)),
    unidentified,
    sensitivity: Object.fromEntries([...columns].map(([c, col]) => [c, norm(col)])) as Record<CostClass, number>,
    before: problem.residuals({}),
    after: problem.residuals(factors),
    iterations,
    runs: problem.runs,
    rms,
    converged: rms <= CONVERGED,
  };
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const norm = (v: readonly number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/**
 * Which classes the data can identify, from the Jacobian's columns: a column of (nearly) zero
 * length means no observation depends on the class; otherwise classes are taken in order of
 * sensitivity and one whose column is (nearly) in the span of those already taken (Gram–Schmidt)
 * cannot be told apart from them. More classes than measured values cannot all be identified.
 */
export function identifiability(columns: Map<CostClass, number[]>): { identifiable: CostClass[]; unidentified: Unidentified[] } {
  const identifiable: CostClass[] = [];
  const unidentified: Unidentified[] = [];
  const basis: number[][] = [];
  const order = [...columns.entries()].sort((a, b) => norm(b[1]) - norm(a[1]));
  for (const [c, col] of order) {
    const len = norm(col);
    if (!(len >= NO_EFFECT)) {
      unidentified.push({ class: c, why: `no observation depends on it (sensitivity ${+len.toPrecision(2)} < ${NO_EFFECT} per unit of factor)` });
      continue;
    }
    const rest = [...col];
    for (const b of basis) {
      const dot = rest.reduce((s, x, i) => s + x * b[i]!, 0);
      for (let i = 0; i < rest.length; i++) rest[i] = rest[i]! - dot * b[i]!;
    }
    const left = norm(rest);
    if (left < COLLINEAR * len) {
      unidentified.push({ class: c, why: `its effect on the measured values is (nearly) a combination of ${identifiable.join(', ')}'s: measure something that moves it alone` });
      continue;
    }
    basis.push(rest.map((x) => x / left));
    identifiable.push(c);
  }
  return { identifiable, unidentified };
}

/** The costs file `rxsim calibrate --out` writes: every cost of the fitted profile, with the fit's provenance. */
export function costsFileOf(name: string, cal: Calibration, observations: ObservationsFile, observationsLabel: string, version: string): Record<string, unknown> {
  const table = scaleByClass(costTable(cal.base, {}), cal.factors);
  const costs = Object.fromEntries(COST_KEYS.map((k: CostKey) => [k, Math.round(table[k] * 100) / 100]));
  return {
    format: COSTS_FILE_FORMAT,
    name,
    base: cal.base,
    costs,
    provenance: {
      tool: `rxsim ${version} calibrate`,
      observations_file: observationsLabel,
      classes: Object.fromEntries(COST_CLASS_NAMES.map((c) => [c, [...COST_CLASSES[c]]])),
      factors: cal.factors,
      fitted: cal.fitted,
      fixed: cal.fixed,
      unidentified: cal.unidentified,
      sensitivity: cal.sensitivity,
      iterations: cal.iterations,
      rms: cal.rms,
      converged: cal.converged,
      runs: cal.runs,
      residuals_before: cal.before,
      residuals_after: cal.after,
      observations: observations.observations,
    },
  };
}

/** The report `rxsim calibrate` prints. */
export function formatCalibration(cal: Calibration): string {
  const pct = (r: Residual): string => (r.relative ? `${r.residual >= 0 ? '+' : ''}${r.residual.toFixed(2)} %` : `${r.residual >= 0 ? '+' : ''}${+r.residual.toPrecision(4)} (measured 0)`);
  const lines = [
    `base profile ${cal.base}; ${cal.runs} runs, ${cal.iterations} Levenberg–Marquardt iterations; residuals ${(cal.rms * 100).toFixed(2)} % RMS: ${cal.converged ? 'converged' : 'not converged (above 0.5 %): what the fitted classes cannot explain'}`,
    '',
    'factor     value   sensitivity  status',
  ];
  for (const c of COST_CLASS_NAMES) {
    const u = cal.unidentified.find((x) => x.class === c);
    const bound =
      cal.factors[c] <= FACTOR_MIN || cal.factors[c] >= FACTOR_MAX ? ` (at its bound ${cal.factors[c] <= FACTOR_MIN ? FACTOR_MIN : FACTOR_MAX}: the data want more than scaling this class gives)` : '';
    const status = cal.fitted.includes(c) ? `fitted${bound}` : u ? `not identifiable: ${u.why}` : 'fixed (not in "fit")';
    lines.push(`${c.padEnd(10)} ${cal.factors[c].toFixed(3).padStart(6)}  ${(cal.sensitivity[c] ?? 0).toFixed(3).padStart(11)}  ${status}`);
  }
  lines.push('', 'observation / metric                              measured        model   residual (base → fitted)');
  cal.after.forEach((r, i) => {
    const b = cal.before[i]!;
    lines.push(`${`${r.observation}: ${r.metric}`.padEnd(48)} ${String(+r.measured.toPrecision(5)).padStart(10)} ${String(+r.model.toPrecision(5)).padStart(12)}   ${pct(b)} → ${pct(r)}`);
  });
  return `${lines.join('\n')}\n`;
}
