import { LLC_GEOMETRY } from '../model/costs.ts';
import type { LlcTopology } from '../model/ddio.ts';
import { InputError, ValueError } from './errors.ts';
import type { Scenario } from './schema.ts';
import { parseCpuList } from './units.ts';

/**
 * The `machine` section: the NUMA nodes (each CPU in exactly one, as
 * /sys/devices/system/node/node<N>/cpulist lists them) and each node's L3 with the ways DDIO may
 * use. What is not given comes from the cost profile's machine (costs.ts: LLC_GEOMETRY).
 */
export function resolveMachine(s: Scenario): LlcTopology {
  const m = s.machine;
  const geometry = LLC_GEOMETRY[s.costs]!;
  const lists = m.numa_nodes ?? [`0-${s.cpus - 1}`];
  const cpuNode = new Array<number>(s.cpus).fill(-1);
  lists.forEach((text, node) => {
    const where = `machine.numa_nodes[${node}]`;
    let cpus: number[];
    try {
      cpus = parseCpuList(text);
    } catch (e) {
      if (e instanceof ValueError) throw new InputError(where, e.message);
      throw e;
    }
    if (cpus.length === 0) throw new InputError(where, `node ${node} has no CPUs (expected a CPU list like "0-3")`);
    for (const c of cpus) {
      if (c >= s.cpus) throw new InputError(where, `CPU ${c} does not exist (the machine has cpus 0-${s.cpus - 1})`);
      if (cpuNode[c] !== -1) throw new InputError(where, `CPU ${c} is already in node ${cpuNode[c]} (a CPU belongs to one node)`);
      cpuNode[c] = node;
    }
  });
  const missing = cpuNode.indexOf(-1);
  if (missing >= 0) throw new InputError('machine.numa_nodes', `CPU ${missing} is in no node (every CPU 0-${s.cpus - 1} belongs to one)`);
  const l3Kb = m.l3_kb ?? geometry.l3Kb;
  const l3Ways = m.l3_ways ?? geometry.l3Ways;
  const ddioWays = m.ddio_ways ?? geometry.ddioWays;
  if (ddioWays > l3Ways) throw new InputError('machine.ddio_ways', `${ddioWays} is more than the L3's ${l3Ways} ways (machine.l3_ways)`);
  return { cpuNode, nodes: lists.length, l3Bytes: l3Kb * 1024, l3Ways, ddioWays };
}
