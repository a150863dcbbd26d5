import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { didYouMean, InputError } from '../scenario/errors.ts';

/** Set in the child that `--netns` starts, so it reads (and says it read) that namespace. */
export const NETNS_ENV = 'RXSIM_NETNS';

const NETNS_DIR = '/run/netns';

/** The named network namespaces (`ip netns list`). */
function namespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch {
    return [];
  }
}

/**
 * Run this rxsim command again inside network namespace `name` (`ip netns exec` enters it and
 * mounts that namespace's /sys, so /sys/class/net and /proc/sys/net are its own) and exit with its
 * status. `argv` is the command line without --netns.
 */
export function rerunInNetns(name: string, argv: readonly string[], env: Record<string, string> = {}): never {
  const known = namespaces();
  if (!known.includes(name)) {
    throw new InputError(
      `--netns ${name}`,
      `no such network namespace in ${NETNS_DIR} (expected one of ${known.length > 0 ? known.join(', ') : 'none: ip netns add NAME creates one'})${didYouMean(name, known)}`,
    );
  }
  const ip = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p));
  if (!ip) throw new InputError(`--netns ${name}`, 'needs the ip command (iproute2), which is not installed');
  // The script this process was started as (src/cli/rxsim.mjs, or the tsx entry in tests).
  const bin = process.argv[1]!;
  const r = spawnSync(ip, ['netns', 'exec', name, process.execPath, ...(bin.endsWith('.ts') ? ['--import', 'tsx'] : []), bin, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, ...env, [NETNS_ENV]: name },
  });
  process.exit(r.status ?? 70);
}

/** The command line after the subcommand, with `--netns NAME` (or `--netns=NAME`) taken out. */
export function argvWithoutNetns(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a === '--netns') i++;
    else if (!a.startsWith('--netns=')) out.push(a);
  }
  return out;
}
