import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../scenario/errors.ts';

/** Exit codes: 0 ok, 1 expectations failed, 2 bad input, 70 internal error (EX_SOFTWARE), 130 interrupted (128 + SIGINT, as shells report it). */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;
export const EXIT_INTERRUPTED = 130;

export function readText(path: string, what: string): string {
  if (!existsSync(path)) throw new InputError(path, `no such ${what}`);
  if (statSync(path).isDirectory()) throw new InputError(path, `is a directory, expected a ${what}`);
  return readFileSync(path, 'utf8');
}

/** Write a file whole or not at all: to a temporary name first, then rename. */
export function writeAtomic(path: string, text: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new InputError(path, `the directory ${dir} does not exist`);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Scenario files named by the user: files as given, directories expanded to their *.json (sorted). */
export function scenarioFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new InputError(p, 'no such file or directory');
    if (statSync(p).isDirectory()) {
      out.push(
        ...readdirSync(p)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => join(p, f)),
      );
    } else {
      out.push(p);
    }
  }
  return out;
}

/** Print one clear line for bad input and exit 2; anything else is a bug: say so, with its stack. */
export function fail(e: unknown, context = ''): never {
  if (e instanceof InputError) {
    process.stderr.write(`rxsim: ${context ? `${context}: ` : ''}${e.message}\n`);
    process.exit(EXIT_USAGE);
  }
  process.stderr.write(`rxsim: internal error (please report): ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(EXIT_INTERNAL);
}
