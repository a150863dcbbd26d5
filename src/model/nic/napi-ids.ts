/**
 * NAPI ids (net/core/dev.c: napi_hash_add): the first NAPI gets MIN_NAPI_ID and each next one the
 * next id, so rxsim numbers the NICs' queue NAPIs in order — the first NIC's rx-0, rx-1, …, then
 * the next NIC. The netlink commands (`ynl --family netdev --do napi-set --json '{"id": …}'`) and
 * the napi/<dev>-<id> threads use the same numbers.
 */

/** MIN_NAPI_ID = NR_CPUS + 1 with a distribution's NR_CPUS=8192: napi ids (and napi/<dev>-<id> threads) start here. */
export const MIN_NAPI_ID = 8193;

export interface NapiIdInfo {
  id: number;
  nic: number;
  queue: number;
}

export function numberNapis(queuesPerNic: readonly number[]): NapiIdInfo[] {
  const out: NapiIdInfo[] = [];
  let id = MIN_NAPI_ID;
  queuesPerNic.forEach((queues, nic) => {
    for (let q = 0; q < queues; q++) out.push({ id: id++, nic, queue: q });
  });
  return out;
}
