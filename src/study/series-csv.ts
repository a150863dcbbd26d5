import { InputError } from '../scenario/errors.ts';

/**
 * rxsim's series CSV read back: `time_ms,metric,value`, one row per interval and metric, as
 * `rxsim run --series-out` (src/metrics/series.ts: seriesCsv) and `rxsim measure` write it.
 */

export interface SeriesTable {
  /** Interval ends of each metric, ms (from the file). */
  metrics: Map<string, { t: number[]; v: number[] }>;
}

/** One CSV field at `pos`: quoted ("a,""b") or bare; returns the text and the position after the comma. */
function field(line: string, pos: number): [string, number] {
  if (line[pos] === '"') {
    let out = '';
    let i = pos + 1;
    for (;;) {
      const q = line.indexOf('"', i);
      if (q < 0) return [out + line.slice(i), line.length + 1];
      out += line.slice(i, q);
      if (line[q + 1] === '"') {
        out += '"';
        i = q + 2;
      } else return [out, q + 2];
    }
  }
  const c = line.indexOf(',', pos);
  return c < 0 ? [line.slice(pos), line.length + 1] : [line.slice(pos, c), c + 1];
}

/** Parse a series CSV; `where` names the file in errors. */
export function parseSeriesCsv(text: string, where: string): SeriesTable {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const expected = 'expected rxsim series CSV with the header time_ms,metric,value (rxsim run --series-out, rxsim measure --out)';
  if (lines[0]?.trim() !== 'time_ms,metric,value') throw new InputError(where, expected);
  const metrics = new Map<string, { t: number[]; v: number[] }>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const [t, p1] = field(line, 0);
    const [m, p2] = field(line, p1);
    const [v] = field(line, p2);
    const tn = Number(t);
    const vn = Number(v);
    if (t === '' || m === '' || !Number.isFinite(tn) || !Number.isFinite(vn)) throw new InputError(`${where}: line ${i + 1}`, `"${line.slice(0, 60)}": ${expected}`);
    let col = metrics.get(m);
    if (!col) metrics.set(m, (col = { t: [], v: [] }));
    col.t.push(tn);
    col.v.push(vn);
  }
  if (metrics.size === 0) throw new InputError(where, `has no rows: ${expected}`);
  return { metrics };
}
