/**
 * When a run fails (an import that does not validate), the views still hold the previous run's
 * drawings. Mark them stale — dimmed, with a line saying whose numbers they are — instead of
 * passing them off as the failed scenario's; the next good run clears the mark.
 */
export function markStale(views: Iterable<HTMLElement>, why: string | null): void {
  for (const v of views) {
    v.classList.toggle('stale', why !== null);
    v.querySelector(':scope > .stale-note')?.remove();
    if (why === null) continue;
    const note = document.createElement('p');
    note.className = 'stale-note';
    note.setAttribute('data-testid', 'stale-note');
    note.textContent = why;
    v.prepend(note);
  }
}
