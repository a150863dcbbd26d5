import type { TxRing } from './nic/tx-ring.ts';

/** DEFAULT_TX_QUEUE_LEN (include/linux/netdevice.h): ether_setup's dev->tx_queue_len, pfifo_fast's limit. */
export const DEFAULT_TX_QUEUE_LEN = 1000;

/**
 * The root qdisc of a multiqueue NIC as the kernel attaches it (net/sched/sch_mq.c: mq_init, one
 * child per TX queue; the child is net.core.default_qdisc, pfifo_fast by default): one
 * pfifo_fast (net/sched/sch_generic.c) per TX ring, here with one band, as every forwarded skb of
 * TOS 0 takes band 1.
 *
 * The child holds skbs only while the driver has stopped its TX queue (ixgbe_maybe_stop_tx: fewer
 * than DESC_NEEDED descriptors free); otherwise __dev_xmit_skb bypasses it (TCQ_F_CAN_BYPASS on
 * an empty queue) and sch_direct_xmit hands the skb to the driver at once. The ring's
 * completions are computed when a frame is posted, so a frame that waits in the qdisc is posted
 * at once too, and the qdisc's backlog is the ring's pending frames beyond what the ring can
 * take: it drains as the poll cleans completions (netif_tx_wake_queue → __netif_schedule →
 * net_tx_action → qdisc_run, whose cost is not charged). When the backlog has reached the limit
 * (tx_queue_len) pfifo_fast_enqueue drops: qdisc_drop, freed in __dev_xmit_skb with
 * SKB_DROP_REASON_QDISC_DROP.
 */
export class PfifoFast {
  /** tc -s qdisc: Sent … pkt, dropped, and the deepest backlog seen (packets). */
  packets = 0;
  bytes = 0;
  drops = 0;
  peakBacklog = 0;

  constructor(
    private readonly ring: TxRing,
    /** The descriptors the driver may fill before it stops the queue (ring size − DESC_NEEDED). */
    private readonly ringRoom: number,
    readonly limit = DEFAULT_TX_QUEUE_LEN,
  ) {}

  /** Packets the qdisc holds now: what the stopped ring could not take. */
  get backlog(): number {
    return Math.max(0, this.ring.pending - this.ringRoom);
  }

  /** __dev_xmit_skb → pfifo_fast_enqueue of an skb of `len` bytes: false when it was dropped. */
  enqueue(len: number): boolean {
    const backlog = this.backlog;
    if (backlog >= this.limit) {
      this.drops++;
      return false;
    }
    if (backlog + 1 > this.peakBacklog && this.ring.pending + 1 > this.ringRoom) this.peakBacklog = backlog + 1;
    this.packets++;
    this.bytes += len;
    return true;
  }

  resetWindow(): void {
    this.packets = this.bytes = this.drops = 0;
    this.peakBacklog = this.backlog;
  }
}
