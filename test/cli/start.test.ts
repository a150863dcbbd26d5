import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm start` (src/cli/start.ts): a port in use is one line and exit 2; a signal or the death of
 * the process that started it closes the server, so the next start finds the port free.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START = ['--import', 'tsx', 'src/cli/start.ts'];
const children: ChildProcess[] = [];

function start(args: string[], viaShell = false): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  const argv = [...START, ...args];
  // viaShell: as npm runs it, a shell in between that can be killed on its own (and then prints the server's pid).
  const child = viaShell ? spawn('sh', ['-c', `${JSON.stringify(process.execPath)} ${argv.join(' ')} & echo "pid $!"; wait`], { cwd: ROOT }) : spawn(process.execPath, argv, { cwd: ROOT });
  children.push(child);
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Without escapes: where CI is set in the environment (as on a CI runner), Vite colours its URL
  // and puts the port in bold (":\x1b[1m5173\x1b[22m/"); what a reader sees is ":5173/".
  return { child, out: () => stripVTControlCharacters(out), err: () => stripVTControlCharacters(err), exit };
}

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}
const portOf = (s: Server) => (s.address() as { port: number }).port;
const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));
async function freePort(): Promise<number> {
  const s = await listen();
  const port = portOf(s);
  await close(s);
  return port;
}
async function until(f: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (await f()) return true;
  return false;
}
const isFree = async (port: number) => {
  try {
    await close(await listen(port));
    return true;
  } catch {
    return false;
  }
};

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('npm start', () => {
  it('a port in use: one line naming the port and how to free it, exit 2, no stack trace', async () => {
    const busy = await listen();
    const port = portOf(busy);
    const s = start(['--port', String(port)]);
    expect(await s.exit).toBe(2);
    await close(busy);
    const lines = s.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use .*fuser -k ${port}/tcp.*npm start -- --port ${port + 1}`));
  });

  it('a bad option: one line naming the token', async () => {
    const s = start(['--prot', '3']);
    expect(await s.exit).toBe(2);
    expect(s.err().trim()).toBe('npm start: token "--prot 3": expected --port N (1..65535) or --host ADDRESS');
  });

  it('SIGTERM closes the server and exits 0; the port is free for the next start', async () => {
    const port = await freePort();
    const s = start(['--port', String(port)]);
    expect(await until(() => s.out().includes(`:${port}/`), 60_000)).toBe(true);
    s.child.kill('SIGTERM');
    expect([0, 143]).toContain(await s.exit); // 143: 128 + SIGTERM, as Vite's own SIGTERM handler exits
    expect(await isFree(port)).toBe(true);
  });

  it('when the process that started it is killed (SIGKILL, no signal passed on), the server still lets the port go', async () => {
    const port = await freePort();
    const s = start(['--port', String(port)], true);
    expect(await until(() => s.out().includes(`:${port}/`), 60_000)).toBe(true);
    const pid = Number(/pid (\d+)/.exec(s.out())![1]);
    s.child.kill('SIGKILL'); // the shell, as when npm is killed
    const freed = await until(() => isFree(port), 10_000);
    const exited = await until(() => !isAlive(pid), 5_000);
    if (!exited) process.kill(pid, 'SIGKILL'); // leave nothing behind, then fail
    expect(freed).toBe(true);
    expect(exited).toBe(true);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
