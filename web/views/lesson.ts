import type { EventChoice, Lesson } from '../../src/lesson/schema.ts';
import { loadLesson, type LoadedLesson, type ResolvedStep } from '../../src/lesson/load.ts';
import { cursor, focus } from '../cursor.ts';
import { nearest } from '../../src/scenario/errors.ts';
import { el } from './colors.ts';

/**
 * The lesson panel (`data-testid="lesson"`): choose a lesson, step through it. Each step loads
 * its scenario (or the previous one with its `apply` commands), runs it, moves the time cursor to
 * the step's time or event and shows its focus (path stages and a caption); the question comes
 * first, the explanation on Reveal. Keys (also a presenter's clicker): →, PageDown, Space reveal
 * the explanation, then go to the next step; ←, PageUp go back.
 */
export interface LessonHost {
  /** Load `text` into the editor, run it, and resolve with where the step's event is (ns, null if none). */
  run(text: string, label: string, scenarioName: string | null, seekEvent: EventChoice | undefined, stepFromNs: number | undefined): Promise<{ eventNs: number | null } | null>;
  /** Open a view (a tab) by name. */
  showView(view: string): void;
}

/** Every lesson shipped in lessons/, as text (the files `rxsim check lessons/` checks). */
const texts = import.meta.glob<string>('../../lessons/*.json', { query: '?raw', import: 'default', eager: true });

export const LESSON_NAMES = Object.keys(texts)
  .map((p) => p.replace(/^.*\//, '').replace(/\.json$/, ''))
  .sort();

export class LessonPanel {
  private loaded: LoadedLesson | null = null;
  private index = 0;
  private revealed = false;
  /** Where the current step put the cursor (ns), for the curious and the tests. */
  atNs: number | null = null;
  /** Bumped by every step load, so a slow run of a step left behind does not overwrite a newer one. */
  private generation = 0;
  busy = false;
  private readonly select: HTMLSelectElement;
  private readonly body: HTMLElement;

  constructor(
    private readonly container: HTMLElement,
    private readonly host: LessonHost,
    private readonly scenarioText: (name: string) => string | undefined,
    private readonly scenarioNames: readonly string[],
    select: HTMLSelectElement,
  ) {
    this.select = select;
    this.select.add(new Option('— no lesson —', ''));
    for (const name of LESSON_NAMES) this.select.add(new Option(this.lessonOf(name)?.title ?? name, name));
    this.select.addEventListener('change', () => void this.open(this.select.value));
    this.body = el('div', { class: 'lesson-body' });
    this.container.replaceChildren(this.body);
    this.container.hidden = true;
  }

  get lesson(): Lesson | null {
    return this.loaded?.lesson ?? null;
  }

  get stepIndex(): number {
    return this.index;
  }

  private lessonOf(name: string): Lesson | null {
    try {
      return loadLesson(texts[`../../lessons/${name}.json`]!, this.scenarioText, this.scenarioNames).lesson;
    } catch {
      return null;
    }
  }

  /** Open a lesson by name at a step (0-based); '' closes the panel. */
  async open(name: string, step = 0): Promise<void> {
    this.select.value = name;
    if (!name) {
      if (this.loaded) {
        const url = new URL(location.href);
        url.searchParams.delete('lesson');
        url.searchParams.delete('step');
        history.replaceState(null, '', url);
      }
      this.loaded = null;
      this.container.hidden = true;
      focus.clear('lesson');
      return;
    }
    const text = texts[`../../lessons/${name}.json`];
    this.container.hidden = false;
    if (text === undefined) {
      const near = nearest(name, LESSON_NAMES);
      this.body.replaceChildren(el('div', { class: 'error', 'data-testid': 'lesson-error' }, `no lesson "${name}"${near ? ` (did you mean "${near}"?)` : ''}; lessons: ${LESSON_NAMES.join(', ')}`));
      return;
    }
    try {
      this.loaded = loadLesson(text, this.scenarioText, this.scenarioNames);
    } catch (e) {
      this.body.replaceChildren(el('div', { class: 'error', 'data-testid': 'lesson-error' }, `lessons/${name}.json: ${(e as Error).message}`));
      return;
    }
    await this.go(Math.max(0, Math.min(step, this.loaded.steps.length - 1)));
  }

  /** Load, run and show step `i`. */
  async go(i: number): Promise<void> {
    if (!this.loaded || i < 0 || i >= this.loaded.steps.length) return;
    const gen = ++this.generation;
    this.index = i;
    // The address keeps the place: a reload or a shared link opens this step.
    const url = new URL(location.href);
    url.searchParams.set('lesson', this.loaded.lesson.name);
    url.searchParams.set('step', String(i + 1));
    history.replaceState(null, '', url);
    this.revealed = false;
    this.atNs = null;
    const s = this.loaded.steps[i]!;
    this.draw(s, 'running…');
    this.busy = true;
    const label = `lesson ${this.loaded.lesson.name}, step ${i + 1}`;
    // A step at a known time starts the Step view's per-packet window there.
    const stepFrom = s.step.at_ms === undefined ? undefined : Math.round(s.step.at_ms * 1e6);
    const out = await this.host.run(s.text, label, s.step.apply.length === 0 ? s.scenarioName : null, s.step.at_event, stepFrom);
    if (gen !== this.generation) return;
    this.busy = false;
    if (!out) {
      this.draw(s, 'the step did not run (see the error above)');
      return;
    }
    this.atNs = s.step.at_event ? out.eventNs : Math.round(s.step.at_ms! * 1e6);
    if (this.atNs !== null) cursor.seek(this.atNs, 'lesson');
    focus.show(s.step.stages, s.step.caption ?? s.step.title, 'lesson');
    this.host.showView(s.step.views[0]!);
    this.draw(s, this.atNs === null ? 'its event did not happen in this run' : `at ${(this.atNs / 1e6).toFixed(3)} ms`);
  }

  next(): void {
    void this.go(this.index + 1);
  }

  prev(): void {
    void this.go(this.index - 1);
  }

  reveal(): void {
    this.revealed = true;
    this.container.querySelector<HTMLElement>('[data-testid=lesson-explanation]')?.removeAttribute('hidden');
    this.container.querySelector<HTMLButtonElement>('[data-testid=lesson-reveal]')?.setAttribute('hidden', '');
  }

  /** A clicker's forward: first the explanation, then the next step. Returns false at the very end. */
  forward(): boolean {
    if (!this.loaded) return false;
    if (!this.revealed) {
      this.reveal();
      return true;
    }
    if (this.index + 1 >= this.loaded.steps.length) return false;
    this.next();
    return true;
  }

  get active(): boolean {
    return this.loaded !== null;
  }

  private draw(s: ResolvedStep, status: string): void {
    const n = this.loaded!.steps.length;
    const views = s.step.views.map((v) => {
      const b = el('button', { class: 'secondary', 'data-view': v }, v);
      b.addEventListener('click', () => this.host.showView(v));
      return b;
    });
    const prev = el('button', { class: 'secondary', 'data-testid': 'lesson-prev' }, '← Previous');
    const next = el('button', { 'data-testid': 'lesson-next' }, 'Next →');
    const reveal = el('button', { 'data-testid': 'lesson-reveal' }, 'Reveal the explanation');
    prev.disabled = this.index === 0;
    next.disabled = this.index + 1 >= n;
    prev.addEventListener('click', () => this.prev());
    next.addEventListener('click', () => this.next());
    reveal.addEventListener('click', () => this.reveal());
    const explanation = el('p', { class: 'lesson-explanation', 'data-testid': 'lesson-explanation' }, s.step.explanation);
    if (!this.revealed) explanation.setAttribute('hidden', '');
    else reveal.setAttribute('hidden', '');
    const stages = el('div', { class: 'lesson-focus', 'data-testid': 'lesson-focus' });
    stages.append(el('span', { class: 'muted' }, 'Look at: '), ...s.step.stages.map((st) => el('span', { class: 'chip' }, st)), ...views);
    this.body.replaceChildren(
      el('div', { class: 'lesson-head' }),
      el('h2', { 'data-testid': 'lesson-title' }, s.step.title),
      el('p', { class: 'lesson-question', 'data-testid': 'lesson-question' }, s.step.question),
      reveal,
      explanation,
      stages,
      el('div', { class: 'lesson-nav' }),
    );
    const head = this.body.querySelector('.lesson-head')!;
    head.append(
      el('span', { class: 'lesson-name' }, this.loaded!.lesson.title),
      el('span', { class: 'lesson-counter', 'data-testid': 'lesson-counter' }, `step ${this.index + 1} / ${n}`),
      el('span', { class: 'muted', 'data-testid': 'lesson-status' }, status),
    );
    this.body.querySelector('.lesson-nav')!.append(prev, next);
  }
}
