import type { z } from 'zod';
import { InputError, didYouMean, formatPath } from './errors.ts';
import { formatKnobPath, knobAt, knobTypeProblem } from './knobs/registry.ts';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

/**
 * Turn the first zod issue into one InputError: the JSON path, what was expected, and for an
 * unknown key or enum value the nearest valid name. Unknown keys are reported first because a
 * misspelt required key otherwise shows up as "missing".
 */
export function firstIssueAsError(issues: readonly Issue[], schema: AnySchema): InputError {
  const ordered = [...issues].sort((a, b) => rank(a) - rank(b));
  return issueToError(ordered[0]!, schema);
}

function rank(issue: Issue): number {
  return issue.code === 'unrecognized_keys' ? 0 : 1;
}

/** Issues about a value itself (not a missing or unknown key). */
const VALUE_ISSUES = new Set<string>(['invalid_type', 'invalid_value', 'invalid_union', 'invalid_format', 'too_big', 'too_small']);

function issueToError(issue: Issue, schema: AnySchema): InputError {
  const path = issue.path as (string | number)[];
  const input = (issue as { input?: unknown }).input;
  // A knob's value: the registry's message, the one `apply` gives for the same text.
  const knob = VALUE_ISSUES.has(issue.code) && input !== undefined ? knobAt(path) : undefined;
  const knobProblem = knob ? knobTypeProblem(path, input) : undefined;
  if (knob && knobProblem) return new InputError(formatKnobPath(knob, path), knobProblem);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      const known = keysAt(schema, path);
      return new InputError(formatPath([...path, key]), `unknown key "${key}"${didYouMean(key, known)}${known.length ? `; known keys: ${known.join(', ')}` : ''}`);
    }
    case 'invalid_type':
      if (input === undefined) return new InputError(formatPath(path), `is required (expected ${expectedName(issue.expected)})`);
      return new InputError(formatPath(path), `expected ${expectedName(issue.expected)}, got ${show(input)}`);
    case 'too_big':
      if (issue.origin === 'array') return new InputError(formatPath(path), `has too many entries (at most ${issue.maximum})`);
      return new InputError(formatPath(path), `${show(input)} is above the maximum ${issue.maximum}${issue.inclusive ? '' : ' (exclusive)'}`);
    case 'too_small':
      if (issue.origin === 'array') return new InputError(formatPath(path), `needs at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`);
      if (issue.origin === 'string') return new InputError(formatPath(path), 'must not be empty');
      return new InputError(formatPath(path), `${show(input)} is below the minimum ${issue.minimum}${issue.inclusive ? '' : ' (exclusive)'}`);
    case 'invalid_value': {
      const values = issue.values.map(String);
      const got = show(input);
      return new InputError(formatPath(path), `${got} is not one of ${values.join(', ')}${typeof input === 'string' ? didYouMean(input, values) : ''}`);
    }
    case 'invalid_format':
      return new InputError(formatPath(path), `${show(input)} is not ${issue.message.startsWith('Invalid') ? `a valid ${issue.format}` : issue.message}`);
    case 'invalid_union':
      return unionError(issue, path, input, schema);
    case 'invalid_key':
      return new InputError(formatPath(path), `key ${show(input)} is not ${issue.issues[0]?.message ?? 'valid'}`);
    default:
      return new InputError(formatPath(path), issue.message);
  }
}

/** A value that matched no branch of a union: name the branches, or the unknown key if it is an object. */
function unionError(issue: Extract<Issue, { code: 'invalid_union' }>, path: (string | number)[], input: unknown, schema: AnySchema): InputError {
  // A discriminated union whose discriminator (the last key of the path) matched no branch: name every branch's value.
  const key = path[path.length - 1];
  const parent = typeof key === 'string' ? at(schema, path.slice(0, -1)) : undefined;
  if (parent && def(unwrap(parent)).type === 'union' && input && typeof input === 'object' && !Array.isArray(input)) {
    const values = unionOptions(parent)
      .map((o) => objectShape(o)?.[key as string])
      .filter((o): o is AnySchema => o !== undefined)
      .map(describeSchema);
    const got = (input as Record<string, unknown>)[key as string];
    const plain = values.map((v) => v.replace(/^"|"$/g, ''));
    return new InputError(formatPath(path), `${show(got)} is not one of ${values.join(', ')}${typeof got === 'string' ? didYouMean(got, plain) : ''}`);
  }
  const branches = unionOptions(at(schema, path));
  const objectKeys = branches.flatMap((b) => Object.keys(objectShape(b) ?? {}));
  if (input && typeof input === 'object' && !Array.isArray(input) && objectKeys.length > 0) {
    const keys = Object.keys(input);
    const unknown = keys.find((k) => !objectKeys.includes(k));
    if (unknown) return new InputError(formatPath([...path, unknown]), `unknown key "${unknown}"${didYouMean(unknown, objectKeys)}; expected one of: ${objectKeys.join(', ')}`);
    if (keys.length !== 1) return new InputError(formatPath(path), `expected exactly one of: ${objectKeys.join(', ')}`);
    // One known key whose value is wrong: report the error inside that branch.
    const inner = issue.errors.flat().find((i) => i.path.length > 0);
    if (inner) return issueToError({ ...inner, path: [...path, ...inner.path] }, schema);
  }
  const names = branches.map(describeSchema).filter((n) => n);
  return new InputError(formatPath(path), `${show(input)} is not valid: expected ${names.join(' or ')}`);
}

// ---- Walking the schema to find what keys are allowed at a path ----

function def(s: AnySchema): Record<string, unknown> & { type: string } {
  return (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
}

function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (;;) {
    const d = def(cur);
    if (['optional', 'default', 'nullable', 'prefault', 'readonly', 'catch'].includes(d.type)) cur = d.innerType as AnySchema;
    else if (d.type === 'pipe') cur = d.in as AnySchema;
    else return cur;
  }
}

function objectShape(s: AnySchema): Record<string, AnySchema> | undefined {
  const d = def(unwrap(s));
  return d.type === 'object' ? (d.shape as Record<string, AnySchema>) : undefined;
}

function unionOptions(s: AnySchema | undefined): AnySchema[] {
  if (!s) return [];
  const d = def(unwrap(s));
  return d.type === 'union' ? (d.options as AnySchema[]) : [s];
}

/** The schema at a path (through objects, arrays, records, tuples); undefined if unknown. */
function at(schema: AnySchema, path: (string | number)[]): AnySchema | undefined {
  let cur: AnySchema | undefined = schema;
  for (const part of path) {
    if (!cur) return undefined;
    const d = def(unwrap(cur));
    if (d.type === 'object') cur = (d.shape as Record<string, AnySchema>)[String(part)];
    else if (d.type === 'array') cur = d.element as AnySchema;
    else if (d.type === 'record') cur = d.valueType as AnySchema;
    else if (d.type === 'tuple') cur = (d.items as AnySchema[])[Number(part)];
    else if (d.type === 'union') {
      const options = (d.options as AnySchema[]).map((o) => at(o, [part])).filter(Boolean);
      cur = options[0];
    } else return undefined;
  }
  return cur;
}

function keysAt(schema: AnySchema, path: (string | number)[]): string[] {
  const s = at(schema, path);
  return s ? Object.keys(objectShape(s) ?? {}) : [];
}

function describeSchema(s: AnySchema): string {
  const d = def(unwrap(s));
  if (d.type === 'literal') return (d.values as unknown[]).map((v) => JSON.stringify(v)).join(' or ');
  if (d.type === 'object') return `{${Object.keys(d.shape as object).join(', ')}}`;
  if (d.type === 'array') return 'a list';
  if (d.type === 'number') return 'a number';
  if (d.type === 'string') return 'a string';
  if (d.type === 'enum')
    return Object.values(d.entries as object)
      .map((v) => JSON.stringify(v))
      .join(' or ');
  return d.type;
}

function expectedName(expected: string): string {
  return (
    ({ number: 'a number', int: 'an integer', string: 'a string', object: 'an object', array: 'a list', boolean: 'true or false', tuple: 'a list' } as Record<string, string>)[expected] ?? expected
  );
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
