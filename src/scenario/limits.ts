import type { DriverProfile } from '../model/nic/drivers.ts';
import { ValueError } from './errors.ts';

/** INT_MAX: the largest value of a kernel `int` (sysctls and socket options are ints). */
export const INT_MAX = 2 ** 31 - 1;

/**
 * The checks the real tools and drivers apply, shared by scenario validation (which reports a
 * JSON path) and `apply` (which reports the command token). Messages quote the real limit and
 * where it comes from.
 */

/** `ethtool -G rx N`: the ethtool core rejects > max; below min ixgbe clamps, ice rejects; then rounding up. */
export function ringSize(driver: DriverProfile, requested: number): number {
  const r = driver.ring;
  if (requested > r.max) {
    throw new ValueError(`${requested} descriptors is above ${driver.name}'s maximum of ${r.max} (ethtool: "Invalid argument"; ${r.source})`);
  }
  if (requested < r.min && r.belowMin === 'reject') {
    throw new ValueError(`${requested} descriptors is below ${driver.name}'s minimum of ${r.min} (${r.source})`);
  }
  const clamped = Math.max(requested, r.min);
  return Math.ceil(clamped / r.multiple) * r.multiple;
}

/** `ethtool -L combined N`: at most min(online CPUs, driver maximum) (ixgbe_max_channels). */
export function channelCount(driver: DriverProfile, cpus: number, requested: number): number {
  const max = Math.min(cpus, driver.maxQueues);
  if (requested < 1 || requested > max) {
    throw new ValueError(`combined ${requested} is outside 1..${max} (${driver.name} offers at most min(CPUs ${cpus}, ${driver.maxQueues}) queues; ethtool: "Invalid argument")`);
  }
  return requested;
}

export function defaultChannelCount(driver: DriverProfile, cpus: number): number {
  return Math.min(cpus, driver.maxQueues);
}

/** `ethtool -C rx-usecs N`. Returns the value the driver keeps (ice rounds to its 2 µs ITR granularity). */
export function rxUsecs(driver: DriverProfile, requested: number): number {
  const m = driver.moderation;
  if (requested > m.rxUsecsMax) {
    throw new ValueError(`rx-usecs ${requested} is above ${driver.name}'s maximum of ${m.rxUsecsMax} (${m.source}; ethtool: "Invalid argument")`);
  }
  if (m.kind === 'ice-itr') return Math.ceil(requested / m.granularityUs) * m.granularityUs; // ITR_REG_ALIGN (direction UNVERIFIED)
  return requested;
}

/**
 * `ethtool -C tx-frames-irq N` (ixgbe_set_coalesce): sets adapter->tx_work_limit, the TX
 * completions one poll frees; 0 leaves it unchanged. The field is a u16.
 */
export function txFramesIrq(driver: DriverProfile, requested: number): number {
  if (!driver.txFramesIrq) {
    throw new ValueError(`${driver.name} does not support tx-frames-irq (not in its supported_coalesce_params; ethtool: "Operation not supported")`);
  }
  if (requested > 0xffff) throw new ValueError(`tx-frames-irq ${requested} is above 65535: ixgbe keeps tx_work_limit in a u16 (the kernel would truncate it)`);
  return requested === 0 ? driver.txWorkLimit : requested;
}

/** `ethtool -C rx-frames N`: only drivers that list it in supported_coalesce_params. */
export function rxFrames(driver: DriverProfile, requested: number): number {
  if (!driver.moderation.rxFrames) {
    throw new ValueError(`${driver.name} does not support rx-frames (not in its supported_coalesce_params; ethtool: "Operation not supported")`);
  }
  return requested;
}

/** `ethtool -C adaptive-rx on|off`: ice only; ixgbe uses rx-usecs 1 for adaptive. */
export function adaptiveRx(driver: DriverProfile, value: 'on' | 'off'): boolean {
  if (driver.moderation.kind !== 'ice-itr') {
    const hint = driver.name === 'ixgbe' ? ' (ixgbe: use rx-usecs 1 for adaptive moderation)' : '';
    throw new ValueError(`${driver.name} does not support adaptive-rx${hint}; ethtool: "Operation not supported"`);
  }
  return value === 'on';
}

/** `ip link set dev X mtu N`. */
export function mtu(driver: DriverProfile, requested: number): number {
  if (requested < 68) throw new ValueError(`mtu ${requested} is below the minimum of 68 (ETH_MIN_MTU)`);
  if (requested > driver.maxMtu) throw new ValueError(`mtu ${requested} is greater than ${driver.name}'s maximum of ${driver.maxMtu} (ip: "Error: mtu greater than device maximum.")`);
  return requested;
}

/** Every CPU must exist. */
export function existingCpus(cpus: number[], ncpus: number, what: string): number[] {
  const bad = cpus.find((c) => c >= ncpus);
  if (bad !== undefined) throw new ValueError(`${what} names CPU ${bad}, but the scenario has ${ncpus} CPUs (0-${ncpus - 1})`);
  return cpus;
}

/** `rps_flow_cnt` is rounded up to a power of two (store_rps_dev_flow_table_cnt). */
export function rpsFlowCount(requested: number): number {
  if (requested > 2 ** 29) throw new ValueError(`rps_flow_cnt ${requested} is above 2^29 (store_rps_dev_flow_table_cnt: EINVAL)`);
  return requested === 0 ? 0 : 2 ** Math.ceil(Math.log2(requested));
}

/** `ethtool -X hkey`: the key must have exactly the device's length. */
export function rssKey(driver: DriverProfile, bytes: Uint8Array): Uint8Array {
  if (bytes.length !== driver.rssKeyBytes) {
    throw new ValueError(`the key has ${bytes.length} bytes; ${driver.name} takes exactly ${driver.rssKeyBytes}`);
  }
  return bytes;
}

/** `ethtool -X equal N`: N must not exceed the RX queue count. */
export function indirEqual(n: number, queues: number): number {
  if (n < 1 || n > queues) throw new ValueError(`equal ${n} is outside 1..${queues} (the device has ${queues} RX queues)`);
  return n;
}

/** `ethtool -X weight …`: one weight per queue at most, not all zero, total within the table (fill_indir_table). */
export function indirWeights(weights: number[], queues: number, driver: DriverProfile): number[] {
  if (weights.length > queues) throw new ValueError(`${weights.length} weights for ${queues} RX queues`);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) throw new ValueError('at least one weight must be non-zero (ethtool: "At least one weight must be non-zero")');
  if (sum > driver.indirSize) {
    throw new ValueError(`total weight ${sum} exceeds ${driver.name}'s ${driver.indirSize}-entry table (ethtool: "Total weight exceeds the size of the indirection table")`);
  }
  return weights;
}

/** An explicit table must have the driver's size and name existing queues. */
export function indirTable(table: number[], driver: DriverProfile, queues: number): number[] {
  if (table.length !== driver.indirSize) throw new ValueError(`the table has ${table.length} entries; ${driver.name}'s indirection table has ${driver.indirSize}`);
  const bad = table.find((q) => q >= queues);
  if (bad !== undefined) throw new ValueError(`entry ${bad} names a queue that does not exist (${queues} RX queues)`);
  return table;
}
