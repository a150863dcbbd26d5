import type { Command } from 'commander';
import { mkdirSync, existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InputError } from '../scenario/errors.ts';
import { SYSCTL_KNOBS } from '../scenario/knobs/sysctl.ts';
import { ethtoolRecordPath, type HostFs } from '../study/host-fs.ts';
import { snapshot } from '../study/snapshot.ts';
import { KEEP, nodeHostFs } from './host-fs-node.ts';
import { writeAtomic } from './io.ts';
import { argvWithoutNetns, NETNS_ENV, rerunInNetns } from './netns.ts';
import { collect } from './options.ts';

/** The sysctls read before entering a namespace, handed to the snapshot inside it (JSON). */
const OUTSIDE_SYSCTLS_ENV = 'RXSIM_OUTSIDE_SYSCTLS';

/** The sysctls rxsim reads, as text, where this process runs. */
function readSysctls(fs: HostFs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const knob of SYSCTL_KNOBS) {
    const t = fs.read(`/proc/sys/${knob.name.replace(/\./g, '/')}`);
    if (t !== null) out[knob.name] = t.trim();
  }
  return out;
}

interface SnapshotCliOptions {
  dev: string[];
  netns?: string;
  root?: string;
  cgroup: string[];
  out?: string;
  record?: string;
}

/** Kernel config lines a snapshot reads; a recording keeps only these. */
const CONFIG_LINES = /^(CONFIG_HZ=|CONFIG_IRQ_TIME_ACCOUNTING=|# CONFIG_IRQ_TIME_ACCOUNTING is not set)/;

/**
 * A HostFs that remembers what it served, so `--record DIR` writes exactly the files a snapshot
 * read (a fixture trimmed by construction): files, links, the entries of listed directories,
 * ethtool's output.
 */
function recording(inner: HostFs): { fs: HostFs; write: (dir: string) => void } {
  const files = new Map<string, string>();
  const links = new Map<string, string>();
  const dirs = new Map<string, string[]>();
  const fs: HostFs = {
    source: inner.source,
    read: (p) => {
      const t = inner.read(p);
      if (t !== null)
        files.set(
          p,
          p.endsWith('config.gz')
            ? `${t
                .split('\n')
                .filter((l) => CONFIG_LINES.test(l))
                .join('\n')}\n`
            : t,
        );
      return t;
    },
    list: (d) => {
      const l = inner.list(d);
      if (l) dirs.set(d, l);
      return l;
    },
    link: (p) => {
      const l = inner.link(p);
      if (l !== null) links.set(p, l);
      return l;
    },
    ethtool: (dev, args) => {
      const t = inner.ethtool(dev, args);
      if (t !== null) files.set(`/${ethtoolRecordPath(dev, args)}`, t);
      return t;
    },
  };
  // A path read through a recorded link goes where the link points in the recording (as in
  // sysfs: /sys/class/net/eth0/device/numa_node is a file of the PCI device's directory).
  const real = (p: string): string => {
    for (let changed = true; changed;) {
      changed = false;
      for (const [l, target] of links) {
        if (p.startsWith(`${l}/`)) {
          p = posix.resolve(posix.dirname(l), target) + p.slice(l.length);
          changed = true;
        }
      }
    }
    return p;
  };
  const write = (dir: string): void => {
    for (const [p, t] of files) {
      const to = join(dir, real(p));
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, p.endsWith('.gz') ? gzipSync(t) : t);
    }
    for (const [p, target] of links) {
      const to = join(dir, real(p));
      mkdirSync(dirname(to), { recursive: true });
      if (!existsSync(to)) symlinkSync(target, to);
    }
    // Listed entries nothing read: empty directories, so the listing reads the same.
    // Listed entries nothing read: empty directories (with a .keep, which git needs and
    // nodeHostFs does not list), so the listing reads the same.
    for (const [d, names] of dirs) {
      for (const n of names) {
        const to = join(dir, real(`${d}/${n}`));
        if (!existsSync(to) && !links.has(`${d}/${n}`)) {
          mkdirSync(to, { recursive: true });
          writeFileSync(join(to, KEEP), '');
        }
      }
    }
  };
  return { fs, write };
}

export function registerSnapshot(program: Command): void {
  program
    .command('snapshot')
    .description('read this machine (/proc, /sys, ethtool) and write it as a scenario; every value not read or not modelled is listed in snapshot.warnings')
    .option('--dev <ifname>', 'a network device to read (repeatable; default: every device with a driver behind it)', collect, [])
    .option('--netns <name>', 'read the devices and sysctls of this network namespace (ip netns exec; needs root)')
    .option('--root <dir>', 'read a recorded tree (proc/, sys/, ethtool/) instead of the running machine')
    .option('--cgroup <path>', 'a cgroup v2 path below /sys/fs/cgroup whose cpuset.cpus, cpu.max and cpu.weight to keep (repeatable)', collect, [])
    .option('--out <file>', 'write the scenario to a file instead of stdout')
    .option('--record <dir>', 'also copy every file the snapshot read into <dir> (a fixture for --root)')
    .action((o: SnapshotCliOptions) => {
      if (o.netns !== undefined) {
        if (o.root !== undefined) throw new InputError(`--netns ${o.netns}`, 'reads a live namespace; it cannot be combined with --root');
        const at = process.argv.indexOf('snapshot');
        rerunInNetns(o.netns, ['snapshot', ...argvWithoutNetns(process.argv.slice(at + 1))], { [OUTSIDE_SYSCTLS_ENV]: JSON.stringify(readSysctls(nodeHostFs(undefined))) });
      }
      if (o.record !== undefined && o.root !== undefined) throw new InputError(`--record ${o.record}`, 'records the running machine; it cannot be combined with --root');
      const netns = process.env[NETNS_ENV];
      const live = nodeHostFs(o.root);
      const rec = o.record !== undefined ? recording(live) : null;
      const outsideSysctls = netns !== undefined ? (JSON.parse(process.env[OUTSIDE_SYSCTLS_ENV] ?? '{}') as Record<string, string>) : {};
      const snap = snapshot(rec ? rec.fs : live, { devs: o.dev, cgroups: o.cgroup, source: o.root ?? (netns ? `/ (netns ${netns})` : '/'), outsideSysctls });
      const text = `${JSON.stringify(snap.scenario, null, 2)}\n`;
      if (rec) {
        if (existsSync(o.record!)) throw new InputError(`--record ${o.record}`, 'already exists: expected a new directory');
        rec.write(o.record!);
      }
      if (o.out) {
        writeAtomic(o.out, text);
        process.stderr.write(`rxsim: ${o.out}: ${snap.loaded.nics.map((n) => `${n.name} (${n.driver})`).join(', ')}, ${snap.loaded.cpus} CPUs; ${snap.warnings.length} warnings (snapshot.warnings)\n`);
      } else process.stdout.write(text);
    });
}
