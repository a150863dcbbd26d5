import { closest, distance } from 'fastest-levenshtein';

/**
 * Bad input. `where` names the JSON path (`nics[0].ring.rx`) or the command token
 * (`apply[1]: "rx-usec"`); the message says what was expected and, for a misspelt name, the
 * nearest valid one. The CLI prints it as one line and exits with code 2.
 */
export class InputError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(where ? `${where}: ${problem}` : problem);
    this.name = 'InputError';
  }
}

/** A problem in a value, raised by parsers that do not know where the value came from. */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

/** " (did you mean "x"?)" for the nearest candidate, if it is plausibly a misspelling. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const near = nearest(word, candidates);
  return near ? ` (did you mean "${near}"?)` : '';
}

/** The nearest candidate, or undefined if none is close enough to be a misspelling. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, candidates);
  const limit = Math.max(2, Math.floor(Math.max(word.length, best.length) / 3));
  return distance(word.toLowerCase(), best.toLowerCase()) <= limit ? best : undefined;
}

/** `a.b[2].c` from a path array; keys that are not identifiers are quoted. */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(part))) out += out ? `.${String(part)}` : String(part);
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(top level)';
}
