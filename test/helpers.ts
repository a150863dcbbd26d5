import type { TraceHooks } from '../src/model/trace-hooks.ts';
import { expect } from 'vitest';
import { FlowControl, type FlowControlHost } from '../src/model/nic/flow-control.ts';
import { DRIVERS } from '../src/model/nic/drivers.ts';
import { collectResult, type Result } from '../src/metrics/result.ts';
import { Kernel } from '../src/model/kernel.ts';
import { simulate, type SimulateOptions } from '../src/model/simulate.ts';
import { loadScenarioObject } from '../src/scenario/load.ts';
import { InputError } from '../src/scenario/errors.ts';
import type { ResolvedScenario } from '../src/scenario/resolve.ts';

/** No run-to-run variation: rule tests check the kernel's rules with the profile's exact costs and clocks in phase. */
export const EXACT = { cost_cv: 0, wire_jitter_ns: 0, random_phase: false };

/** A small valid scenario; override any top-level key (nics/flows replace the defaults). Exact unless `variability` is given. */
export function scenario(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'test',
    variability: EXACT,
    duration_ms: 5,
    cpus: 2,
    nics: [{ name: 'eth0', driver: 'ixgbe', channels: { combined: 2 } }],
    flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '100kpps', size: 64 }],
    ...over,
  };
}

export function resolve(over: Record<string, unknown> = {}): ResolvedScenario {
  return loadScenarioObject(scenario(over)).resolved;
}

/** Run a scenario object and collect its result (wall time fixed at 0 so results compare). */
export function run(over: Record<string, unknown> = {}, opts: SimulateOptions = {}): { result: Result; kernel: Kernel } {
  const kernel = simulate(resolve(over), opts);
  return { result: collectResult(kernel, 0), kernel };
}

/** A kernel built but not run (for driving mechanisms by hand). */
export function kernel(over: Record<string, unknown> = {}): Kernel {
  return new Kernel(resolve(over));
}

/** The message of the InputError `f` throws (fails the test if it throws none). */
export function inputError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
  throw new Error('no InputError');
}

/** An RX packet buffer of `bytes` with flow control off (no watermark matters), for ring tests without a NIC. */
export function packetBuffer(bytes: number, host: Partial<FlowControlHost> = {}): FlowControl {
  const driver = { ...DRIVERS.ixgbe, flowControl: { ...DRIVERS.ixgbe.flowControl, rxPacketBufferKb: bytes / 1024 } };
  return new FlowControl({ now: () => 0, pausePartner: () => {}, resumePartner: () => {}, ...host }, driver, { autoneg: false, rx: false, tx: false }, false, 1500, 10);
}

/**
 * Pages are conserved: pages taken from the allocator minus pages given back = pages the drivers
 * and pools hold + pages only skbs, defer lists and XDP_TX descriptors hold; and the references
 * pages count are exactly the rows, defer-list entries and TX descriptors that point at them.
 */
export function checkRxPages(k: Kernel): void {
  const pages = k.pages;
  const held = new Map<number, number>();
  for (const nic of k.nics) for (const p of nic.pollers) p.buffers.forEachHeld((page) => held.set(page, (held.get(page) ?? 0) + 1));
  expect([...held.values()].every((n) => n === 1)).toBe(true); // no page is posted or pooled twice
  let rowsWithPage = 0;
  for (let r = 0; r < k.pool.page.length; r++) if (k.pool.page[r]! >= 0) rowsWithPage++;
  let txPages = 0;
  for (const nic of k.nics) for (const t of nic.txRings) txPages += t.pendingPages;
  let posted = 0;
  for (const nic of k.nics) for (const p of nic.pollers) posted += p.buffers.postedRefs;
  let refs = 0;
  for (let p = 0; p < pages.refs.length; p++) refs += pages.refs[p]!;
  expect(refs).toBe(rowsWithPage + k.skbDefer.pendingPages + txPages + posted);
  const { referenced } = pages.census();
  let referencedHeld = 0;
  for (const page of held.keys()) if (pages.refs[page]! > 0) referencedHeld++;
  expect(pages.live).toBe(held.size + referenced - referencedHeld);
}

/** Trace hooks that record nothing: a test spreads them and adds the tracepoints it listens to. */
export const QUIET_TRACE = {
  irqRaise: () => {},
  irqEntry: () => {},
  softirqFrame: () => {},
  softirqEntry: () => {},
  softirqExit: () => {},
  napiPoll: () => {},
  sched: () => {},
  wakeup: () => {},
} satisfies TraceHooks;
