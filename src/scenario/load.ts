import { parse as parseJsonc, printParseErrorCode, visit, type ParseError } from 'jsonc-parser';
import { applyCommands, isRuntimeCommand } from './apply.ts';
import { inlineCostsFile } from './costs-file.ts';
import { formatPath, InputError } from './errors.ts';
import { resolveScenario, type ResolvedScenario, type TimelineChange } from './resolve.ts';
import { scenarioSchema, type Scenario } from './schema.ts';
import { firstIssueAsError } from './zod-errors.ts';

export interface LoadOptions {
  /** `--seed N` */
  seed?: number;
  /** `--duration-ms N` */
  durationMs?: number;
  /** `--apply "<cmd>"`, applied after the scenario's own `apply` list. */
  apply?: string[];
  /** `--set path=value`, applied to the JSON before validation. */
  set?: string[];
  /**
   * Reads a costs file named by `costs` (`"./lab.costs.json"`, costs-file.ts) and returns its
   * parsed JSON; the CLI resolves it relative to the scenario file. Without it a costs file is
   * refused (the browser and sweep workers cannot read files).
   */
  readCosts?: (ref: string) => unknown;
}

export interface Loaded {
  /** The scenario with defaults filled in and every apply command folded in. */
  scenario: Scenario;
  resolved: ResolvedScenario;
}

/**
 * JSON text → validated, applied, resolved scenario. Every problem is one InputError naming the
 * JSON path or command token; nothing is half-applied because nothing is written until the end.
 */
export function loadScenario(text: string, opts: LoadOptions = {}): Loaded {
  const raw = parseJson(text);
  const texts = (opts.set ?? []).map((assignment) => setPath(raw, assignment));
  try {
    return loadScenarioObject(raw, opts);
  } catch (e) {
    // `--set apps[0].cpus=1` reads 1 as a number; where the field takes text (a CPU list, a mask),
    // the assignment meant the text: set it as a string and try once more.
    const retry = texts.filter((t) => t.wasNumber && e instanceof InputError && e.where === formatPath(t.parts) && e.problem.startsWith('expected a string'));
    if (retry.length === 0) throw e;
    for (const t of retry) assignPath(raw, t.parts, t.text, t.where);
    return loadScenarioObject(raw, opts);
  }
}

export function loadScenarioObject(raw: unknown, opts: LoadOptions = {}): Loaded {
  // --seed and --duration-ms go through the schema like the file's own fields: one rule, one
  // message (a duration above the limit is refused the same from the file, --set and the option).
  const overrides: Record<string, unknown> = {};
  if (opts.seed !== undefined) overrides.seed = opts.seed;
  if (opts.durationMs !== undefined) overrides.duration_ms = opts.durationMs;
  const input = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>), ...overrides } : raw;
  inlineCostsFile(input, opts.readCosts);
  const parsed = scenarioSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const e = firstIssueAsError(parsed.error.issues, scenarioSchema);
    const option = e.where === 'seed' && opts.seed !== undefined ? `--seed ${opts.seed}` : e.where === 'duration_ms' && opts.durationMs !== undefined ? `--duration-ms ${opts.durationMs}` : null;
    throw option ? new InputError(option, e.problem) : e;
  }
  let scenario = parsed.data;
  scenario = applyCommands(scenario, scenario.apply, (i) => `apply[${i}]`);
  scenario = applyCommands(scenario, opts.apply ?? [], (i) => `--apply "${opts.apply![i]}"`);
  const resolved = resolveScenario(scenario);
  resolved.timeline = resolveTimeline(scenario, resolved);
  return { scenario, resolved };
}

/**
 * Timeline entries: each entry's commands are applied on top of everything before it, and what
 * changed (app CPU lists, IRQ affinities) becomes a change the model makes at that time.
 */
function resolveTimeline(base: Scenario, resolved: ResolvedScenario): TimelineChange[] {
  const out: TimelineChange[] = [];
  let scenario = base;
  let prev = resolved;
  let lastMs = 0;
  base.timeline.forEach((entry, i) => {
    const where = `timeline[${i}]`;
    if (entry.at_ms < lastMs) throw new InputError(`${where}.at_ms`, `${entry.at_ms} comes before the previous entry (${lastMs}); keep the timeline in time order`);
    if (entry.at_ms >= base.duration_ms) throw new InputError(`${where}.at_ms`, `${entry.at_ms} is not before the end of the run (duration_ms ${base.duration_ms})`);
    lastMs = entry.at_ms;
    entry.apply.forEach((cmd, j) => {
      if (!isRuntimeCommand(cmd, `${where}.apply[${j}]`)) {
        throw new InputError(`${where}.apply[${j}]`, 'only taskset and echo LIST > /proc/irq/N/smp_affinity_list act on a running machine; put device and sysctl settings in "apply"');
      }
    });
    scenario = applyCommands(scenario, entry.apply, (j) => `${where}.apply[${j}]`);
    const next = resolveScenario(scenario);
    const change: TimelineChange = { atNs: Math.round(entry.at_ms * 1e6), apps: [], irqs: [] };
    next.apps.forEach((a, k) => {
      if (a.cpus.join() !== prev.apps[k]!.cpus.join()) change.apps.push({ app: k, cpus: a.cpus });
    });
    next.nics.forEach((n, k) => {
      n.irqAffinity.forEach((cpus, q) => {
        if (cpus.join() !== prev.nics[k]!.irqAffinity[q]!.join()) change.irqs.push({ nic: k, queue: q, cpus });
      });
    });
    out.push(change);
    prev = next;
  });
  return out;
}

/** The largest scenario file rxsim reads, and the deepest nesting (a scenario needs about 6 levels). */
export const MAX_SCENARIO_BYTES = 16 * 1024 * 1024;
export const MAX_NESTING = 64;

/** Strict JSON, with the line and column of the first syntax error; no duplicate keys, bounded size and depth. */
export function parseJson(text: string): unknown {
  if (text.length > MAX_SCENARIO_BYTES) throw new InputError('(file)', `is ${text.length} bytes; a scenario may have at most ${MAX_SCENARIO_BYTES} (16 MiB)`);
  checkNesting(text);
  checkDuplicateKeys(text);
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  if (errors.length === 0) return value;
  const { error, offset } = errors[0]!;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  // "CommaExpected" → "comma expected"
  const what = printParseErrorCode(error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  throw new InputError(`line ${line}, column ${col}`, `invalid JSON: ${what}`);
}

/** What a `--set` assigned: its path, its text, and whether the text read as a number. */
interface SetAssignment {
  parts: (string | number)[];
  text: string;
  wasNumber: boolean;
  where: string;
}

/** `--set a.b[0]["c.d"]=value`: the value is JSON if it parses, else a string. */
export function setPath(root: unknown, assignment: string): SetAssignment {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new InputError(`--set "${assignment}"`, 'expected path=value, e.g. nics[0].ring.rx=1024');
  const pathText = assignment.slice(0, eq);
  const valueText = assignment.slice(eq + 1);
  const where = `--set "${assignment}"`;
  const parts = parsePathParts(pathText, where);
  let value: unknown = valueText;
  try {
    value = JSON.parse(valueText);
  } catch {
    // not JSON: keep the string
  }
  assignPath(root, parts, value, where);
  return { parts, text: valueText, wasNumber: typeof value === 'number', where };
}

/**
 * Set the value at `parts` under `root`, creating the objects and lists on the way; `undefined`
 * deletes the key (the field goes back to its default). `where` names the source in errors.
 */
export function assignPath(root: unknown, parts: (string | number)[], value: unknown, where: string): void {
  let cur = root as Record<string | number, unknown>;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i]!;
    if (typeof key === 'number' && Array.isArray(cur) && key >= cur.length) {
      const list = formatPath(parts.slice(0, i));
      const have = cur.length === 0 ? 'it is empty' : `it has ${cur.length} (${list}[0]${cur.length > 1 ? `..${list}[${cur.length - 1}]` : ''})`;
      throw new InputError(where, `${formatPath(parts.slice(0, i + 1))} does not exist: ${have}`);
    }
    if (cur[key] === undefined || cur[key] === null) cur[key] = typeof parts[i + 1] === 'number' ? [] : {};
    const next = cur[key];
    if (typeof next !== 'object') throw new InputError(where, `"${String(key)}" is not an object or list`);
    cur = next as Record<string | number, unknown>;
  }
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/** `a.b[0]["c.d"]` → ['a', 'b', 0, 'c.d']. */
export function parsePathParts(path: string, where: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const re = /\s*(?:\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["([^"]*)"\])/y;
  let pos = 0;
  while (pos < path.length) {
    re.lastIndex = pos;
    const m = re.exec(path);
    if (!m) throw new InputError(where, `cannot read the path at "${path.slice(pos)}" (expected a form like nics[0].coalesce.rx-usecs or sysctl["net.core.netdev_budget"])`);
    parts.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
    pos = re.lastIndex;
  }
  if (parts.length === 0) throw new InputError(where, 'empty path');
  return parts;
}

/** Nesting deeper than MAX_NESTING is refused before parsing (a recursive parser would overflow its stack). */
function checkNesting(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_NESTING) {
        const before = text.slice(0, i);
        throw new InputError(`line ${before.split('\n').length}, column ${i - before.lastIndexOf('\n')}`, `nesting deeper than ${MAX_NESTING} levels; a scenario needs far fewer`);
      }
    } else if (c === 125 || c === 93) depth--;
  }
}

/** A key given twice in one object would silently keep the last value: name it instead. */
function checkDuplicateKeys(text: string): void {
  const seen: Set<string>[] = [];
  let dup: { path: (string | number)[]; key: string } | null = null;
  visit(text, {
    onObjectBegin: () => void seen.push(new Set()),
    onObjectEnd: () => void seen.pop(),
    onObjectProperty: (key, _offset, _length, _line, _col, pathSupplier) => {
      const keys = seen[seen.length - 1];
      if (!keys || dup) return;
      if (keys.has(key)) dup = { path: pathSupplier(), key };
      keys.add(key);
    },
  });
  if (dup) {
    const d: { path: (string | number)[]; key: string } = dup;
    throw new InputError(formatPath([...d.path, d.key]), `"${d.key}" is given twice in this object; JSON keys must be unique (the first value would be lost)`);
  }
}
