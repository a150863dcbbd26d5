import type { Command } from 'commander';
import { InputError } from '../scenario/errors.ts';
import { diffResults, diffSweeps, resultDiffText, sweepDiffText } from '../study/diff.ts';
import { formatOf, parseRows } from '../study/table.ts';
import { parseJsonText } from '../study/values.ts';
import { fail, readText } from './io.ts';

/**
 * `rxsim diff <a> <b>`: two result JSONs (`rxsim run --json --out`), metric by metric (A, B,
 * B − A; only what differs unless --all); or two sweep outputs (CSV or JSONL), point by point:
 * the difference of the means with its 95 % confidence interval and Welch's t-test.
 */

type Kind = 'result' | 'sweep';

function kindOf(file: string): Kind {
  if (/\.json$/i.test(file)) return 'result';
  if (/\.(csv|jsonl)$/i.test(file)) return 'sweep';
  throw new InputError(file, 'expected a result (.json, from rxsim run --json --out) or a sweep output (.csv or .jsonl)');
}

function readResult(file: string): Record<string, unknown> {
  const json = parseJsonText(readText(file, 'result file'), file);
  if (json === null || typeof json !== 'object' || Array.isArray(json) || typeof (json as { digest?: unknown }).digest !== 'string' || !('sim' in json)) {
    throw new InputError(file, 'is not a result of rxsim run --json (no "digest" and "sim")');
  }
  return json;
}

function parseAlpha(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !(x > 0 && x < 1)) throw new InputError(`--alpha "${v}"`, 'expected a significance level between 0 and 1, e.g. 0.05');
  return x;
}

export function diffCommand(a: string, b: string, o: { all?: boolean; alpha: number }): string {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) throw new InputError(b, `is a ${kb === 'result' ? 'result' : 'sweep output'} and ${a} a ${ka === 'result' ? 'result' : 'sweep output'}: compare two of a kind`);
  if (ka === 'result') {
    const ra = readResult(a);
    const rb = readResult(b);
    const rows = diffResults(ra, rb, o.all);
    const head = `A: ${a} (${String(ra.scenario)}, seed ${String(ra.seed)}, digest ${String(ra.digest).slice(0, 12)})\nB: ${b} (${String(rb.scenario)}, seed ${String(rb.seed)}, digest ${String(rb.digest).slice(0, 12)})\n`;
    if (rows.length === 0) return `${head}${ra.digest === rb.digest ? 'identical results (the same digest)' : 'no numeric metric differs'}\n`;
    return head + resultDiffText(rows);
  }
  const ta = parseRows(readText(a, 'sweep output'), formatOf(a), a);
  const tb = parseRows(readText(b, 'sweep output'), formatOf(b), b);
  const d = diffSweeps(ta, tb, o.alpha, { a, b });
  return `A: ${a} (${ta.rows.length} runs)\nB: ${b} (${tb.rows.length} runs)\n${sweepDiffText(d, o.alpha)}`;
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two results (A, B, B - A per metric) or two sweep outputs (difference of means per point, 95 % CI, Welch t-test)')
    .argument('<a>', 'result JSON (rxsim run --json --out) or sweep output (.csv/.jsonl)')
    .argument('<b>', 'the same kind as <a>')
    .option('--all', 'results: list every numeric metric, not only those that differ')
    .option('--alpha <p>', 'sweeps: significance level of the marks', parseAlpha, 0.05)
    .action((a: string, b: string, o: { all?: boolean; alpha: number }) => {
      try {
        process.stdout.write(diffCommand(a, b, o));
      } catch (e) {
        fail(e);
      }
    });
}
