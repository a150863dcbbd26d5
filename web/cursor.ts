/**
 * What every view looks at: one time cursor (simulated ns) and one focus (the path stages a
 * lesson step, an explanation link or a followed packet points at). Views subscribe; panels that
 * steer (the replay scrubber, lessons, Explain) call `seek` and `show`. Kept apart from the views
 * so none of them has to know the others.
 */
type Listener<T> = (value: T, source: string) => void;

class Observable<T> {
  private listeners: Listener<T>[] = [];
  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  /** Set the value and tell every listener but the one that set it (by `source`). */
  protected publish(value: T, source: string): void {
    this.current = value;
    for (const l of this.listeners) l(value, source);
  }

  /** Call `fn` on every change; returns the function that stops it. */
  subscribe(fn: Listener<T>): () => void {
    this.listeners.push(fn);
    return () => void (this.listeners = this.listeners.filter((l) => l !== fn));
  }
}

/** The shared instant, in simulated ns since the start of the run. */
export class TimeCursor extends Observable<number> {
  constructor() {
    super(0);
  }

  seek(ns: number, source = 'api'): void {
    if (!Number.isFinite(ns)) return;
    this.publish(Math.max(0, ns), source);
  }
}

/** Stage ids as the path diagram names them (`data-testid="stage-<id>"`), and a caption. */
export interface Focus {
  stages: string[];
  caption: string;
}

export class FocusState extends Observable<Focus> {
  constructor() {
    super({ stages: [], caption: '' });
  }

  show(stages: string[], caption = '', source = 'api'): void {
    this.publish({ stages: [...stages], caption }, source);
  }

  clear(source = 'api'): void {
    this.publish({ stages: [], caption: '' }, source);
  }
}

/** The page's one cursor and one focus. */
export const cursor = new TimeCursor();
export const focus = new FocusState();
