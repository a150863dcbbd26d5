import { reciprocalScale } from './nic/rss.ts';

/**
 * RPS, RFS and the flow limit (net/core/dev.c get_rps_cpu, set_rps_cpu, skb_flow_limit;
 * include/net/rps.h).
 */

/** hash_32(): the golden-ratio multiplicative hash (include/linux/hash.h). */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, 0x61c88647) >>> (32 - bits);
}

function roundupPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** rps_dev_flow_table of one RX queue: per slot the CPU the flow was last steered to and last_qtail. */
export class RpsDevFlowTable {
  readonly cpu: Int32Array;
  readonly lastQtail: Float64Array;
  readonly log: number;

  constructor(entries: number) {
    const n = roundupPow2(entries);
    this.log = Math.log2(n);
    this.cpu = new Int32Array(n).fill(-1); // RPS_NO_CPU
    this.lastQtail = new Float64Array(n);
  }

  /** rfs_slot() in 6.18: hash_32(hash, log). */
  slot(hash: number): number {
    return this.log === 0 ? 0 : hash32(hash, this.log);
  }
}

/** One RX queue's RPS configuration: rps_map (the CPUs of rps_cpus) and the RFS flow table. */
export interface RxQueueRps {
  map: number[];
  flows: RpsDevFlowTable | null;
  /**
   * Accelerated RFS (ntuple on, a driver with ndo_rx_flow_steer): when RFS moves the skb's flow
   * to a CPU, ask the NIC to steer the flow to the RX queue whose interrupt goes to that CPU.
   */
  arfs?: (row: number, cpu: number) => void;
}

/** The global rps_sock_flow_table (net.core.rps_sock_flow_entries). */
export class RpsSockFlowTable {
  readonly ents: Uint32Array;
  readonly mask: number;
  readonly cpuMask: number;

  constructor(entries: number, ncpus: number) {
    const n = roundupPow2(entries);
    this.ents = new Uint32Array(n).fill(0xffffffff); // RPS_NO_CPU in every entry
    this.mask = n - 1;
    this.cpuMask = roundupPow2(ncpus) - 1;
  }

  /** rps_record_sock_flow(): called where the reader runs (recvmsg/sendmsg) with the flow's hash. */
  record(hash: number, cpu: number): void {
    const i = hash & this.mask;
    const v = ((hash & ~this.cpuMask) | cpu) >>> 0;
    if (this.ents[i] !== v) this.ents[i] = v;
  }
}

/** What get_rps_cpu() decided, and which flow-table slot to stamp with the enqueue's tail. */
export interface RpsChoice {
  cpu: number;
  flows: RpsDevFlowTable | null;
  slot: number;
}

const NO_CHOICE: RpsChoice = { cpu: -1, flows: null, slot: -1 };

/**
 * get_rps_cpu(): RFS first (when the queue has a flow table and the global table exists): the
 * CPU where the flow's reader last ran, but a flow moves there only when its old CPU has
 * processed every packet enqueued before (input_queue_head - last_qtail >= 0), or the old CPU is
 * unset. Otherwise RPS: map[reciprocal_scale(hash, len)]. -1: no steering (process inline).
 * `inputQueueHead(cpu)` reads per_cpu(softnet_data, cpu).input_queue_head.
 */
export function getRpsCpu(q: RxQueueRps, sock: RpsSockFlowTable | null, hash: number, inputQueueHead: (cpu: number) => number, onMove?: (nextCpu: number) => void): RpsChoice {
  if (q.map.length === 0 && !q.flows) return NO_CHOICE;
  if (hash === 0) return NO_CHOICE;
  if (q.flows && sock) {
    const ident = sock.ents[hash & sock.mask]!;
    if (ident !== 0xffffffff && ((ident ^ hash) & ~sock.cpuMask) === 0) {
      const nextCpu = ident & sock.cpuMask;
      const slot = q.flows.slot(hash);
      let tcpu = q.flows.cpu[slot]!;
      if (tcpu !== nextCpu && (tcpu < 0 || inputQueueHead(tcpu) - q.flows.lastQtail[slot]! >= 0)) {
        // set_rps_cpu(): the flow moves; its last_qtail restarts from the new CPU's head.
        tcpu = nextCpu;
        q.flows.cpu[slot] = nextCpu;
        q.flows.lastQtail[slot] = inputQueueHead(nextCpu);
        onMove?.(nextCpu);
      }
      if (tcpu >= 0) return { cpu: tcpu, flows: q.flows, slot };
    }
  }
  if (q.map.length > 0) return { cpu: q.map[reciprocalScale(hash, q.map.length)]!, flows: null, slot: -1 };
  return NO_CHOICE;
}

/** FLOW_LIMIT_HISTORY: the packets each table remembers. */
export const FLOW_LIMIT_HISTORY = 128;

/**
 * struct sd_flow_limit of one CPU: a ring of the last 128 packets' buckets and a count per
 * bucket. skb_flow_limit() drops a packet whose bucket already holds more than half the history
 * (more than 64 of the last 128), while the target backlog is at least half full.
 */
export class FlowLimit {
  private readonly history = new Int32Array(FLOW_LIMIT_HISTORY);
  private head = 0;
  private readonly buckets: Int32Array;
  private readonly log: number;
  count = 0;

  constructor(tableLen: number) {
    const n = roundupPow2(tableLen);
    this.log = Math.log2(n);
    this.buckets = new Int32Array(n);
  }

  /** True if the packet is to be dropped (fl->count++). */
  limit(hash: number): boolean {
    const nb = this.log === 0 ? 0 : hash32(hash, this.log);
    const old = this.history[this.head]!;
    this.history[this.head] = nb;
    this.head = (this.head + 1) & (FLOW_LIMIT_HISTORY - 1);
    if (this.buckets[old]! > 0) this.buckets[old]!--;
    if (++this.buckets[nb]! > FLOW_LIMIT_HISTORY >> 1) {
      this.count++;
      return true;
    }
    return false;
  }
}
