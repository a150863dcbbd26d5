import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Simulator } from '../../src/engine/index.ts';
import { EventQueue } from '../../src/engine/event-queue.ts';

describe('Simulator ordering', () => {
  it('dispatches in time order and breaks ties by insertion order', () => {
    const sim = new Simulator();
    const seen: string[] = [];
    const k = sim.on((arg) => seen.push(`${sim.now}:${arg}`));
    sim.at(30, k, 1);
    sim.at(10, k, 2);
    sim.at(30, k, 3);
    sim.at(10, k, 4);
    sim.at(20, k, 5);
    sim.runUntilIdle();
    expect(seen).toEqual(['10:2', '10:4', '20:5', '30:1', '30:3']);
  });

  it('an event scheduled for "now" from a handler runs after those already queued for now', () => {
    const sim = new Simulator();
    const seen: number[] = [];
    const k = sim.on((arg) => {
      seen.push(arg);
      if (arg === 1) sim.after(0, k, 9);
    });
    sim.at(5, k, 1);
    sim.at(5, k, 2);
    sim.runUntilIdle();
    expect(seen).toEqual([1, 2, 9]);
  });

  it('runUntil stops at the limit, leaves later events, and advances the clock', () => {
    const sim = new Simulator();
    const seen: number[] = [];
    const k = sim.on((arg) => seen.push(arg));
    sim.at(100, k, 1);
    sim.at(200, k, 2);
    sim.runUntil(150);
    expect(seen).toEqual([1]);
    expect(sim.now).toBe(150);
    expect(sim.pending).toBe(1);
    sim.at(160, k, 3);
    sim.runUntil(1000);
    expect(seen).toEqual([1, 3, 2]);
  });

  it('rejects times in the past and non-integer times', () => {
    const sim = new Simulator();
    sim.runUntil(100);
    const k = sim.on(() => {});
    expect(() => sim.at(99, k)).toThrow(RangeError);
    expect(() => sim.at(100.5, k)).toThrow(RangeError);
    expect(() => sim.at(Number.NaN, k)).toThrow(RangeError);
  });

  it('stop() returns after the current event', () => {
    const sim = new Simulator();
    const seen: number[] = [];
    const k = sim.on((arg) => {
      seen.push(arg);
      if (arg === 2) sim.stop();
    });
    for (let i = 1; i <= 4; i++) sim.at(i * 10, k, i);
    sim.runUntilIdle();
    expect(seen).toEqual([1, 2]);
    expect(sim.now).toBe(20);
  });
});

describe('Timer', () => {
  it('can be cancelled, re-armed earlier or later, and re-armed after firing', () => {
    const sim = new Simulator();
    const fired: number[] = [];
    const t = sim.timer(sim.on(() => fired.push(sim.now)));
    t.arm(50);
    expect(t.armed).toBe(true);
    t.cancel();
    expect(t.armed).toBe(false);
    sim.runUntil(60);
    expect(fired).toEqual([]);
    t.arm(100);
    t.arm(80); // earlier
    t.arm(90); // later again: only the last arming counts
    sim.runUntil(200);
    expect(fired).toEqual([90]);
    expect(t.armed).toBe(false);
    t.armAfter(5);
    sim.runUntilIdle();
    expect(fired).toEqual([90, 205]);
  });

  it('armNoLaterThan only moves the timer earlier', () => {
    const sim = new Simulator();
    const fired: number[] = [];
    const t = sim.timer(sim.on(() => fired.push(sim.now)));
    t.armNoLaterThan(100);
    t.armNoLaterThan(150);
    t.armNoLaterThan(70);
    sim.runUntilIdle();
    expect(fired).toEqual([70]);
  });

  it('a re-armed timer sorts after events queued earlier for the same time', () => {
    const sim = new Simulator();
    const seen: string[] = [];
    const t = sim.timer(sim.on(() => seen.push('timer')));
    const k = sim.on(() => seen.push('event'));
    t.arm(10);
    sim.at(10, k);
    t.arm(10); // re-armed: now behind the event
    sim.runUntilIdle();
    expect(seen).toEqual(['event', 'timer']);
  });
});

/** A reference model: a plain list sorted by (time, seq). */
type Op = { op: 'at'; delay: number } | { op: 'arm'; timer: number; delay: number } | { op: 'cancel'; timer: number } | { op: 'run'; advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('at' as const), delay: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 40 })) }),
  fc.record({ op: fc.constant('arm' as const), timer: fc.integer({ min: 0, max: 3 }), delay: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 5000 })) }),
  fc.record({ op: fc.constant('cancel' as const), timer: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('run' as const), advance: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 10000 })) }),
);

describe('radix heap against a reference model (property)', () => {
  it('dispatches exactly what a sorted list would, in the same order', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const sim = new Simulator();
        const got: number[] = [];
        const k = sim.on((id) => got.push(id));
        const timers = [0, 1, 2, 3].map((i) => sim.timer(k, 1_000_000 + i));
        let ref: { t: number; seq: number; id: number }[] = [];
        const expected: number[] = [];
        let seq = 0;
        let nextId = 0;
        let now = 0;
        const refRun = (until: number) => {
          ref.sort((a, b) => a.t - b.t || a.seq - b.seq);
          while (ref.length > 0 && ref[0]!.t <= until) expected.push(ref.shift()!.id);
        };
        for (const o of ops) {
          if (o.op === 'at') {
            const id = nextId++;
            sim.at(now + o.delay, k, id);
            ref.push({ t: now + o.delay, seq: seq++, id });
          } else if (o.op === 'arm') {
            timers[o.timer]!.arm(now + o.delay);
            ref = ref.filter((e) => e.id !== 1_000_000 + o.timer);
            ref.push({ t: now + o.delay, seq: seq++, id: 1_000_000 + o.timer });
          } else if (o.op === 'cancel') {
            timers[o.timer]!.cancel();
            ref = ref.filter((e) => e.id !== 1_000_000 + o.timer);
          } else {
            now += o.advance;
            sim.runUntil(now);
            refRun(now);
          }
          expect(sim.pending).toBe(ref.length);
        }
        sim.runUntilIdle();
        refRun(Infinity);
        expect(got).toEqual(expected);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('keeps insertion order among many events at one time, across re-arms and every level', () => {
    // Equal times share a bucket at every level: events pushed for one far time (a higher level),
    // then re-armed timers and new events for it once it is near (the lowest level), come out in
    // the order they were (last) queued.
    const q = new EventQueue(16);
    const order: number[] = [];
    const far = 2 ** 40 + 7;
    const timers = [q.allocSlot(), q.allocSlot()];
    for (let i = 0; i < 8; i++) q.push(q.allocSlot(), far, 0, i);
    q.push(timers[0]!, far, 0, 100);
    q.push(q.allocSlot(), far - 1, 0, -1);
    order.push(q.arg(q.popUntil(Infinity))); // takes far - 1: far is now in the lowest level
    q.push(timers[1]!, far, 0, 101);
    q.push(timers[0]!, far, 0, 100); // re-armed: after 101
    for (let i = 8; i < 12; i++) q.push(q.allocSlot(), far, 0, i);
    for (;;) {
      const s = q.popUntil(Infinity);
      if (s < 0) break;
      order.push(q.arg(s));
    }
    expect(order).toEqual([-1, 0, 1, 2, 3, 4, 5, 6, 7, 101, 100, 8, 9, 10, 11]);
  });

  it('stays bounded when a timer is re-armed many times (a re-armed slot is unlinked at once)', () => {
    const sim = new Simulator();
    const t = sim.timer(sim.on(() => {}));
    for (let i = 0; i < 100_000; i++) t.arm(1_000_000 - i);
    expect(sim.pending).toBe(1);
    let fired = 0;
    const t2 = sim.timer(sim.on(() => fired++));
    t2.arm(5);
    sim.runUntilIdle();
    expect(fired).toBe(1);
    expect(sim.now).toBe(1_000_000 - 99_999);
  });
});
