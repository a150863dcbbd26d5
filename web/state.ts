import { produce, type Draft } from 'immer';

/**
 * The edited scenario and its history (undo/redo). Every edit is an immer recipe applied to the
 * current scenario object, so states share structure and each is immutable — cheap to keep.
 */
export type ScenarioObject = Record<string, unknown>;

export class History {
  private past: ScenarioObject[] = [];
  private future: ScenarioObject[] = [];

  constructor(
    public current: ScenarioObject,
    private readonly onChange: (s: ScenarioObject) => void,
  ) {}

  /** Replace without history (loading another scenario). */
  reset(s: ScenarioObject): void {
    this.past = [];
    this.future = [];
    this.current = s;
    this.onChange(s);
  }

  edit(recipe: (draft: Draft<ScenarioObject>) => void): void {
    const next = produce(this.current, recipe);
    if (next === this.current) return;
    this.past.push(this.current);
    this.future = [];
    this.current = next;
    this.onChange(next);
  }

  undo(): void {
    this.move(this.past, this.future);
  }

  redo(): void {
    this.move(this.future, this.past);
  }

  /** Go back (or forward) one state: take it from `from`, keep the current one on `to`. */
  private move(from: ScenarioObject[], to: ScenarioObject[]): void {
    const s = from.pop();
    if (!s) return;
    to.push(this.current);
    this.current = s;
    this.onChange(s);
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }
}
