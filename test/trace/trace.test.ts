import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectResult } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { EV, spanClass, stepEvents, toChromeTrace, toFtrace, TraceRecorder } from '../../src/trace/index.ts';
import { resolve, run } from '../helpers.ts';

const file = (name: string) => readFileSync(new URL(`../../sim-scenarios/${name}.json`, import.meta.url), 'utf8');
/** A shipped scenario, shortened, without warm-up unless asked (counters then run from t = 0). */
/** A shipped scenario without run-to-run variation (these tests check formats against exact runs). */
const resolved = (name: string, durationMs = 10, warmupMs = 0) =>
  loadScenario(file(name), { durationMs, set: [`warmup_ms=${warmupMs}`, 'variability.cost_cv=0', 'variability.wire_jitter_ns=0', 'variability.random_phase=false'] }).resolved;

/** Sum of span durations per CPU and class over the recorder's buffer. */
function spanTotals(rec: TraceRecorder): Map<string, number>[] {
  const out = Array.from({ length: rec.machine.cpus }, () => new Map<string, number>());
  const b = rec.buf;
  for (let i = 0; i < b.length; i++) {
    const s = b.slot(i);
    if (b.type[s] !== EV.SPAN) continue;
    const cls = spanClass(rec, b.a[s]!, b.b[s]!);
    const m = out[b.cpu[s]!]!;
    m.set(cls, (m.get(cls) ?? 0) + b.dur[s]!);
  }
  return out;
}

describe('trace recorder', () => {
  it('does not change the run: a traced run has the digest of an untraced one', () => {
    for (const name of ['rps-spread', 'ksoftirqd-vs-hog', 'seed-lab-iperf3-on-irq-core']) {
      const plain = collectResult(simulate(resolved(name)), 0).digest;
      const traced = collectResult(simulate(resolved(name), { trace: new TraceRecorder({ detail: 'packet' }) }), 0).digest;
      expect(traced, name).toBe(plain);
    }
  });

  it('CPU spans add up to the accounting exactly: hardirq = %irq time, idle = %idle time, all = the window, per CPU', () => {
    const s = resolved('ksoftirqd-vs-hog', 10, 2);
    const rec = new TraceRecorder({ fromNs: s.warmupNs, capacity: 1 << 20 });
    const k = simulate(s, { trace: rec });
    expect(rec.buf.overwritten).toBe(0);
    const window = k.sim.now - k.windowStart;
    spanTotals(rec).forEach((m, cpu) => {
      const total = [...m.values()].reduce((a, b) => a + b, 0);
      expect(total).toBeCloseTo(window, 3);
      expect(m.get('hardirq') ?? 0).toBeCloseTo(k.cpus[cpu]!.time[2]!, 3);
      expect(m.get('idle') ?? 0).toBeCloseTo(k.cpus[cpu]!.time[4]!, 3);
    });
    // The hog and ksoftirqd share CPU 0: both show up as spans there.
    const cpu0 = spanTotals(rec)[0]!;
    expect(cpu0.get('app')!).toBeGreaterThan(0.2 * window);
    expect(cpu0.get('ksoftirqd')!).toBeGreaterThan(0.2 * window);
  });

  it('is bounded: a small buffer keeps only the newest events', () => {
    const small = new TraceRecorder({ capacity: 500 });
    simulate(resolved('rps-spread', 5), { trace: small });
    const big = new TraceRecorder({ capacity: 1 << 20 });
    simulate(resolved('rps-spread', 5), { trace: big });
    expect(small.buf.length).toBe(500);
    expect(small.buf.written).toBe(big.buf.written);
    expect(small.buf.overwritten).toBe(big.buf.written - 500);
    // The kept events are the last 500 written.
    for (let i = 0; i < 500; i++) {
      const s = small.buf.slot(i);
      const bs = big.buf.slot(big.buf.length - 500 + i);
      expect([small.buf.type[s], small.buf.t[s]]).toEqual([big.buf.type[bs], big.buf.t[bs]]);
    }
  });

  it('keeps only the asked window, spans clipped to it', () => {
    const rec = new TraceRecorder({ fromNs: 2e6, toNs: 3e6 });
    simulate(resolved('rps-spread', 5), { trace: rec });
    expect(rec.buf.length).toBeGreaterThan(100);
    for (let i = 0; i < rec.buf.length; i++) {
      const s = rec.buf.slot(i);
      expect(rec.buf.t[s]!).toBeGreaterThanOrEqual(2e6);
      if (rec.buf.type[s] === EV.SPAN) expect(rec.buf.t[s]! + rec.buf.dur[s]!).toBeLessThanOrEqual(3e6);
      else expect(rec.buf.t[s]!).toBeLessThan(3e6);
    }
  });

  it("records per-packet netif_receive_skb only at packet detail: one per pass, the host NIC then the pod's eth0", () => {
    const count = (rec: TraceRecorder) => Array.from({ length: rec.buf.length }, (_, i) => rec.buf.type[rec.buf.slot(i)]).filter((t) => t === EV.NETIF_RECEIVE_SKB).length;
    const poll = new TraceRecorder({ detail: 'poll' });
    simulate(resolved('pod-veth-bridge', 3), { trace: poll });
    expect(count(poll)).toBe(0);
    const s = loadScenario(file('pod-veth-bridge'), { durationMs: 3, set: ['warmup_ms=0', 'nics[0].name="ens1"'] }).resolved;
    const pkt = new TraceRecorder({ detail: 'packet', capacity: 1 << 20 });
    const k = simulate(s, { trace: pkt });
    const processed = k.softnet.reduce((a, sd) => a + sd.processed, 0);
    expect(count(pkt)).toBe(processed); // no warm-up: softnet counts from 0 like the trace
    expect(pkt.devs).toEqual(['ens1', 'eth0']);
    const byDev = [0, 0];
    for (let i = 0; i < pkt.buf.length; i++) {
      const slot = pkt.buf.slot(i);
      if (pkt.buf.type[slot] === EV.NETIF_RECEIVE_SKB) byDev[pkt.buf.c[slot]!]!++;
    }
    // Every skb the NIC hands up crosses the stack again in the pod (those still in flight aside).
    expect(byDev[1]!).toBeGreaterThan(0.95 * byDev[0]!);
    expect(byDev[1]!).toBeLessThanOrEqual(byDev[0]!);
  });
});

describe('ftrace export', () => {
  const rec = new TraceRecorder({ detail: 'packet' });
  const k = simulate(resolved('ksoftirqd-vs-hog', 7), { trace: rec });
  const text = toFtrace(rec);
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));

  it('prints the kernel tracepoints in their own formats', () => {
    const formats: Record<string, RegExp> = {
      irq_handler_entry: /irq_handler_entry: irq=(\d+|LOC|CAL|RES) name=\S+$/,
      irq_handler_exit: /irq_handler_exit: irq=(\d+|LOC|CAL|RES) ret=handled$/,
      // NET_RX, and SCHED (load balancing, raised by the tick).
      softirq_raise: /softirq_raise: vec=(3 \[action=NET_RX\]|7 \[action=SCHED\])$/,
      softirq_entry: /softirq_entry: vec=(3 \[action=NET_RX\]|7 \[action=SCHED\])$/,
      softirq_exit: /softirq_exit: vec=(3 \[action=NET_RX\]|7 \[action=SCHED\])$/,
      napi_poll: /napi_poll: napi poll on napi struct [0-9a-f]{16} for device eth0 work \d+ budget 64$/,
      netif_receive_skb: /netif_receive_skb: dev=eth0 skbaddr=[0-9a-f]{16} len=\d+$/,
      sched_switch: /sched_switch: prev_comm=\S+ prev_pid=\d+ prev_prio=120 prev_state=(R|R\+|S) ==> next_comm=\S+ next_pid=\d+ next_prio=120$/,
      sched_wakeup: /sched_wakeup: comm=\S+ pid=\d+ prio=120 target_cpu=\d{3}$/,
    };
    for (const [tp, re] of Object.entries(formats)) {
      const mine = lines.filter((l) => l.includes(` ${tp}: `));
      expect(mine.length, tp).toBeGreaterThan(0);
      for (const l of mine) expect(l, tp).toMatch(re);
    }
    for (const l of lines) expect(l).toMatch(/^\s*\S+-\d+ \[\d{3}\] [d.][.][hs.][12]\. +\d+\.\d{6}: \w+: /);
    // The flags follow the context: NET_RX raised by the driver's interrupt, and re-raised by net_rx_action itself.
    const raises = lines.filter((l) => l.includes(' softirq_raise: vec=3 '));
    expect(raises.some((l) => / d\.h1\. /.test(l))).toBe(true);
    expect(raises.some((l) => / d\.s1\. /.test(l))).toBe(true);
  });

  it('is in time order and names the running task', () => {
    const times = lines.map((l) => Number(/ (\d+\.\d{6}): /.exec(l)![1]));
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    expect(lines.some((l) => /^\s*hog-\d+ \[000\]/.test(l))).toBe(true);
    expect(lines.some((l) => /^\s*ksoftirqd\/0-\d+ \[000\]/.test(l))).toBe(true);
    expect(text).toContain(`#P:${k.cpus.length}`);
  });
});

describe("step events (the browser's step mode)", () => {
  it("name the kernel function and file of each event, the vector's own for timer and IPI interrupts, and the ring a device interrupt or poll works on", () => {
    const s = resolved('rps-spread', 8, 2);
    const rec = new TraceRecorder({ fromNs: s.warmupNs, packetFromNs: 3e6, packetToNs: 3.2e6 });
    simulate(s, { trace: rec });
    const steps = stepEvents(rec, 3e6, 3.2e6, 5000);
    expect(steps.length).toBeGreaterThan(50);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.t).toBeGreaterThanOrEqual(steps[i - 1]!.t);
    const byFn = new Map(steps.map((x) => [x.fn, x]));
    expect(byFn.get('__napi_poll')!.file).toBe('net/core/dev.c');
    expect(byFn.get('__netif_receive_skb_core')!.line).toMatch(/^netif_receive_skb: dev=eth0 /);
    expect(byFn.get('sysvec_call_function_single')!.what).toMatch(/RPS/); // the CAL vector carries RPS
    const poll = steps.find((x) => x.fn === '__napi_poll' && /device eth0/.test(x.line))!;
    expect(poll.queues).toEqual(['eth0/rx-0 ring']);
    const backlogPoll = steps.find((x) => x.fn === '__napi_poll' && /device backlog/.test(x.line))!;
    expect([backlogPoll.stage, backlogPoll.queues]).toEqual(['backlog', []]);
  });
});

describe('step events of busy polling', () => {
  it('name the poller: napi_busy_loop for a blocking read, ep_busy_loop for epoll_wait, __napi_poll for the softirq; all the napi:napi_poll tracepoint in the task', () => {
    const s = resolved('busy-poll-rr', 8, 2);
    const rec = new TraceRecorder({ fromNs: s.warmupNs });
    simulate(s, { trace: rec });
    const steps = stepEvents(rec, 3e6, 3.5e6, 20000);
    const busy = steps.find((x) => x.fn === 'napi_busy_loop' && /device eth1 /.test(x.line))!;
    expect([busy.tracepoint, busy.file, busy.task, busy.queues]).toEqual(['napi:napi_poll', 'net/core/dev.c', 'busy', ['eth1/rx-0 ring']]);
    expect(busy.line).toMatch(/ budget 8$/);
    const ep = steps.find((x) => x.fn === 'ep_busy_loop')!;
    expect([ep.tracepoint, ep.file, ep.task]).toEqual(['napi:napi_poll', 'fs/eventpoll.c', 'epoll']);
    expect(ep.line).toMatch(/for device eth3 /);
    // The interrupt-driven server's NAPI is polled by the softirq, never by a busy poller.
    expect(steps.filter((x) => /device eth0 /.test(x.line)).every((x) => x.fn === '__napi_poll')).toBe(true);
    expect(toChromeTrace(rec, 'busy-poll-rr').traceEvents.some((e) => e.name === 'ep_busy_loop eth3')).toBe(true);
  });
});

describe('step events of XDP', () => {
  it('cpumap-steering: bpf_prog_run_xdp per poll in the driver, xdp_do_redirect per frame (xdp:xdp_redirect), cpu_map_kthread_run on the entry CPU', () => {
    const s = resolved('cpumap-steering', 8, 2);
    const rec = new TraceRecorder({ fromNs: s.warmupNs, packetFromNs: 3e6, packetToNs: 3.1e6 });
    simulate(s, { trace: rec });
    const steps = stepEvents(rec, 3e6, 3.1e6, 50000);
    const fns = new Set(steps.map((x) => x.fn));
    for (const fn of ['bpf_prog_run_xdp', 'xdp_do_redirect', 'cpu_map_kthread_run', 'bq_flush_to_queue']) expect(fns).toContain(fn);
    const run = steps.find((x) => x.fn === 'bpf_prog_run_xdp')!;
    expect([run.tracepoint, run.file, run.stage, run.cpu]).toEqual(['', 'include/net/xdp.h', 'napi', 0]);
    expect(run.line).toMatch(/^bpf_prog_run_xdp: dev=eth0 rxq=0 frames=(\d+) XDP_DROP=0 XDP_PASS=0 XDP_TX=0 XDP_REDIRECT=\1 XDP_ABORTED=0$/);
    const redirect = steps.find((x) => x.fn === 'xdp_do_redirect')!;
    expect([redirect.tracepoint, redirect.file, redirect.cpu]).toEqual(['xdp:xdp_redirect', 'net/core/filter.c', 0]);
    expect(redirect.line).toMatch(/^xdp_redirect: prog_id=1 action=XDP_REDIRECT ifindex=\d+ to_ifindex=0 err=0 map_type=CPUMAP map_id=1 map_index=[123]$/);
    expect(steps.find((x) => x.fn === 'cpu_map_kthread_run')!.task).toMatch(/^cpumap\/[123]\/map:1$/);
    // The ftrace export prints tracepoints only: xdp_redirect, never the program's run.
    const text = toFtrace(rec);
    expect(text).toMatch(/ xdp_redirect: prog_id=1 /);
    expect(text).not.toMatch(/bpf_prog_run_xdp/);
  });

  it("xdp:xdp_exception and a queue vector's interrupt name the device's driver: ice_run_xdp and ice_msix_clean_rings on ice, netif_receive_generic_xdp for generic XDP", () => {
    const steps = (mode: string) => {
      const xdp = { mode, program: [], default: 'aborted' };
      const flows = [{ name: 'f', proto: 'udp', src: '10.0.0.1:1000', dst: '10.0.0.2:9', rate: '1mpps', size: 64 }];
      const rec = new TraceRecorder({ packetFromNs: 0.5e6, packetToNs: 0.6e6 });
      simulate(resolve({ nics: [{ name: 'eth0', driver: 'ice', channels: { combined: 1 }, xdp }], flows, duration_ms: 1 }), { trace: rec });
      return stepEvents(rec, 0.5e6, 0.6e6, 50000);
    };
    const native = steps('native');
    const exception = native.find((x) => x.tracepoint === 'xdp:xdp_exception')!;
    expect([exception.fn, exception.file]).toEqual(['ice_run_xdp', 'drivers/net/ethernet/intel/ice/ice_txrx.c']);
    const irq = native.find((x) => x.tracepoint === 'irq:irq_handler_entry' && x.queues.length > 0)!;
    expect([irq.fn, irq.what]).toEqual(['__handle_irq_event_percpu', expect.stringContaining('ice_msix_clean_rings')]);
    expect(steps('generic').find((x) => x.tracepoint === 'xdp:xdp_exception')!.fn).toBe('netif_receive_generic_xdp');
  });

  it('generic XDP: the program per skb at __netif_receive_skb_core, xdp_do_generic_redirect', () => {
    const s = resolved('cpumap-steering', 4, 0);
    s.nics[0]!.xdp = { ...s.nics[0]!.xdp!, mode: 'generic' };
    const rec = new TraceRecorder({ packetFromNs: 1e6, packetToNs: 1.05e6 });
    simulate(s, { trace: rec });
    const steps = stepEvents(rec, 1e6, 1.05e6, 50000);
    const run = steps.find((x) => x.fn === 'bpf_prog_run_xdp')!;
    expect(run.stage).toBe('stack');
    expect(run.line).toMatch(/^bpf_prog_run_xdp: dev=eth0 rxq=0 generic frames=1 .*XDP_REDIRECT=1 /);
    expect(steps.find((x) => x.fn === 'xdp_do_generic_redirect')!.tracepoint).toBe('xdp:xdp_redirect');
  });
});

describe('ftrace export of a window that starts mid-run', () => {
  it('names the task that was running when the window opened: every sched_switch line runs as its prev', () => {
    const rec = new TraceRecorder({ fromNs: 5.3e6, toNs: 12e6 });
    simulate(resolved('ksoftirqd-vs-hog', 12), { trace: rec });
    const switches = toFtrace(rec)
      .split('\n')
      .filter((l) => l.includes(' sched_switch: '));
    expect(switches.length).toBeGreaterThan(2);
    for (const l of switches) {
      const [, task, pid] = /^\s*(\S+)-(\d+) /.exec(l)!;
      const [, prev, prevPid] = /prev_comm=(\S+) prev_pid=(\d+)/.exec(l)!;
      expect(`${task}-${pid}`, l).toBe(`${prev}-${prevPid}`);
    }
  });
});

describe('Perfetto (Chrome trace-event) export', () => {
  const rec = new TraceRecorder({});
  simulate(resolved('rps-spread', 4), { trace: rec });
  const trace = JSON.parse(JSON.stringify(toChromeTrace(rec, 'rps-spread'))) as ReturnType<typeof toChromeTrace>;
  const ev = trace.traceEvents;

  it('has one named track per CPU with slices for interrupts, softirqs and polls', () => {
    const threads = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => (e.args as { name: string }).name);
    expect(threads).toEqual(['CPU 0', 'CPU 0 kernel', 'CPU 1', 'CPU 1 kernel', 'CPU 2', 'CPU 2 kernel', 'CPU 3', 'CPU 3 kernel']);
    const slices = ev.filter((e) => e.ph === 'X');
    for (const s of slices) expect(s.dur!).toBeGreaterThanOrEqual(0);
    expect(slices.some((s) => s.name.startsWith('irq 128: eth0-TxRx-0'))).toBe(true);
    expect(slices.some((s) => s.name === 'NET_RX (net_rx_action)')).toBe(true);
    expect(slices.some((s) => s.name === 'napi_poll eth0' && (s.args as { work: number }).work > 0)).toBe(true);
    expect(slices.some((s) => s.name === 'napi_poll backlog')).toBe(true);
  });

  it('nests the slices of every track (the format needs it), here and with ksoftirqd and tasks in play', () => {
    const rec2 = new TraceRecorder({ capacity: 1 << 20 });
    simulate(resolved('seed-lab-iperf3-on-irq-core', 14, 4), { trace: rec2 });
    for (const events of [ev, toChromeTrace(rec2, 'seed-lab').traceEvents]) {
      const byTid = new Map<number, { s: number; e: number; name: string }[]>();
      for (const e of events) if (e.ph === 'X') (byTid.get(e.tid!) ?? byTid.set(e.tid!, []).get(e.tid!)!).push({ s: Math.round(e.ts * 1000), e: Math.round((e.ts + e.dur!) * 1000), name: e.name });
      expect(byTid.size).toBeGreaterThanOrEqual(2);
      for (const [tid, slices] of byTid) {
        slices.sort((x, y) => x.s - y.s || y.e - x.e);
        const stack: { s: number; e: number; name: string }[] = [];
        for (const x of slices) {
          while (stack.length && stack[stack.length - 1]!.e <= x.s) stack.pop();
          const top = stack[stack.length - 1];
          if (top) expect(x.e, `track ${tid}: ${x.name} [${x.s}, ${x.e}] inside ${top.name} [${top.s}, ${top.e}]`).toBeLessThanOrEqual(top.e);
          stack.push(x);
        }
      }
    }
  });

  it('has counter tracks for rings and backlogs, and an arrow per RPS IPI', () => {
    const counters = new Set(ev.filter((e) => e.ph === 'C').map((e) => e.name));
    expect(counters).toContain('eth0/rx-0 ring');
    expect(counters).toContain('backlog/1');
    const starts = ev.filter((e) => e.ph === 's');
    const ends = new Map(ev.filter((e) => e.ph === 'f').map((e) => [e.id, e]));
    expect(starts.length).toBeGreaterThan(10);
    for (const s of starts.slice(0, -4)) {
      const f = ends.get(s.id)!;
      expect(f, `IPI ${s.id}`).toBeDefined();
      expect(f.tid).toBe(1000 + (s.args as { to: number }).to);
      expect(f.ts).toBeGreaterThanOrEqual(s.ts);
    }
  });
});

describe('a trace of a helper-built scenario', () => {
  it('counts the same interrupts as /proc/interrupts', () => {
    const rec = new TraceRecorder({ capacity: 1 << 20 });
    const { kernel } = run({ duration_ms: 3 }, { trace: rec });
    let entries = 0;
    for (let i = 0; i < rec.buf.length; i++) if (rec.buf.type[rec.buf.slot(i)] === EV.IRQ_ENTRY) entries++;
    const total = kernel.irqs.descs.reduce((a, d) => a + d.counts.reduce((x, y) => x + y, 0), 0);
    expect(entries).toBe(total);
  });
});
