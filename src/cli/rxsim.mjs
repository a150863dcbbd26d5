#!/usr/bin/env node
// The `rxsim` command. `npm ci` compiles the sources into build/ (the `prepare` script), and that
// JavaScript runs when it is newer than every source file. When the sources were edited since
// (or RXSIM_FROM_SOURCE=1), the TypeScript runs directly through tsx instead: the same results,
// about a third slower (tsx keeps function names and source maps).
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const compiled = new URL('build/cli/main.js', root);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    const t = entry.isDirectory() ? newestSource(path) : entry.name.endsWith('.ts') ? statSync(path).mtimeMs : 0;
    if (t > newest) newest = t;
  }
  return newest;
}

const fresh = process.env.RXSIM_FROM_SOURCE !== '1' && existsSync(compiled) && statSync(compiled).mtimeMs >= newestSource(new URL('src/', root));
if (fresh) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
