import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CODE = /\.(ts|mts|cts|js|mjs|cjs)$/;

interface Import {
  /** The specifier as written. */
  spec: string;
  /** Repository-relative path of the imported file, for a relative specifier. */
  target: string | null;
  line: number;
}

function listCode(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = posix.join(dir, e.name);
    if (e.isDirectory()) return listCode(path);
    return CODE.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file a relative specifier names: as written, or with `.ts` / `/index.ts`, or `.js` read as `.ts`. */
function resolveRelative(from: string, spec: string): string | null {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const candidates = [base, `${base}.ts`, `${base}/index.ts`, base.replace(/\.(m|c)?js$/, '.$1ts')];
  return candidates.find((c) => existsSync(join(ROOT, c)) && statSync(join(ROOT, c)).isFile()) ?? null;
}

/** Every `import … from`, `import type … from`, `export … from`, side-effect and dynamic import of a file. */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map(({ fileName: spec, pos }) => ({
    spec,
    target: spec.startsWith('.') ? resolveRelative(file, spec) : null,
    line: text.slice(0, pos).split('\n').length,
  }));
}

const FILES = [...listCode('src'), ...listCode('web')].sort();
const IMPORTS = new Map(FILES.map((f) => [f, importsOf(f)]));
const GRAPH = new Map(FILES.map((f) => [f, [...new Set(IMPORTS.get(f)!.flatMap((i) => (i.target !== null && IMPORTS.has(i.target) ? [i.target] : [])))]]));

/** Strongly connected components (Tarjan) that hold a cycle: more than one file, or a file importing itself. */
function cyclicComponents(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) out.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/** Every elementary cycle, as `a.ts > b.ts > a.ts` starting from its alphabetically first file. */
function elementaryCycles(graph: Map<string, string[]>, limit = 20_000): string[] {
  const cycles: string[] = [];
  for (const component of cyclicComponents(graph)) {
    const inside = new Set(component);
    for (const start of component) {
      const path = [start];
      const onPath = new Set(path);
      const walk = (v: string): void => {
        for (const w of graph.get(v)!) {
          if (w === start) {
            cycles.push([...path, start].join(' > '));
            if (cycles.length > limit) throw new Error(`more than ${limit} import cycles among: ${component.join(', ')}`);
          } else if (inside.has(w) && w > start && !onPath.has(w)) {
            path.push(w);
            onPath.add(w);
            walk(w);
            path.pop();
            onPath.delete(w);
          }
        }
      };
      walk(start);
    }
  }
  return cycles.sort();
}

/** `file:line imports 'spec'` for each import of the files `from` selects that `forbidden` rejects. */
function violations(from: (file: string) => boolean, forbidden: (i: Import) => boolean): string[] {
  const out: string[] = [];
  for (const f of FILES.filter(from)) for (const i of IMPORTS.get(f)!) if (forbidden(i)) out.push(`${f}:${i.line} imports '${i.spec}'`);
  return out;
}

function under(...dirs: string[]): (path: string | null) => boolean {
  return (path) => path !== null && dirs.some((d) => path.startsWith(`${d}/`));
}
const anyFile = () => true;
const unresolved = (i: Import) => i.spec.startsWith('.') && i.target === null;
const isNodeBuiltin = (i: Import) => i.spec.startsWith('node:') || (!i.spec.startsWith('.') && isBuiltin(i.spec));

describe('architecture', () => {
  it('sees the whole tree: every relative import names a file', () => {
    expect(FILES.length).toBeGreaterThan(50);
    expect(violations(anyFile, unresolved)).toEqual([]);
  });

  it('has no import cycle between files (type-only imports included)', () => {
    const cycles = elementaryCycles(GRAPH);
    const shown = cycles.length > 50 ? [...cycles.slice(0, 50), `… and ${cycles.length - 50} more`] : cycles;
    expect(shown, 'import cycles').toEqual([]);
  });

  it('src/engine/ knows no kernel words: it imports nothing from model, scenario, metrics, trace, cli or web', () => {
    expect(violations(under('src/engine'), (i) => under('src/model', 'src/scenario', 'src/metrics', 'src/trace', 'src/cli', 'web')(i.target))).toEqual([]);
  });

  it('src/model/ imports nothing from web/ or src/cli/', () => {
    expect(violations(under('src/model'), (i) => under('web', 'src/cli')(i.target))).toEqual([]);
  });

  it('only src/cli/ imports Node built-ins (node:*)', () => {
    expect(violations((f) => !under('src/cli')(f), isNodeBuiltin)).toEqual([]);
  });
});
