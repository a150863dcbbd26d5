import type { LessonPanel } from './lesson.ts';

/**
 * Presenter mode (a button, the `p` key, or `?present` in the URL): large type, a dark
 * high-contrast theme and one view at a time at full width (style.css, `body.presenter`).
 * Keyboard and clicker: → / PageDown / Space go forward (a lesson's explanation, then its next
 * step; without a lesson, the next view), ← / PageUp go back.
 */
export interface PresenterHost {
  /** The views (tab names) in order, and the one shown. */
  views(): string[];
  current(): string;
  showView(view: string): void;
}

const FORWARD = new Set(['ArrowRight', 'PageDown', ' ', 'Spacebar']);
const BACK = new Set(['ArrowLeft', 'PageUp']);

/** Keys typed into a field are the field's, not the presenter's. */
function typing(t: EventTarget | null): boolean {
  return t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}

export class Presenter {
  constructor(
    private readonly button: HTMLButtonElement,
    private readonly lessons: LessonPanel,
    private readonly host: PresenterHost,
  ) {
    button.addEventListener('click', () => this.toggle());
    document.addEventListener('keydown', (e) => this.onKey(e));
  }

  get on(): boolean {
    return document.body.classList.contains('presenter');
  }

  toggle(on = !this.on): void {
    document.body.classList.toggle('presenter', on);
    this.button.setAttribute('aria-pressed', String(on));
    this.button.textContent = on ? 'Leave presenter mode (p)' : 'Present (p)';
    // Canvas views size themselves on resize.
    window.dispatchEvent(new Event('resize'));
  }

  private onKey(e: KeyboardEvent): void {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || typing(e.target)) return;
    if (e.key === 'p' || e.key === 'P') {
      this.toggle();
      e.preventDefault();
      return;
    }
    const dir = FORWARD.has(e.key) ? 1 : BACK.has(e.key) ? -1 : 0;
    // Arrows steer a lesson, or the views in presenter mode; elsewhere they stay the page's.
    if (dir === 0 || (!this.lessons.active && !this.on)) return;
    // A focused button would also take Space as a click.
    if (e.key === ' ' && e.target instanceof HTMLButtonElement) e.target.blur();
    e.preventDefault();
    if (this.lessons.active) {
      if (dir > 0) this.lessons.forward();
      else this.lessons.prev();
      return;
    }
    const views = this.host.views();
    const i = views.indexOf(this.host.current());
    const next = views[Math.max(0, Math.min(views.length - 1, i + dir))];
    if (next) this.host.showView(next);
  }
}
