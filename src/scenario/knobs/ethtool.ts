import { z } from 'zod';
import { RngStream } from '../../engine/rng.ts';
import { DRIVERS, DRIVER_NAMES, type DriverName, type DriverProfile } from '../../model/nic/drivers.ts';
import * as limits from '../limits.ts';
import { ValueError } from '../errors.ts';
import { formatHexKey, parseHexKey } from '../units.ts';
import { ethtoolKnob } from './kinds.ts';
import { oneOf, onOff, text, uint, type NicContext, type ValueType } from './types.ts';

/**
 * ethtool's settings of the receive path: -C (coalesce), -G (ring), -L (channels), -K (features),
 * -X (RSS table and key), -N (flow hash). The ethtool core (net/ethtool/) checks what is generic
 * (above the reported maximum: EINVAL); the driver's callback checks and adjusts the rest, so the
 * limits and defaults come from the driver profile.
 */

/** "ixgbe 1; ice 50; generic 8", or one value when every driver has it. */
export function perDriver(f: (d: (typeof DRIVERS)[DriverName]) => string | number): string {
  const values = DRIVER_NAMES.map((n) => String(f(DRIVERS[n])));
  return values.every((v) => v === values[0]) ? values[0]! : DRIVER_NAMES.map((n, i) => `${n} ${values[i]}`).join('; ');
}

/** Options and the parameters of each the real ethtool has but rxsim does not model (they are errors, not ignored). */
export const ETHTOOL_OPTIONS: Record<string, { aliases: string[]; unmodelled: string[] }> = {
  '-C': {
    aliases: ['--coalesce'],
    unmodelled: [
      'tx-usecs',
      'tx-frames',
      'adaptive-tx',
      'rx-usecs-irq',
      'rx-frames-irq',
      'tx-usecs-irq',
      'stats-block-usecs',
      'pkt-rate-low',
      'pkt-rate-high',
      'rx-usecs-low',
      'rx-usecs-high',
      'sample-interval',
    ],
  },
  '-G': { aliases: ['--set-ring'], unmodelled: ['tx', 'rx-mini', 'rx-jumbo', 'rx-buf-len', 'cqe-size', 'tx-push', 'rx-push'] },
  '-L': { aliases: ['--set-channels'], unmodelled: ['rx', 'tx', 'other'] },
  '-K': { aliases: ['--features', '--offload'], unmodelled: ['tso', 'gso', 'rx', 'tx', 'sg', 'rxvlan', 'txvlan', 'rx-gro-list', 'rx-udp-gro-forwarding', 'hw-tc-offload'] },
  '-X': { aliases: ['--set-rxfh-indir', '--rxfh'], unmodelled: [] },
  '-N': { aliases: ['--config-nfc', '--config-ntuple'], unmodelled: [] },
  '-A': { aliases: ['--pause'], unmodelled: [] },
  '-s': { aliases: ['--change'], unmodelled: ['duplex', 'port', 'mdix', 'autoneg', 'advertise', 'lanes', 'phyad', 'xcvr', 'wol', 'sopass', 'master-slave', 'msglvl'] },
};

/**
 * Receive features done by the NIC that rxsim does not model: the model receives as if they are
 * off. `off` is accepted (it is the model's state); `on` is refused — as the real ethtool refuses
 * it on a driver whose hardware lacks the feature (NETIF_F_* not in hw_features: "off [fixed]"
 * in ethtool -k), and as unmodelled on one that has it.
 */
export const HW_RECEIVE_FEATURES: Record<string, { long: string; what: string; drivers: Record<DriverName, boolean> }> = {
  // ixgbe: NETIF_F_LRO with IXGBE_FLAG2_RSC_CAPABLE (82599, X540, X550 RSC); ice sets no
  // NETIF_F_LRO; a mlx5-class NIC has both LRO and HW GRO (SHAMPO).
  lro: {
    long: 'large-receive-offload',
    what: "LRO (ixgbe's RSC): the NIC merges segments before the driver, so fewer, larger skbs reach the stack",
    drivers: { ixgbe: true, ice: false, generic: true },
  },
  'rx-gro-hw': { long: 'rx-gro-hw', what: 'hardware GRO: the NIC builds GRO-able aggregates (header split) before the driver', drivers: { ixgbe: false, ice: false, generic: true } },
};

/** The feature `name` (or its long name) of HW_RECEIVE_FEATURES, if it is one. */
export function hwReceiveFeature(name: string): string | undefined {
  return Object.keys(HW_RECEIVE_FEATURES).find((k) => k === name || HW_RECEIVE_FEATURES[k]!.long === name);
}

/** Why `ethtool -K <dev> <feature> <value>` cannot be applied, or undefined when it can (off). */
export function hwReceiveFeatureProblem(feature: string, value: string, driver: DriverName): string | undefined {
  const f = HW_RECEIVE_FEATURES[feature]!;
  if (value !== 'on' && value !== 'off') return `expected on or off, got "${value}"`;
  if (value === 'off') return undefined;
  if (!f.drivers[driver]) return `Could not change any device features: ${driver} has no ${f.long} ("off [fixed]" in ethtool -k)`;
  return `rxsim does not model ${f.what}; the model receives with it off`;
}

// ---------------------------------------------------------------- -s

/**
 * ethtool takes the speed in Mb/s (`speed 10000`); the scenario file keeps Gbit/s
 * (`speed_gbps: 10`). The driver accepts only the speeds its hardware family has: anything else
 * is EINVAL from its set_link_ksettings.
 */
const speedType: ValueType<number> = {
  name: 'Mb/s in commands, Gbit/s in the file',
  zod: () => z.number().positive(),
  parse: (text) => {
    if (!/^\d+$/.test(text.trim())) throw new ValueError(`expected a speed in Mb/s like 10000 (ethtool's unit), got "${text}"`);
    return Number(text.trim()) / 1000;
  },
  format: (gbps) => String(Math.round(gbps * 1000)),
};
const gbpsList = (d: { speedsGbps: readonly number[] }): string => d.speedsGbps.join(', ');
export const speed = ethtoolKnob<number, number>('-s', 'speed', {
  path: 'nics[].speed_gbps',
  where: 'ethtool -s <dev> speed N (Mb/s)',
  type: speedType,
  unit: 'Gbit/s (ethtool: Mb/s)',
  default: 10,
  schemaDefault: true,
  range: (d) => `${gbpsList(d)} Gbit/s`,
  check: (gbps, ctx) => {
    if (!ctx.driver.speedsGbps.includes(gbps)) {
      throw new ValueError(
        `${ctx.driver.name} does not link at ${gbps} Gbit/s (it supports ${gbpsList(ctx.driver)} Gbit/s; ${ctx.driver.speedsSource.split(':')[1]!.trim().split(' ')[0]} answers EINVAL)`,
      );
    }
    return gbps;
  },
  description: 'Link speed: the rate the wire delivers frames at.',
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c: ixgbe_set_link_ksettings',
});

/**
 * A count the driver's callback limits: ethtool's u32 parsing (`what` in its message, at least
 * `min`), then `limit` — the driver's EINVAL, or the value it keeps (a ring rounded up).
 */
function driverCount(what: string, limit: (driver: DriverProfile, n: number) => number, min = 0): { type: ValueType<number>; check: (value: number, ctx: NicContext) => number } {
  const type = uint(what, min);
  return { type, check: (value, ctx) => limit(ctx.driver, type.check(value)) };
}

/**
 * A coalesce parameter only some drivers list in supported_coalesce_params: the others refuse it
 * (`limit` throws for them even at 0), and its default is given for the drivers that have it.
 */
function someDriversCount(param: string, has: (d: DriverProfile) => boolean, dflt: (d: DriverProfile) => number, limit: (driver: DriverProfile, n: number) => number) {
  return {
    ...driverCount(param, limit),
    default: ({ driver }: NicContext) => dflt(driver),
    defaultText: `${DRIVER_NAMES.filter((n) => has(DRIVERS[n]))
      .map((n) => `${n} ${dflt(DRIVERS[n])}`)
      .join(', ')} (others: not supported)`,
    supported: ({ driver }: NicContext) => void limit(driver, 0),
    read: (value: number) => value,
  };
}

// ---------------------------------------------------------------- -C

export const rxUsecs = ethtoolKnob<number, number>('-C', 'rx-usecs', {
  ...driverCount('rx-usecs', limits.rxUsecs),
  unit: 'µs',
  default: ({ driver }) => driver.moderation.rxUsecsDefault,
  range: (d) => `0..${d.moderation.rxUsecsMax}`,
  store: (kept) => kept,
  description: 'Interrupt moderation interval. ixgbe: minimum µs between interrupts (EITR), 0 = off, 1 = adaptive. ice: ITR in 2 µs steps. generic: µs from the first frame.',
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c: ixgbe_set_coalesce',
});

export const rxFrames = ethtoolKnob<number, number>('-C', 'rx-frames', {
  ...someDriversCount(
    'rx-frames',
    (d) => d.moderation.rxFrames,
    (d) => d.moderation.rxFramesDefault,
    limits.rxFrames,
  ),
  unit: 'frames',
  range: (d) => (d.moderation.rxFrames ? '0..' : 'not supported'),
  description: 'Interrupt after this many frames (drivers that list it in supported_coalesce_params).',
  source: 'drivers/net/ethernet/mellanox/mlx5/core/en_ethtool.c: mlx5e_ethtool_set_coalesce',
});

export const txFramesIrq = ethtoolKnob<number, number>('-C', 'tx-frames-irq', {
  ...someDriversCount(
    'tx-frames-irq',
    (d) => d.txFramesIrq,
    (d) => d.txWorkLimit,
    limits.txFramesIrq,
  ),
  unit: 'frames',
  range: (d) => (d.txFramesIrq ? '0..65535 (0: unchanged)' : 'not supported'),
  description: 'TX completions one NAPI poll frees at most (adapter->tx_work_limit, read by ixgbe_clean_tx_irq), apart from the RX budget; a poll that reaches it is not complete.',
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c: ixgbe_set_coalesce',
});

/** ixgbe has no switch: rx-usecs 1 is its adaptive mode, so its default follows rx-usecs. */
function adaptiveDefault({ driver, rxUsecs: usecs }: Pick<NicContext, 'driver' | 'rxUsecs'>): 'on' | 'off' {
  return driver.moderation.adaptiveDefault && (driver.moderation.kind !== 'eitr' || usecs === 1) ? 'on' : 'off';
}

export const adaptiveRx = ethtoolKnob<'on' | 'off', boolean>('-C', 'adaptive-rx', {
  type: onOff('adaptive-rx'),
  default: adaptiveDefault,
  defaultText: `${perDriver((d) => adaptiveDefault({ driver: d, rxUsecs: d.moderation.rxUsecsDefault }))} (ixgbe: on while rx-usecs is 1)`,
  range: (d) => (d.moderation.kind === 'ice-itr' ? 'on, off' : 'not supported'),
  supported: ({ driver }) => void limits.adaptiveRx(driver, 'on'),
  check: (value, ctx) => limits.adaptiveRx(ctx.driver, value),
  read: (value) => value === 'on',
  description: 'Adaptive interrupt moderation (ice: net_dim picks the ITR).',
  source: 'drivers/net/ethernet/intel/ice/ice_ethtool.c: ice_set_rc_coalesce',
});

// ---------------------------------------------------------------- -G, -L

export const ringRx = ethtoolKnob<number, number>('-G', 'rx', {
  ...driverCount('the RX ring size', limits.ringSize, 1),
  unit: 'descriptors',
  default: ({ driver }) => driver.ring.default,
  range: (d) => `${d.ring.min}..${d.ring.max}${d.ring.belowMin === 'clamp' ? ' (below: raised)' : ''}${d.ring.multiple > 1 ? `, rounded up to ×${d.ring.multiple}` : ''}`,
  store: (kept) => kept,
  description: 'RX descriptors per queue: how many frames a queue holds before the NIC drops.',
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c: ixgbe_set_ringparam',
});

/** The number of RX queues of a NIC config: its `combined`, or the driver's default. */
export function queueCount(nic: { driver: string; channels: { combined?: number | undefined } }, cpus: number): number {
  return nic.channels.combined ?? limits.defaultChannelCount(DRIVERS[nic.driver as DriverName], cpus);
}

const channelsType = uint('the number of combined channels', 1);
export const combined = ethtoolKnob<number, number>('-L', 'combined', {
  type: channelsType,
  unit: 'queues',
  default: ({ driver, cpus }) => limits.defaultChannelCount(driver, cpus),
  defaultText: `min(CPUs, driver maximum: ${perDriver((d) => d.maxQueues)})`,
  range: (d) => `1..min(CPUs, ${d.maxQueues})`,
  check: (value, ctx) => limits.channelCount(ctx.driver, ctx.cpus, channelsType.check(value)),
  description: 'RX/TX queue pairs, each with its MSI-X vector and NAPI.',
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c: ixgbe_set_channels',
});

// ---------------------------------------------------------------- -K

function feature(name: 'gro' | 'rxhash' | 'ntuple', long: string, dflt: 'on' | 'off', description: string, source: string) {
  return ethtoolKnob<'on' | 'off', boolean>('-K', name, {
    aliases: [long],
    type: onOff(name),
    default: dflt,
    range: 'on, off',
    check: (value) => value === 'on',
    description,
    source,
    schemaDefault: true,
  });
}

export const gro = feature(
  'gro',
  'generic-receive-offload',
  'on',
  'Generic receive offload: merge TCP segments of a flow into one skb in napi_gro_receive.',
  'include/linux/netdevice.h: netif_elide_gro',
);
export const rxhash = feature(
  'rxhash',
  'receive-hashing',
  'on',
  "Pass the NIC's RSS hash up as skb->hash (else RPS computes it in software).",
  'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c: ixgbe_rx_hash',
);
export const ntuple = feature('ntuple', 'ntuple-filters', 'off', 'ntuple filters: with RFS, accelerated RFS steers flows in the NIC (ndo_rx_flow_steer).', 'net/core/dev.c: set_rps_cpu');

// ---------------------------------------------------------------- -X

export type IndirSpec = { equal: number } | { weight: number[] } | { table: number[] };

const nonNegInt = z.number().int().min(0);
const indirType: ValueType<IndirSpec> = {
  name: 'RETA',
  zod: () =>
    z.union([
      z.strictObject({ equal: z.number().int().min(1).describe('spread over the first N queues (ethtool -X equal N)') }),
      z.strictObject({ weight: z.array(nonNegInt).min(1).describe('relative weights per queue (ethtool -X weight w0 w1 …)') }),
      z.strictObject({ table: z.array(nonNegInt).min(1).describe("explicit table, one queue per entry; its length must be the driver's table size") }),
    ]),
  // The text form is ethtool's `equal N` (weight lists and tables come from the JSON or ethtool -X's own grammar).
  parse: (t) => ({ equal: uint('the number of queues', 1).parse(t) }),
  format: (v) => ('equal' in v ? String(v.equal) : JSON.stringify(v)),
};

/** The table spec as the driver accepts it (ethtool's fill_indir_table rules). */
function checkIndir(value: IndirSpec, { driver, queues }: NicContext): IndirSpec {
  if ('equal' in value) return { equal: limits.indirEqual(value.equal, queues) };
  if ('weight' in value) return { weight: limits.indirWeights(value.weight, queues, driver) };
  return { table: limits.indirTable(value.table, driver, queues) };
}

export const indir = ethtoolKnob<IndirSpec, IndirSpec>('-X', 'equal | weight | default', {
  name: 'indir',
  path: 'nics[].rss.indir',
  where: 'ethtool -X <dev> equal N | weight W… | default',
  command: 'ethtool -X {dev} equal {value}',
  type: indirType,
  default: ({ queues }) => ({ equal: queues }),
  defaultText: 'indir[i] = i % queues (ethtool_rxfh_indir_default)',
  range: (d) => `${d.indirSize} entries naming existing queues`,
  check: checkIndir,
  description: 'RSS indirection table (RETA): which RX queue each hash bucket goes to.',
  source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c: ixgbe_set_rxfh',
});

/** netdev_rss_key: 52 random bytes drawn once per boot (net_get_random_once); here once per seed. */
export function netdevRssKey(seed: number): Uint8Array {
  return new RngStream(seed, 'netdev_rss_key').bytes(52);
}

export const hkey = ethtoolKnob<string, Uint8Array>('-X', 'hkey', {
  where: 'ethtool -X <dev> hkey K',
  type: text('hex bytes'),
  default: ({ seed, driver }) => formatHexKey(netdevRssKey(seed).subarray(0, driver.rssKeyBytes)),
  defaultText: "netdev_rss_key (random per boot; here drawn from the seed), cut to the driver's length",
  range: (d) => `exactly ${d.rssKeyBytes} bytes`,
  check: (value, ctx) => limits.rssKey(ctx.driver, parseHexKey(value)),
  store: (bytes) => formatHexKey(bytes),
  description: 'RSS (Toeplitz) key, colon-separated bytes.',
  source: 'net/ethtool/ioctl.c: netdev_rss_key_fill',
});

// ---------------------------------------------------------------- -N

function flowHash(flowType: 'udp4' | 'udp6') {
  return ethtoolKnob<'sd' | 'sdfn', boolean>('-N', 'rx-flow-hash', {
    words: `rx-flow-hash ${flowType}`,
    type: oneOf(['sd', 'sdfn'], 'expected "sd" (addresses) or "sdfn" (addresses and ports)'),
    default: ({ driver }) => (driver.udpHashPortsDefault ? 'sdfn' : 'sd'),
    range: 'sd, sdfn',
    check: (value) => value === 'sdfn',
    description: `Hash ${flowType === 'udp4' ? 'UDP over IPv4' : 'UDP over IPv6'} on addresses only (sd) or also ports (sdfn).`,
    source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_main.c: ixgbe_setup_mrqc',
  });
}

export const flowHashUdp4 = flowHash('udp4');
export const flowHashUdp6 = flowHash('udp6');

// ---------------------------------------------------------------- -A

/**
 * ixgbe_set_pauseparam refuses flow-control autonegotiation where
 * ixgbe_device_supports_autoneg_fc says no: an 82599 SFP+ (fibre) port with the link up
 * negotiates pause only at 1 Gbit/s. ice and a mlx5-class NIC accept it.
 */
function checkPauseAutoneg(value: 'on' | 'off', ctx: NicContext): boolean {
  if (value === 'on' && ctx.driver.name === 'ixgbe' && (ctx.speedGbps ?? 10) !== 1) {
    throw new ValueError(
      `Cannot set device pause parameters: Invalid argument (ixgbe_set_pauseparam: an 82599 SFP+ port at ${ctx.speedGbps ?? 10} Gbit/s does not autonegotiate flow control; set rx and tx instead)`,
    );
  }
  return value === 'on';
}

function pauseParam(name: 'autoneg' | 'rx' | 'tx', description: string) {
  const dflt = ({ driver }: Pick<NicContext, 'driver'>): 'on' | 'off' => (driver.flowControl[name] ? 'on' : 'off');
  return ethtoolKnob<'on' | 'off', boolean>('-A', name, {
    name: `pause ${name}`,
    type: onOff(name),
    default: dflt,
    defaultText: perDriver((d) => dflt({ driver: d })),
    range: 'on, off',
    check: name === 'autoneg' ? checkPauseAutoneg : (value) => value === 'on',
    read: (value) => value === 'on',
    description,
    source: 'drivers/net/ethernet/intel/ixgbe/ixgbe_ethtool.c: ixgbe_set_pauseparam',
  });
}

export const pauseAutoneg = pauseParam('autoneg', 'Autonegotiate 802.3x flow control with the link partner (ixgbe: off after probe, so the requested mode applies as is; on asks for full pause).');
export const pauseRx = pauseParam('rx', 'Honour PAUSE frames the link partner sends (rxsim: the partner never sends any).');
export const pauseTx = pauseParam('tx', 'Send PAUSE: XOFF when the RX packet buffer reaches its high water, XON below the low water; ixgbe then clears DROP_EN.');

export const ETHTOOL_KNOBS = [speed, rxUsecs, rxFrames, txFramesIrq, adaptiveRx, ringRx, combined, gro, rxhash, ntuple, indir, hkey, flowHashUdp4, flowHashUdp6, pauseAutoneg, pauseRx, pauseTx];
