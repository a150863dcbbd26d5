import type { Result } from '../../src/metrics/result.ts';
import { FOLLOW_PATH_STAGE, type FollowedPacket } from '../../src/trace/follow.ts';
import { followSteps, type FollowStep } from '../../src/trace/follow-steps.ts';
import { changeTimes, frameAt, nextChange, prevChange, spansByCpu } from '../../src/trace/replay.ts';
import type { VizData } from '../../src/trace/viz.ts';
import { cursor, focus } from '../cursor.ts';
import { el } from './colors.ts';
import { replayFrame } from './path.ts';
import { fmtTime } from './timeline.ts';

/**
 * The replay: a scrubber over the recorded run that moves the page's one time cursor (web/cursor.ts),
 * play at a speed given in simulated time per wall-clock second, and stepping from one recorded
 * change (a queue length, an interrupt, an IPI) to the next. At the cursor the path diagram shows
 * each queue's fill and what every CPU runs (path.ts: replayFrame). "Follow" picks the next packet
 * of a flow after the cursor; the worker runs the scenario again with the probe (it does not
 * change the run) and the list names each stage's kernel function, CPU, time and wait.
 */
const SPEEDS: { label: string; nsPerSec: number }[] = [
  { label: '10 µs/s', nsPerSec: 10_000 },
  { label: '100 µs/s', nsPerSec: 100_000 },
  { label: '1 ms/s', nsPerSec: 1_000_000 },
  { label: '10 ms/s', nsPerSec: 10_000_000 },
];
/** Interrupts and IPIs stay lit this long after they happen (simulated). */
const FLASH_NS = 20_000;

export class ReplayView {
  private viz: VizData | null = null;
  private byCpu: Int32Array[] = [];
  private changes: Float64Array = new Float64Array(0);
  private playing = false;
  private lastWall = 0;
  private pendingFrame = false;
  private followed: { packet: FollowedPacket; steps: FollowStep[] } | null = null;
  /** The followed stage last clicked. */
  private selected = 0;
  private readonly scrubber: HTMLInputElement;
  private readonly time: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  private readonly flow: HTMLSelectElement;
  private readonly followButton: HTMLButtonElement;
  private readonly panel: HTMLElement;

  constructor(
    container: HTMLElement,
    private readonly pathView: HTMLElement,
    private readonly requestFollow: (flow: number, afterNs: number) => void,
  ) {
    const bar = el('div', { class: 'controls replay-bar' });
    const prev = el('button', { class: 'secondary', 'data-testid': 'replay-prev', title: 'the previous recorded change' }, '◀');
    const next = el('button', { class: 'secondary', 'data-testid': 'replay-next', title: 'the next recorded change (a queue length, an interrupt, an IPI)' }, '▶');
    this.play = el('button', { 'data-testid': 'replay-play' }, 'play');
    this.speed = el('select', { 'data-testid': 'replay-speed', title: 'simulated time per wall-clock second: 10 µs/s is 1/100 000 of real time, 1 ms/s is 1/1000' });
    SPEEDS.forEach((s, i) => this.speed.add(new Option(s.label, String(i))));
    this.speed.value = '1';
    this.scrubber = el('input', { type: 'range', min: '0', max: '1', step: '1', value: '0', 'data-testid': 'scrubber', 'aria-label': 'replay time' });
    this.time = el('span', { class: 'replay-time', 'data-testid': 'replay-time' }, '–');
    this.flow = el('select', { 'data-testid': 'follow-flow', title: 'the flow whose next packet to follow' });
    this.followButton = el('button', { class: 'secondary', 'data-testid': 'follow-next' }, 'follow next packet');
    bar.append(el('strong', {}, 'Replay'), prev, this.play, next, this.speed, this.scrubber, this.time, el('span', { class: 'muted' }, 'flow'), this.flow, this.followButton);
    this.panel = el('div', { class: 'follow-panel', 'data-testid': 'follow-panel', hidden: '' });
    container.append(bar, this.panel);

    this.scrubber.addEventListener('input', () => cursor.seek(Number(this.scrubber.value), 'scrubber'));
    prev.addEventListener('click', () => cursor.seek(prevChange(this.changes, cursor.value), 'replay'));
    next.addEventListener('click', () => cursor.seek(nextChange(this.changes, cursor.value), 'replay'));
    this.play.addEventListener('click', () => (this.playing ? this.stop() : this.start()));
    this.followButton.addEventListener('click', () => {
      this.followButton.disabled = true;
      this.panel.hidden = false;
      this.panel.textContent = 'following… (the worker runs the scenario again with the probe)';
      this.requestFollow(Number(this.flow.value), cursor.value);
    });
    cursor.subscribe((t, source) => this.onCursor(t, source));
  }

  /** A new run: its recording, and the flows one can follow. */
  set(viz: VizData, r: Result): void {
    this.stop();
    this.viz = viz;
    this.byCpu = spansByCpu(viz);
    this.changes = changeTimes(viz);
    this.scrubber.min = String(Math.ceil(viz.heldFromNs));
    this.scrubber.max = String(Math.floor(viz.toNs));
    this.flow.replaceChildren(...r.flows.map((f, i) => new Option(`${f.name} (${f.proto}, ${f.path})`, String(i))));
    this.followed = null;
    this.panel.hidden = true;
    this.followButton.disabled = false;
    cursor.seek(viz.heldFromNs, 'replay-load');
  }

  private start(): void {
    if (!this.viz) return;
    if (cursor.value >= this.viz.toNs) cursor.seek(this.viz.heldFromNs, 'replay');
    this.playing = true;
    this.play.textContent = 'pause';
    this.lastWall = performance.now();
    requestAnimationFrame((w) => this.tick(w));
  }

  stop(): void {
    this.playing = false;
    this.play.textContent = 'play';
  }

  private tick(wall: number): void {
    if (!this.playing || !this.viz) return;
    const dt = Math.max(0, wall - this.lastWall) / 1000;
    this.lastWall = wall;
    const t = cursor.value + dt * SPEEDS[Number(this.speed.value)]!.nsPerSec;
    if (t >= this.viz.toNs) {
      cursor.seek(this.viz.toNs, 'replay');
      this.stop();
      return;
    }
    cursor.seek(t, 'replay');
    requestAnimationFrame((w) => this.tick(w));
  }

  private onCursor(t: number, source: string): void {
    if (!this.viz) return;
    this.scrubber.value = String(Math.round(t));
    this.time.textContent = fmtTime(t);
    this.markFollowed(t, source);
    // One frame per animation frame, however fast the cursor moves.
    if (this.pendingFrame) return;
    this.pendingFrame = true;
    requestAnimationFrame(() => {
      this.pendingFrame = false;
      if (!this.viz) return;
      replayFrame(this.pathView, frameAt(this.viz, this.byCpu, cursor.value, FLASH_NS), this.playing ? 60 : 200);
    });
  }

  /** The worker's answer to "follow": list the stages; the cursor goes to the first. */
  showFollowed(packet: FollowedPacket): void {
    this.followButton.disabled = false;
    if (!this.viz) return;
    if (!packet.picked) {
      this.followed = null;
      this.panel.textContent = `no packet of ${packet.flowName} arrives after ${fmtTime(packet.afterNs)} in this run`;
      return;
    }
    const steps = followSteps(packet, this.viz);
    this.followed = { packet, steps };
    const t0 = steps[0]!.t;
    const head = el('div', { class: 'follow-head' });
    head.append(
      el('strong', {}, `${packet.flowName}: one packet from ${fmtTime(t0)} — `),
      el(
        'span',
        { 'data-testid': 'follow-end' },
        packet.end === 'copy' ? `copied to the reader after ${fmtTime(steps.at(-1)!.t - t0)}` : packet.end === 'drop' ? 'dropped' : 'still in flight at the end of the run',
      ),
    );
    const list = el('ol', { class: 'follow-list', 'data-testid': 'follow-list' });
    steps.forEach((s, i) => {
      const li = el('li', { 'data-testid': 'follow-stage', 'data-stage': s.stage, 'data-t': String(s.t) });
      const wait = i > 0 ? ` · waited ${fmtTime(s.waitNs)}${s.why ? ` (${s.why})` : ''}` : '';
      li.append(
        el('span', { class: 'when' }, `+${fmtTime(s.t - t0)}`),
        el('code', { title: s.file }, s.fn),
        el('span', { class: 'where' }, s.cpu >= 0 ? `CPU ${s.cpu}${s.context ? ` (${s.context})` : ''}` : s.stage === 'wire' ? 'wire' : 'NIC'),
        el('span', { class: 'what' }, `${s.detail}${wait}`),
      );
      li.addEventListener('click', () => {
        this.selected = i;
        cursor.seek(s.t, 'follow-row');
      });
      list.append(li);
    });
    this.panel.replaceChildren(head, list);
    this.selected = 0;
    cursor.seek(t0, 'follow-row');
  }

  /** The followed packet's current stage: the last one at or before t (lit on the path through the focus). */
  private markFollowed(t: number, source: string): void {
    const f = this.followed;
    if (!f) return;
    // A row clicked is the stage shown (stages can share an instant); otherwise the last one at or before t.
    let cur = -1;
    if (source === 'follow-row') cur = this.selected;
    else
      f.steps.forEach((s, i) => {
        if (s.t <= t) cur = i;
      });
    this.panel.querySelectorAll('li').forEach((li, i) => li.classList.toggle('current', i === cur));
    const last = f.steps.length - 1;
    if (cur < 0 || (cur === last && t > f.steps[last]!.t + FLASH_NS)) {
      if (focus.value.caption.startsWith('followed packet')) focus.clear('follow');
      return;
    }
    const s = f.steps[cur]!;
    focus.show([FOLLOW_PATH_STAGE[s.stage]], `followed packet: ${s.fn} on ${s.cpu >= 0 ? `CPU ${s.cpu}` : 'the NIC'}`, 'follow');
  }
}
