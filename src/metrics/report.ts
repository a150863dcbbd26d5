import type { Result } from './result.ts';
import { IMPRECISE_PCT } from './series.ts';

/**
 * The human report of `rxsim run`: a summary, then the same numbers in the layouts of the tools
 * people read on a real machine (mpstat -P ALL, /proc/interrupts, /proc/softirqs,
 * /proc/net/softnet_stat, ethtool -S).
 */
export function formatReport(r: Result, description = ''): string {
  const out: string[] = [];
  const ms = (ns: number): string => fmt(ns / 1e6, 3).replace(/\.?0+$/, '');
  out.push(`rxsim: ${r.scenario} (seed ${r.seed}): ${ms(r.sim.simulated_ns)} ms simulated, window ${ms(r.sim.window_ns)} ms, ${int(r.sim.events)} events, ${fmt(r.sim.wall_ms, 0)} ms wall`);
  const changes = r.run ? overrideList(r.run.overrides) : [];
  if (changes.length) {
    out.push(`  this run differs from ${r.run!.file}: ${changes.join(', ')}`);
    if (description) out.push(`  (the file's description: ${description})`);
  } else if (description) out.push(`  ${description}`);
  out.push(`  digest ${r.digest}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  for (const w of steadyStateWarnings(r)) out.push(`  warning: ${w}`);
  out.push('');

  out.push('Throughput (L2 bytes without FCS, over the window)');
  out.push(`  offered    ${fmt(r.throughput.offered_gbps, 3).padStart(9)} Gbit/s`);
  out.push(`  delivered  ${fmt(r.throughput.delivered_gbps, 3).padStart(9)} Gbit/s  ${int(r.throughput.delivered_pps)} pps`);
  out.push('');
  if (r.steady_state) {
    out.push(...steadyStateLines(r));
    out.push('');
  }
  const drops = Object.entries(r.packets.dropped)
    .filter(([, n]) => n > 0)
    .map(([place, n]) => `${place} ${int(n)}`);
  out.push('Packets that arrived in the window');
  out.push(
    `  offered ${int(r.packets.offered)} = delivered ${int(r.packets.delivered)} + dropped ${int(sum(Object.values(r.packets.dropped)))} + in flight ${int(r.packets.in_flight)}${r.packets.xdp_tx !== undefined ? ` + XDP_TX ${int(r.packets.xdp_tx)}` : ''}${r.packets.xdp_redirect !== undefined ? ` + redirected, not yet in the stack ${int(r.packets.xdp_redirect)}` : ''}${r.packets.xsk !== undefined ? ` + in AF_XDP RX rings ${int(r.packets.xsk)}` : ''}${r.packets.forwarded !== undefined ? ` + forwarded ${int(r.packets.forwarded)}` : ''}`,
  );
  out.push(`  dropped by place: ${drops.length ? drops.join(', ') : 'none'}`);
  if (r.drop_reasons.length > 0) {
    // perf trace -e skb:kfree_skb / dropwatch: one line per reason and location.
    out.push('  skb drops by reason (skb:kfree_skb):');
    for (const d of r.drop_reasons) out.push(`    ${d.reason.padEnd(32)} ${d.location.padEnd(24)} ${int(d.skbs).padStart(9)} skbs ${int(d.packets).padStart(9)} packets`);
  }
  out.push('');
  const l = r.latency_us;
  out.push('Latency, wire arrival to the application (µs)');
  if (l.samples === 0) out.push('  no packet that arrived in the window was delivered');
  else {
    out.push(`  p50 ${fmt(l.p50!, 2)}  p90 ${fmt(l.p90!, 2)}  p99 ${fmt(l.p99!, 2)}  p99.9 ${fmt(l.p999!, 2)}  max ${fmt(l.max!, 2)}  mean ${fmt(l.mean!, 2)}  (${int(l.samples)} packets)`);
    const st = r.latency_stages_us;
    const row = (name: string, x: { p50: number | null; p99: number | null; mean: number | null }): string =>
      `  ${name.padEnd(34)} p50 ${fmt(x.p50 ?? 0, 2).padStart(9)}  p99 ${fmt(x.p99 ?? 0, 2).padStart(9)}  mean ${fmt(x.mean ?? 0, 2).padStart(9)}`;
    out.push(row('wire → driver poll (ring, IRQ)', st.ring));
    out.push(row('driver poll → socket (the stack)', st.stack));
    out.push(row('socket → application', st.socket));
  }
  out.push('');

  out.push('Flows');
  out.push(
    table(
      ['flow', 'proto', 'path', 'rx queues', 'rss hash', 'offered', 'delivered', 'dropped', 'Gbit/s', 'goodput', 'retrans'],
      r.flows.map((f) => [
        f.name,
        f.proto,
        f.path,
        f.rx_queues.join(','),
        f.rss_hash,
        int(f.offered),
        int(f.delivered),
        int(f.dropped),
        fmt(f.delivered_gbps, 3),
        fmt(f.goodput_gbps, 3),
        f.retransmits === undefined ? '-' : int(f.retransmits),
      ]),
    ),
  );
  out.push('');

  out.push(`Interrupts: ${int(r.interrupts.total)} device interrupts, ${int(r.interrupts.per_sec)}/s, ${fmt(r.interrupts.per_packet, 3)} per delivered packet`);
  for (const nic of r.nics) {
    out.push(
      table(
        ['queue', 'irq', 'cpu', 'ring', 'interrupts', 'itr µs', 'packets', 'drops', 'ring peak', 'rx pages'],
        nic.queues.map((q) => [
          `${nic.name}/rx-${q.queue}`,
          String(q.irq),
          String(q.irq_cpu),
          String(q.ring_size),
          int(q.interrupts),
          fmt(q.itr_usecs, 0),
          int(q.packets),
          int(q.drops),
          String(q.ring_peak),
          rxPages(q.pages),
        ]),
      ),
    );
  }
  out.push('');

  out.push('$ mpstat -P ALL   (averages over the window)');
  const cols = ['CPU', '%usr', '%nice', '%sys', '%iowait', '%irq', '%soft', '%steal', '%guest', '%gnice', '%idle'];
  const avg = (k: 'usr' | 'sys' | 'irq' | 'soft' | 'idle'): number => sum(r.cpus.map((c) => c[k])) / Math.max(1, r.cpus.length);
  const row = (cpu: string, c: { usr: number; sys: number; irq: number; soft: number; idle: number }): string[] => [
    cpu,
    fmt(c.usr, 2),
    '0.00',
    fmt(c.sys, 2),
    '0.00',
    fmt(c.irq, 2),
    fmt(c.soft, 2),
    '0.00',
    '0.00',
    '0.00',
    fmt(c.idle, 2),
  ];
  out.push(table(cols, [row('all', { usr: avg('usr'), sys: avg('sys'), irq: avg('irq'), soft: avg('soft'), idle: avg('idle') }), ...r.cpus.map((c) => row(String(c.cpu), c))], 'Average:'));
  out.push('');

  for (const m of r.xdp_maps ?? []) {
    if (m.type === 'cpumap') {
      // As samples/bpf/xdp_redirect_cpu prints them: cpumap-enqueue per entry, cpumap-kthread.
      out.push(`cpumap ${m.name} (map_id ${m.id})`);
      out.push(
        table(
          ['cpu', 'qsize', 'kthread', 'enqueued', 'enqueue drops', 'kthread processed', 'sched', 'ring peak'],
          m.entries.map((e) => [
            String(e.cpu),
            String(e.qsize),
            e.kthread,
            int(e.enqueue.processed),
            int(e.enqueue.drops),
            int(e.kthread_stats.processed),
            int(e.kthread_stats.sched),
            int(e.ring.peak),
          ]),
          '  ',
        ),
      );
    } else if (m.type === 'xskmap') {
      out.push(`xskmap ${m.name} (map_id ${m.id})`);
      out.push(
        table(
          ['key', 'socket of'],
          m.entries.map((e) => [String(e.key), e.app]),
          '  ',
        ),
      );
    } else {
      // As xdp_monitor prints xdp:xdp_devmap_xmit: ndo_xdp_xmit calls, frames sent and dropped.
      out.push(`devmap ${m.name} (map_id ${m.id})`);
      out.push(
        table(
          ['key', 'dev', 'ndo_xdp_xmit', 'sent', 'drops'],
          m.entries.map((e, i) => [String(i), e.dev, int(e.xmit.calls), int(e.xmit.sent), int(e.xmit.drops)]),
          '  ',
        ),
      );
    }
    out.push('');
  }

  if (r.xsks && r.xsks.length > 0) {
    // getsockopt(XDP_STATISTICS) per socket, as xdpsock -x prints it, with the app's rate.
    out.push('AF_XDP sockets (XDP_STATISTICS)');
    out.push(
      table(
        ['app', 'dev/queue', 'mode', 'rx', 'app pps', 'rx_dropped', 'rx_ring_full', 'rx_fill_ring_empty_descs', 'syscalls', 'wakeups'],
        r.xsks.map((x) => [
          x.app,
          `${x.dev}/${x.queue}`,
          x.mode + (x.need_wakeup ? ' need_wakeup' : ''),
          int(x.rx_packets),
          int(x.app_pps),
          int(x.stats.rx_dropped),
          int(x.stats.rx_ring_full),
          int(x.stats.rx_fill_ring_empty_descs),
          int(x.syscalls),
          int(x.wakeups),
        ]),
        '  ',
      ),
    );
    out.push('');
  }

  const busy = r.tasks.filter((t) => t.usr_ms + t.sys_ms + t.soft_ms + t.irq_ms > 0 || t.wakeups > 0);
  if (busy.length) {
    out.push('Tasks (CPU time in the window; soft/irq = interrupt time charged to the task)');
    out.push(
      table(
        ['PID', 'COMMAND', 'CPU', 'usr ms', 'sys ms', 'soft ms', 'irq ms', 'wait ms', 'wakeups', 'nvcsw', 'nivcsw'],
        busy.map((t) => [
          String(t.pid),
          t.comm,
          String(t.cpu),
          fmt(t.usr_ms, 3),
          fmt(t.sys_ms, 3),
          fmt(t.soft_ms, 3),
          fmt(t.irq_ms, 3),
          fmt(t.wait_ms, 3),
          int(t.wakeups),
          int(t.nvcsw),
          int(t.nivcsw),
        ]),
      ),
    );
    out.push('');
  }

  if (r.rr.length > 0) {
    out.push('Request/response (client view: request sent → response received)');
    out.push(
      table(
        ['flow', 'in flight', 'transactions', 'per s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'mean µs'],
        r.rr.map((x) => [
          x.flow,
          String(x.concurrency),
          int(x.transactions),
          int(x.transactions_per_sec),
          fmt(x.latency_us.p50 ?? 0, 2),
          fmt(x.latency_us.p99 ?? 0, 2),
          fmt(x.latency_us.p999 ?? 0, 2),
          fmt(x.latency_us.mean ?? 0, 2),
        ]),
      ),
    );
    out.push('');
  }

  for (const c of r.cgroups) {
    out.push(`$ cat /sys/fs/cgroup/${c.name}/cpu.stat   (cpu.max ${c.max}, cpu.weight ${c.weight}${c.cpus ? `, cpuset.cpus ${c.cpus.join(',')}` : ''})`);
    out.push(`usage_usec ${Math.round(c.usage_ms * 1000)}`);
    out.push(`user_usec ${Math.round(c.user_ms * 1000)}`);
    out.push(`system_usec ${Math.round(c.system_ms * 1000)}   (of which softirq ${Math.round(c.softirq_ms * 1000)}, hardirq ${Math.round(c.irq_ms * 1000)} hit its tasks)`);
    out.push(`nr_periods ${c.nr_periods}`);
    out.push(`nr_throttled ${c.nr_throttled}`);
    out.push(`throttled_usec ${Math.round(c.throttled_ms * 1000)}`);
    out.push('');
  }

  out.push('$ cat /proc/interrupts');
  out.push(r.proc.interrupts.replace(/\n$/, ''));
  out.push('');
  out.push('$ cat /proc/softirqs   (modelled vectors only)');
  out.push(r.proc.softirqs.replace(/\n$/, ''));
  out.push('');
  out.push('$ cat /proc/net/softnet_stat');
  out.push(r.proc.softnet_stat.replace(/\n$/, ''));
  out.push('');
  for (const [dev, stats] of Object.entries(r.ethtool_S)) {
    out.push(`$ ethtool -S ${dev}`);
    out.push('NIC statistics:');
    for (const [k, v] of Object.entries(stats)) out.push(`     ${k}: ${v}`);
    out.push('');
  }

  out.push('$ nstat -az   (the modelled counters, over the window)');
  for (const [key, v] of Object.entries(r.nstat)) out.push(`${key.padEnd(32)}${String(v).padStart(12)}`);
  out.push('');
  const g = r.gro;
  if (g.received > 0) {
    const segs = g.segs_per_skb.reduce((a, n, i) => a + n * (i + 1), 0);
    out.push(
      `GRO: ${int(g.received)} frames in, ${int(g.delivered)} skbs up (${fmt(g.delivered ? segs / g.delivered : 0, 1)} segments each); flushes: PSH ${int(g.flush.push)}, mismatch/short ${int(g.flush.mismatch)}, 64 KB ${int(g.flush.full)}, bucket full ${int(g.flush.bucket)}, napi_complete_done ${int(g.flush.complete)}, old ${int(g.flush.old)}`,
    );
  }
  if (r.ipis.some((x) => x.sent + x.received > 0)) out.push(`RPS IPIs per CPU (sent/received): ${r.ipis.map((x) => `${x.cpu}: ${x.sent}/${x.received}`).join('  ')}`);
  out.push(
    table(
      ['socket', 'proto', 'app', 'rcvbuf', 'drops', 'RcvbufErrors', 'RcvQDrop', 'BacklogDrop', 'OFO', 'ACKs', 'copied', 'LLC %', 'DRAM', 'remote'],
      r.sockets.map((x) => [
        String(x.socket),
        x.proto,
        x.app ?? '(none)',
        int(x.rcvbuf),
        int(x.drops),
        int(x.rcvbuf_errors),
        int(x.rcvq_drops),
        int(x.backlog_drops),
        int(x.ofo_queued),
        int(x.acks_sent),
        int(x.copied_bytes),
        fmt(x.copied_llc_pct, 1),
        int(x.copied_dram_bytes),
        int(x.copied_remote_bytes),
      ]),
    ),
  );
  out.push('');

  const h = r.napi.pkts_per_poll;
  const bucket = (lo: number, hi: number): number => sum(h.slice(lo, hi + 1));
  out.push(`NAPI: ${int(r.napi.polls)} driver polls; packets per poll: 0: ${int(h[0] ?? 0)}, 1-15: ${int(bucket(1, 15))}, 16-63: ${int(bucket(16, 63))}, 64: ${int(h[64] ?? 0)}`);
  out.push(`      time_squeeze per CPU: ${r.napi.time_squeeze.join(' ')}`);
  out.push('');
  out.push("Queues (Little's law: mean length L = departures/s λ × mean sojourn W)");
  out.push(
    table(
      ['queue', 'L', 'λ (1/s)', 'W (µs)', 'λW', 'peak'],
      r.queues
        .filter((q) => q.peak > 0)
        .map((q) => [q.queue, fmt(q.mean_length, 3), int(q.departures_per_sec), fmt(q.mean_sojourn_us, 3), fmt((q.departures_per_sec * q.mean_sojourn_us) / 1e6, 3), String(q.peak)]),
    ),
  );
  return out.join('\n') + '\n';
}

/** Number of ms without trailing zeros. */
function msText(x: number): string {
  return fmt(x, 3).replace(/\.?0+$/, '');
}

/** Warning lines for a window that holds a transient, may hold no steady state, or gives too imprecise a goodput. */
export function steadyStateWarnings(r: Result): string[] {
  const ss = r.steady_state;
  const out: string[] = [];
  if (!ss) return out;
  if (ss.truncation_ms !== null) {
    const settle = `goodput is still changing at half the window (MSER-5's truncation is at the end of its search range): the window may hold no steady state; run longer`;
    const keep = ss.suggested_duration_ms !== null ? ` (with duration_ms ${ss.suggested_duration_ms} to keep a ${msText(r.sim.window_ns / 1e6)} ms window)` : '';
    const what = `the first ${msText(ss.truncation_ms)} ms of the window are a transient (goodput ${fmt(ss.window_goodput_gbps!, 3)} Gbit/s over the window, ${fmt(ss.steady_goodput_gbps!, 3)} after them)`;
    if (ss.transient) out.push(ss.at_search_limit ? `${what}, and ${settle}` : `${what}; warmup_ms ${ss.suggested_warmup_ms} would remove it${keep}`);
  }
  const ci = r.ci;
  if (ci && ci.goodput_half_width_pct !== null && ci.goodput_half_width_pct > IMPRECISE_PCT) {
    out.push(
      `goodput ${fmt(ci.goodput_mean_gbps, 3)} Gbit/s is known to ±${fmt(ci.goodput_half_width_pct, 0)} % only (95 % interval by batch means [${fmt(ci.goodput_gbps[0], 3)}, ${fmt(ci.goodput_gbps[1], 3)}]): the window is too short or too variable for a steady figure; run longer`,
    );
  }
  return out;
}

/** The "Steady state" section: MSER-5's verdict on the window and the batch-means confidence intervals. */
function steadyStateLines(r: Result): string[] {
  const ss = r.steady_state!;
  const out: string[] = [];
  out.push(`Steady state (MSER-5 on goodput per ${msText(ss.interval_ms)} ms interval: ${int(ss.observations)} intervals, batches of ${ss.batch_size})`);
  if (ss.auto_warmup_ms !== undefined) {
    const p = ss.pilot;
    const why =
      p?.truncation_ms === null || p === undefined
        ? 'the pilot run from 0 ms was too short for MSER-5'
        : p.transient
          ? `the MSER-5 truncation of a pilot run from 0 ms${p.at_search_limit ? ', at the end of its search range: the pilot may not have settled' : ''}`
          : `a pilot run from 0 ms had no transient (MSER-5 truncation ${msText(p.truncation_ms)} ms, within the tolerance)`;
    out.push(`  warmup_ms "auto": ${msText(ss.auto_warmup_ms)} ms — ${why}`);
  }
  if (ss.truncation_ms === null) {
    out.push(`  too few intervals for MSER-5 (at least 20): a longer window or a shorter --series-ms`);
  } else {
    const bias = ss.bias_pct === null ? '' : `, bias ${fmt(ss.bias_pct, 1)} %`;
    const level = `goodput ${fmt(ss.window_goodput_gbps!, 3)} Gbit/s over the window, ${fmt(ss.steady_goodput_gbps!, 3)} after the truncation${bias}`;
    if (ss.truncation_ms === 0) out.push(`  truncation 0 ms: no transient in the first half of the window (goodput ${fmt(ss.window_goodput_gbps!, 3)} Gbit/s)`);
    else if (!ss.transient) out.push(`  truncation ${msText(ss.truncation_ms)} ms, within the tolerance (1 % and 2 standard errors): no transient (${level})`);
    else out.push(`  truncation ${msText(ss.truncation_ms)} ms: a transient (${level}); warmup_ms ${ss.suggested_warmup_ms} would remove it`);
    if (ss.transient && ss.at_search_limit) out.push('  the truncation is at the end of its search range (half the window): the window may hold no steady state; run longer');
  }
  const ci = r.ci;
  if (ci === null) out.push('  confidence intervals: too few intervals for 5 batches after the truncation');
  else if (ci) {
    const p99 = ci.p99_us ? `; p99 latency ${fmt(ci.p99_point_us!, 2)} µs [${fmt(ci.p99_us[0], 2)}, ${fmt(ci.p99_us[1], 2)}]` : '; p99 latency: too few samples per batch';
    out.push(
      `  95 % confidence (batch means: ${ci.batches} batches of ${msText(ci.batch_ms)} ms, ${msText(ci.from_ms)}–${msText(ci.to_ms)} ms): goodput ${fmt(ci.goodput_mean_gbps, 3)} Gbit/s [${fmt(ci.goodput_gbps[0], 3)}, ${fmt(ci.goodput_gbps[1], 3)}]${p99}`,
    );
    if (ci.flows.length > 1) out.push(`  per flow: ${ci.flows.map((f) => `${f.name} ${fmt(f.mean_gbps, 3)} [${fmt(f.goodput_gbps[0], 3)}, ${fmt(f.goodput_gbps[1], 3)}]`).join(', ')}`);
    if (ci.batches_correlated) out.push(`  the batch means are correlated (lag-1 autocorrelation ${fmt(ci.lag1_autocorrelation, 2)}): the intervals are too narrow; run longer`);
  }
  return out;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function fmt(x: number, digits: number): string {
  return x.toFixed(digits);
}

/** Integer with thousands separators (fixed, locale-independent). */
function int(x: number): string {
  return Math.round(x)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Left-aligned first column, right-aligned others. */
function table(header: string[], rows: string[][], prefix = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => prefix + (prefix ? ' ' : '  ') + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** The command-line overrides of a run, as they were typed. */
function overrideList(o: NonNullable<Result['run']>['overrides']): string[] {
  return [
    ...(o.seed !== undefined ? [`--seed ${o.seed}`] : []),
    ...(o.duration_ms !== undefined ? [`--duration-ms ${o.duration_ms}`] : []),
    ...o.set.map((x) => `--set ${x}`),
    ...o.apply.map((x) => `--apply "${x}"`),
  ];
}

/** Where a queue's RX pages came from: ixgbe/ice's allocations and reuses, or a page_pool's paths. */
function rxPages(p: Record<string, number>): string {
  if ('alloc_rx_page' in p) return `${int(p.alloc_rx_page ?? 0)} allocated, ${int(p.reuse_rx_page ?? 0)} reused`;
  return `pool: ${int(p.rx_pp_alloc_fast ?? 0)} fast, ${int(p.rx_pp_alloc_refill ?? 0)} refills, ${int(p.rx_pp_alloc_slow ?? 0)} slow; back: ${int(p.rx_pp_recycle_cached ?? 0)} cache, ${int(p.rx_pp_recycle_ring ?? 0)} ring`;
}
