/**
 * Labels of vertical markers (the latency histogram's p50, p99, p99.9) that neither overlap one
 * another nor run past the plot's right edge: a label that would run into the one before it
 * goes on the next row down, and one that would cross the right edge is drawn to the left of
 * its line. Widths are estimated from the character count at the labels' font size.
 */
export interface MarkerLabel {
  x: number;
  row: number;
  anchor: 'start' | 'end';
}

/** `xs`: the markers' positions in ascending order; `texts`: their labels; `right`: the plot's right edge. */
export function placeMarkerLabels(xs: readonly number[], texts: readonly string[], right: number, charWidth = 6.5, gap = 3): MarkerLabel[] {
  const rowsEnd: number[] = []; // per row, where its last label ends
  return xs.map((x, i) => {
    const w = texts[i]!.length * charWidth;
    const anchor = x + gap + w > right ? 'end' : 'start';
    const [from, to] = anchor === 'start' ? [x + gap, x + gap + w] : [x - gap - w, x - gap];
    let row = rowsEnd.findIndex((end) => end + gap <= from);
    if (row < 0) row = rowsEnd.length;
    rowsEnd[row] = to;
    return { x: anchor === 'start' ? x + gap : x - gap, row, anchor };
  });
}
