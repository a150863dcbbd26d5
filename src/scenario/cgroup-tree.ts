/** cgroup v2 paths below /sys/fs/cgroup: a group's parent, and the tree a scenario's groups imply. */

/** The parent of a cgroup path ("kubepods/pod-a" for "kubepods/pod-a/web"), or null below the root. */
export function parentCgroup(name: string): string | null {
  const i = name.lastIndexOf('/');
  return i < 0 ? null : name.slice(0, i);
}

/**
 * Every cgroup of the scenario, parents before children: the ones it names and their ancestors
 * (a group at kubepods/pod-a/web implies kubepods and kubepods/pod-a, with default settings, as
 * mkdir -p would leave them).
 */
export function cgroupTree(declared: Record<string, unknown>): string[] {
  const out: string[] = [];
  const add = (name: string): void => {
    if (out.includes(name)) return;
    const parent = parentCgroup(name);
    if (parent !== null) add(parent);
    out.push(name);
  };
  for (const name of Object.keys(declared)) add(name);
  return out;
}
