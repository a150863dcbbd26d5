import { el } from './colors.ts';

/**
 * A message about how the page was opened (a `?scenario=` name that is not shipped, a share link
 * that does not decode). Unlike the run's error box it stays up while the fallback scenario
 * runs, so the reader sees why the page shows something other than what the link asked for.
 */
export function showNotice(before: HTMLElement, message: string): HTMLElement {
  const box = el('section', { class: 'error notice', 'data-testid': 'notice', role: 'alert' }, message);
  before.before(box);
  return box;
}

/** The page now shows what the reader chose (another scenario, an import): the opening notice no longer applies. */
export function clearNotices(root: ParentNode = document): void {
  for (const n of root.querySelectorAll('[data-testid=notice]')) n.remove();
}
