import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll } from 'vitest';
import { rxsimIn } from '../cli/binary.ts';

/**
 * What every browser test file starts: Vite's dev server on a free port serving web/, and Debian's
 * Chromium (`apt-get install -y chromium`; .ci/run does it) driven by playwright-core, which
 * cannot download a browser here. Also the page helpers the five files share: open a page that
 * records its errors, wait for the app's runs, the share URL, the real `rxsim` binary.
 */
export const CHROMIUM = process.env.RXSIM_CHROMIUM ?? '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where screenshots go: $RXSIM_SCREENSHOTS, or a temporary directory. */
export const SHOTS = process.env.RXSIM_SCREENSHOTS ?? join(tmpdir(), 'rxsim-screenshots');
/** The scenario the app opens on when the URL names none. */
export const SEED_LAB = 'seed-lab-iperf3-on-irq-core';
/** How long a page may take to finish a run (what each file's own copy of the wait allowed). */
const RUN_TIMEOUT_MS = 120_000;

export const scenarioText = (name: string): string => readFileSync(join(ROOT, 'sim-scenarios', `${name}.json`), 'utf8');

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

export interface OpenOptions {
  viewport?: { width: number; height: number };
  deviceScaleFactor?: number;
}

/** The app as a test file sees it, once its beforeAll has run. */
export interface App {
  /** The page's URL, ending in '/'. */
  readonly base: string;
  /** A new page at `url` (1400×1000 unless told), recording its errors for errorsOf; it does not wait for a run. */
  open(url: string, opts?: OpenOptions): Promise<Page>;
  /** open, then wait until the page's first run has finished (waitForRun): most tests look at that run. */
  openRun(url: string, opts?: OpenOptions): Promise<Page>;
  /** The page's share format: base64url of the UTF-8 JSON, in the fragment. */
  shareUrl(obj: unknown): string;
}

/** Start Vite and Chromium before the file's tests (and the screenshot directory), stop them after. */
export function useApp(): App {
  let h: Partial<Harness> = {};
  beforeAll(async () => {
    h = await launch();
    mkdirSync(SHOTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await shutdown(h);
  });
  return {
    get base() {
      return h.base!;
    },
    open: (url, opts) => openPage(h.browser!, url, opts),
    openRun: async (url, opts) => {
      const page = await openPage(h.browser!, url, opts);
      await waitForRun(page);
      return page;
    },
    shareUrl: (obj) => `${h.base!}#s=${Buffer.from(JSON.stringify(obj)).toString('base64url')}`,
  };
}

const pageErrors = new WeakMap<Page, string[]>();

async function openPage(browser: Browser, url: string, { viewport = { width: 1400, height: 1000 }, deviceScaleFactor = 1 }: OpenOptions = {}): Promise<Page> {
  const page = await browser.newPage({ viewport, deviceScaleFactor });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  pageErrors.set(page, errors);
  await page.goto(url);
  return page;
}

/** The uncaught exceptions and console errors of a page opened by App.open, so far. */
export const errorsOf = (page: Page): string[] => pageErrors.get(page)!;

/** How many runs the page has finished (web/main.ts counts them in window.rxsim.runs). */
export const runsOf = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { rxsim?: { runs: number } }).rxsim?.runs ?? 0);

/**
 * Wait until the page has finished `runs` runs in all: the digest, report and views are then the
 * finished run's. A count, not a selector, because every view is already drawn from the last run.
 */
export async function waitForRun(page: Page, runs = 1): Promise<void> {
  await page.waitForFunction((n) => ((window as unknown as { rxsim?: { runs: number } }).rxsim?.runs ?? 0) >= n, runs, { timeout: RUN_TIMEOUT_MS });
}

/** Do what starts a run (a click, a choice) and wait until that run has finished. */
export async function afterRun(page: Page, start: () => Promise<unknown>): Promise<void> {
  const before = await runsOf(page);
  await start();
  await waitForRun(page, before + 1);
}

/** Set a tuning knob as the reader does: type the value, then the change event the page acts on. */
export async function setKnob(page: Page, knob: string, value: string): Promise<void> {
  await page.locator(`[data-knob='${knob}']`).fill(value);
  await page.locator(`[data-knob='${knob}']`).dispatchEvent('change');
}

/** Give the page's Import input `scenario` as the JSON file `name`, as a reader choosing that file would. */
export async function importScenario(page: Page, name: string, scenario: unknown): Promise<void> {
  await page.setInputFiles('[data-testid=import]', { name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(scenario, null, 2)) });
}

/** rx-usecs-10 with `nics[0].ring.rx` 99999, which loading refuses: the bad import the tests make. */
export function badRingScenario(): unknown {
  const bad = JSON.parse(scenarioText('rx-usecs-10')) as { nics: { ring?: { rx: number } }[] };
  bad.nics[0]!.ring = { rx: 99999 };
  return bad;
}

/** Run the real `rxsim` binary in `cwd`: its stdout, or its stderr as the error. */
export async function rxsim(cwd: string, ...args: string[]): Promise<string> {
  const r = await rxsimIn(cwd, ...args);
  if (r.code !== 0) throw new Error(`rxsim ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
