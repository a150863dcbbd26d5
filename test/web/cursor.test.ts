import { describe, expect, it } from 'vitest';
import { FocusState, TimeCursor } from '../../web/cursor.ts';

describe('the shared time cursor and focus', () => {
  it('tells every subscriber the new instant and who set it, and stops when unsubscribed', () => {
    const c = new TimeCursor();
    const seen: [number, string][] = [];
    const stop = c.subscribe((ns, source) => seen.push([ns, source]));
    c.seek(2.5e6, 'scrubber');
    c.seek(-4); // before the run: clamped to its start
    c.seek(Number.NaN); // ignored
    stop();
    c.seek(9);
    expect(seen).toEqual([
      [2.5e6, 'scrubber'],
      [0, 'api'],
    ]);
    expect(c.value).toBe(9);
  });

  it('keeps a copy of the stages it was given', () => {
    const f = new FocusState();
    const stages = ['nic', 'softirq'];
    f.show(stages, 'the ring fills');
    stages.push('app');
    expect(f.value).toEqual({ stages: ['nic', 'softirq'], caption: 'the ring fills' });
    f.clear();
    expect(f.value.stages).toEqual([]);
  });
});
