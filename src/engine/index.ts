export { Simulator, Timer, type Handler, type EventKind } from './simulator.ts';
export { EventQueue } from './event-queue.ts';
export { RngStream } from './rng.ts';
export * from './time.ts';
