import { describe, expect, it } from 'vitest';
import { lineOfError } from '../../web/scenario-io.ts';
import { History } from '../../web/state.ts';
import { compareRows } from '../../web/views/compare.ts';
import { run } from '../helpers.ts';

describe("the browser app's logic (no DOM)", () => {
  const text = JSON.stringify({ name: 'x', nics: [{ name: 'eth0', ring: { rx: 99999 } }], sysctl: { 'net.core.netdev_budget': -1 } }, null, 2);
  const lines = text.split('\n');

  it('finds the line of the field an error names: nested keys, array indices, quoted sysctl names, line/column', () => {
    expect(lines[lineOfError(text, 'nics[0].ring.rx')!]).toMatch(/"rx": 99999/);
    expect(lines[lineOfError(text, 'sysctl["net.core.netdev_budget"]')!]).toMatch(/"net.core.netdev_budget": -1/);
    // A key that is missing is shown at its nearest existing parent.
    expect(lines[lineOfError(text, 'nics[0].coalesce')!]).toMatch(/^\s*\{$/);
    expect(lineOfError(text, 'line 3, column 7')).toBe(2);
    expect(lineOfError(text, '')).toBeNull();
  });

  it('keeps an undo/redo history of immutable scenario states (immer)', () => {
    const seen: unknown[] = [];
    const h = new History({ nics: [{ name: 'eth0' }] }, (s) => seen.push(s));
    const first = h.current;
    h.edit((d) => {
      (d.nics as { ring?: { rx: number } }[])[0]!.ring = { rx: 1024 };
    });
    expect(h.current).not.toBe(first);
    expect(first).toEqual({ nics: [{ name: 'eth0' }] }); // the old state is untouched
    expect(Object.isFrozen(h.current)).toBe(true);
    h.undo();
    expect(h.current).toBe(first);
    expect(h.canRedo).toBe(true);
    h.redo();
    expect((h.current.nics as { ring: { rx: number } }[])[0]!.ring.rx).toBe(1024);
    h.edit(() => {}); // no change, no history entry
    expect(seen).toHaveLength(3);
  });

  it('compares two runs with the direction of "better" per row', () => {
    // A reader bound to the flow's port (10.0.0.2:9), so the runs have a latency to compare.
    const apps = [{ name: 'sink', kind: 'udp-sink', listen: '10.0.0.2:9', cpus: '1' }];
    const slow = run({ duration_ms: 4, nics: [{ name: 'eth0', channels: { combined: 1 } }], apps, apply: ['ethtool -C eth0 rx-usecs 100'] }).result;
    const fast = run({ duration_ms: 4, nics: [{ name: 'eth0', channels: { combined: 1 } }], apps, apply: ['ethtool -C eth0 rx-usecs 2'] }).result;
    const rows = new Map(compareRows(slow, fast).map((r) => [r.label, r]));
    const irqs = rows.get('device interrupts/s')!;
    expect(irqs.b!).toBeGreaterThan(irqs.a!); // more interrupts with the shorter interval…
    expect(irqs.better).toBe('lower'); // …which is worse for CPU
    const p50 = rows.get('latency p50 µs')!;
    expect(p50.b!).toBeLessThan(p50.a!); // …and better for latency
    expect(p50.better).toBe('lower');
  });
});
