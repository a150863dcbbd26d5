/**
 * What `rxsim snapshot` and `rxsim measure` read of a machine, behind one small interface: the
 * CLI serves it from the running machine or from a recorded tree (`--root DIR`), tests from a
 * map of paths. Paths are absolute as on the machine ("/proc/interrupts").
 */
export interface HostFs {
  /** Where it reads, for messages and the scenario's `snapshot.source`: "/" or the recorded directory. */
  readonly source: string;
  /** The text of a file (a .gz file decompressed), or null when it is absent or unreadable. */
  read(path: string): string | null;
  /** The entries of a directory, sorted, or null when it is absent. */
  list(dir: string): string[] | null;
  /** The target of a symbolic link, or null when the path is not one. */
  link(path: string): string | null;
  /**
   * The output of `ethtool <args…> <dev>` (`-n <dev> rx-flow-hash udp4`: args ["-n", "rx-flow-hash", "udp4"],
   * the device goes after the first), or null when ethtool is not installed or the driver does
   * not answer. A recorded tree keeps it in ethtool/<dev>/<args joined by "-">.txt.
   */
  ethtool(dev: string, args: readonly string[]): string | null;
}

/** The file a recorded tree keeps `ethtool <args> <dev>` in, relative to its root. */
export function ethtoolRecordPath(dev: string, args: readonly string[]): string {
  return `ethtool/${dev}/${args.join('-').replace(/^-+/, '').replace(/\s+/g, '-')}.txt`;
}

/** A HostFs over a map of path → text (tests, and the browser if it ever reads a recording). Links are entries "link:" + target. */
export function memoryHostFs(files: Record<string, string>, source = 'memory'): HostFs {
  const norm = (p: string): string => p.replace(/\/+$/, '');
  return {
    source,
    read: (path) => {
      const t = files[norm(path)];
      return t === undefined || t.startsWith('link:') ? null : t;
    },
    list: (dir) => {
      const prefix = `${norm(dir)}/`;
      const names = new Set<string>();
      for (const p of Object.keys(files)) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
      return names.size > 0 ? [...names].sort() : null;
    },
    link: (path) => {
      const t = files[norm(path)];
      return t?.startsWith('link:') ? t.slice(5) : null;
    },
    ethtool: (dev, args) => files[`/${ethtoolRecordPath(dev, args)}`] ?? null,
  };
}
