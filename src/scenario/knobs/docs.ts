import { KIND_TITLES, KNOBS, defaultText, rangeText, typeText } from './registry.ts';
import type { AnyKnob, KnobKind } from './types.ts';

/**
 * The knob table for people: `rxsim knobs` prints it, `rxsim knobs --markdown` prints the
 * README's table, and `--update README.md` rewrites the README between the markers (a test
 * fails when the README's copy is stale).
 */

export const BEGIN = '<!-- knobs:begin -->';
export const END = '<!-- knobs:end -->';

function kinds(): KnobKind[] {
  return [...new Set(KNOBS.map((k) => k.kind))];
}

/** A table cell: pipes escaped (GFM splits on them, even in code spans). */
const cell = (text: string): string => text.replaceAll('|', '\\|');
const code = (text: string): string => cell(`\`${text}\``);

function row(k: AnyKnob): string {
  const where = `${k.sameFieldAs ? `as ${code(k.sameFieldAs)}` : code(k.path)}<br>${code(k.where)}`;
  return `| ${code(k.name)} | ${where} | ${cell(typeText(k))} | ${cell(defaultText(k))} | ${cell(rangeText(k))} | ${code(k.source)} |`;
}

/** One markdown table per kind of knob. */
export function knobTable(): string {
  return kinds()
    .map((kind) =>
      [
        `**${KIND_TITLES[kind]}**`,
        '',
        '| name | where (scenario field, Linux) | type, unit | default | range | read by |',
        '|---|---|---|---|---|---|',
        ...KNOBS.filter((k) => k.kind === kind).map(row),
      ].join('\n'),
    )
    .join('\n\n');
}

/** The plain listing: per knob its place, type, default, range, reader and what it does. */
export function knobList(): string {
  const out: string[] = [];
  for (const kind of kinds()) {
    out.push(KIND_TITLES[kind]);
    for (const k of KNOBS.filter((x) => x.kind === kind)) {
      out.push(`  ${k.name}`);
      out.push(`      ${k.sameFieldAs ? `(as ${k.sameFieldAs})` : k.path}   ${k.where}`);
      out.push(`      ${typeText(k)}; default ${defaultText(k)}; range ${rangeText(k)}; read by ${k.source}`);
      out.push(`      ${k.description}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `text` with the table between the markers replaced by the current one. */
export function spliceKnobTable(text: string): string {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`no ${BEGIN} … ${END} markers`);
  return `${text.slice(0, begin + BEGIN.length)}\n${knobTable()}\n${text.slice(end)}`;
}

/** The table between the markers of `text` (what the README shows now). */
export function knobTableIn(text: string): string | undefined {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  return begin < 0 || end < begin ? undefined : text.slice(begin + BEGIN.length, end).trim();
}
