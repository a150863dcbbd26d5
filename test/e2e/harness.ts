import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

/**
 * What every browser test file starts: Vite's dev server on a free port serving web/, and Debian's
 * Chromium (`apt-get install -y chromium`; .ci/run does it) driven by playwright-core, which
 * cannot download a browser here.
 */
export const CHROMIUM = process.env.RXSIM_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Harness {
  server: ViteDevServer;
  browser: Browser;
  /** The page's URL, ending in '/'. */
  base: string;
}

export async function launch(): Promise<Harness> {
  if (!existsSync(CHROMIUM)) throw new Error(`browser tests need Chromium at ${CHROMIUM}: apt-get install -y chromium (or set RXSIM_CHROMIUM)`);
  const server = await createServer({ configFile: join(ROOT, 'vite.config.ts'), server: { host: '127.0.0.1', port: 0, strictPort: false }, logLevel: 'error' });
  await server.listen();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return { server, browser, base: server.resolvedUrls!.local[0]! };
}

export async function shutdown(h: Partial<Harness>): Promise<void> {
  await h.browser?.close();
  await h.server?.close();
}
