import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/metrics/result.ts';
import { collectResult } from '../../src/metrics/result.ts';
import { costTable } from '../../src/model/costs.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenarioObject } from '../../src/scenario/load.ts';
import type { TraceHooks } from '../../src/model/trace-hooks.ts';
import { EV } from '../../src/trace/buffer.ts';
import { KERNEL_SITES } from '../../src/trace/kernel-functions.ts';
import { toFtrace, TraceRecorder } from '../../src/trace/index.ts';
import { QUIET_TRACE, inputError, kernel, resolve, run, scenario } from '../helpers.ts';

/**
 * AF_XDP (net/xdp/xsk.c, xsk_buff_pool.c; ixgbe_xsk.c): XDP_REDIRECT into an xskmap, the socket's
 * fill and RX rings in copy and zero-copy mode, need_wakeup, XDP_STATISTICS, and the conservation
 * term packets.xsk.
 */

const PROG = { mode: 'native', program: [{ action: 'redirect', map: 'xsks', key: 'rx_queue', fallback: 'pass' }], default: 'pass' };
const NIC = (driver = 'ixgbe') => ({ name: 'eth0', driver, channels: { combined: 1 }, irq_affinity: { '0': '0' }, xdp: PROG });
const reader = (over: Record<string, unknown> = {}) => ({ name: 'xdpsock', kind: 'af-xdp-reader', cpus: '1', xsk: { dev: 'eth0', queue: 0, map: 'xsks' }, ...over });
const flood = (rate: string) => [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate, size: 64 }];
const xsk = (app: Record<string, unknown>, rate = '2mpps', extra: Record<string, unknown> = {}) =>
  scenario({ cpus: 2, duration_ms: 6, warmup_ms: 1, nics: [NIC()], xdp_maps: { xsks: { type: 'xskmap' } }, apps: [reader(app)], flows: flood(rate), ...extra });

const dropped = (r: Result) => Object.values(r.packets.dropped).reduce((a, b) => a + b, 0);
const conserved = (r: Result) =>
  expect(r.packets.offered).toBe(r.packets.delivered + dropped(r) + r.packets.in_flight + (r.packets.xdp_tx ?? 0) + (r.packets.xdp_redirect ?? 0) + (r.packets.xsk ?? 0));
const runOf = (sc: Record<string, unknown>) => collectResult(simulate(loadScenarioObject(sc).resolved), 0);
const c = costTable('baremetal-10g', {});

describe('AF_XDP: redirect into an xskmap', () => {
  it('every frame reaches the socket and the reader; no skb is built; the reader returns frames to the fill ring', () => {
    const r = runOf(xsk({ xsk_mode: 'copy' }));
    const x = r.xsks![0]!;
    expect(r.nics[0]!.queues[0]!.xdp!.redirect).toBe(r.nics[0]!.queues[0]!.packets);
    expect(r.stack.processed).toBe(0);
    expect(x.rx_packets).toBeGreaterThan(9000);
    expect(x.app_packets).toBeGreaterThan(x.rx_packets - 300);
    expect(x.stats).toEqual({ rx_dropped: 0, rx_invalid_descs: 0, tx_invalid_descs: 0, rx_ring_full: 0, rx_fill_ring_empty_descs: 0, tx_ring_empty_descs: 0 });
    expect(r.packets.delivered).toBeGreaterThan(9000);
    conserved(r);
  });

  it('copy vs zero-copy: the NAPI CPU pays __xsk_rcv and the copy per frame in copy mode, xsk_rcv_zc and xsk_buff_alloc in zero-copy', () => {
    const per = (r: Result) => (((r.cpus[0]!.soft + r.cpus[0]!.irq) / 100) * 5e6) / r.nics[0]!.queues[0]!.packets; // ns per frame over the 5 ms window
    const copy = per(runOf(xsk({ xsk_mode: 'copy' })));
    const zc = per(runOf(xsk({ xsk_mode: 'zerocopy' })));
    // Copy: xsk_rcv + 60 bytes at copy_kb_llc; zero-copy: xsk_rcv_zc + xsk_buff_alloc instead (ixgbe's page reuse is per frame too).
    const diff = c.xsk_rcv + Math.round((60 * c.copy_kb_llc) / 1024) - c.xsk_rcv_zc - c.xsk_buff_alloc;
    expect(copy - zc).toBeGreaterThan(diff - 25);
    expect(copy - zc).toBeLessThan(diff + 25);
  });

  it('zero-copy with the fill ring empty: xsk_buff_alloc fails (rx_fill_ring_empty_descs), the ring is not refilled and the NIC drops', () => {
    // A slow reader (2 µs per frame) on a small UMEM: the frames sit in the RX ring, the fill ring runs dry.
    const r = runOf(xsk({ xsk_mode: 'zerocopy', work_ns: 2000, umem_frames: 512, fill_ring: 256 }));
    const x = r.xsks![0]!;
    expect(x.stats.rx_fill_ring_empty_descs).toBeGreaterThan(0);
    expect(x.stats.rx_ring_full).toBe(0); // 512 frames never fill a 2048-entry RX ring
    expect(r.packets.dropped.nic_missed! + r.packets.dropped.nic_ring!).toBeGreaterThan(0);
    expect(r.packets.dropped.xsk).toBe(0);
    conserved(r);
  });

  it('RX ring full: the frame is dropped at the socket (rx_ring_full, dropped.xsk) and xdp:xdp_exception is what the driver would trace', () => {
    const r = runOf(xsk({ xsk_mode: 'copy', work_ns: 2000, rx_ring: 64 }));
    const x = r.xsks![0]!;
    expect(x.stats.rx_ring_full).toBeGreaterThan(1000);
    expect(r.packets.dropped.xsk).toBeGreaterThan(1000);
    expect(x.stats.rx_fill_ring_empty_descs).toBe(0);
    conserved(r);
  });

  it('zero-copy RX ring full with need_wakeup: the driver stops its clean loop and leaves the frame on the NIC ring (IXGBE_XDP_EXIT); without need_wakeup it drops per frame', () => {
    const slow = { xsk_mode: 'zerocopy', work_ns: 2000, rx_ring: 64 };
    const k = kernel(xsk({ ...slow, need_wakeup: true }));
    let redirectErrs = 0;
    let exceptions = 0;
    k.trace = {
      ...QUIET_TRACE,
      xdpRedirectXsk: (_cpu, _dev, _mapId, _index, _zc, err) => void (err === -105 && redirectErrs++),
      xdpException: () => void exceptions++,
    } satisfies TraceHooks;
    k.start();
    k.sim.runUntil(6_000_000);
    const stop = collectResult(k, 0);
    const x = stop.xsks![0]!;
    // Nothing dropped at the socket: the frames wait in the NIC ring, which fills, and the NIC drops.
    expect(stop.packets.dropped.xsk).toBe(0);
    expect(stop.packets.dropped.nic_missed! + stop.packets.dropped.nic_ring!).toBeGreaterThan(1000);
    expect(x.app_packets).toBeGreaterThan(1000);
    // One -ENOBUFS per poll that met the full ring, each traced as xdp_redirect_err and xdp_exception.
    expect(x.stats.rx_ring_full).toBeGreaterThan(10);
    expect(x.stats.rx_ring_full).toBeLessThan(stop.packets.dropped.nic_missed! / 10);
    expect(exceptions).toBe(redirectErrs);
    expect(x.wakeups).toBeGreaterThan(10); // need_wakeup set on the failure: the reader's recvfrom wakes the driver
    const s = k.xskOf(0)!;
    expect(s.fq + s.driverPosted + s.freeList + s.rx.length + s.appHeld).toBe(s.cfg.frames);
    expect(s.freeList).toBeGreaterThanOrEqual(0); // the refill sees only buffers XDP gave back, never one on its way to the socket
    conserved(stop);
    // Without need_wakeup ixgbe_run_xdp_zc keeps IXGBE_XDP_CONSUMED: dropped at the socket, counted per frame.
    const drop = runOf(xsk({ ...slow, need_wakeup: false }));
    expect(drop.packets.dropped.xsk).toBeGreaterThan(5000);
    expect(drop.xsks![0]!.stats.rx_ring_full).toBeGreaterThan(5000);
    conserved(drop);
  });

  it('copy mode without a fill-ring frame: rx_dropped and rx_fill_ring_empty_descs', () => {
    const r = runOf(xsk({ xsk_mode: 'copy', work_ns: 2000, umem_frames: 128, fill_ring: 128 }));
    const x = r.xsks![0]!;
    expect(x.stats.rx_dropped).toBeGreaterThan(1000);
    expect(x.stats.rx_fill_ring_empty_descs).toBe(x.stats.rx_dropped);
    expect(r.packets.dropped.xsk).toBeGreaterThan(1000);
    conserved(r);
  });

  it('need_wakeup: the driver stops when its buffers run out and the reader must recvfrom() to have the NAPI polled; without it, no system call', () => {
    // A UMEM of 128 frames: the driver posts them all, and runs out until the reader gives them back.
    const slow = { xsk_mode: 'zerocopy', umem_frames: 128, fill_ring: 128 };
    const woken = runOf(xsk({ ...slow, need_wakeup: true })).xsks![0]!;
    expect(woken.syscalls).toBeGreaterThan(0);
    expect(woken.wakeups).toBeGreaterThan(0);
    const polled = runOf(xsk({ ...slow, need_wakeup: false }));
    expect(polled.xsks![0]!.syscalls).toBe(0);
    expect(polled.tasks.find((t) => t.comm === 'xdpsock')!.sys_ms).toBe(0);
    // Without need_wakeup the poll returns its budget on a failed refill: the NAPI never completes.
    expect(polled.xsks![0]!.app_packets).toBeGreaterThan(0);
  });

  it("busy polling (SO_BUSY_POLL, SO_PREFER_BUSY_POLL: xdpsock -B): recvfrom on an empty ring polls the NAPI in the reader's system time", () => {
    const nic = { ...NIC(), napi_defer_hard_irqs: 2, gro_flush_timeout: 200000 };
    const plain = runOf(xsk({ xsk_mode: 'zerocopy' }, '2mpps', { nics: [nic] }));
    expect(plain.xsks![0]!.syscalls).toBe(0);
    expect(plain.cpus[0]!.soft).toBeGreaterThan(5);
    const busy = runOf(xsk({ xsk_mode: 'zerocopy', busy_poll: 20, prefer_busy_poll: true, busy_poll_budget: 64 }, '2mpps', { nics: [nic] }));
    expect(busy.xsks![0]!.syscalls).toBeGreaterThan(100);
    expect(busy.nstat.TcpExtBusyPollRxPackets).toBeGreaterThan(busy.xsks![0]!.rx_packets / 2);
    expect(busy.cpus[1]!.sys).toBeGreaterThan(50); // the reader's CPU polls
    expect(busy.cpus[0]!.soft).toBeLessThan(plain.cpus[0]!.soft / 4); // prefer-busy-poll keeps the IRQ masked
    conserved(busy);
  });

  it('poll() (xdpsock -p): sock_poll busy-polls only with net.core.busy_poll set (POLL_BUSY_LOOP), and xsk_poll wakes the driver even with prefer-busy-poll', () => {
    const nic = { ...NIC(), napi_defer_hard_irqs: 2, gro_flush_timeout: 200000 };
    const polling = { xsk_mode: 'zerocopy', xsk_poll: true, busy_poll: 20, prefer_busy_poll: true, busy_poll_budget: 64 };
    // SO_BUSY_POLL alone: do_poll does not ask sock_poll to busy-poll (net_busy_loop_on is false).
    const socketOnly = runOf(xsk(polling, '2mpps', { nics: [nic] }));
    expect(socketOnly.nstat.TcpExtBusyPollRxPackets).toBe(0);
    expect(socketOnly.xsks![0]!.app_packets).toBeGreaterThan(5000);
    const sysctl = runOf(xsk(polling, '2mpps', { nics: [nic], sysctl: { 'net.core.busy_poll': 50 } }));
    expect(sysctl.nstat.TcpExtBusyPollRxPackets).toBeGreaterThan(0);
    // need_wakeup with a UMEM the driver runs out of: xsk_poll's xsk_wakeup has no xsk_no_wakeup
    // check, so prefer-busy-poll does not silence it and the reader keeps receiving.
    const dry = runOf(xsk({ ...polling, umem_frames: 128, fill_ring: 128, need_wakeup: true }, '2mpps', { nics: [nic] })).xsks![0]!;
    expect(dry.wakeups).toBeGreaterThan(10);
    expect(dry.app_packets).toBeGreaterThan(5000);
  });

  it('a queue without a socket takes the fallback (bpf_redirect_map flags): XDP_PASS to the stack; with flags 0, XDP_ABORTED', () => {
    const two = (fallback?: string) =>
      runOf(
        scenario({
          cpus: 2,
          nics: [{ name: 'eth0', channels: { combined: 2 }, xdp: { mode: 'native', program: [{ action: 'redirect', map: 'xsks', key: 'rx_queue', ...(fallback ? { fallback } : {}) }] } }],
          xdp_maps: { xsks: { type: 'xskmap' } },
          apps: [reader({ xsk: { dev: 'eth0', queue: 0, map: 'xsks' } })],
          flows: [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000-1063', dst: '10.0.0.2:9', rate: '1mpps', size: 64 }],
          apply: ['ethtool -N eth0 rx-flow-hash udp4 sdfn'], // RSS on the ports: both queues get frames
        }),
      );
    const pass = two('pass');
    const q1 = pass.nics[0]!.queues[1]!.xdp!;
    expect(q1.pass).toBeGreaterThan(0);
    expect(q1.redirect).toBe(0);
    expect(pass.nics[0]!.queues[0]!.xdp!.redirect).toBeGreaterThan(0);
    const aborted = two().nics[0]!.queues[1]!.xdp!;
    expect(aborted.aborted).toBeGreaterThan(0);
    expect(aborted.pass).toBe(0);
  });

  it('a frame of another queue redirected to the socket (key 0 from queue 1): xsk_rcv_check refuses it with -EINVAL, no socket counter or UMEM frame moves', () => {
    const k = kernel(
      scenario({
        cpus: 3,
        duration_ms: 4,
        warmup_ms: 1,
        nics: [{ name: 'eth0', channels: { combined: 2 }, irq_affinity: { '0': '0', '1': '2' }, xdp: { mode: 'native', program: [{ action: 'redirect', map: 'xsks', key: 0, fallback: 'pass' }] } }],
        xdp_maps: { xsks: { type: 'xskmap' } },
        apps: [reader({ xsk_mode: 'zerocopy' })],
        flows: flood('2mpps'),
        apply: ['ethtool -N eth0 rx-flow-hash udp4 sdfn'], // RSS on the ports: both queues get frames
      }),
    );
    const errs = new Map<number, number>();
    let exceptions = 0;
    k.trace = {
      ...QUIET_TRACE,
      xdpRedirectXsk: (_cpu, _dev, _mapId, _index, _zc, err) => void errs.set(err, (errs.get(err) ?? 0) + 1),
      xdpException: () => void exceptions++,
    } satisfies TraceHooks;
    k.start();
    k.sim.runUntil(4_000_000);
    const r = collectResult(k, 0);
    const q1 = r.nics[0]!.queues[1]!;
    expect(q1.xdp!.redirect).toBeGreaterThan(1000); // the program redirected them: the entry exists
    expect(errs.get(-22)).toBeGreaterThan(1000); // -EINVAL, one per frame of queue 1
    expect(exceptions).toBe(errs.get(-22));
    expect(r.packets.dropped.xsk).toBeGreaterThan(1000); // dropped as the driver does on a failed redirect (the window, after warm-up)
    const x = r.xsks![0]!;
    expect(x.rx_packets).toBeGreaterThan(1000); // queue 0's frames still arrive
    expect(x.stats).toEqual({ rx_dropped: 0, rx_invalid_descs: 0, tx_invalid_descs: 0, rx_ring_full: 0, rx_fill_ring_empty_descs: 0, tx_ring_empty_descs: 0 });
    // Every UMEM frame is in exactly one place (the refused frames were never the pool's).
    const s = k.xskOf(0)!;
    expect(s.fq + s.driverPosted + s.freeList + s.rx.length + s.appHeld).toBe(s.cfg.frames);
    conserved(r);
  });

  it('bind errors as the kernel gives them: XDP_ZEROCOPY without driver support (EOPNOTSUPP), a queue that does not exist (EINVAL), a ring size not a power of two', () => {
    expect(inputError(() => resolve(xsk({ xsk_mode: 'zerocopy' }, '1mpps', { nics: [NIC('generic')] })))).toMatch(/apps\[0\]\.xsk_mode.*EOPNOTSUPP/);
    expect(resolve(xsk({}, '1mpps', { nics: [NIC('generic')] })).apps[0]!.xsk!.zeroCopy).toBe(false);
    expect(inputError(() => resolve(xsk({ xsk: { dev: 'eth0', queue: 3, map: 'xsks' } })))).toMatch(/apps\[0\]\.xsk\.queue.*EINVAL/);
    expect(inputError(() => resolve(xsk({ rx_ring: 1000 })))).toMatch(/rx_ring.*power of two/);
    expect(inputError(() => resolve(xsk({ xsk: { dev: 'eth0', queue: 0, map: 'xsk' } })))).toMatch(/xsks/);
  });
});

describe('AF_XDP in the trace', () => {
  it("xdp:xdp_redirect per frame into the xskmap, xdp_redirect_err with the socket's error (-ENOBUFS: RX ring full) and xdp_exception", () => {
    const k = kernel(xsk({ xsk_mode: 'copy', work_ns: 2000, rx_ring: 64 }));
    const errs = new Map<number, number>();
    let exceptions = 0;
    k.trace = {
      ...QUIET_TRACE,
      xdpRedirectXsk: (_cpu, dev, mapId, index, zc, err) => {
        expect([dev, mapId, index, zc]).toEqual(['eth0', 1, 0, false]);
        errs.set(err, (errs.get(err) ?? 0) + 1);
      },
      xdpException: (_cpu, _dev, action) => {
        expect(action).toBe('XDP_REDIRECT');
        exceptions++;
      },
    } satisfies TraceHooks;
    k.start();
    k.sim.runUntil(3_000_000);
    expect(errs.get(0)).toBeGreaterThan(100);
    expect(errs.get(-105)).toBeGreaterThan(100); // -ENOBUFS from xskq_prod_reserve_desc
    expect(exceptions).toBe(errs.get(-105));
  });

  it('step mode names xsk_rcv (copy) and xsk_rcv_zc (zero-copy); the ftrace text prints the tracepoint', () => {
    expect(KERNEL_SITES[EV.XDP_REDIRECT_XSK]!.fn).toBe('xsk_rcv');
    expect(KERNEL_SITES[EV.XDP_REDIRECT_XSK_ZC]!.fn).toBe('xsk_rcv_zc');
    const rec = new TraceRecorder({ detail: 'packet' });
    simulate(resolve(xsk({ xsk_mode: 'zerocopy' }, '2mpps', { duration_ms: 1, warmup_ms: 0 })), { trace: rec });
    expect(toFtrace(rec)).toMatch(/xdp_redirect: prog_id=1 action=XDP_REDIRECT ifindex=2 to_ifindex=0 err=0 map_type=XSKMAP map_id=1 map_index=0/);
  });
});

describe('conservation with AF_XDP sockets (property)', () => {
  it('offered = delivered + Σ dropped + in flight + xdp_tx + xdp_redirect + xsk, over ring sizes, modes and rates', () => {
    fc.assert(
      fc.property(
        fc.record({
          mode: fc.constantFrom('copy', 'zerocopy'),
          fill: fc.constantFrom(64, 512, 2048),
          rx: fc.constantFrom(64, 512, 2048),
          frames: fc.constantFrom(128, 4096),
          work: fc.constantFrom(0, 300, 2000),
          rate: fc.constantFrom('500kpps', '3mpps', 'line'),
          wake: fc.boolean(),
        }),
        (x) => {
          const r = runOf(xsk({ xsk_mode: x.mode, fill_ring: x.fill, rx_ring: x.rx, umem_frames: x.frames, work_ns: x.work, need_wakeup: x.wake }, x.rate, { duration_ms: 2, warmup_ms: 1 }));
          conserved(r);
          const s = r.xsks![0]!;
          expect(s.app_packets).toBeLessThanOrEqual(s.rx_packets + x.rx);
        },
      ),
      { numRuns: 12, seed: 2026 },
    );
  });
});

it('the result keeps its form without an xskmap (no packets.xsk, dropped.xsk or xsks)', () => {
  const { result: r } = run();
  expect('xsk' in r.packets).toBe(false);
  expect('xsk' in r.packets.dropped).toBe(false);
  expect(r.xsks).toBeUndefined();
});
