import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { errorsOf, ROOT, scenarioText, SHOTS, useApp } from './harness.ts';
import { loadLesson } from '../../src/lesson/load.ts';
import { runStepScenario, stepSubject } from '../../src/lesson/run-step.ts';

/**
 * Lessons and presenter mode in Debian's Chromium (as browser.test.ts): every shipped lesson run
 * through to its last step, the cursor where `rxsim check` finds the step's event, presenter mode
 * at 1280×720 to 1920×1080 and 100–200 % zoom (no horizontal overflow, no text clipped in path
 * boxes, large type, AA contrast), and keyboard/clicker control. Screenshots go to
 * $RXSIM_SCREENSHOTS (default: a temporary directory).
 */
const LESSONS = readdirSync(join(ROOT, 'lessons'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5))
  .sort();
const scenarioNames = readdirSync(join(ROOT, 'sim-scenarios'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5));
/** A lesson as `rxsim check` loads it: its scenarios are the shipped ones, by name. */
const lessonOf = (name: string) => loadLesson(readFileSync(join(ROOT, 'lessons', `${name}.json`), 'utf8'), (s) => (scenarioNames.includes(s) ? scenarioText(s) : undefined), scenarioNames);

const app = useApp();

interface PanelState {
  busy: boolean;
  index: number;
  atNs: number | null;
  cursor: number;
  focus: { stages: string[]; caption: string };
  runs: number;
}
const state = (page: Page): Promise<PanelState> =>
  page.evaluate(() => {
    const r = (
      window as unknown as {
        rxsim: { lessons: { busy: boolean; stepIndex: number; atNs: number | null }; cursor: { value: number }; focus: { value: { stages: string[]; caption: string } }; runs: number };
      }
    ).rxsim;
    return { busy: r.lessons.busy, index: r.lessons.stepIndex, atNs: r.lessons.atNs, cursor: r.cursor.value, focus: r.focus.value, runs: r.runs };
  });

/** Wait until the panel shows step `index` (0-based) with its run done. */
async function stepReady(page: Page, index: number): Promise<void> {
  await page.waitForFunction(
    (i) => {
      const l = (window as unknown as { rxsim?: { lessons?: { busy: boolean; stepIndex: number } } }).rxsim?.lessons;
      return l !== undefined && !l.busy && l.stepIndex === i && !/running/.test(document.querySelector('[data-testid=lesson-status]')?.textContent ?? 'running');
    },
    index,
    { timeout: 180_000 },
  );
}

describe('lessons in the browser', () => {
  it.each(LESSONS)(
    '%s runs through to its last step: each step loads, runs, seeks the cursor and publishes its focus',
    async (name) => {
      const { steps } = lessonOf(name);
      const page = await app.open(`${app.base}?lesson=${name}`);
      const panel = page.locator('[data-testid=lesson]');
      for (let i = 0; i < steps.length; i++) {
        if (i > 0) await page.click('[data-testid=lesson-next]');
        await stepReady(page, i);
        const s = steps[i]!.step;
        await expect.poll(() => panel.locator('[data-testid=lesson-counter]').textContent()).toBe(`step ${i + 1} / ${steps.length}`);
        expect(await panel.locator('[data-testid=lesson-title]').textContent()).toBe(s.title);
        // The question first; the explanation on Reveal.
        expect(await panel.locator('[data-testid=lesson-question]').textContent()).toBe(s.question);
        expect(await panel.locator('[data-testid=lesson-explanation]').isVisible()).toBe(false);
        await page.click('[data-testid=lesson-reveal]');
        expect(await panel.locator('[data-testid=lesson-explanation]').isVisible()).toBe(true);
        const st = await state(page);
        expect(st.atNs, `${name} step ${i + 1}: its time or event`).not.toBeNull();
        expect(st.cursor).toBe(st.atNs);
        if (s.at_ms !== undefined) expect(st.atNs).toBe(Math.round(s.at_ms * 1e6));
        expect(st.focus).toEqual({ stages: s.stages, caption: s.caption ?? s.title });
        // The view the step names first is open.
        expect(await page.locator(`#tabs button[data-view=${s.views[0]}]`).getAttribute('class')).toMatch(/active/);
        // The path diagram draws the stages it has (ids as data-testid="stage-<id>", or data-stage).
        const drawn = await page.evaluate((ids) => ids.filter((id) => document.querySelector(`[data-testid="stage-${id}"], [data-stage="${id}"]`)), s.stages);
        expect(drawn.length, `${name} step ${i + 1}: none of ${s.stages.join(', ')} is on the path`).toBeGreaterThan(0);
      }
      expect(await page.locator('[data-testid=lesson-next]').isDisabled()).toBe(true);
      expect(errorsOf(page)).toEqual([]);
      await page.close();
    },
    600_000,
  );

  it('jumps to the instant `rxsim check` verifies: the seed lab’s first switch to ksoftirqd/4', async () => {
    const { steps } = lessonOf('5-ksoftirqd-seed-lab');
    const s = steps[1]!;
    const node = stepSubject(s, runStepScenario(s.text, undefined, true)).atNs;
    const page = await app.open(`${app.base}?lesson=5-ksoftirqd-seed-lab&step=2`);
    await stepReady(page, 1);
    expect((await state(page)).atNs).toBe(node);
    expect(await page.textContent('[data-testid=lesson-status]')).toBe(`at ${(node! / 1e6).toFixed(3)} ms`);
    // Step mode's list starts at the event, not at the end of the warm-up.
    const first = await page.evaluate(() => (window as unknown as { rxsim: { viz: { steps: { t: number }[] } } }).rxsim.viz.steps[0]!.t);
    expect(first).toBeGreaterThanOrEqual(node!);
    expect(first - node!).toBeLessThan(1e6);
    await page.close();
  }, 300_000);

  it('a lesson that does not exist says so, naming the nearest', async () => {
    const page = await app.open(`${app.base}?lesson=5-ksoftirqd-seedlab`);
    await expect.poll(() => page.textContent('[data-testid=lesson-error]')).toMatch(/no lesson "5-ksoftirqd-seedlab" \(did you mean "5-ksoftirqd-seed-lab"\?\)/);
    await page.close();
  });
});

/** Sizes and zooms a projector shows: a zoom of z lays the page out in a viewport z times smaller. */
const SIZES = [
  [1280, 720],
  [1366, 768],
  [1920, 1080],
] as const;
const ZOOMS = [1, 1.5, 2] as const;

/** WCAG relative luminance contrast of every visible text element against its effective background (the worst ones). */
function lowContrast(): string[] {
  const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
  const lum = ([r, g, b]: number[]) => {
    const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
  };
  const background = (e: Element | null): number[] => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length === 3 || c[3]! > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  const out: string[] = [];
  for (const e of document.querySelectorAll<HTMLElement>('body *')) {
    if (!e.offsetParent || e.closest('svg, canvas') || ![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent!.trim())) continue;
    const style = getComputedStyle(e);
    const fg = rgb(style.color);
    const [l1, l2] = [lum(fg), lum(background(e))].sort((a, b) => b - a);
    const ratio = (l1! + 0.05) / (l2! + 0.05);
    const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5) * (Number(style.opacity) || 1)) out.push(`${e.tagName.toLowerCase()}.${e.className} "${e.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
  }
  return out;
}

/** Stage boxes of the path diagram whose text runs past the box's right edge. */
function clippedStageText(): string[] {
  const out: string[] = [];
  for (const g of document.querySelectorAll<SVGGElement>('[data-testid=path-svg] g.stage, [data-testid=path-svg] [data-testid^=stage-]')) {
    const rect = g.querySelector('rect');
    if (!rect) continue;
    const w = rect.getBBox().width;
    for (const t of g.querySelectorAll<SVGTextElement>(':scope > text')) {
      const b = t.getBBox();
      if (b.x + b.width > w + 0.5) out.push(`${g.getAttribute('data-stage') ?? g.getAttribute('data-testid')}: "${t.textContent}" ${b.width.toFixed(0)} > ${w}`);
    }
  }
  return out;
}

describe('presenter mode', () => {
  it('at 1280×720 to 1920×1080 and 100–200 % zoom: no horizontal overflow, no clipped path text, body ≥ 20 px, AA contrast', async () => {
    const page = await app.open(`${app.base}?present&lesson=5-ksoftirqd-seed-lab`);
    await stepReady(page, 0);
    expect(await page.evaluate(() => document.body.classList.contains('presenter'))).toBe(true);
    const views = await page.$$eval('#tabs button', (bs) => bs.map((b) => (b as HTMLButtonElement).dataset.view!));
    const problems: string[] = [];
    for (const [w, h] of SIZES) {
      for (const z of ZOOMS) {
        await page.setViewportSize({ width: Math.round(w / z), height: Math.round(h / z) });
        for (const v of views) {
          await page.click(`#tabs button[data-view=${v}]`);
          const m = await page.evaluate(() => ({
            scroll: document.documentElement.scrollWidth,
            client: document.documentElement.clientWidth,
            font: parseFloat(getComputedStyle(document.body).fontSize),
          }));
          const at = `${w}×${h} @${z * 100} %, ${v}`;
          if (m.scroll > m.client) problems.push(`${at}: page ${m.scroll} px wide in ${m.client}`);
          if (m.font < 20) problems.push(`${at}: body font ${m.font} px`);
        }
        await page.click('#tabs button[data-view=path]');
        problems.push(...(await page.evaluate(clippedStageText)).map((p) => `${w}×${h} @${z * 100} %: ${p}`));
      }
    }
    problems.push(...(await page.evaluate(lowContrast)));
    expect(problems).toEqual([]);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  }, 300_000);

  it('keys and a clicker: → / Space reveal then go on, ← / PageUp go back, p leaves; without a lesson the arrows change views', async () => {
    const page = await app.open(`${app.base}?present&lesson=4-gro`, { viewport: { width: 853, height: 480 }, deviceScaleFactor: 1.5 });
    await stepReady(page, 0);
    await page.screenshot({ path: join(SHOTS, 'lesson-presenter-1280x720@150.png'), fullPage: true });
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('[data-testid=lesson-explanation]').isVisible()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'lesson-presenter-revealed-1280x720@150.png'), fullPage: true });
    await page.keyboard.press('PageDown');
    await stepReady(page, 1);
    expect(await page.textContent('[data-testid=lesson-counter]')).toBe('step 2 / 2');
    // The address keeps the place (a reload or a shared link opens this step).
    expect(new URL(page.url()).searchParams.get('step')).toBe('2');
    expect(await page.locator('[data-testid=lesson-explanation]').isVisible()).toBe(false);
    await page.keyboard.press(' ');
    expect(await page.locator('[data-testid=lesson-explanation]').isVisible()).toBe(true);
    await page.keyboard.press('PageUp');
    await stepReady(page, 0);
    await page.keyboard.press('p');
    expect(await page.evaluate(() => document.body.classList.contains('presenter'))).toBe(false);
    await page.keyboard.press('p');
    // Without a lesson, → and ← move through the views.
    await page.selectOption('[data-testid=lesson-select]', '');
    await page.locator('[data-testid=lesson-select]').blur();
    await page.click('#tabs button[data-view=path]');
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('#tabs button[data-view=timeline]', 'class')).toMatch(/active/);
    await page.keyboard.press('ArrowLeft');
    expect(await page.getAttribute('#tabs button[data-view=path]', 'class')).toMatch(/active/);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  }, 300_000);
});
