import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { errorsOf, rxsim, scenarioText, SEED_LAB, useApp } from './harness.ts';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { explain } from '../../src/study/explain.ts';

/**
 * The Explain tab in Debian's Chromium (as browser.test.ts): the explanation is Node's for the same
 * run, a step points the shared cursor and focus at its stages, teach mode reveals one step at a
 * time, and the remedies run in the Web Worker pool give exactly `rxsim explain --json`'s results.
 * With RXSIM_EXPLAIN_SHOT=FILE it also runs the seed lab's remedies with seeds 1..5 and writes the
 * panel's screenshot there (the README's docs/screenshots/explain.png).
 */
const app = useApp();
/** A page 1300 px wide unless told (the README's screenshot is 1080), once its first run has finished. */
const open = (url: string, width = 1300) => app.openRun(url, { viewport: { width, height: 1000 } });

/** The remedies the page ran for `flow`, as plain JSON. */
const pageRemedies = (page: Page, flow: string) =>
  page.evaluate((f) => JSON.parse(JSON.stringify((window as unknown as { rxsim: { explain: { remedies: Map<string, unknown> } } }).rxsim.explain.remedies.get(f) ?? null)) as unknown, flow);

async function runRemedies(page: Page, flow: string, seeds: string): Promise<void> {
  await page.fill('[data-testid=explain-seeds]', seeds);
  await page.click(`[data-testid=explain-remedies-${flow}] [data-testid=explain-run-remedies]`);
  await page.waitForSelector(`[data-testid=explain-remedies-${flow}] [data-testid=explain-remedy-table]`, { timeout: 300_000 });
}

describe('the Explain tab', () => {
  let page: Page;

  it("shows the seed lab's explanation as Node computes it: limit, CPU contexts, waits, steps with evidence", async () => {
    page = await open(app.base);
    await page.click('[data-testid=tab-explain]');
    const l = loadScenario(scenarioText(SEED_LAB), {});
    const e = explain(collectResult(simulate(l.resolved), 0), l.scenario).flows[0]!;
    expect(await page.getAttribute('[data-testid=explain-limit]', 'data-kind')).toBe('cpu');
    expect(await page.textContent('[data-testid=explain-limit]')).toContain(e.limit.summary);
    expect(await page.locator('[data-testid=explain-step]').allTextContents()).toEqual(e.chain.map((c) => c.text + c.evidence.map((x) => `${x.path} = ${x.value}`).join('')));
    expect(await page.locator('[data-testid=explain-cpu] .xseg').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('[data-testid=explain-waits] .xseg').count()).toBe(3);
    expect(errorsOf(page)).toEqual([]);
  });

  it('a step moves the shared time cursor to when it shows in the trace and focuses its path stages', async () => {
    // The page's own module instance of web/cursor.ts (same URL, same module).
    // A string, so vitest does not rewrite the dynamic import for Node.
    await page.evaluate(`(async () => {
      const m = await import('/cursor.ts');
      window.seen = [];
      m.cursor.subscribe((ns, source) => window.seen.push({ ns, stages: [], source }));
      m.focus.subscribe((f, source) => window.seen.push({ ns: -1, stages: f.stages, source }));
    })()`);
    // The ksoftirqd step: the cursor goes to ksoftirqd/4's first run after the warm-up.
    await page.locator('[data-testid=explain-step]', { hasText: 'ksoftirqd/4' }).click();
    const seen = await page.evaluate(() => (window as unknown as { seen: { ns: number; stages: string[]; source: string }[] }).seen);
    expect(seen.map((s) => s.source)).toEqual(['explain', 'explain']);
    const warmup = await page.evaluate(() => (window as unknown as { rxsim: { result: { sim: { warmup_ns: number } } } }).rxsim.result.sim.warmup_ns);
    expect(seen[0]!.ns).toBeGreaterThanOrEqual(warmup);
    expect(seen[1]!.stages).toEqual(['napi']);
    // The window-closing step points at the socket and the reader.
    await page.locator('[data-testid=explain-step]', { hasText: 'tcpi_rwnd_limited' }).click();
    const last = await page.evaluate(() => (window as unknown as { seen: { stages: string[] }[] }).seen.at(-1)!.stages);
    expect(last).toEqual(expect.arrayContaining(['socket', 'app']));
  });

  it('teach mode asks first, then reveals the limit and one step per click', async () => {
    await page.check('[data-testid=explain-teach]');
    expect(await page.textContent('[data-testid=explain-question]')).toMatch(/Where is the bottleneck/);
    expect(await page.locator('[data-testid=explain-limit]').count()).toBe(0);
    expect(await page.locator('[data-testid=explain-step]').count()).toBe(0);
    await page.click('[data-testid=explain-reveal]');
    expect(await page.locator('[data-testid=explain-limit]').count()).toBe(1);
    expect(await page.locator('[data-testid=explain-step]').count()).toBe(0);
    await page.click('[data-testid=explain-reveal]');
    expect(await page.locator('[data-testid=explain-step]').count()).toBe(1);
    await page.click('[data-testid=explain-reveal]');
    expect(await page.locator('[data-testid=explain-step]').count()).toBe(2);
    await page.uncheck('[data-testid=explain-teach]');
    await page.close();
  });

  it('the remedies run in the Web Worker pool give exactly what rxsim explain --json gives for the same seeds', async () => {
    // The seed lab, shortened so that 5 runs × 2 seeds stay quick.
    const obj: Record<string, unknown> = { ...(JSON.parse(scenarioText(SEED_LAB)) as Record<string, unknown>), duration_ms: 25, warmup_ms: 5 };
    delete obj.$schema;
    const dir = mkdtempSync(join(tmpdir(), 'rxsim-e2e-explain-'));
    writeFileSync(join(dir, 'lab.json'), JSON.stringify(obj));
    const cli = rxsim(dir, 'explain', 'lab.json', '--json', '--seeds', '1..2', '--jobs', '1');
    const p = await open(app.shareUrl(obj));
    await p.click('[data-testid=tab-explain]');
    await runRemedies(p, 'iperf3', '1..2');
    const fromCli = (JSON.parse(await cli) as { remedy_results: unknown[] }).remedy_results;
    const fromPage = await pageRemedies(p, 'iperf3');
    expect(fromCli.length).toBeGreaterThan(2);
    expect(fromPage).toEqual(fromCli);
    expect(await p.locator('[data-testid=explain-remedy-table] tbody tr').count()).toBe(fromCli.length);
    expect(errorsOf(p)).toEqual([]);
    await p.close();
  }, 300_000);

  it.runIf(process.env.RXSIM_EXPLAIN_SHOT)(
    "the README's screenshot: the seed lab's remedies with seeds 1..5",
    async () => {
      const p = await open(app.base, 1080);
      await p.click('[data-testid=tab-explain]');
      await runRemedies(p, 'iperf3', '1..5');
      await p.locator('[data-testid=explain-step]').nth(1).click();
      const file = process.env.RXSIM_EXPLAIN_SHOT!;
      mkdirSync(join(file, '..'), { recursive: true });
      await p.locator('#view-explain').screenshot({ path: file });
      await p.close();
    },
    600_000,
  );
});
