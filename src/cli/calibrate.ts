import type { Command } from 'commander';
import { basename, dirname, resolve } from 'node:path';
import { InputError } from '../scenario/errors.ts';
import { parseJson } from '../scenario/load.ts';
import type { Observation, PreparedObservation } from '../study/calibrate.ts';
import { measuredValues } from '../study/measure-observation.ts';
import { parseSeriesCsv } from '../study/series-csv.ts';
import { readText, writeAtomic } from './io.ts';

/** Read a JSON file; a syntax error names the file, line and column. */
function readJson(file: string, what: string): unknown {
  try {
    return parseJson(readText(file, what));
  } catch (e) {
    if (e instanceof InputError && e.where !== file) throw new InputError(`${file}: ${e.where}`, e.problem);
    throw e;
  }
}

/** `<name>.costs.json` → name; anything else is refused (a scenario recognises a costs file by that ending). */
function profileName(out: string): string {
  const file = basename(out);
  if (!file.endsWith('.costs.json') || file === '.costs.json')
    throw new InputError(`--out ${out}`, 'expected a file named <name>.costs.json (a scenario loads it with "costs": "./<name>.costs.json")');
  return file.slice(0, -'.costs.json'.length);
}

/**
 * An observation whose `measure` names a series CSV: the file read (relative to the observations
 * file) and reduced to measured values over its window; values given in `measured` take precedence.
 */
function withMeasureFile(ob: Observation, dir: string, where: string): Observation {
  if (!ob.measure) return ob;
  const path = resolve(dir, ob.measure.file);
  const table = parseSeriesCsv(readText(path, 'measure file'), `${where}.file ${ob.measure.file}`);
  const values = measuredValues(table, { fromMs: ob.measure.from_ms, toMs: ob.measure.to_ms, metrics: ob.measure.metrics }, `${where}.file ${ob.measure.file}`);
  return { ...ob, measured: { ...values, ...ob.measured } };
}

export function registerCalibrate(program: Command, version: string): void {
  program
    .command('calibrate')
    .description('fit scale factors of cost classes (driver, stack, netfilter, copy, entry, sched) to measurements of a real machine; write a costs file')
    .argument('<observations>', 'observations file (*.json): runs on the real machine, each a scenario, its apply commands and the measured values')
    .option('--base <profile>', 'cost profile to start from (default: the file\'s "base", else baremetal-10g)')
    .requiredOption('--out <file>', 'the costs file to write, <name>.costs.json')
    .action(async (file: string, o: { base?: string; out: string }) => {
      const name = profileName(o.out);
      // loaded here, not at start-up: every other command starts without the optimizer
      const { calibrate, checkBase, checkObservations, costsFileOf, formatCalibration, parseObservations } = await import('../study/calibrate.ts');
      const observations = parseObservations(readJson(file, 'observations file'), file);
      const base = o.base !== undefined ? checkBase(o.base, `--base ${o.base}`) : checkBase(observations.base ?? 'baremetal-10g', `${file}: base`);
      const dir = dirname(resolve(file));
      const prepared: PreparedObservation[] = observations.observations.map((observed, i) => {
        const ob = withMeasureFile(observed, dir, `${file}: observations[${i}].measure`);
        if (typeof ob.scenario !== 'string') return { o: ob, raw: ob.scenario };
        const raw = readJson(resolve(dir, ob.scenario), 'scenario file');
        if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${file}: observations[${i}].scenario`, `${ob.scenario} is not a scenario object`);
        return { o: ob, raw: raw as Record<string, unknown> };
      });
      prepared.forEach((p, i) => {
        if (typeof p.raw.costs === 'string' && p.raw.costs !== base) {
          process.stderr.write(`rxsim: warning: ${file}: observations[${i}]: the scenario's costs "${p.raw.costs}" is replaced by the base profile "${base}" (--base or "base" chooses it)\n`);
        }
      });
      try {
        checkObservations(prepared, base);
      } catch (e) {
        if (e instanceof InputError) throw new InputError(`${file}: ${e.where}`, e.problem);
        throw e;
      }
      const cal = calibrate(prepared, { base, ...(observations.fit ? { fit: observations.fit } : {}) });
      process.stdout.write(formatCalibration(cal));
      writeAtomic(o.out, `${JSON.stringify(costsFileOf(name, cal, observations, basename(file), version), null, 2)}\n`);
      process.stderr.write(`rxsim: calibrate: ${o.out} written (base ${base}); a scenario loads it with "costs": "./${basename(o.out)}"\n`);
    });
}
