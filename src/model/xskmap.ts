import type { ResolvedXskMap } from '../scenario/xdp-program.ts';
import type { CostTable } from './costs.ts';
import type { Cpu } from './cpu.ts';
import type { RxAccounting } from './rx-accounting.ts';
import type { TraceHooks } from './trace-hooks.ts';
import type { XdpRedirectMap } from './xdp.ts';
import { XDP_ACTION_NAMES, XDP_REDIRECT } from './xdp.ts';
import { ENOBUFS, type XskSocket } from './xsk.ts';

/**
 * The xskmap (kernel/bpf/xskmap.c, BPF_MAP_TYPE_XSKMAP): AF_XDP sockets by key, which xdpsock
 * sets to the RX queue (xsk_socket__update_xskmap) so that its program can say
 * `bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS)`.
 *
 *   xdp_do_redirect → __xsk_map_redirect → xsk_rcv (xsk.ts): the frame goes into the socket's RX
 *   ring (copy or zero-copy), and the socket joins this CPU's flush list; an error (a socket bound
 *   to another device or queue than the frame's — xsk_rcv_check's -EINVAL, so a numeric or hash key
 *   reaches only the socket of the frame's own queue —, no room in the RX ring, no fill-ring frame
 *   in copy mode, a frame larger than a chunk) fails the redirect: the
 *   driver handles it as an aborted frame (ixgbe_run_xdp / ixgbe_run_xdp_zc: out_failure →
 *   trace_xdp_exception with XDP_REDIRECT, the buffer recycled or freed back to the pool) — except
 *   a zero-copy socket with need_wakeup whose RX ring is full (ixgbe_run_xdp_zc, since 5.18:
 *   `xsk_uses_need_wakeup(pool) && err == -ENOBUFS` → IXGBE_XDP_EXIT, likewise ice and i40e): the
 *   driver stops its clean loop and leaves the frame on the ring for the next poll, nothing dropped
 *   (`exitLoop`, read by the driver's XDP hook);
 *   xdp_do_flush → __xsk_map_flush → xsk_flush for each socket on the list.
 *
 * A key without a socket fails the lookup (__xsk_map_lookup_elem returns NULL): bpf_redirect_map
 * returns the flags' low bits, the rule's fallback (xdp.ts).
 */

export interface XskMapHost {
  readonly costs: CostTable;
  readonly accounting: Pick<RxAccounting, 'drop'>;
  readonly trace: TraceHooks | null;
}

export class XskMap implements XdpRedirectMap {
  /** The sockets by key (null: none). */
  private readonly slots: (XskSocket | null)[];
  readonly keys: number[] = [];
  /** Per CPU: the sockets that received in this poll (bpf_net_ctx's xskmap_flush_list). */
  private readonly flushList: XskSocket[][];

  constructor(
    private readonly k: XskMapHost,
    readonly map: ResolvedXskMap,
    ncpus: number,
    private readonly devName: (row: number) => string,
  ) {
    this.slots = new Array<XskSocket | null>(map.maxEntries).fill(null);
    this.flushList = Array.from({ length: ncpus }, () => []);
  }

  get id(): number {
    return this.map.id;
  }

  /** An xskmap entry is a socket, not a device: xdp_redirect's to_ifindex is 0. */
  targetName(): string {
    return '';
  }

  /** Generic XDP into an xskmap (xsk_generic_rcv) is refused when the scenario loads (xdp-program.ts), so these are never reached. */
  genericCost(): number {
    throw new Error('xskmap: generic XDP redirect is not modelled');
  }

  genericRedirect(): boolean {
    throw new Error('xskmap: generic XDP redirect is not modelled');
  }

  /** xsk_map_update_elem(): the socket at `key` (the app's xsk_socket__update_xskmap). */
  insert(key: number, sock: XskSocket): void {
    this.slots[key] = sock;
    this.keys.push(key);
    this.keys.sort((a, b) => a - b);
  }

  /** __xsk_map_lookup_elem(): the key if a socket is there, else -1. */
  lookup(key: number): number {
    return key >= 0 && key < this.slots.length && this.slots[key] !== null ? key : -1;
  }

  /** The last enqueue left the frame to the driver's ring and asked it to stop its clean loop (IXGBE_XDP_EXIT). */
  exitLoop = false;

  /**
   * __xsk_map_redirect(): xsk_rcv into the socket at `entry`; on an error the frame is dropped as
   * the driver's out_failure does, or kept on the ring (exitLoop) as a zero-copy driver does with
   * need_wakeup when the RX ring is full.
   */
  enqueue(cpu: Cpu, entry: number, row: number): number {
    const sock = this.slots[entry]!;
    const cost = sock.rcv(cpu, row);
    // xdp_do_redirect: trace_xdp_redirect_map, or trace_xdp_redirect_map_err with the socket's error.
    if (this.k.trace?.xdpRedirectXsk) this.k.trace.xdpRedirectXsk(cpu.id, this.devName(row), this.map.id, entry, sock.zeroCopy, cost < 0 ? sock.lastErr : 0);
    this.exitLoop = false;
    if (cost < 0) {
      // ixgbe_run_xdp_zc: IXGBE_XDP_EXIT goes through out_failure too (trace_xdp_exception).
      this.k.trace?.xdpException?.(cpu.id, this.devName(row), XDP_ACTION_NAMES[XDP_REDIRECT]);
      if (sock.zeroCopy && sock.needWakeup && sock.lastErr === -ENOBUFS) this.exitLoop = true;
      else this.k.accounting.drop(row, 'xsk', cpu.id);
      return -1 - cost;
    }
    if (!sock.onFlushList) {
      sock.onFlushList = true;
      this.flushList[cpu.id]!.push(sock);
    }
    return cost;
  }

  flushCost(cpu: Cpu): number {
    return this.flushList[cpu.id]!.length * this.k.costs.xsk_flush;
  }

  /** __xsk_map_flush(): xsk_flush for each socket on this CPU's list. */
  flush(cpu: Cpu): void {
    const list = this.flushList[cpu.id]!;
    for (const s of list) s.flush(cpu);
    list.length = 0;
  }

  /** The sockets in key order. */
  sockets(): XskSocket[] {
    return this.keys.map((key) => this.slots[key]!);
  }

  resetWindow(): void {}

  report(): { name: string; id: number; type: 'xskmap'; entries: { key: number; app: string }[] } {
    return { name: this.map.name, id: this.map.id, type: 'xskmap', entries: this.keys.map((key) => ({ key, app: this.slots[key]!.app })) };
  }
}
