import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../scenario/errors.ts';
import { ethtoolRecordPath, type HostFs } from '../study/host-fs.ts';

/** The ethtool binary on PATH (or /usr/sbin, /sbin), or null when it is not installed. */
export function findEthtool(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, 'ethtool');
    if (d && existsSync(p)) return p;
  }
  return null;
}

/** The empty file that keeps an empty directory of a recorded tree in git; never listed. */
export const KEEP = '.keep';

function readOrNull(path: string): string | null {
  try {
    const buf = readFileSync(path);
    return path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  } catch {
    return null;
  }
}

/**
 * The machine's files: under `root` ("/" for the running machine, else a tree recorded by
 * scripts/capture-snapshot-root.sh). ethtool runs on the live machine when installed; a recorded
 * tree holds its output in ethtool/<dev>/<args>.txt.
 */
export function nodeHostFs(root: string | undefined): HostFs {
  if (root !== undefined) {
    if (!existsSync(root) || !statSync(root).isDirectory())
      throw new InputError(`--root ${root}`, 'expected a directory holding a recorded proc/ and sys/ tree (scripts/capture-snapshot-root.sh records one)');
    if (!existsSync(join(root, 'sys')) || !existsSync(join(root, 'proc')))
      throw new InputError(`--root ${root}`, 'has no proc/ and sys/: expected a tree recorded by scripts/capture-snapshot-root.sh');
  }
  const at = (p: string): string => (root === undefined ? p : join(root, p));
  const ethtool = root === undefined ? findEthtool() : null;
  return {
    source: root ?? '/',
    read: (p) => readOrNull(at(p)),
    list: (d) => {
      try {
        return readdirSync(at(d))
          .filter((n) => n !== KEEP)
          .sort();
      } catch {
        return null;
      }
    },
    link: (p) => {
      try {
        return readlinkSync(at(p));
      } catch {
        return null;
      }
    },
    ethtool: (dev, args) => {
      if (root !== undefined) return readOrNull(join(root, ethtoolRecordPath(dev, args)));
      if (!ethtool) return null;
      try {
        return execFileSync(ethtool, [args[0]!, dev, ...args.slice(1)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      } catch {
        return null;
      }
    },
  };
}
