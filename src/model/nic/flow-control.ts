import type { DriverProfile } from './drivers.ts';

/**
 * IEEE 802.3x link flow control (PAUSE) of one port, as ixgbe programs it on an 82599.
 *
 * - The mode: `ethtool -A` sets the requested mode (ixgbe_set_pauseparam); the link resolves the
 *   current mode (ixgbe_fc_autoneg): with flow-control autonegotiation off it is the requested
 *   mode, whatever the partner does; with it on, both ends' pause advertisements decide
 *   (ixgbe_negotiate_fc, IEEE 802.3 Annex 28B).
 * - DROP_EN (ixgbe_set_rx_drop_en): a queue out of descriptors drops at once only with SR-IOV
 *   or with more than one RX queue and no TX pause (and no PFC). Otherwise its frames wait in
 *   the RX packet buffer in front of the rings.
 * - Watermarks (ixgbe_pbthresh_setup): XOFF when the packet buffer fills to the high water,
 *   XON when it drains below the low water (FCRTH/FCRTL, ixgbe_fc_enable_generic). While the
 *   buffer stays above the low water the MAC repeats the XOFF every FCRTV = pause_time / 2.
 */

export type FcMode = 'none' | 'rx_pause' | 'tx_pause' | 'full';

/** What `ethtool -A <dev> autoneg|rx|tx on|off` asked for. */
export interface PauseParams {
  autoneg: boolean;
  rx: boolean;
  tx: boolean;
}

/** ixgbe_set_pauseparam: autoneg on asks for full pause whatever rx and tx say. */
export function requestedMode(p: PauseParams): FcMode {
  if ((p.rx && p.tx) || p.autoneg) return 'full';
  if (p.rx) return 'rx_pause';
  if (p.tx) return 'tx_pause';
  return 'none';
}

/**
 * ixgbe_fc_autoneg: with flow-control autonegotiation disabled the current mode is the requested
 * one. With it enabled, ixgbe_negotiate_fc resolves the advertisements (802.3 Annex 28B): ixgbe
 * advertises symmetric and asymmetric pause for full and rx_pause, asymmetric only for tx_pause;
 * a partner that honours PAUSE is taken to advertise symmetric pause only, one that ignores it
 * nothing (the common switch setting "flowcontrol receive off", "send off").
 */
export function currentMode(p: PauseParams, partnerHonours: boolean): FcMode {
  const requested = requestedMode(p);
  if (!p.autoneg) return requested;
  if (!partnerHonours) return 'none';
  // Local SYM and partner SYM: full if requested full, else rx_pause; local ASM only: none (partner has no ASM).
  if (requested === 'full') return 'full';
  if (requested === 'rx_pause') return 'rx_pause';
  return 'none';
}

export const sendsPause = (m: FcMode): boolean => m === 'full' || m === 'tx_pause';

/**
 * ixgbe_set_rx_drop_en: SRRCTL.DROP_EN when SR-IOV is on (num_vfs; rxsim models none) or with
 * more than one RX queue, no TX pause and no PFC (not modelled). Drivers without the bit drop
 * in the queue always.
 */
export function dropEnable(driver: DriverProfile, mode: FcMode, rxQueues: number): boolean {
  if (driver.flowControl.dropEn === 'always') return true;
  const numVfs = 0;
  return numVfs > 0 || (rxQueues > 1 && !sendsPause(mode));
}

// ---- ixgbe_type.h: delay values of the watermarks, in bit times (802.1Qbb Annex O) ----

const ETH_HLEN = 14;
const ETH_FCS_LEN = 4;
/** IXGBE_ETH_FRAMING: preamble and inter-frame gap added to the largest frame. */
const IXGBE_ETH_FRAMING = 20;
const B2BT = (bytes: number): number => bytes * 8;
const BT2KB = (bt: number): number => Math.floor((bt + (8 * 1024 - 1)) / (8 * 1024));
const IXGBE_PFC_D = 672;
const IXGBE_CABLE_DC = 5556;
/** IXGBE_ID = IXGBE_MAC_D + IXGBE_XAUI_D + IXGBE_PHY_D (82598, 82599). */
const IXGBE_ID = 4096 + 2 * 1024 + 12800;
const IXGBE_HD = 6144;
const IXGBE_PCI_DELAY = 10000;

/** IXGBE_DV(max_frame_link, max_frame_tc) for 82598/82599 (integer arithmetic, as in C). */
function ixgbeDv(link: number, tc: number): number {
  return Math.floor((36 * (B2BT(link) + IXGBE_PFC_D + 2 * IXGBE_CABLE_DC + 2 * IXGBE_ID + IXGBE_HD)) / 25) + 1 + 2 * B2BT(tc);
}

/** IXGBE_LOW_DV(max_frame_tc) = 2 * IXGBE_LOW_DV_X540. */
function ixgbeLowDv(tc: number): number {
  return 2 * (2 * B2BT(tc) + Math.floor((36 * IXGBE_PCI_DELAY) / 25) + 1);
}

/**
 * ixgbe_pbthresh_setup for one traffic class: high water = RX packet buffer − the headroom the
 * delay value needs (ixgbe_hpbthresh), low water from the PCI delay (ixgbe_lpbthresh); both in
 * KB as FCRTH/FCRTL take them. A low water above the high water becomes 0.
 */
export function ixgbeWatermarksKb(mtu: number, rxPbKb: number): { high: number; low: number } {
  const link = mtu + ETH_HLEN + ETH_FCS_LEN + IXGBE_ETH_FRAMING;
  let high = rxPbKb - BT2KB(ixgbeDv(link, link));
  // "Packet Buffer(%i) can not provide enough headroom to support flow control": marker = tc + 1.
  if (high < 0) high = link + 1;
  let low = BT2KB(ixgbeLowDv(mtu + ETH_HLEN + ETH_FCS_LEN));
  if (low > high) low = 0;
  return { high, low };
}

/** IXGBE_DEFAULT_FCPAUSE: the pause time of an XOFF, in quanta of 512 bit times. */
export const IXGBE_DEFAULT_FCPAUSE = 0xffff;
/**
 * How soon the partner stops after our XOFF: the 64-byte PAUSE frame (84 bytes on the wire)
 * plus the longest reaction 802.3 allows a 10 Gb/s MAC (Table 31B-1: 60 pause_quanta; UNVERIFIED
 * for a given switch). The cable is taken as short.
 */
const PAUSE_REACTION_QUANTA = 60;

/** From our XOFF to the partner's last frame start: the PAUSE frame's time on the wire plus the reaction. */
export function pauseReactionNs(speedGbps: number): number {
  return Math.ceil((84 * 8) / speedGbps + (PAUSE_REACTION_QUANTA * 512) / speedGbps);
}

/** What flow control needs from its NIC. */
export interface FlowControlHost {
  now(): number;
  /** The partner starts no frame from `fromNs` until resumed. */
  pausePartner(fromNs: number): void;
  /** The partner may send again from `atNs`. */
  resumePartner(atNs: number): void;
}

/**
 * The RX packet buffer's occupancy against the watermarks, and the PAUSE frames the MAC sends
 * (ixgbe's ethtool -S tx_flow_control_xoff / tx_flow_control_xon: the LXOFFTXC / LXONTXC
 * registers). Received PAUSE frames (rx_flow_control_*) are not modelled: the partner is a
 * sender that never pauses this port.
 */
export class FlowControl {
  readonly mode: FcMode;
  /** Bytes waiting in the RX packet buffer (frames for queues without a free descriptor). */
  bytes = 0;
  readonly capacityBytes: number;
  readonly highBytes: number;
  readonly lowBytes: number;
  /** XOFF sent and no XON since. */
  xoff = false;
  /** PAUSE frames sent in the window: XOFF (with refreshes) and XON. */
  xoffSent = 0;
  xonSent = 0;
  /** Refreshes counted up to this time (ns). */
  private refreshedTo = 0;
  private xoffAt = 0;
  private readonly refreshNs: number;
  private readonly reactionNs: number;

  constructor(
    private readonly host: FlowControlHost,
    driver: DriverProfile,
    params: PauseParams,
    readonly partnerHonours: boolean,
    mtu: number,
    speedGbps: number,
  ) {
    this.mode = currentMode(params, partnerHonours);
    const pb = driver.flowControl.rxPacketBufferKb;
    const marks = ixgbeWatermarksKb(mtu, pb);
    this.capacityBytes = pb * 1024;
    this.highBytes = marks.high * 1024;
    this.lowBytes = marks.low * 1024;
    const quantumNs = 512 / speedGbps;
    // ixgbe_fc_enable_generic: FCRTV = pause_time / 2.
    this.refreshNs = Math.floor(IXGBE_DEFAULT_FCPAUSE / 2) * quantumNs;
    this.reactionNs = pauseReactionNs(speedGbps);
  }

  get sendsPause(): boolean {
    return sendsPause(this.mode);
  }

  /** A frame of `size` bytes stays in the packet buffer at `t` (ns): XOFF at the high water. */
  add(size: number, t: number): void {
    this.bytes += size;
    if (this.xoff || !this.sendsPause || this.bytes < this.highBytes) return;
    this.xoff = true;
    this.xoffAt = this.refreshedTo = t;
    this.xoffSent++;
    if (this.partnerHonours) this.host.pausePartner(t + this.reactionNs);
  }

  /** A frame left the packet buffer for a descriptor at `t`: XON below the low water (send_xon). */
  remove(size: number, t: number): void {
    this.bytes -= size;
    if (!this.xoff || this.bytes >= this.lowBytes) return;
    this.countRefreshes(t);
    this.xoff = false;
    this.xonSent++;
    if (this.partnerHonours) this.host.resumePartner(t + this.reactionNs);
  }

  /** The MAC repeats the XOFF every FCRTV while the buffer stays above the low water. */
  private countRefreshes(t: number): void {
    if (!this.xoff) return;
    const before = Math.floor((this.refreshedTo - this.xoffAt) / this.refreshNs);
    const upTo = Math.floor((t - this.xoffAt) / this.refreshNs);
    if (upTo > before) this.xoffSent += upTo - before;
    this.refreshedTo = Math.max(this.refreshedTo, t);
  }

  /** Start of the measurement window: the PAUSE counters restart (refreshes so far belong to before). */
  resetWindow(): void {
    this.countRefreshes(this.host.now());
    this.xoffSent = this.xonSent = 0;
  }

  /** ethtool -S under the driver's names (refreshes up to now counted). */
  stats(driver: DriverProfile): Record<string, number> {
    this.countRefreshes(this.host.now());
    const n = driver.flowControl.counters;
    const e: Record<string, number> = {};
    // A driver with one pause counter (mlx5's tx_pause_ctrl_phy) counts XON frames in it too.
    if (n.txXon) e[n.txXon] = this.xonSent;
    e[n.txXoff] = n.txXon ? this.xoffSent : this.xoffSent + this.xonSent;
    if (n.rxXon) e[n.rxXon] = 0;
    e[n.rxXoff] = 0;
    return e;
  }
}
