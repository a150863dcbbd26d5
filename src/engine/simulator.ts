import { EventQueue } from './event-queue.ts';

/** Called when an event fires; `arg` is the number given when it was scheduled. */
export type Handler = (arg: number) => void;

/** Index of a registered handler. */
export type EventKind = number;

/**
 * The discrete-event loop. Time is an integer number of nanoseconds held in a JS number
 * (exact up to 2^53 ns, about 104 days). Events at the same time run in the order they were
 * scheduled. Nothing here knows what the events mean.
 */
export class Simulator {
  /** Current simulated time, ns. */
  now = 0;
  /** Events dispatched so far. */
  dispatched = 0;
  private readonly queue = new EventQueue();
  private readonly handlers: Handler[] = [];
  /** 1 where a slot belongs to a Timer (kept when it fires), 0 for one-shot slots. */
  private timerSlot = new Uint8Array(1024);
  private stopRequested = false;

  /** Register a handler; the returned kind is what `at`/`after`/`timer` take. */
  on(handler: Handler): EventKind {
    this.handlers.push(handler);
    return this.handlers.length - 1;
  }

  /** One-shot event at absolute time `time` (integer ns, not in the past). */
  at(time: number, kind: EventKind, arg = 0): void {
    checkTime(time, this.now);
    // One-shot slots are never timer slots (timer slots are never released), so no marking.
    this.queue.push(this.queue.allocSlot(), time, kind, arg);
  }

  /** One-shot event `delay` ns from now. */
  after(delay: number, kind: EventKind, arg = 0): void {
    this.at(this.now + delay, kind, arg);
  }

  /** A re-armable, cancellable timer that fires `kind(arg)`. */
  timer(kind: EventKind, arg = 0): Timer {
    const slot = this.queue.allocSlot();
    this.markSlot(slot, 1);
    return new Timer(this, this.queue, slot, kind, arg);
  }

  /** Number of events waiting. */
  get pending(): number {
    return this.queue.size;
  }

  /** Ask the loop to return after the current event. */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * Dispatch every event with time <= `end`, then set the clock to `end`
   * (unless `stop()` was called, in which case the clock stays at the last event).
   */
  runUntil(end: number): void {
    const q = this.queue;
    const handlers = this.handlers;
    this.stopRequested = false;
    for (;;) {
      const slot = q.popUntil(end);
      if (slot < 0) break;
      this.now = q.timeOf(slot);
      this.dispatched++;
      const kind = q.kind(slot);
      const arg = q.arg(slot);
      if (this.timerSlot[slot] !== 1) q.releaseSlot(slot);
      handlers[kind]!(arg);
      if (this.stopRequested) return;
    }
    if (end !== Infinity && end > this.now) this.now = end;
  }

  /** Dispatch until no event is left (or `stop()`). */
  runUntilIdle(): void {
    this.runUntil(Infinity);
  }

  private markSlot(slot: number, isTimer: number): void {
    if (slot >= this.timerSlot.length) {
      const grown = new Uint8Array(Math.max(slot + 1, this.timerSlot.length * 2));
      grown.set(this.timerSlot);
      this.timerSlot = grown;
    }
    this.timerSlot[slot] = isTimer;
  }
}

/**
 * A timer owns one queue slot for its whole life, so arming, re-arming and cancelling are
 * O(log n) with no allocation: the shape of an ITR timer, an hrtimer or a scheduler tick.
 */
export class Timer {
  constructor(
    private readonly sim: Simulator,
    private readonly queue: EventQueue,
    private readonly slot: number,
    private readonly kind: EventKind,
    private readonly arg: number,
  ) {}

  /** True while the timer is waiting to fire. */
  get armed(): boolean {
    return this.queue.isQueued(this.slot);
  }

  /** When it will fire (meaningful only while armed). */
  get when(): number {
    return this.queue.timeOf(this.slot);
  }

  /** Fire at absolute time `time`, replacing any earlier arming. */
  arm(time: number): void {
    checkTime(time, this.sim.now);
    this.queue.push(this.slot, time, this.kind, this.arg);
  }

  /** Fire `delay` ns from now, replacing any earlier arming. */
  armAfter(delay: number): void {
    this.arm(this.sim.now + delay);
  }

  /** Arm only if not armed or if `time` is earlier than the current arming. */
  armNoLaterThan(time: number): void {
    if (!this.armed || time < this.when) this.arm(time);
  }

  cancel(): void {
    this.queue.remove(this.slot);
  }
}

function checkTime(time: number, now: number): void {
  if (!(time >= now && time <= Number.MAX_SAFE_INTEGER && Math.floor(time) === time)) {
    throw new RangeError(`event time ${time} must be an integer number of ns >= now (${now})`);
  }
}
