import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { errorsOf, scenarioText, SEED_LAB, SHOTS, useApp } from './harness.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { EV, TraceRecorder } from '../../src/trace/index.ts';

/**
 * The replay in Chromium (as browser.test.ts: Vite's dev server on its own port, playwright-core):
 * the scrubber moves the one time cursor and the path shows the recorded ring fill at that
 * instant; following a packet ends at the reader's copy; the path diagram draws only the stages a
 * scenario uses. Screenshots go to $RXSIM_SCREENSHOTS (default: a temporary directory).
 */
const RING = 'ens4f1/rx-4 ring';
const app = useApp();

/**
 * The ring's length at `t` as the trace says it, computed here from the flight recorder's own
 * events: the run the worker makes (same recorder options), then the last COUNTER event of the
 * ring at or before t — a plain scan, not the replay's binary search.
 */
function traceRingAt(text: string, ring: string, times: number[]): number[] {
  const { resolved } = loadScenario(text);
  const stepFrom = Math.max(resolved.warmupNs, Math.min(resolved.warmupNs, resolved.durationNs - 1_000_000));
  const trace = new TraceRecorder({ detail: 'poll', capacity: 1 << 20, fromNs: resolved.warmupNs, packetFromNs: stepFrom, packetToNs: stepFrom + 1_000_000 });
  simulate(resolved, { trace, seriesNs: 1_000_000 });
  const idx = trace.counters.findIndex((c) => c.name === ring);
  const b = trace.buf;
  return times.map((t) => {
    let v = 0;
    let at = -Infinity;
    for (let i = 0; i < b.length; i++) {
      const s = b.slot(i);
      if (b.type[s] === EV.COUNTER && b.a[s] === idx && b.t[s]! <= t && b.t[s]! >= at) {
        at = b.t[s]!;
        v = b.b[s]!;
      }
    }
    return v;
  });
}

/** Move the scrubber to `t` as a user would (the input event), and let the frame draw. */
async function scrubTo(page: Page, t: number): Promise<void> {
  await page.locator('[data-testid=scrubber]').evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, t);
  await page.waitForTimeout(350); // one animation frame and the 200 ms transition
}

const scrubberRange = (page: Page): Promise<[number, number]> =>
  page.locator('[data-testid=scrubber]').evaluate((el): [number, number] => [Number((el as HTMLInputElement).min), Number((el as HTMLInputElement).max)]);
/** The replay bar down to the end of the path view, or `belowView` px into it (what the README shows). */
async function shot(page: Page, name: string, belowView?: number): Promise<void> {
  const top = (await page.locator('[data-testid=replay]').boundingBox())!;
  const view = (await page.locator('[data-testid=view-path]').boundingBox())!;
  const bottom = view.y + (belowView ?? view.height + 12);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, clip: { x: 0, y: top.y - 6, width: 1400, height: bottom - top.y + 6 } });
}

const cursorOf = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { rxsim: { cursor: { value: number } } }).rxsim.cursor.value);

describe('replay', () => {
  let page: Page;

  it('scrubbing: at time t the path shows the ring fill the trace gives at t, and every view shows the cursor', async () => {
    page = await app.openRun(`${app.base}?scenario=${SEED_LAB}`);
    const [from, to] = await scrubberRange(page);
    expect(to).toBeGreaterThan(from);
    const times = [0.05, 0.3, 0.55, 0.8, 0.97].map((f) => Math.round(from + f * (to - from)));
    const expected = traceRingAt(scenarioText(SEED_LAB), RING, times);
    const shown: number[] = [];
    for (const t of times) {
      await scrubTo(page, t);
      expect(await cursorOf(page)).toBe(t);
      shown.push(Number(await page.getAttribute(`[data-testid=stage-nic] [data-series="${RING}"]`, 'data-fill')));
    }
    expect(shown).toEqual(expected);
    expect(Math.max(...shown), 'the seed lab ring fills').toBeGreaterThan(0);
    // The stage's own fill is its rings' sum (one ring has traffic here).
    expect(Number(await page.getAttribute('[data-testid=stage-nic]', 'data-fill'))).toBe(shown.at(-1));
    // CPU 4 is doing something at most instants of the seed lab (softirq, ksoftirqd or iperf3).
    const states = await page.locator('[data-testid=replay-cpus] [data-testid^=cpu-]').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    expect(states).toHaveLength(10);
    await scrubTo(page, Math.round(from + 0.45 * (to - from)));
    await shot(page, 'replay-seed-lab');

    // Step to the next recorded change: the cursor moves forward.
    const before = await cursorOf(page);
    await page.click('[data-testid=replay-next]');
    expect(await cursorOf(page)).toBeGreaterThan(before);
    await page.click('[data-testid=replay-prev]');
    expect(await cursorOf(page)).toBeLessThanOrEqual(before);

    // Play at 1 ms of simulated time per second: the cursor advances, pause stops it.
    await scrubTo(page, from);
    await page.selectOption('[data-testid=replay-speed]', '2');
    await page.click('[data-testid=replay-play]');
    await page.waitForTimeout(600);
    await page.click('[data-testid=replay-play]');
    const played = await cursorOf(page);
    expect(played - from).toBeGreaterThan(100_000);
    expect(played - from).toBeLessThan(5_000_000);

    // The queue charts show the cursor and a click on one seeks there.
    await page.click('[data-testid=tab-queues]');
    const line = page.locator('[data-testid=queues-ring-cursor]');
    expect(Number(await line.getAttribute('opacity'))).toBe(1);
    const box = (await page.locator('[data-testid=queues-ring]').boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
    const clicked = await cursorOf(page);
    expect(clicked).toBeGreaterThan(from + 0.2 * (to - from));
    expect(clicked).toBeLessThan(from + 0.8 * (to - from));
    // … and so does the CPU timeline.
    await page.click('[data-testid=tab-timeline]');
    const canvas = (await page.locator('[data-testid=timeline-canvas]').boundingBox())!;
    await page.mouse.click(canvas.x + 70 + (canvas.width - 80) * 0.25, canvas.y + 20);
    const onTimeline = await cursorOf(page);
    expect(Math.abs(onTimeline - (from + 0.25 * (to - from))) / (to - from)).toBeLessThan(0.02);
    await page.click('[data-testid=tab-path]');
    expect(errorsOf(page)).toEqual([]);
  }, 180_000);

  it('follows one packet of the seed lab from the wire to the reader, in path order with monotone times', async () => {
    const [from, to] = await scrubberRange(page);
    await scrubTo(page, Math.round(from + 0.4 * (to - from)));
    await page.selectOption('[data-testid=follow-flow]', '0');
    await page.click('[data-testid=follow-next]');
    await page.waitForSelector('[data-testid=follow-list]', { timeout: 60_000 });
    const stages = await page
      .locator('[data-testid=follow-stage]')
      .evaluateAll((els) => els.map((e) => ({ stage: e.getAttribute('data-stage')!, t: Number(e.getAttribute('data-t')), text: e.textContent ?? '' })));
    const names = stages.map((s) => s.stage);
    expect(names[0]).toBe('wire');
    expect(names[1]).toBe('dma');
    expect(names.at(-1)).toBe('copy');
    // Path order: each stage appears in this sequence, in order (some may be skipped: no IRQ while NAPI polls on).
    const order = ['wire', 'dma', 'irq', 'poll', 'cpumap-enqueue', 'cpumap-kthread', 'gro-hold', 'gro-merge', 'gro-list', 'netif', 'backlog', 'process_backlog', 'netif', 'socket', 'coalesce', 'copy'];
    let j = 0;
    for (const n of names) {
      while (j < order.length && order[j] !== n) j++;
      expect(j, `${n} out of order in ${names.join(' → ')}`).toBeLessThan(order.length);
      j++;
    }
    for (let i = 1; i < stages.length; i++) expect(stages[i]!.t).toBeGreaterThanOrEqual(stages[i - 1]!.t);
    expect(stages[0]!.t).toBeGreaterThanOrEqual(from + 0.4 * (to - from) - 1);
    // Each stage names its kernel function; the copy is the reader's.
    expect(stages.find((s) => s.stage === 'poll')!.text).toMatch(/ixgbe_clean_rx_irq.*CPU 4/);
    expect(stages.at(-1)!.text).toMatch(/skb_copy_datagram_iter.*tcp_recvmsg/);
    expect(await page.textContent('[data-testid=follow-end]')).toMatch(/copied to the reader/);
    // The cursor went to the packet's first stage; stepping onto a stage lights its box on the path.
    await page.locator('[data-testid=follow-stage][data-stage=poll]').click();
    await page.waitForTimeout(300);
    expect(await page.getAttribute('[data-testid=stage-napi]', 'class')).toMatch(/focus/);
    await shot(page, 'replay-follow', 340); // the list and the path's first row
    expect(errorsOf(page)).toEqual([]);
  }, 180_000);
});

describe('the path diagram is built from the scenario', () => {
  const cases: [string, string[], Record<string, string>][] = [
    [SEED_LAB, ['wire', 'nic', 'irq', 'napi', 'gro', 'bridge', 'veth', 'backlog', 'ip', 'l4', 'socket', 'app'], { irq: '4', app: '4' }],
    // veth-local: no wire and no NIC (it would carry 0 packets); the writer's skb goes through the backlog (netif_rx).
    ['pod-to-pod-veth', ['veth', 'backlog', 'ip', 'l4', 'socket', 'app'], {}],
    // XDP in the driver; the stack flow on eth1 has no socket (UDP to a closed port).
    ['xdp-drop', ['wire', 'nic', 'irq', 'napi', 'xdp', 'gro', 'ip', 'l4'], {}],
    // The cpumap branch with its kthreads on CPUs 1-3, against RPS (IPIs) on the other NIC.
    ['cpumap-steering', ['wire', 'nic', 'irq', 'napi', 'xdp', 'cpumap', 'gro', 'rps', 'backlog', 'ip', 'l4', 'socket', 'app'], { cpumap: '1,2,3' }],
    // The AF_XDP branch: frames leave in the driver for the sockets' RX rings; the readers have no ordinary socket.
    ['af-xdp-rxdrop', ['wire', 'nic', 'irq', 'napi', 'xdp', 'afxdp'], { afxdp: '1,3' }],
    // The devmap branch: both ports' frames leave by eth2's XDP TX rings (bq_xmit_all in each RX CPU's poll).
    ['xdp-redirect-devmap-overload', ['wire', 'nic', 'irq', 'napi', 'xdp', 'devmap'], { devmap: '0,1' }],
    // Busy polling beside the softirq.
    ['busy-poll-rr', ['wire', 'nic', 'irq', 'napi', 'busypoll', 'gro', 'ip', 'l4', 'socket', 'app'], {}],
  ];
  for (const [name, expected, cpus] of cases) {
    it(`${name}: ${expected.join(' → ')}`, async () => {
      const page = name === SEED_LAB ? await app.openRun(app.base) : await app.openRun(`${app.base}?scenario=${name}`);
      const ids = await page.locator('[data-testid=path-svg] g.stage').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
      expect(ids).toEqual(expected.map((s) => `stage-${s}`));
      for (const [stage, list] of Object.entries(cpus)) expect(await page.getAttribute(`[data-testid=stage-${stage}]`, 'data-cpus')).toBe(list);
      if (name === 'xdp-drop') expect(await page.textContent('[data-testid=stage-xdp]')).toMatch(/drop [\d,]+/);
      if (name === 'xdp-redirect-devmap-overload') expect(await page.textContent('[data-testid=stage-devmap]')).toMatch(/tx_port → eth2.*[\d,]+ sent/);
      if (name === 'af-xdp-rxdrop') expect(await page.textContent('[data-testid=stage-afxdp]')).toMatch(/zerocopy.*copy|copy.*zerocopy/);
      if (name === 'cpumap-steering') {
        // RPS IPIs from eth1's CPU cross to the backlogs: at some recorded instant the strip draws one.
        const ipiAt = await page.evaluate(() => {
          const viz = (window as unknown as { rxsim: { viz: { ipis: { t: Float64Array } } } }).rxsim.viz;
          return viz.ipis.t[Math.floor(viz.ipis.t.length / 2)]!;
        });
        await scrubTo(page, Math.ceil(ipiAt));
        expect(Number(await page.getAttribute('[data-testid=replay-cpus] g.ipis', 'data-count'))).toBeGreaterThan(0);
      }
      await page.screenshot({ path: join(SHOTS, `replay-path-${name}.png`), fullPage: true });
      expect(errorsOf(page)).toEqual([]);
      await page.close();
    }, 180_000);
  }
});
