import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { InputError } from '../scenario/errors.ts';
import { EXPERIMENTS, runExperiment, validationMarkdown, type ValidationRow } from '../study/validation.ts';
import { EXIT_FAILED, readText, writeAtomic } from './io.ts';

/** The repository root (validation/ and sim-scenarios/ are beside src/). */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Run every experiment of the validation table; `onRow` sees each as it finishes. */
export function validationRows(onRow?: (r: ValidationRow) => void): ValidationRow[] {
  return EXPERIMENTS.map((e) => {
    const read = (path: string | undefined): string | undefined => (path ? readText(join(ROOT, path), 'scenario file') : undefined);
    const row = runExperiment(e, read(e.scenario), read(e.relativeTo));
    onRow?.(row);
    return row;
  });
}

/** The text `rxsim validate` writes: docs/VALIDATION.md as it should be now. */
export function validationText(): string {
  return validationMarkdown(validationRows());
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description("run the published experiments (validation/*.json and the seed lab's scenarios) and print model, published figure, ratio, band and source")
    .option('--out <file>', 'write the markdown table to a file (docs/VALIDATION.md) instead of stdout')
    .option('--check', 'compare with the file of --out and exit 1 when it is stale (nothing written)')
    .action((o: { out?: string; check?: boolean }) => {
      if (o.check && !o.out) throw new InputError('--check', 'needs --out FILE (the table to compare, e.g. docs/VALIDATION.md)');
      const rows = validationRows((r) => {
        const v = r.model === null ? 'not modelled' : `${+r.model.toPrecision(3)} ${r.e.unit} (published ${+r.published.toPrecision(3)}, ratio ${r.ratio!.toFixed(2)}: ${r.status})`;
        process.stderr.write(`rxsim: validate: ${r.e.id}: ${v}\n`);
      });
      const text = validationMarkdown(rows);
      if (o.check) {
        const now = existsSync(o.out!) ? readText(o.out!, 'file') : '';
        if (now !== text) {
          process.stderr.write(`rxsim: ${o.out} is stale: run rxsim validate --out ${o.out}\n`);
          process.exitCode = EXIT_FAILED;
        }
        return;
      }
      if (o.out) writeAtomic(o.out, text);
      else process.stdout.write(text);
    });
}
