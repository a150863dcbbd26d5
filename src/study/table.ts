import { InputError } from '../scenario/errors.ts';
import { summarize, type Summary } from './stats.ts';
import type { Sweep } from './sweep.ts';
import { valueLabel, valueOf, type AxisValue } from './values.ts';

/**
 * The rows of a sweep, tidy: one row per run with the columns
 *
 *   run, <each axis as given>, seed, <each metric as given>, digest, sweep, runs
 *
 * (`run`: the run id, its index in the sweep's order; `sweep`: the sweep hash; `runs`: the
 * sweep's total run count, so a merge can tell a missing shard). CSV (RFC 4180: a header, fields
 * with a comma, quote or line break in double quotes) or JSONL (one object per line, keys in
 * column order). A file is read back as complete lines only: a partial last line (an interrupted
 * write) is reported as such and left out.
 */

export type Format = 'csv' | 'jsonl';

export interface SweepRow {
  run: number;
  /** Axis values as written in CSV (strings as they are, other values as JSON). */
  labels: string[];
  /** Axis values as JSON values (JSONL). */
  values: AxisValue[];
  seed: number;
  metrics: (number | null)[];
  digest: string;
  sweep: string;
  runs: number;
}

/** The layout of a sweep's rows: its axes and metrics, in column order. */
export interface Layout {
  axes: string[];
  metrics: string[];
}

export function layoutOf(s: Pick<Sweep, 'axes' | 'metrics'>): Layout {
  return { axes: s.axes.map((a) => a.name), metrics: [...s.metrics] };
}

export function columnsOf(l: Layout): string[] {
  return ['run', ...l.axes, 'seed', ...l.metrics, 'digest', 'sweep', 'runs'];
}

/** The format a file name asks for: .csv or .jsonl. */
export function formatOf(file: string, where = file): Format {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.jsonl$/i.test(file)) return 'jsonl';
  throw new InputError(where, 'expected a file name ending in .csv or .jsonl');
}

// ---- CSV ----

export function csvField(text: string): string {
  return /[",\n\r]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\n`;
}

/** RFC 4180 records of complete lines; `rest` is the text after the last complete record (a partial line). */
export function parseCsv(text: string): { records: string[][]; complete: number } {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let complete = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n') {
      fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
      records.push(fields);
      fields = [];
      field = '';
      complete = i + 1;
    } else field += c;
    i++;
  }
  return { records, complete };
}

// ---- Rows ----

const cell = (v: number | null): string => (v === null ? '' : String(v));

/** One row as a line of the file (with its newline). */
export function formatRow(row: SweepRow, layout: Layout, format: Format): string {
  if (format === 'csv') return csvLine([String(row.run), ...row.labels, String(row.seed), ...row.metrics.map(cell), row.digest, row.sweep, String(row.runs)]);
  const obj: Record<string, unknown> = { run: row.run };
  layout.axes.forEach((a, i) => (obj[a] = row.values[i]));
  obj.seed = row.seed;
  layout.metrics.forEach((m, i) => (obj[m] = row.metrics[i]));
  obj.digest = row.digest;
  obj.sweep = row.sweep;
  obj.runs = row.runs;
  return `${JSON.stringify(obj)}\n`;
}

/** The header line (CSV); JSONL has none. */
export function formatHeader(layout: Layout, format: Format): string {
  return format === 'csv' ? csvLine(columnsOf(layout)) : '';
}

export function formatRows(rows: readonly SweepRow[], layout: Layout, format: Format): string {
  return formatHeader(layout, format) + rows.map((r) => formatRow(r, layout, format)).join('');
}

export interface ReadTable {
  format: Format;
  /** null when the file has no complete line yet. */
  layout: Layout | null;
  rows: SweepRow[];
  /** Length of the text that holds complete lines (a resume truncates the file to it). */
  complete: number;
  /** Whether there was a partial last line. */
  partial: boolean;
}

/** The layout a header (or the keys of a JSONL row) describes. */
export function layoutFromColumns(columns: readonly string[], where: string): Layout {
  const seed = columns.indexOf('seed');
  const n = columns.length;
  const tail = columns.slice(n - 3).join();
  if (columns[0] !== 'run' || seed < 0 || tail !== 'digest,sweep,runs' || seed > n - 4) {
    throw new InputError(where, `is not a sweep output: expected the columns run, <axes…>, seed, <metrics…>, digest, sweep, runs; got ${columns.slice(0, 6).join(', ')}${n > 6 ? ', …' : ''}`);
  }
  return { axes: columns.slice(1, seed), metrics: columns.slice(seed + 1, n - 3) };
}

function integer(text: unknown, where: string, column: string): number {
  const v = typeof text === 'number' ? text : typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(v) || v < 0) throw new InputError(where, `${column} ${JSON.stringify(text)} is not a non-negative integer`);
  return v;
}

function metricCell(v: unknown, where: string, column: string): number | null {
  if (v === null || v === '') return null;
  const x = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(x)) throw new InputError(where, `${column}: ${JSON.stringify(v)} is not a number`);
  return x;
}

/** Read a sweep output (CSV or JSONL) of complete lines. `label` names the file in messages. */
export function parseRows(text: string, format: Format, label: string): ReadTable {
  if (format === 'csv') {
    const { records, complete } = parseCsv(text);
    const partial = complete < text.length;
    if (records.length === 0) return { format, layout: null, rows: [], complete, partial };
    const columns = records[0]!;
    const layout = layoutFromColumns(columns, `${label}: line 1`);
    const na = layout.axes.length;
    const nm = layout.metrics.length;
    const rows = records.slice(1).map((f, i): SweepRow => {
      const where = `${label}: line ${i + 2}`;
      if (f.length !== columns.length) throw new InputError(where, `has ${f.length} fields, expected ${columns.length} (as the header)`);
      const labels = f.slice(1, 1 + na);
      return {
        run: integer(f[0], where, 'run'),
        labels,
        values: labels.map(valueOf),
        seed: integer(f[1 + na], where, 'seed'),
        metrics: f.slice(2 + na, 2 + na + nm).map((v, j) => metricCell(v, where, layout.metrics[j]!)),
        digest: f[2 + na + nm]!,
        sweep: f[3 + na + nm]!,
        runs: integer(f[4 + na + nm], where, 'runs'),
      };
    });
    return { format, layout, rows, complete, partial };
  }
  const end = text.lastIndexOf('\n') + 1;
  const lines = text.slice(0, end).split('\n').slice(0, -1);
  let layout: Layout | null = null;
  let columns: string[] = [];
  const rows: SweepRow[] = [];
  lines.forEach((line, i) => {
    const where = `${label}: line ${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new InputError(where, 'is not a JSON object (expected one row per line)');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new InputError(where, 'is not a JSON object (expected one row per line)');
    const o = obj as Record<string, unknown>;
    const keys = Object.keys(o);
    if (!layout) {
      layout = layoutFromColumns(keys, where);
      columns = keys;
    } else if (keys.join('\0') !== columns.join('\0')) {
      throw new InputError(where, `has the keys ${keys.join(', ')}; line 1 has ${columns.join(', ')}`);
    }
    const l: Layout = layout;
    const values = l.axes.map((a) => o[a]);
    rows.push({
      run: integer(o.run, where, 'run'),
      labels: values.map(valueLabel),
      values,
      seed: integer(o.seed, where, 'seed'),
      metrics: l.metrics.map((m) => metricCell(o[m], where, m)),
      digest: String(o.digest),
      sweep: String(o.sweep),
      runs: integer(o.runs, where, 'runs'),
    });
  });
  return { format, layout, rows, complete: end, partial: end < text.length };
}

// ---- Summary per point ----

export interface PointSummary {
  /** Axis values as labels. */
  labels: string[];
  values: AxisValue[];
  /** Per metric. */
  stats: Summary[];
}

/** Group rows (in run order) by point, in the order points first appear, and summarize each metric. */
export function summarizeRows(layout: Layout, rows: readonly SweepRow[]): PointSummary[] {
  const groups = new Map<string, { labels: string[]; values: AxisValue[]; rows: SweepRow[] }>();
  for (const r of [...rows].sort((a, b) => a.run - b.run)) {
    const key = JSON.stringify(r.labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels: r.labels, values: r.values, rows: [] }));
    g.rows.push(r);
  }
  return [...groups.values()].map((g) => ({
    labels: g.labels,
    values: g.values,
    stats: layout.metrics.map((_, m) => summarize(g.rows.map((r) => r.metrics[m]!))),
  }));
}

export const SUMMARY_STATS = ['n', 'mean', 'sd', 'ci95_lo', 'ci95_hi', 'min', 'max'] as const;

/** A number for a table: `digits` significant digits, no trailing zeros; '' for null. */
export function fmtNumber(x: number | null, digits = 12): string {
  if (x === null) return '';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  return String(Number(x.toPrecision(digits)));
}

/** Summary cells: a row per point and metric (tidy). */
export function summaryCells(layout: Layout, points: readonly PointSummary[], digits = 12): { columns: string[]; rows: string[][] } {
  const columns = [...layout.axes, 'metric', ...SUMMARY_STATS];
  const rows: string[][] = [];
  for (const p of points) {
    layout.metrics.forEach((m, i) => {
      const s = p.stats[i]!;
      rows.push([...p.labels, m, String(s.n), ...[s.mean, s.sd, s.ci95_lo, s.ci95_hi, s.min, s.max].map((x) => fmtNumber(x, digits))]);
    });
  }
  return { columns, rows };
}

export function summaryCsv(layout: Layout, points: readonly PointSummary[]): string {
  const { columns, rows } = summaryCells(layout, points);
  return csvLine(columns) + rows.map(csvLine).join('');
}

/** Columns aligned with two spaces; numbers (and empty cells) right-aligned. */
export function alignedTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === '' || /^-?[\d.]+(e[-+]?\d+)?$|^-?inf$/.test(r[i]!)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map(line)].join('\n') + '\n';
}

export function summaryText(layout: Layout, points: readonly PointSummary[]): string {
  const { columns, rows } = summaryCells(layout, points, 6);
  return alignedTable(columns, rows);
}
