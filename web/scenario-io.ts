import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { parsePathParts } from '../src/scenario/load.ts';
import { el } from './views/colors.ts';

/**
 * Import, export and share. A bad scenario is shown as its source with the message right under
 * the line of the field it names (the JSON path of the error), or of the line/column of a
 * syntax error.
 */
export function lineOfError(text: string, where: string): number | null {
  const lc = /^line (\d+), column \d+$/.exec(where);
  if (lc) return Number(lc[1]) - 1;
  const root = parseTree(text);
  if (!root || !where) return null;
  // An apply command's error names the entry and then the token (`apply[2]: token "ethtol"`): the entry's line.
  where = where.replace(/: (token "[^]*|at the end)$/, '');
  let parts: (string | number)[];
  try {
    parts = parsePathParts(where, where);
  } catch {
    return null;
  }
  // The deepest node that exists on the path (a missing key is reported at its parent).
  for (let n = parts.length; n >= 0; n--) {
    const node = findNodeAtLocation(root, parts.slice(0, n));
    if (node) {
      const offset = node.parent?.type === 'property' ? node.parent.offset : node.offset;
      return text.slice(0, offset).split('\n').length - 1;
    }
  }
  return null;
}

export function showSource(container: HTMLElement, text: string, where: string | null, message: string | null): void {
  container.replaceChildren();
  container.hidden = false;
  const bad = where !== null ? lineOfError(text, where) : null;
  text.split('\n').forEach((line, i) => {
    const row = el('div', i === bad ? { class: 'bad', 'data-testid': 'error-line' } : {}, `${String(i + 1).padStart(4)}  ${line}`);
    container.append(row);
    if (i === bad && message) container.append(el('div', { class: 'fielderror', 'data-testid': 'field-error' }, `      ↑ ${message}`));
  });
}

export function download(name: string, text: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/**
 * The whole scenario travels in the URL's fragment (never sent to a server): `#z=` base64url of
 * the deflate-raw compressed JSON (a quarter of the size), or `#s=` base64url of the plain JSON.
 */
const toBase64url = (bytes: Uint8Array): string => {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const fromBase64url = (code: string): Uint8Array => Uint8Array.from(atob(code.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Blob([bytes as BlobPart]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

export async function encodeScenario(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(JSON.parse(text)));
  return `z=${toBase64url(await pipe(bytes, new CompressionStream('deflate-raw')))}`;
}

/** The scenario text of a `z=…` or `s=…` fragment (pretty-printed). */
export async function decodeScenario(fragment: URLSearchParams): Promise<string> {
  const z = fragment.get('z');
  const bytes = z !== null ? await pipe(fromBase64url(z), new DecompressionStream('deflate-raw')) : fromBase64url(fragment.get('s') ?? '');
  return JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2);
}
