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
    const prev = this.past.pop();
    if (!prev) return;
    this.future.push(this.current);
    this.current = prev;
    this.onChange(prev);
  }

  redo(): void {
    const next = this.future.pop();
    if (!next) return;
    this.past.push(this.current);
    this.current = next;
    this.onChange(next);
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }
}
