import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

/**
 * `npm start`: the browser app on the Vite dev server, started so that it leaves nothing behind.
 * A port already taken is one line naming the port and how to free it (exit 2), not Vite's stack
 * trace; SIGINT, SIGTERM and SIGHUP close the server and exit; and when the process that started
 * it goes away without passing a signal on (npm killed, the terminal closed), the server notices
 * that its parent changed and closes too, so the port does not stay held by an orphan.
 *
 *   npm start [-- --port N] [--host H]
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface StartOptions {
  host: string;
  port: number;
}

/** `--port N` and `--host H`; anything else is an error naming the token. */
function startOptions(argv: readonly string[]): StartOptions | string {
  const o: StartOptions = { host: '127.0.0.1', port: 5173 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '--port' && v !== undefined && /^\d+$/.test(v) && Number(v) > 0 && Number(v) < 65536) o.port = Number(argv[++i]);
    else if (a === '--host' && v !== undefined) o.host = argv[++i]!;
    else return `npm start: token "${a}${v !== undefined && a.startsWith('--') ? ` ${v}` : ''}": expected --port N (1..65535) or --host ADDRESS`;
  }
  return o;
}

function portInUseMessage(o: StartOptions): string {
  return `npm start: port ${o.port} on ${o.host} is in use (an earlier npm start still running?): free it with "fuser -k ${o.port}/tcp" (or kill the PID "ss -ltnp 'sport = :${o.port}'" shows), or use another port: npm start -- --port ${o.port + 1}`;
}

/** Whether a TCP listener can bind host:port right now. */
function portFree(o: StartOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    probe.once('error', () => resolve(false));
    probe.listen(o.port, o.host, () => probe.close(() => resolve(true)));
  });
}

async function main(): Promise<void> {
  const o = startOptions(process.argv.slice(2));
  if (typeof o === 'string') {
    console.error(o);
    process.exit(2);
  }
  if (!(await portFree(o))) {
    console.error(portInUseMessage(o));
    process.exit(2);
  }
  let server: ViteDevServer;
  try {
    server = await createServer({ configFile: `${ROOT}vite.config.ts`, server: { host: o.host, port: o.port, strictPort: true } });
    await server.listen();
  } catch (e) {
    // Taken between the probe and the listen: the same one line.
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' || /already in use/.test(String(e))) {
      console.error(portInUseMessage(o));
      process.exit(2);
    }
    throw e;
  }
  server.printUrls();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.close().finally(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, stop);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();
}

await main();
