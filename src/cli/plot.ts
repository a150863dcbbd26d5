import type { Command } from 'commander';
import { basename } from 'node:path';
import { plotHtml } from '../study/plot-html.ts';
import { parseSeriesCsv } from '../study/series-csv.ts';
import { readText, writeAtomic } from './io.ts';
import { d3Source } from './sweep.ts';

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('draw series CSV files (rxsim measure --out, rxsim run --series-out) on the same axes, as one self-contained HTML page')
    .argument('<files...>', 'series CSV files; each is labelled by its file name, or LABEL=FILE')
    .requiredOption('--html <file>', 'the page to write')
    .option('--title <text>', 'the page title', 'rxsim: measured and simulated series')
    .action((files: string[], o: { html: string; title: string }) => {
      const inputs = files.map((arg) => {
        const eq = arg.indexOf('=');
        const [label, path] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [basename(arg).replace(/\.csv$/, ''), arg];
        return { label, table: parseSeriesCsv(readText(path, 'series CSV file'), path) };
      });
      writeAtomic(o.html, plotHtml({ title: o.title, files: inputs, d3Source: d3Source() }));
    });
}
