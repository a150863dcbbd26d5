import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { afterRun, badRingScenario, errorsOf, importScenario, scenarioText, SEED_LAB, setKnob, SHOTS, useApp, waitForRun } from './harness.ts';

/**
 * Issue 17's rough edges in the browser (the pure logic is in test/web/rough-edges.test.ts):
 * links that name no scenario, a stale path after a failed import, the timeline's zoom across a
 * resize, the apply box, the tuning grid at 1366 px, the latency labels, and Compare with
 * several named pins. Same setup as browser.test.ts: Vite on its own port, Debian's Chromium.
 */
const app = useApp();

/** Run the tuning tab's edited scenario and wait until that run has finished. */
const runAgain = (page: Page) => afterRun(page, () => page.click('[data-testid=tuning-run]'));

describe('rough edges of the browser app (issue 17)', () => {
  it('?scenario=<unknown> says so, names the nearest scenario, and runs the default', async () => {
    const page = await app.openRun(`${app.base}?scenario=rx-usecs-1O`);
    expect(await page.textContent('[data-testid=notice]')).toMatch(/\?scenario=rx-usecs-1O: no shipped scenario has that name \(the nearest is "rx-usecs-10"\)/);
    expect(await page.isVisible('[data-testid=notice]')).toBe(true);
    expect(await page.inputValue('[data-testid=scenario-select]')).toBe(SEED_LAB);
    expect(await page.textContent('[data-testid=digest]')).toMatch(/^[0-9a-f]{64}$/);
    // Choosing a scenario answers the link: the notice goes.
    await page.selectOption('[data-testid=scenario-select]', 'rx-usecs-10');
    expect(await page.locator('[data-testid=notice]').count()).toBe(0);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });

  it('a corrupt #z= share link shows an error line and the default scenario, still usable', async () => {
    const page = await app.openRun(`${app.base}#z=not-a-valid-deflate-stream`);
    expect(await page.textContent('[data-testid=notice]')).toMatch(/the shared URL does not hold a valid scenario/);
    expect(await page.inputValue('[data-testid=scenario-select]')).toBe(SEED_LAB);
    await page.selectOption('[data-testid=scenario-select]', 'rx-usecs-10');
    await waitForRun(page, 2);
    expect(await page.textContent('[data-testid=description]')).toBe((JSON.parse(scenarioText('rx-usecs-10')) as { narrative: string }).narrative);
    await page.close();
  });

  let page: Page;

  it('after a failed import the views are marked stale, naming the run they show; a good run clears the mark', async () => {
    page = await app.openRun(`${app.base}?scenario=rx-usecs-10`);
    await importScenario(page, 'bad.json', badRingScenario());
    await page.waitForSelector('[data-testid=field-error]', { timeout: 60_000 });
    const note = page.locator('#view-path [data-testid=stale-note]');
    expect(await note.textContent()).toMatch(/stale: these are the numbers of the last run that worked \(rx-usecs-10, seed \d+\)/);
    expect(await page.getAttribute('#view-path', 'class')).toMatch(/stale/);
    await page.selectOption('[data-testid=scenario-select]', 'rx-usecs-10');
    await waitForRun(page, 2);
    expect(await page.locator('[data-testid=stale-note]').count()).toBe(0);
  });

  it('the timeline keeps its zoom when the window is resized, and zoomed ticks are distinct', async () => {
    await page.click('[data-testid=tab-timeline]');
    const canvas = page.locator('[data-testid=timeline-canvas]');
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 3);
    for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -400);
    await page.waitForTimeout(300);
    const zoomed = await page.textContent('[data-testid=timeline-range]');
    expect(zoomed).not.toMatch(/showing 0\.000 ms/);
    const ticks = await page.evaluate(() => (window as unknown as { rxsim: { timeline: { tickLabels: string[] } } }).rxsim.timeline.tickLabels);
    expect(ticks.length).toBeGreaterThan(2);
    expect(new Set(ticks).size).toBe(ticks.length);
    await page.setViewportSize({ width: 1100, height: 1000 });
    await page.waitForTimeout(300);
    expect(await page.textContent('[data-testid=timeline-range]')).toBe(zoomed);
    await page.setViewportSize({ width: 1400, height: 1000 });
    await page.waitForTimeout(300);
    expect(await page.textContent('[data-testid=timeline-range]')).toBe(zoomed);
    await page.close();
  });

  it('an apply command is checked as it is typed: the box is marked with the reason and the nearest command; a bad line of the list is marked', async () => {
    page = await app.openRun(`${app.base}?scenario=rx-usecs-10`);
    await page.click('[data-testid=tab-tuning]');
    await page.fill('[data-testid=apply-input]', 'ethtol -C eth0 rx-usecs 50');
    expect(await page.textContent('[data-testid=apply-input-error]')).toMatch(/token "ethtol": unknown command \(did you mean "ethtool"\?\)/);
    expect(await page.getAttribute('[data-testid=apply-input]', 'class')).toMatch(/bad/);
    await page.click('[data-testid=apply-add]'); // refused: nothing added
    expect(await page.textContent('[data-testid=apply-list]')).not.toMatch(/ethtol /);
    await page.fill('[data-testid=apply-input]', 'ethtool -C eth0 rx-usecs 50');
    expect(await page.isHidden('[data-testid=apply-input-error]')).toBe(true);
    // An imported scenario whose own list has a bad command: that line is marked before any run.
    const s = JSON.parse(scenarioText('rx-usecs-10')) as { apply: string[] };
    s.apply = [...s.apply, 'sysctl -w net.core.netdev_budgt=600'];
    await importScenario(page, 'apply.json', s);
    await page.waitForSelector('[data-testid=apply-bad-line]');
    expect(await page.textContent('[data-testid=apply-bad-line]')).toBe(`apply[${s.apply.length - 1}]: sysctl -w net.core.netdev_budgt=600`);
    expect(await page.textContent('[data-testid=apply-line-error]')).toMatch(/did you mean "net.core.netdev_budget"/);
    // The run refuses it too, and marks the same line of the source.
    await page.waitForSelector('[data-testid=error-line]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=error-line]')).toMatch(/"sysctl -w net.core.netdev_budgt=600"/);
    await page.close();
  });

  it('the tuning grid at 1366 px: every control fits its value and overlaps no label; IRQ affinity and rps_cpus for every queue', async () => {
    page = await app.openRun(app.base, { viewport: { width: 1366, height: 900 } });
    await page.click('[data-testid=tab-tuning]');
    const problems = await page.evaluate(() => {
      const out: string[] = [];
      const ctx = document.createElement('canvas').getContext('2d')!;
      for (const label of document.querySelectorAll<HTMLLabelElement>('.knobs label')) {
        const control = label.querySelector<HTMLInputElement | HTMLSelectElement>('input, select')!;
        const range = document.createRange();
        range.selectNodeContents(label.firstChild!);
        const name = range.getBoundingClientRect();
        const c = control.getBoundingClientRect();
        const l = label.getBoundingClientRect();
        const sameLine = c.top < name.bottom && name.top < c.bottom;
        if (sameLine && c.left < name.right) out.push(`${label.textContent}: control over its name`);
        if (c.right > l.right + 0.5) out.push(`${label.textContent}: control past its cell`);
        if (control instanceof HTMLSelectElement) {
          ctx.font = getComputedStyle(control).font;
          const text = control.selectedOptions[0]?.text ?? '';
          if (ctx.measureText(text).width + 16 > c.width) out.push(`${label.textContent}: "${text}" clipped in ${c.width}px`);
        }
      }
      return out;
    });
    expect(problems).toEqual([]);
    await page
      .locator('details', { hasText: 'softirq_mode' })
      .first()
      .screenshot({ path: join(SHOTS, 'tuning-1366.png') });
    // The seed lab's NIC has 10 queues: each has its vector's affinity and its rps_cpus.
    expect(await page.locator('[data-knob*="irq_affinity"]').count()).toBe(10);
    expect(await page.locator('[data-knob*="rps_cpus"]').count()).toBe(10);
    expect(await page.locator('[data-knob="nics[0].queues[\\"rx-9\\"].rps_cpus"]').count()).toBe(1);
  });

  it('the latency view: p50, p99 and p99.9 labels do not overlap and stay inside the plot', async () => {
    await page.click('[data-testid=tab-latency]');
    const boxes = await page.evaluate(() => {
      const svg = document.querySelector('[data-testid=latency-histogram]')!.getBoundingClientRect();
      return {
        svg: { left: svg.left, right: svg.right },
        labels: [...document.querySelectorAll('[data-testid^=marker-]')].map((t) => {
          const r = t.getBoundingClientRect();
          return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        }),
      };
    });
    expect(boxes.labels.length).toBe(3);
    for (const b of boxes.labels) expect(b.left >= boxes.svg.left && b.right <= boxes.svg.right).toBe(true);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < i; j++) {
        const [p, q] = [boxes.labels[i]!, boxes.labels[j]!];
        const overlap = p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom;
        expect(overlap, `labels ${j} and ${i}`).toBe(false);
      }
  });

  it('compare: several named pins, the settings that differ, and per-CPU rows (the fix moves softirq off CPU 4)', async () => {
    await page.click('[data-testid=tab-tuning]');
    await page.click('[data-testid=pin-a]');
    await setKnob(page, 'apps[0].cpus', '1');
    await runAgain(page);
    await page.click('[data-testid=pin-a]'); // B
    await setKnob(page, 'apps[0].cpus', '4');
    await setKnob(page, 'nics[0].irq_affinity["4"]', '2');
    await runAgain(page);
    const table = page.locator('[data-testid=compare-table]');
    expect(await page.inputValue('[data-testid=compare-name-A]')).toBe(`${SEED_LAB} (seed 2020)`);
    expect(await page.inputValue('[data-testid=compare-name-B]')).toBe(`${SEED_LAB} + taskset -c 1 iperf3 (seed 2020)`);
    expect(await page.inputValue('[data-testid=compare-name-C]')).toBe(`${SEED_LAB} + echo 2 > /proc/irq/132/smp_affinity_list (seed 2020)`);
    expect(await page.textContent('[data-testid=compare-head-C]')).toMatch(/C \(latest run\)/);
    const settings = await page.textContent('[data-testid=compare-settings]');
    expect(settings).toMatch(/settings of B that differ from A.*taskset -c 1 iperf3/);
    expect(settings).toMatch(/settings of C that differ from A.*echo 2 > \/proc\/irq\/132\/smp_affinity_list/);
    // Per CPU: CPU 4's %soft falls when the interrupt moves to CPU 2, whose %soft rises.
    const cells = async (label: string) =>
      (
        await table
          .locator('tr', { has: page.locator(`td:text-is("${label}")`) })
          .locator('td')
          .allTextContents()
      )
        .slice(1)
        .map(Number);
    const soft4 = await cells('CPU 4 %soft');
    const soft2 = await cells('CPU 2 %soft');
    expect(soft4[2]!).toBeLessThan(soft4[0]! - 20);
    expect(soft2[2]!).toBeGreaterThan(soft2[0]! + 20);
    expect(await table.locator('td', { hasText: 'mean' }).count()).toBe(0);
    // A name can be edited.
    await page.fill('[data-testid=compare-name-B]', 'iperf3 on CPU 1');
    await page.locator('[data-testid=compare-name-B]').dispatchEvent('change');
    expect(await page.inputValue('[data-testid=compare-name-B]')).toBe('iperf3 on CPU 1');
    await page.locator('[data-testid=compare]').screenshot({ path: join(SHOTS, 'compare-pins.png') });
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  });
});
