import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { afterRun, badRingScenario, errorsOf, importScenario, ROOT, rxsim, scenarioText, SEED_LAB, setKnob, SHOTS, useApp } from './harness.ts';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { toFtrace, TraceRecorder } from '../../src/trace/index.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { scenario } from '../helpers.ts';

/**
 * End to end in Debian's Chromium (`apt-get install -y chromium`; .ci/run does it): the Vite dev
 * server serves web/, playwright-core drives the browser. Screenshots of every view go to
 * $RXSIM_SCREENSHOTS (default: a temporary directory); speed figures are printed, not asserted.
 */
const app = useApp();

const nodeDigest = (text: string, seed?: number) => collectResult(simulate(loadScenario(text, seed === undefined ? {} : { seed }).resolved), 0).digest;
/** When ksoftirqd/4 first takes CPU 4 after the warm-up (step mode's earliest start), in ms; null if it never does. */
function ksoftirqdTakesOverMs(text: string, seed: number): number | null {
  const { resolved } = loadScenario(text, { seed });
  const trace = new TraceRecorder({ detail: 'poll', capacity: 1 << 20 });
  simulate(resolved, { trace });
  for (const m of toFtrace(trace).matchAll(/(\d+\.\d+): sched_switch: .* ==> next_comm=ksoftirqd\/4 /g)) {
    const ms = Number(m[1]) * 1000;
    if (ms >= resolved.warmupNs / 1e6) return ms;
  }
  return null;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe('the browser app', () => {
  let page: Page;

  it('opens on the seed lab, runs it in a worker and shows the digest Node computes', async () => {
    page = await app.openRun(app.base);
    const digest = await page.textContent('[data-testid=digest]');
    expect(digest).toBe(nodeDigest(scenarioText(SEED_LAB)));
    expect(await page.inputValue('[data-testid=scenario-select]')).toBe(SEED_LAB);
    // The report is rxsim run's, with the steady-state check of the 1 ms series.
    expect(await page.textContent('[data-testid=report]')).toMatch(/Steady state \(MSER-5 on goodput per 1 ms interval/);
    expect(errorsOf(page)).toEqual([]);
  });

  it('draws every view with data (screenshots of each)', async () => {
    await shot(page, 'path');
    expect(await page.locator('[data-testid=path-svg] g.stage').count()).toBeGreaterThanOrEqual(9);
    expect(await page.textContent('[data-testid=view-path]')).toMatch(/IRQ 132 → CPU 4/);

    await page.click('[data-testid=tab-timeline]');
    // The rows must show iperf3 and the receive softirq — inline or in ksoftirqd, depending on the
    // run's regime (docs/seed-lab.md) — in their colours: collect the canvas's pixel colours.
    const colours = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<string>();
      for (let i = 0; i < d.length; i += 4 * 7) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
      return [...seen];
    });
    expect(colours, 'app').toContain('44,160,44');
    expect(colours.includes('255,127,14') || colours.includes('148,103,189'), 'softirq or ksoftirqd').toBe(true);
    // Hovering CPU 4's row names what ran there.
    // Below the replay bar the canvas may start near the bottom of the window: bring CPU 4's row into view.
    await page.evaluate(() => document.querySelector('[data-testid=timeline-canvas]')!.scrollIntoView({ block: 'start' }));
    const canvas = (await page.locator('[data-testid=timeline-canvas]').boundingBox())!;
    await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + 4 + 4.5 * ((canvas.height - 30) / 10));
    expect(await page.textContent('[data-testid=timeline-tooltip]')).toMatch(/^CPU 4 · (softirq|ksoftirqd|app|hardirq|switch) · \S+ · /);
    await shot(page, 'timeline');
    // The trace behind the timeline downloads for Perfetto and as ftrace text.
    const [perfetto] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=trace-perfetto]')]);
    expect(perfetto.suggestedFilename()).toBe(`${SEED_LAB}.perfetto.json`);
    const chrome = JSON.parse(readFileSync(await perfetto.path(), 'utf8')) as { traceEvents: { name: string; ph: string }[] };
    expect(chrome.traceEvents.some((e) => e.ph === 'X' && e.name === 'napi_poll ens4f1')).toBe(true);
    const [ftrace] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=trace-ftrace]')]);
    // A hard interrupt on CPU 4 in the ftrace format (the NIC's, or the tick when NAPI kept the vector masked).
    expect(readFileSync(await ftrace.path(), 'utf8')).toMatch(/\[004\] d\.h1\. +0\.\d{6}: irq_handler_entry: irq=(132 name=ens4f1-TxRx-4|LOC name=local_timer)/);

    await page.click('[data-testid=tab-queues]');
    expect(await page.locator('[data-testid=queues-ring] path').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=queues-socket] path').count()).toBeGreaterThan(0);
    await shot(page, 'queues');

    await page.click('[data-testid=tab-latency]');
    expect(await page.locator('[data-testid=latency-histogram] rect.bar').count()).toBeGreaterThan(3);
    expect(await page.textContent('[data-testid=latency-stages]')).toMatch(/socket → application/);
    await shot(page, 'latency');

    await page.click('[data-testid=tab-counters]');
    expect(await page.textContent('[data-testid=counters-interrupts]')).toMatch(/ens4f1-TxRx-4/);
    expect(await page.getAttribute('[data-testid=counters-softnet] th:nth-child(3)', 'title')).toMatch(/net_rx_action/);
    expect(await page.getAttribute('[data-testid=counters-interrupts] div:has-text("ens4f1-TxRx-4")', 'title')).toMatch(/kstat_incr_irqs_this_cpu/);
    expect(await page.getAttribute('[data-testid=counters-nstat] td:text-is("TcpInSegs")', 'title')).toMatch(/tcp_v4_rcv/);
    expect(await page.locator('[data-testid=counters-mpstat] tr').count()).toBe(11);
    await shot(page, 'counters');
  });

  it('step mode advances event by event and poll by poll, naming the kernel function and file', async () => {
    await page.click('[data-testid=tab-step]');
    const first = await page.textContent('[data-testid=step-info]');
    await page.click('[data-testid=step-next]');
    const second = await page.textContent('[data-testid=step-info]');
    expect(second).not.toBe(first);
    expect(second).toMatch(/step 2 of \d+/);
    await page.click('[data-testid=step-next-poll]');
    expect(await page.textContent('[data-testid=step-fn]')).toBe('__napi_poll()');
    expect(await page.textContent('[data-testid=step-file]')).toBe('net/core/dev.c');
    expect(await page.locator('[data-testid=step-diagram] g.stage.hot').count()).toBe(1);
    // A driver poll works on the rings: rx-4's ring is listed and marked (polls of the CPU's
    // backlog come in between: step on to the next driver poll).
    let involved = '';
    for (let i = 0; i < 20 && !/ring/.test(involved); i++) {
      involved = (await page.textContent('[data-testid=step-queues] tr.involved')) ?? '';
      if (!/ring/.test(involved)) await page.click('[data-testid=step-next-poll]');
    }
    expect(await page.textContent('[data-testid=step-fn]')).toBe('__napi_poll()');
    expect(involved).toMatch(/ens4f1\/rx-\d ring/);
    // Record from just after ksoftirqd/4 first takes over, in a run where it does (the first
    // seed whose Node trace shows it; the scenario's own seed may keep the softirq inline): the
    // steps start there and show it.
    const seed = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].find((s) => ksoftirqdTakesOverMs(scenarioText(SEED_LAB), s) !== null)!;
    const from = Math.ceil(ksoftirqdTakesOverMs(scenarioText(SEED_LAB), seed)!);
    await page.fill('[data-testid=seed]', String(seed));
    await page.dispatchEvent('[data-testid=seed]', 'change');
    await afterRun(page, async () => {
      await page.fill('[data-testid=step-from]', String(from));
      await page.click('[data-testid=step-record]');
    });
    expect(await page.textContent('[data-testid=step-info]')).toMatch(new RegExp(`step 1 of \\d+ · ${from}\\.\\d+ ms`));
    expect(await page.textContent('[data-testid=step-list]')).toMatch(/ksoftirqd\/4/);
    expect(await page.textContent('[data-testid=digest]')).toBe(nodeDigest(scenarioText(SEED_LAB), seed)); // the same run
    await shot(page, 'step');
  });

  it('compare: pin A, change a knob, run B, and both show side by side with the differences marked', async () => {
    await page.click('[data-testid=tab-tuning]');
    await page.click('[data-testid=pin-a]');
    await setKnob(page, 'apps[0].cpus', '1');
    await afterRun(page, () => page.click('[data-testid=tuning-run]'));
    const table = page.locator('[data-testid=compare-table]');
    expect(await table.locator('tr').count()).toBeGreaterThan(8);
    const goodput = await table.locator('tr', { hasText: 'goodput' }).locator('td').allTextContents();
    expect(Number(goodput[1]!)).toBeLessThan(6.5);
    expect(Number(goodput[2]!)).toBeGreaterThan(9.3); // iperf3 off the interrupt core: line rate
    expect(await table.locator('td.better').count()).toBeGreaterThan(0);
    await shot(page, 'compare');
    // Undo restores the knob (immer history).
    await page.click('[data-testid=undo]');
    expect(await page.locator('[data-knob="apps[0].cpus"]').inputValue()).toBe('4');
  });

  it('an imported scenario with a bad field shows the error next to that field', async () => {
    await importScenario(page, 'bad.json', badRingScenario());
    await page.waitForSelector('[data-testid=field-error]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=error]')).toMatch(/nics\[0\]\.ring\.rx/);
    expect(await page.textContent('[data-testid=error-line]')).toMatch(/"rx": 99999/);
    await shot(page, 'import-error');
  });

  it('a shared URL restores the scenario: the same digest in a fresh page', async () => {
    await afterRun(page, () => page.selectOption('[data-testid=scenario-select]', 'rr-latency-under-flood'));
    // A run with another seed: the seed travels with the shared scenario.
    await afterRun(page, async () => {
      await page.fill('[data-testid=seed]', '7');
      await page.locator('[data-testid=seed]').dispatchEvent('change');
      await page.click('[data-testid=run]');
    });
    await page.click('[data-testid=share]');
    await page.waitForSelector('[data-testid=share-url]');
    const url = await page.getAttribute('[data-testid=status]', 'data-url');
    expect(url).toMatch(/#z=[A-Za-z0-9_-]+$/); // deflate-raw compressed
    expect(url!.length).toBeLessThan(0.5 * app.shareUrl(JSON.parse(scenarioText('rr-latency-under-flood'))).length);
    const again = await app.openRun(url!);
    expect(await again.textContent('[data-testid=digest]')).toBe(nodeDigest(scenarioText('rr-latency-under-flood'), 7));
    expect(await again.inputValue('[data-testid=seed]')).toBe('7');
    expect(await again.textContent('[data-testid=digest]')).toBe(await page.textContent('[data-testid=digest]'));
    await again.close();
  });

  it('every shipped scenario gives the browser the digest it gives Node', async () => {
    const names = readdirSync(join(ROOT, 'sim-scenarios'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''))
      .sort();
    expect(names.length).toBeGreaterThan(20);
    const p = await app.openRun(`${app.base}?scenario=${names[0]}`);
    const mismatches: string[] = [];
    for (const [i, name] of names.entries()) {
      if (i > 0) await afterRun(p, () => p.selectOption('[data-testid=scenario-select]', name));
      const browserDigest = await p.textContent('[data-testid=digest]');
      if (browserDigest !== nodeDigest(scenarioText(name))) mismatches.push(name);
    }
    expect(mismatches).toEqual([]);
    await p.close();
  }, 300_000);

  it('cancel stops a long run (progress shown first); export downloads the edited scenario', async () => {
    const s = JSON.parse(scenarioText('flood-64b-one-queue')) as Record<string, unknown>;
    const p = await app.open(app.shareUrl({ ...s, duration_ms: 5000 }));
    await p.waitForFunction(() => Number(document.querySelector<HTMLProgressElement>('[data-testid=progress]')!.value) > 0, null, { timeout: 60_000 });
    expect(await p.textContent('[data-testid=status]')).toMatch(/running… [\d.]+ of 5000 ms simulated/);
    await p.click('[data-testid=cancel]');
    expect(await p.textContent('[data-testid=status]')).toBe('cancelled');
    expect(await p.textContent('[data-testid=digest]')).toBe('–'); // nothing finished
    // The page still works: a short run after the cancel completes.
    await p.click('[data-testid=tab-tuning]');
    await p.locator('input[data-knob="nics[0].coalesce.rx-usecs"]').fill('100');
    await p.locator('input[data-knob="nics[0].coalesce.rx-usecs"]').dispatchEvent('change');
    await p.fill('[data-testid=apply-input]', 'sysctl -w net.core.netdev_budget=600');
    await p.click('[data-testid=apply-add]');
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('[data-testid=export]')]);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8')) as { duration_ms: number; nics: { coalesce: Record<string, number> }[]; apply: string[] };
    expect(exported.duration_ms).toBe(5000);
    expect(exported.nics[0]!.coalesce['rx-usecs']).toBe(100);
    expect(exported.apply).toEqual([...((s.apply as string[] | undefined) ?? []), 'sysctl -w net.core.netdev_budget=600']); // the scenario's own apply (ethtool -A) first
    await p.close();
  });

  it('sweep tab: bad input is shown under its field; a sweep runs in a worker pool, draws its points and exports the CSV rxsim sweep writes', async () => {
    // A tiny scenario: 2 × 2 points × 2 seeds = 8 runs of 5 ms simulated, with the default run-to-run variation (seeds differ).
    const tiny = scenario({
      name: 'tiny-sweep',
      variability: undefined,
      duration_ms: 5,
      flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1003', dst: '10.0.0.2:9', rate: '200kpps', size: 64 }],
      apps: [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'rxsim-e2e-sweep-'));
    writeFileSync(join(dir, 'tiny.json'), JSON.stringify(tiny, null, 2));
    // The CLI's file, while the browser works.
    const cli = rxsim(dir, 'sweep', 'tiny.json', '--vary', 'nics[0].coalesce.rx-usecs=10,50', '--vary-apply', 'sysctl -w net.core.netdev_budget={}=300,600', '--seeds', '2', '--out', 'cli.csv');
    const p = await app.openRun(app.shareUrl(tiny));
    await p.click('[data-testid=tab-sweep]');
    const axis = (i: number) => p.locator('[data-testid=sweep-axis]').nth(i);
    const axisError = (i: number) => p.locator('[data-testid=sweep-axis-error]').nth(i);
    // Bad input: a misspelt path, a value the knob refuses, a malformed range — nothing runs.
    await axis(0).fill('nics[0].coalesce.rx-usec=10,50');
    await p.click('[data-testid=sweep-run]');
    expect(await axisError(0).textContent()).toMatch(/rx-usec.*did you mean|unknown|not a field|no such/i);
    expect(await p.textContent('[data-testid=sweep-progress]')).toBe('not run: fix the input');
    await axis(0).fill('nics[0].coalesce.rx-usecs=10,2000');
    await p.click('[data-testid=sweep-run]');
    expect(await axisError(0).textContent()).toMatch(/--vary nics\[0\]\.coalesce\.rx-usecs=2000: .*1022/);
    await axis(0).fill('nics[0].coalesce.rx-usecs=10..50:-5');
    await p.click('[data-testid=sweep-run]');
    expect(await axisError(0).textContent()).toMatch(/the step must be positive/);
    await shot(p, 'sweep-error');
    await p.fill('[data-testid=sweep-seeds]', '0');
    await axis(0).fill('nics[0].coalesce.rx-usecs=10,50');
    await p.click('[data-testid=sweep-run]');
    expect(await p.textContent('[data-testid=sweep-seeds-error]')).toMatch(/expected a count N ≥ 1/);
    expect(await axisError(0).textContent()).toBe('');
    expect(await p.locator('[data-testid=sweep-chart]').count()).toBe(0);
    // The sweep: two axes (a path and a command), two seeds.
    await p.click('[data-testid=sweep-add-axis]');
    await axis(1).fill('"sysctl -w net.core.netdev_budget={}"=300,600');
    await p.fill('[data-testid=sweep-seeds]', '2');
    // Points appear as runs finish: note what each redraw of the charts shows.
    await p.evaluate(() => {
      const seen: { progress: string; points: number }[] = [];
      (window as unknown as { sweepDraws: typeof seen }).sweepDraws = seen;
      const charts = document.querySelector('[data-testid=sweep-charts]')!;
      new MutationObserver(() => seen.push({ progress: document.querySelector('[data-testid=sweep-progress]')!.textContent ?? '', points: charts.querySelectorAll('circle.point').length })).observe(
        charts,
        { childList: true },
      );
    });
    const t0 = Date.now();
    await p.click('[data-testid=sweep-run]');
    await p.waitForFunction(() => /^8 of 8 runs, done/.test(document.querySelector('[data-testid=sweep-progress]')!.textContent ?? ''), null, { timeout: 60_000 });
    const ms = Date.now() - t0;
    const draws = await p.evaluate(() => (window as unknown as { sweepDraws: { progress: string; points: number }[] }).sweepDraws);
    expect(
      draws.some((d) => /^[1-7] of 8 runs$/.test(d.progress) && d.points > 0),
      JSON.stringify(draws),
    ).toBe(true);
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('[data-testid=sweep-export]')]);
    const exported = readFileSync(await download.path(), 'utf8');
    await cli;
    const expected = readFileSync(join(dir, 'cli.csv'), 'utf8');
    expect(exported).toBe(expected); // byte for byte: columns, run order, digests, sweep hash
    expect(download.suggestedFilename()).toMatch(/^tiny-sweep-sweep-[0-9a-f]{12}\.csv$/);
    const metrics = expected.split('\n')[0]!.split(',').slice(4, -3);
    expect(metrics.length).toBeGreaterThan(2);
    // A chart per metric, 2 × 2 points each (2 x values, a line per budget); the summary: a row per point and metric.
    expect(await p.locator('[data-testid=sweep-chart]').count()).toBe(metrics.length);
    expect(await p.locator('[data-testid=sweep-chart]').first().locator('circle.point').count()).toBe(4);
    expect(await p.locator('[data-testid=sweep-summary] tbody tr').count()).toBe(4 * metrics.length);
    expect(errorsOf(p)).toEqual([]);
    console.log(`browser sweep: 8 runs of 5 ms in ${ms} ms (${await p.textContent('[data-testid=sweep-progress]')})`);
    await shot(p, 'sweep');
    await p.close();
  });

  it('speed: a 100 ms 10 GbE run with per-poll tracing, and zoom/pan of the timeline (figures printed)', async () => {
    const s = JSON.parse(scenarioText('tcp-10g-gro-on')) as Record<string, unknown>;
    const p = await app.openRun(app.shareUrl({ ...s, duration_ms: 100 }));
    const { renderMs, wallMs } = await p.evaluate(() => {
      const d = (window as unknown as { rxsim: { renderMs: number; result: { sim: { wall_ms: number } } } }).rxsim;
      return { renderMs: d.renderMs, wallMs: d.result.sim.wall_ms };
    });
    await p.click('[data-testid=tab-timeline]');
    const box = (await p.locator('[data-testid=timeline-canvas]').boundingBox())!;
    await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await p.evaluate(() => (window as unknown as { rxsim: { timeline: { resetFps(): void } } }).rxsim.timeline.resetFps());
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) await p.mouse.wheel(0, -120);
    for (let i = 0; i < 40; i++) {
      await p.mouse.down();
      await p.mouse.move(box.x + box.width / 2 + (i % 2 ? 60 : -60), box.y + box.height / 2, { steps: 2 });
      await p.mouse.up();
    }
    const { fps, drawMs } = await p.evaluate(() => {
      const t = (window as unknown as { rxsim: { timeline: { fps(): number; drawMs(): number } } }).rxsim.timeline;
      return { fps: t.fps(), drawMs: t.drawMs() };
    });
    console.log(
      `browser: 100 ms of 10 GbE TCP simulated in ${wallMs.toFixed(0)} ms; views drawn ${renderMs.toFixed(0)} ms after the run; timeline zoom/pan ${fps.toFixed(0)} frames/s over ${Date.now() - t0} ms of interaction (as fast as the test sends input), ${drawMs.toFixed(2)} ms per draw (${(1000 / drawMs).toFixed(0)} frames/s possible)`,
    );
    expect(fps).toBeGreaterThan(0);
    expect(await p.textContent('[data-testid=timeline-range]')).not.toMatch(/\(100\.0 ms\)/); // it zoomed
    await p.close();
  });
});
