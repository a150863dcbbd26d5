import type { ResolvedFlow, ResolvedXdp, ResolvedXdpRule } from '../scenario/resolve.ts';
import { XDP_KEY_HASH, XDP_KEY_RX_QUEUE } from '../scenario/xdp-program.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import { tupleFields } from './nic/flow-hashes.ts';
import { SKB_REDIRECTED, type PacketPool } from './packet.ts';
import type { RxAccounting } from './rx-accounting.ts';
import type { TraceHooks } from './trace-hooks.ts';
import type { CoreHook } from './netif-receive.ts';
import { FCS, type RxHook } from './nic/driver.ts';

/**
 * XDP (include/uapi/linux/bpf.h: enum xdp_action): a program runs on each received frame and
 * returns what happens to it. rxsim has no eBPF: a program is an ordered rule list over the
 * parsed headers (protocol, address prefixes, port ranges, RX queue); the first rule that
 * matches gives the action, else the program's default.
 *
 *   native  (xdpdrv):     the driver runs it in its RX clean loop on the xdp_buff, before an skb
 *                         exists (ixgbe_clean_rx_irq → ixgbe_run_xdp; ice_clean_rx_irq → ice_run_xdp)
 *   generic (xdpgeneric): __netif_receive_skb_core runs it on the skb (do_xdp_generic →
 *                         netif_receive_generic_xdp → bpf_prog_run_generic_xdp)
 *
 * XDP_REDIRECT goes into a cpumap (cpumap.ts) or a devmap (devmap.ts): from a native program
 * through xdp_do_redirect and the maps' bulk queues, from a generic one through
 * xdp_do_generic_redirect, one skb at a time. An xskmap hands frames to AF_XDP
 * sockets (xskmap.ts, xsk.ts), native programs only.
 */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;
export type XdpActionName = 'aborted' | 'drop' | 'pass' | 'tx' | 'redirect';
/** In enum xdp_action order. */
export const XDP_ACTIONS: readonly XdpActionName[] = ['aborted', 'drop', 'pass', 'tx', 'redirect'];
/** The action names the xdp:xdp_exception tracepoint and xdp_rxq_info print. */
export const XDP_ACTION_NAMES = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;
/** ENOSPC (include/uapi/asm-generic/errno-base.h): ptr_ring_produce on a full ring. */
const ENOSPC = 28;

/** One queue's counts: the four actions always, XDP_REDIRECT for a program that can redirect. */
export type XdpRxqReport = Record<Exclude<XdpActionName, 'redirect'>, number> & { redirect?: number };

/**
 * Per-action counts of one RX queue, as samples/bpf/xdp_rxq_info prints them (rx_queue_index ×
 * action). The XDP_REDIRECT column is reported for a program that can redirect (results of
 * programs without a redirect rule keep their form).
 */
export class XdpRxqStats {
  readonly actions = new Float64Array(XDP_ACTIONS.length);

  constructor(private readonly withRedirect = false) {}

  resetWindow(): void {
    this.actions.fill(0);
  }

  report(): XdpRxqReport {
    const a = this.actions;
    return { aborted: a[XDP_ABORTED]!, drop: a[XDP_DROP]!, pass: a[XDP_PASS]!, tx: a[XDP_TX]!, ...(this.withRedirect ? { redirect: a[XDP_REDIRECT]! } : {}) };
  }
}

/**
 * A map XDP_REDIRECT can target (bpf_redirect_map): the lookup the helper does and the enqueue
 * xdp_do_redirect() does (cpumap.ts: CpuMap).
 */
export interface XdpRedirectMap {
  /** Its entries in order (a "hash" key picks among them), as the keys they are stored under. */
  readonly keys: readonly number[];
  /** The map's id (bpf_map->id), for the trace. */
  readonly id: number;
  /** The device an entry transmits on (a devmap's), '' for a cpumap entry: xdp_redirect's to_ifindex. */
  targetName(entry: number): string;
  /** __cpu_map_lookup_elem(): the entry at `key`, or -1 if there is none. */
  lookup(key: number): number;
  /**
   * xdp_do_redirect() → cpu_map_enqueue() → bq_enqueue(): the frame joins this CPU's bulk queue
   * of entry `entry`; its cost, or -1 - cost if the map refused it (it has dropped the frame;
   * xdp_do_redirect's error then in lastErr).
   */
  enqueue(cpu: Cpu, entry: number, row: number): number;
  /** The negative errno of the last refused enqueue() (a map that can refuse). */
  readonly lastErr?: number;
  /** An xskmap: the last enqueue failed with the frame left on the driver's ring, and the clean loop must stop (IXGBE_XDP_EXIT: xskmap.ts). */
  readonly exitLoop?: boolean;
  /** xdp_do_flush() → __cpu_map_flush() on `cpu`: its cost (before the poll hands up). */
  flushCost(cpu: Cpu): number;
  /** xdp_do_flush() on `cpu`: the bulk queues go to their rings and the kthreads are woken (at the end of the poll). */
  flush(cpu: Cpu): void;
  /** Generic XDP's redirect of the skb in `row` to `entry` (xdp_do_generic_redirect_map): its cost beyond the program and xdp_redirect, taken before genericRedirect(). */
  genericCost(entry: number): number;
  /**
   * xdp_do_generic_redirect_map() on `cpu` at `t`: the skb goes to the entry at once, no bulk
   * queue (cpu_map_generic_redirect, dev_map_generic_redirect). False if the map refused it
   * (a full cpumap ring: -ENOSPC); the caller frees it then (do_xdp_generic's out_redir).
   */
  genericRedirect(cpu: Cpu, entry: number, row: number, t: number): boolean;
}

/**
 * bpf_redirect_map's key for a frame of `row` on RX queue `queue`: the rule's number,
 * ctx->rx_queue_index, or the frame's flow hash modulo the entries, taking the entry at that
 * position (xdp_redirect_cpu's load balancers: cpu_idx = hash % cpus_count, cpus_available[cpu_idx]).
 */
function redirectKey(k: XdpHost, key: number, map: XdpRedirectMap, row: number, queue: number): number {
  if (key === XDP_KEY_RX_QUEUE) return queue;
  if (key !== XDP_KEY_HASH) return key;
  return map.keys[k.softwareHash(k.pool.flow[row]!, k.pool.tuple[row]!) % map.keys.length]!;
}

/** The last four bytes of an address as an unsigned 32-bit number. */
const low32 = (b: Uint8Array): number => ((b[b.length - 4]! << 24) | (b[b.length - 3]! << 16) | (b[b.length - 2]! << 8) | b[b.length - 1]!) >>> 0;

/** Does the prefix match every address above the last 32 bits of `addr` (a flow's addresses vary only there)? */
function highBitsMatch(prefix: { addr: Uint8Array; len: number }, addr: Uint8Array): boolean {
  if (prefix.addr.length !== addr.length) return false;
  const highBits = Math.min(prefix.len, addr.length * 8 - 32);
  for (let bit = 0; bit < highBits; bit += 8) {
    const n = Math.min(8, highBits - bit);
    const mask = (0xff << (8 - n)) & 0xff;
    if ((prefix.addr[bit / 8]! & mask) !== (addr[bit / 8]! & mask)) return false;
  }
  return true;
}

/** The prefix's mask over the last 32 bits. */
function lowMask(prefix: { addr: Uint8Array; len: number }): number {
  const lowBits = Math.max(0, prefix.len - (prefix.addr.length * 8 - 32));
  return lowBits === 0 ? 0 : (0xffffffff << (32 - lowBits)) >>> 0;
}

/** One rule compiled against one flow: never matches, or matches subject to the tuple's low address bits, ports and queue. */
interface CompiledRule {
  action: number;
  cost: number;
  srcMask: number;
  srcNet: number;
  dstMask: number;
  dstNet: number;
  sportLo: number;
  sportHi: number;
  dportLo: number;
  dportHi: number;
  queue: number;
  /** XDP_REDIRECT: the map index and key (XDP_KEY_RX_QUEUE, XDP_KEY_HASH or a number), else -1. */
  map: number;
  key: number;
  /** XDP_REDIRECT: the action a failed lookup returns (bpf_redirect_map's flags). */
  fallback: number;
}

/**
 * A program as run on one device: its rules compiled per flow (what the flow's frames can never
 * match is decided once), and per frame the first matching rule over the tuple's fields.
 */
export class XdpProgram {
  /** Per flow: the rules it may match, in order. */
  private readonly byFlow: CompiledRule[][];
  private readonly defaultAction: number;
  private readonly flows: readonly ResolvedFlow[];
  /** The per-rule cost of the last run() (the rules evaluated up to the match). */
  lastCost = 0;
  /** For XDP_REDIRECT from the last run(): the map index and key of the rule. */
  lastMap = -1;
  lastKey = 0;
  lastFallback = XDP_ABORTED;
  /** Does a rule redirect (the queues' stats then report XDP_REDIRECT)? */
  readonly redirects: boolean;

  constructor(xdp: ResolvedXdp, flows: readonly ResolvedFlow[]) {
    this.flows = flows;
    this.defaultAction = XDP_ACTIONS.indexOf(xdp.default);
    this.byFlow = flows.map((f) => compileFor(xdp.rules, f));
    this.redirects = xdp.rules.some((r) => r.redirect !== null);
  }

  /** bpf_prog_run_xdp(): the action for a frame of `flow`, tuple `tuple`, on RX queue `queue`; the rules' cost in lastCost. */
  run(flow: number, tuple: number, queue: number): number {
    const rules = this.byFlow[flow]!;
    let cost = 0;
    if (rules.length === 0) {
      this.lastCost = 0;
      return this.defaultAction;
    }
    const f = this.flows[flow]!;
    const parts = tupleFields(f, tuple);
    const sport = parts[0]!;
    const srcLow = (low32(f.src.addr) + parts[1]!) >>> 0;
    const dport = parts[2]!;
    const dstLow = (low32(f.dst.addr) + parts[3]!) >>> 0;
    for (const r of rules) {
      cost += r.cost;
      if (r.queue >= 0 && r.queue !== queue) continue;
      if (sport < r.sportLo || sport > r.sportHi || dport < r.dportLo || dport > r.dportHi) continue;
      if ((srcLow & r.srcMask) >>> 0 !== r.srcNet || (dstLow & r.dstMask) >>> 0 !== r.dstNet) continue;
      this.lastCost = cost;
      this.lastMap = r.map;
      this.lastKey = r.key;
      this.lastFallback = r.fallback;
      return r.action;
    }
    this.lastCost = cost;
    return this.defaultAction;
  }
}

/** The rules a flow's frames may match (protocol, family and the high address bits decided here); a rule that cannot match still costs its evaluation, so it stays as a never-matching entry. */
function compileFor(rules: readonly ResolvedXdpRule[], f: ResolvedFlow): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const r of rules) {
    const possible = (r.proto === null || r.proto === f.proto) && (r.src === null || highBitsMatch(r.src, f.src.addr)) && (r.dst === null || highBitsMatch(r.dst, f.dst.addr));
    const srcMask = r.src ? lowMask(r.src) : 0;
    const dstMask = r.dst ? lowMask(r.dst) : 0;
    out.push({
      action: XDP_ACTIONS.indexOf(r.action),
      cost: r.costNs,
      srcMask,
      srcNet: r.src ? (low32(r.src.addr) & srcMask) >>> 0 : 0,
      dstMask,
      dstNet: r.dst ? (low32(r.dst.addr) & dstMask) >>> 0 : 0,
      // A rule the flow cannot match: an empty port range never matches.
      sportLo: possible ? r.srcPort[0] : 1,
      sportHi: possible ? r.srcPort[1] : 0,
      dportLo: r.dstPort[0],
      dportHi: r.dstPort[1],
      queue: r.queue,
      map: r.redirect ? r.redirect.map : -1,
      key: r.redirect ? r.redirect.key : 0,
      fallback: r.redirect ? XDP_ACTIONS.indexOf(r.redirect.fallback) : XDP_ABORTED,
    });
  }
  return out;
}

/** What the XDP hooks need from the machine. */
export interface XdpHost {
  readonly pool: PacketPool;
  readonly costs: CostTable;
  readonly accounting: RxAccounting;
  readonly trace: TraceHooks | null;
  /** xdp_maps, by index (the rules' redirect.map). */
  readonly xdpMaps: readonly XdpRedirectMap[];
  /** The flow dissector's hash of a flow's tuple (a "hash" key). */
  softwareHash(flow: number, tuple: number): number;
}

/** The device side of XDP_TX: post the frame of `row` on the TX ring of `queue` at `t` (ixgbe_xmit_xdp_ring; __ice_xmit_xdp_ring); its page stays referenced until the completion is cleaned. False: the ring is full, nothing posted. */
export interface XdpTxDevice {
  readonly name: string;
  /** The NIC's index (a followed packet sent back out names this NIC's driver). */
  readonly index: number;
  xmitXdp(queue: number, len: number, t: number, row: number): boolean;
}

/**
 * What happens to a frame once the program returned `action` (the drivers' switch on the
 * verdict, ixgbe_run_xdp / ice_run_xdp, and bpf_prog_run_generic_xdp's callers), XDP_TX aside
 * (each hook sends its own way): XDP_PASS goes on; XDP_DROP frees it (native: the page is
 * recycled, there is no skb; generic: netif_receive_generic_xdp frees the skb); XDP_ABORTED is a drop after trace_xdp_exception().
 * Returns true when the frame was consumed.
 */
export function xdpVerdict(k: XdpHost, dev: XdpTxDevice, cpu: Cpu, row: number, action: number, generic: boolean): boolean {
  if (action === XDP_PASS) return false;
  if (action === XDP_ABORTED) k.trace?.xdpException?.(cpu.id, dev.name, XDP_ACTION_NAMES[XDP_ABORTED], generic);
  k.accounting.drop(row, generic ? 'xdp_generic' : 'xdp_native', cpu.id);
  return true;
}

/** generic_xdp_tx() (net/core/dev.c) found the TX queue stopped: trace_xdp_exception(dev, XDP_TX), dev_core_stats_tx_dropped_inc (not reported: no netdev core stats here), kfree_skb. */
export function genericXdpTxDropped(k: Pick<XdpHost, 'trace' | 'accounting'>, cpu: Cpu, dev: string, row: number): void {
  k.trace?.xdpException?.(cpu.id, dev, XDP_ACTION_NAMES[XDP_TX], true);
  k.accounting.drop(row, 'xdp_generic_tx', cpu.id);
}

/**
 * Native XDP on one RX queue (xdpdrv): the hook in the driver's clean loop (RxRingPoller.rxHooks).
 * With a program attached the driver builds the skb only for XDP_PASS (ixgbe_clean_rx_irq:
 * ixgbe_run_xdp first, ixgbe_build_skb after), so the poller charges rx_descriptor without
 * build_skb and this hook adds it back for a frame that goes on.
 */
export class NativeXdp implements RxHook {
  readonly stats: XdpRxqStats;
  /** Frames this poll sent with XDP_TX (the tail bump at the end of the poll). */
  private txInPoll = 0;
  /** This poll redirected a frame (ixgbe's xdp_xmit & IXGBE_XDP_REDIR: xdp_do_flush() at its end). */
  private redirectInPoll = false;
  /** The verdict, reused (no allocation per frame). */
  private readonly out = { consumed: false, cost: 0, exit: false };
  /** This poll's verdicts by enum xdp_action (for the trace's bpf_prog_run_xdp step). */
  private readonly pollActions = new Int32Array(XDP_ACTIONS.length);

  constructor(
    private readonly k: XdpHost,
    private readonly dev: XdpTxDevice,
    private readonly prog: XdpProgram,
    private readonly queue: number,
  ) {
    this.stats = new XdpRxqStats(prog.redirects);
  }

  run(cpu: Cpu, row: number, t: number): { consumed: boolean; cost: number } {
    const k = this.k;
    const c = k.costs;
    const pool = k.pool;
    let action = this.prog.run(pool.flow[row]!, pool.tuple[row]!, this.queue);
    // bpf_prog_run_xdp() with xdp_init_buff/xdp_prepare_buff, and the rules the program walked.
    let cost = c.xdp_run + this.prog.lastCost;
    this.out.exit = false; // only an xskmap redirect that must keep the frame sets it (below)
    if (action === XDP_REDIRECT) {
      const map = k.xdpMaps[this.prog.lastMap]!;
      const index = redirectKey(k, this.prog.lastKey, map, row, this.queue);
      const entry = map.lookup(index);
      if (entry >= 0) {
        this.stats.actions[XDP_REDIRECT]!++;
        this.pollActions[XDP_REDIRECT]!++;
        // xdp_do_redirect() → cpu_map_enqueue() → bq_enqueue(): the frame waits in this CPU's bulk
        // queue. Refused, the driver goes to out_failure (the map dropped it) and only a
        // successful redirect sets IXGBE_XDP_REDIR for xdp_do_flush().
        const enq = map.enqueue(cpu, entry, row);
        const err = enq < 0 ? (map.lastErr ?? 0) : 0;
        k.trace?.xdpRedirect?.(cpu.id, this.dev.name, map.targetName(entry), map.id, index, err, false); // _trace_xdp_redirect_map{,_err}
        cost += c.xdp_redirect + (enq < 0 ? -1 - enq : enq);
        // ixgbe_run_xdp_zc → IXGBE_XDP_EXIT: nothing redirected; the driver stops and keeps the frame.
        this.out.exit = map.exitLoop === true;
        if (enq >= 0 && !this.out.exit) this.redirectInPoll = true;
        this.out.consumed = !this.out.exit;
        this.out.cost = cost;
        return this.out;
      }
      // bpf_redirect_map(map, key, flags) on a key without an entry returns the flags' low bits:
      // with 0, XDP_ABORTED, which the driver handles as any abort (trace_xdp_exception, the page
      // recycled); xdpsock's program passes XDP_PASS, so a queue without a socket goes to the stack.
      action = this.prog.lastFallback;
    }
    this.stats.actions[action]!++;
    this.pollActions[action]!++;
    if (action === XDP_PASS) cost += c.build_skb;
    else if (action === XDP_TX) {
      cost += c.xdp_tx;
      if (this.xmit(cpu, row, t + cost)) this.txInPoll++;
      this.out.consumed = true;
      this.out.cost = cost;
      return this.out;
    }
    this.out.consumed = xdpVerdict(k, this.dev, cpu, row, action, false);
    this.out.cost = cost;
    return this.out;
  }

  /**
   * XDP_TX: the frame onto the XDP TX ring (ixgbe_xmit_xdp_ring). A full ring gives
   * IXGBE_XDP_CONSUMED and ixgbe_run_xdp goes to out_failure: trace_xdp_exception, the page
   * recycled, and no tail write for it (only IXGBE_XDP_TX sets it). False then.
   */
  private xmit(cpu: Cpu, row: number, t: number): boolean {
    const k = this.k;
    if (this.dev.xmitXdp(this.queue, k.pool.size[row]! - FCS, t, row)) {
      k.accounting.xdpTxed(row, this.dev.index, false);
      return true;
    }
    k.trace?.xdpException?.(cpu.id, this.dev.name, XDP_ACTION_NAMES[XDP_TX], false);
    k.accounting.drop(row, 'xdp_native', cpu.id);
    return false;
  }

  /**
   * The end of the clean loop: with frames sent by XDP_TX, one tail write for them
   * (ixgbe_xdp_ring_update_tail_locked; ice_finalize_xdp_rx); after a redirect, xdp_do_flush()
   * (its cost here, its effect in afterPoll()).
   */
  endPoll(cpu: Cpu): number {
    let cost = 0;
    if (this.redirectInPoll) for (const m of this.k.xdpMaps) cost += m.flushCost(cpu);
    if (this.txInPoll === 0) return cost;
    this.txInPoll = 0;
    return cost + this.k.costs.xdp_tx_tail;
  }

  /**
   * xdp_do_flush() (net/core/filter.c), called by ixgbe_clean_rx_irq when the loop redirected:
   * __cpu_map_flush() moves this CPU's bulk queues to the entries' rings and wakes their
   * kthreads, once the poll's time is spent. (A bulk queue that reaches CPU_MAP_BULK_SIZE
   * mid-loop is flushed to its ring there in the kernel; here at the end of the poll with the
   * rest, in chunks of 8 — the kthread is only woken at xdp_do_flush() anyway.)
   */
  afterPoll(cpu: Cpu): void {
    const runs = this.pollActions;
    if (runs[XDP_DROP]! + runs[XDP_PASS]! + runs[XDP_TX]! + runs[XDP_REDIRECT]! + runs[XDP_ABORTED]! > 0) {
      this.k.trace?.xdpRun?.(cpu.id, this.dev.name, this.queue, runs, false);
      runs.fill(0);
    }
    if (!this.redirectInPoll) return;
    this.redirectInPoll = false;
    for (const m of this.k.xdpMaps) m.flush(cpu);
  }
}

/**
 * Generic XDP (xdpgeneric) on one device: the hook at __netif_receive_skb_core
 * (NetifReceive.coreHooks) for skbs received on it (do_xdp_generic), after the skb was built.
 * netif_receive_generic_xdp() makes an xdp_buff of the skb's linear data (the extra cost of
 * xdp_generic), runs the program and applies the verdict to the skb: XDP_DROP and XDP_ABORTED
 * free it there (kfree_skb: SKB_DROP_REASON_NOT_SPECIFIED), XDP_TX sends it with generic_xdp_tx(),
 * XDP_REDIRECT hands the skb itself to xdp_do_generic_redirect() (net/core/filter.c): no bulk
 * queue and no xdp_do_flush — a cpumap entry gets it on its ring at once and its kthread is woken
 * (cpu_map_generic_redirect), a devmap entry's device sends it with generic_xdp_tx()
 * (dev_map_generic_redirect). A redirect the map refuses frees the skb in do_xdp_generic
 * (kfree_skb_reason(SKB_DROP_REASON_XDP)).
 */
export class GenericXdp implements CoreHook {
  readonly stats: XdpRxqStats[];
  private readonly out = { consumed: false, cost: 0 };
  /** One skb's verdict for the trace's bpf_prog_run_xdp step. */
  private readonly runActions = new Int32Array(XDP_ACTIONS.length);
  /** decide()'s RX queue, and a redirect's map key and entry. */
  private queue = 0;
  private index = 0;
  private entry = -1;

  constructor(
    private readonly k: XdpHost,
    private readonly dev: XdpTxDevice & {
      readonly index: number;
      rxQueueOf(flow: number, tuple: number): number;
      /** generic_xdp_tx() of the skb in `row` from `cpu` (skb->hash `hash`, recorded RX queue `rxQueue`): netdev_core_pick_tx, then the TX ring. */
      xmitGenericXdp(cpu: number, hash: number, rxQueue: number, len: number, t: number, row: number): boolean;
    },
    private readonly prog: XdpProgram,
    private readonly flows: readonly ResolvedFlow[],
    queues: number,
  ) {
    this.stats = Array.from({ length: queues }, () => new XdpRxqStats(prog.redirects));
  }

  /**
   * The program's verdict on the skb in `row` (no effects): -1 for an skb the hook does not see,
   * else the action with a redirect's lookup done — XDP_REDIRECT only with an entry (in
   * this.entry, its key in this.index), a failed lookup's fallback otherwise. The queue is in
   * this.queue, the rules' cost in prog.lastCost.
   */
  private decide(row: number): number {
    const k = this.k;
    const pool = k.pool;
    const flow = this.flows[pool.flow[row]!]!;
    // Only skbs on this device: the first pass of a frame from its wire (skb->dev is the NIC);
    // netif_receive_generic_xdp() passes a redirected skb on without the program (skb_is_redirected:
    // one a cpumap kthread brings back after cpu_map_generic_redirect).
    if (pool.pass[row] !== 0 || flow.nic !== this.dev.index || flow.path === 'veth-local' || (pool.flags[row]! & SKB_REDIRECTED) !== 0) return -1;
    // skb_get_rx_queue(): the queue the driver recorded (skb_record_rx_queue).
    const queue = this.dev.rxQueueOf(flow.index, pool.tuple[row]!);
    this.queue = queue;
    const action = this.prog.run(flow.index, pool.tuple[row]!, queue);
    if (action !== XDP_REDIRECT) return action;
    const map = k.xdpMaps[this.prog.lastMap]!;
    this.index = redirectKey(k, this.prog.lastKey, map, row, queue);
    this.entry = map.lookup(this.index);
    if (this.entry >= 0) return XDP_REDIRECT;
    // bpf_redirect_map(map, key, flags) without an entry returns the flags' low bits, in either
    // mode (net/core/filter.c: __bpf_xdp_redirect_map): XDP_ABORTED with 0, XDP_PASS with XDP_PASS.
    return this.prog.lastFallback;
  }

  /** __netif_receive_skb_core goes on only for XDP_PASS (or an skb the program does not see). */
  consumes(row: number): boolean {
    const action = this.decide(row);
    return action >= 0 && action !== XDP_PASS;
  }

  run(cpu: Cpu, row: number, t: number): { consumed: boolean; cost: number } {
    const k = this.k;
    const out = this.out;
    const action = this.decide(row);
    if (action < 0) {
      out.consumed = false;
      out.cost = 0;
      return out;
    }
    const c = k.costs;
    const queue = this.queue;
    let cost = c.xdp_run + c.xdp_generic + this.prog.lastCost;
    if (action === XDP_REDIRECT) {
      const map = k.xdpMaps[this.prog.lastMap]!;
      const entry = this.entry;
      const index = this.index;
      this.stats[queue]!.actions[XDP_REDIRECT]!++;
      this.traceRun(cpu, queue, XDP_REDIRECT);
      // do_xdp_generic → xdp_do_generic_redirect → xdp_do_generic_redirect_map: one skb, now.
      cost += c.xdp_redirect + map.genericCost(entry);
      if (!map.genericRedirect(cpu, entry, row, t + cost)) {
        k.trace?.xdpRedirect?.(cpu.id, this.dev.name, map.targetName(entry), map.id, index, -ENOSPC, true); // _trace_xdp_redirect_map_err
        cost += c.skb_free; // out_redir: kfree_skb_reason(skb, SKB_DROP_REASON_XDP)
        k.accounting.drop(row, 'xdp_generic_redirect', cpu.id);
      } else k.trace?.xdpRedirect?.(cpu.id, this.dev.name, map.targetName(entry), map.id, index, 0, true);
      out.consumed = true;
      out.cost = cost;
      return out;
    }
    this.stats[queue]!.actions[action]!++;
    this.traceRun(cpu, queue, action);
    if (action === XDP_TX) {
      cost += c.xdp_tx + c.xdp_tx_tail; // generic_xdp_tx: one frame per netdev_start_xmit
      this.xmit(cpu, row, queue, t + cost);
      out.consumed = true;
      out.cost = cost;
      return out;
    }
    if (action !== XDP_PASS) cost += c.skb_free; // kfree_skb() in netif_receive_generic_xdp
    out.consumed = xdpVerdict(k, this.dev, cpu, row, action, true);
    out.cost = cost;
    return out;
  }

  /**
   * generic_xdp_tx() (net/core/dev.c) of the skb back out of its device: netdev_core_pick_tx and
   * netdev_start_xmit on an ordinary TX queue — no XDP TX ring, so the frame counts in that
   * queue's ethtool -S stats. On a stopped queue: trace_xdp_exception, tx_dropped (netdev core
   * stats, not reported here) and kfree_skb.
   */
  private xmit(cpu: Cpu, row: number, rxQueue: number, t: number): void {
    const pool = this.k.pool;
    if (this.dev.xmitGenericXdp(cpu.id, pool.hash[row]!, rxQueue, pool.size[row]! - FCS, t, row)) this.k.accounting.xdpTxed(row, this.dev.index, true);
    else genericXdpTxDropped(this.k, cpu, this.dev.name, row);
  }

  /** bpf_prog_run_generic_xdp's verdict on one skb, for the trace. */
  private traceRun(cpu: Cpu, queue: number, action: number): void {
    if (!this.k.trace?.xdpRun) return;
    this.runActions.fill(0);
    this.runActions[action] = 1;
    this.k.trace.xdpRun(cpu.id, this.dev.name, queue, this.runActions, true);
  }
}
