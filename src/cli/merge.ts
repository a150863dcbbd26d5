import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { InputError } from '../scenario/errors.ts';
import { columnsOf, formatOf, formatRows, parseRows, type Layout, type SweepRow } from '../study/table.ts';
import { fail, readText, writeAtomic } from './io.ts';
import { checkWritable, writeSummaries } from './sweep.ts';

/**
 * `rxsim merge <files…> --out FILE`: join the outputs of a sweep's shards (`--shard I/N`) into
 * one, in run order — the file the unsharded sweep writes. It refuses a set that is not exactly
 * one sweep's runs, each once: a missing run (a shard not given, or interrupted), a run given
 * twice (a shard given twice, or two shards overlapping), a row of another sweep (its hash).
 */

/** "3, 6, 9, 12 and 5 more" */
function some(xs: readonly number[], max = 8): string {
  return xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;
}

export interface Merged {
  layout: Layout;
  rows: SweepRow[];
  hash: string;
}

/** Check and join shard outputs (files already read). */
export function mergeTables(inputs: readonly { file: string; text: string }[]): Merged {
  if (inputs.length === 0) throw new InputError('merge', 'expected the sweep outputs to join: rxsim merge a.csv b.csv … --out all.csv');
  let layout: Layout | null = null;
  let first = '';
  let hash = '';
  let total = -1;
  const owner = new Map<number, number>();
  const rows: SweepRow[] = [];
  for (const [k, { file, text }] of inputs.entries()) {
    const read = parseRows(text, formatOf(file), file);
    if (read.partial) throw new InputError(file, 'ends in a partial line (an interrupted sweep): complete it with rxsim sweep … --out FILE --resume first');
    if (read.layout === null) throw new InputError(file, 'has no rows (not a sweep output, or a shard that never ran)');
    if (layout === null) {
      layout = read.layout;
      first = file;
    } else if (columnsOf(read.layout).join('\0') !== columnsOf(layout).join('\0')) {
      throw new InputError(file, `has the columns ${columnsOf(read.layout).join(', ')}; ${first} has ${columnsOf(layout).join(', ')}: not the same sweep`);
    }
    for (const r of read.rows) {
      if (!hash) {
        hash = r.sweep;
        total = r.runs;
      }
      if (r.sweep !== hash) throw new InputError(file, `run ${r.run} belongs to sweep ${r.sweep.slice(0, 12)}, the rows before it to sweep ${hash.slice(0, 12)}: a foreign shard`);
      if (r.runs !== total) throw new InputError(file, `run ${r.run} says the sweep has ${r.runs} runs, the rows before it ${total}`);
      if (r.run >= total) throw new InputError(file, `run ${r.run} is outside the sweep's runs 0..${total - 1}`);
      const before = owner.get(r.run);
      if (before !== undefined) {
        const other = inputs[before]!.file;
        throw new InputError(file, `run ${r.run} is also in ${before === k ? 'this file, twice' : other === file ? 'the same file given before' : other}: a shard given twice, or overlapping shards`);
      }
      owner.set(r.run, k);
      rows.push(r);
    }
  }
  if (!layout || !hash) throw new InputError(inputs.map((i) => i.file).join(' '), 'hold no rows');
  const missing: number[] = [];
  for (let r = 0; r < total; r++) if (!owner.has(r)) missing.push(r);
  if (missing.length) throw new InputError('merge', `runs ${some(missing)} of sweep ${hash.slice(0, 12)} (${total} runs) are missing: a shard not given, or not finished`);
  return { layout, rows: rows.sort((a, b) => a.run - b.run), hash };
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description("join the outputs of a sweep's shards into one (refuses a missing, duplicated or foreign run)")
    .argument('<files...>', 'shard outputs (*.csv or *.jsonl)')
    .requiredOption('--out <file>', 'the merged output, FILE.csv or FILE.jsonl (never overwritten)')
    .option('--summary <file>', 'also write the summary per point as CSV')
    .option('--html <file>', 'also write the HTML page of charts')
    .action((files: string[], o: { out: string; summary?: string; html?: string }) => {
      try {
        const format = formatOf(o.out, `--out "${o.out}"`);
        if (existsSync(o.out)) throw new InputError(`--out "${o.out}"`, 'exists; name another file (an output is never overwritten)');
        checkWritable(o.out, '--out');
        if (o.summary) checkWritable(o.summary, '--summary');
        if (o.html) checkWritable(o.html, '--html');
        const merged = mergeTables(files.map((file) => ({ file, text: readText(file, 'sweep output') })));
        writeAtomic(o.out, formatRows(merged.rows, merged.layout, format));
        process.stderr.write(`rxsim: merged ${merged.rows.length} runs of sweep ${merged.hash.slice(0, 12)} from ${files.length} file${files.length === 1 ? '' : 's'} -> ${o.out}\n`);
        writeSummaries(merged.layout, merged.rows, {
          summary: o.summary,
          html: o.html,
          title: `rxsim sweep ${merged.hash.slice(0, 12)}`,
          subtitle: `sweep ${merged.hash} · ${merged.rows.length} runs merged from ${files.join(', ')}`,
        });
      } catch (e) {
        fail(e);
      }
    });
}
