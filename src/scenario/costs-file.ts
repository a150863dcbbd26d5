import { z } from 'zod';
import { COST_KEYS, COST_PROFILE_NAMES } from '../model/costs.ts';
import { didYouMean, InputError } from './errors.ts';
import { firstIssueAsError } from './zod-errors.ts';

/**
 * A costs file (`<name>.costs.json`, written by `rxsim calibrate`): a base profile of costs.ts and
 * the values that replace it, with the provenance of the fit. A scenario names it in `costs` by a
 * path relative to the scenario file (`"costs": "./lab.costs.json"`); loading folds it into the
 * scenario as `costs: <base>` plus `cost_overrides` (the scenario's own overrides win), so the
 * model and the result see an ordinary profile and overrides.
 */
export const COSTS_FILE_FORMAT = 'rxsim-costs/1';

export const costsFileSchema = z.looseObject({
  format: z.literal(COSTS_FILE_FORMAT).describe('The file format'),
  name: z.string().min(1),
  base: z.string().describe('The cost profile the values were fitted from (costs.ts)'),
  costs: z.record(z.string(), z.number().min(0)).describe('Every cost of the profile, in ns'),
});

export type CostsFile = z.infer<typeof costsFileSchema>;

/** `costs` names a file rather than a profile: a path ending in .costs.json. */
export function isCostsFileRef(costs: unknown): costs is string {
  return typeof costs === 'string' && costs.endsWith('.costs.json');
}

/** A parsed costs file checked: its base exists, every key is a cost. Errors name the file and JSON path. */
export function checkCostsFile(json: unknown, file: string): CostsFile {
  const parsed = costsFileSchema.safeParse(json);
  if (!parsed.success) {
    const e = firstIssueAsError(parsed.error.issues, costsFileSchema);
    throw new InputError(`${file}: ${e.where}`.replace(/: $/, ''), e.problem);
  }
  const f = parsed.data;
  if (!COST_PROFILE_NAMES.includes(f.base)) throw new InputError(`${file}: base`, `unknown cost profile "${f.base}"${didYouMean(f.base, COST_PROFILE_NAMES)}`);
  for (const key of Object.keys(f.costs)) {
    if (!(COST_KEYS as string[]).includes(key)) throw new InputError(`${file}: costs.${key}`, `unknown cost "${key}"${didYouMean(key, COST_KEYS)}`);
  }
  return f;
}

/**
 * Fold a costs file named by `raw.costs` into the raw scenario (in place). `read` returns the
 * file's parsed JSON; without it (the browser, a sweep worker) a costs file is refused with a
 * line that says what to do instead.
 */
export function inlineCostsFile(raw: unknown, read?: (ref: string) => unknown): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
  const s = raw as Record<string, unknown>;
  if (!isCostsFileRef(s.costs)) return;
  const ref = s.costs;
  if (!read) {
    throw new InputError(
      'costs',
      `"${ref}" is a costs file, which rxsim run, check and trace read (relative to the scenario file); the browser, sweep and tune cannot: give "costs" its "base" and its "costs" as "cost_overrides"`,
    );
  }
  const f = checkCostsFile(read(ref), ref);
  const own = s.cost_overrides !== null && typeof s.cost_overrides === 'object' ? (s.cost_overrides as Record<string, unknown>) : {};
  s.costs = f.base;
  s.cost_overrides = { ...f.costs, ...own };
}
