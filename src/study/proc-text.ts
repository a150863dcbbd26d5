/**
 * Readers of the text a real machine prints in /proc and `ethtool`, the inverse of
 * src/metrics/procfs.ts: pure functions from text to numbers, so `rxsim snapshot` and
 * `rxsim measure` parse recorded text the same way as live text, and tests feed them recordings.
 */

/** One CPU's line of /proc/stat, in USER_HZ ticks (fs/proc/stat.c: show_stat). */
export interface ProcStatCpu {
  cpu: number;
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/** The per-CPU lines of /proc/stat ("cpuN user nice system idle iowait irq softirq steal guest guest_nice"); the aggregate "cpu" line is left out. */
export function parseProcStat(text: string): ProcStatCpu[] {
  const out: ProcStatCpu[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    out.push({ cpu: Number(m[1]), user: v[0] ?? 0, nice: v[1] ?? 0, system: v[2] ?? 0, idle: v[3] ?? 0, iowait: v[4] ?? 0, irq: v[5] ?? 0, softirq: v[6] ?? 0, steal: v[7] ?? 0 });
  }
  return out;
}

/** A table with CPU columns: /proc/interrupts and /proc/softirqs. */
export interface CpuTable {
  /** CPU number of each column (the header's "CPUn"; offline CPUs have no column). */
  cpus: number[];
  rows: { key: string; counts: number[]; chip: string; name: string }[];
}

/** The header "CPU0 CPU1 …" of a per-CPU table. */
function headerCpus(line: string | undefined): number[] {
  return [...(line ?? '').matchAll(/CPU(\d+)/g)].map((m) => Number(m[1]));
}

/**
 * /proc/interrupts (kernel/irq/proc.c: show_interrupts): per row "N:" (or an architecture label
 * like "NMI:"), one count per CPU column, then for a numbered IRQ the chip, the hwirq and trigger,
 * and the action names ("ixgbe-eth0-TxRx-0"). `name` is the last field of a numbered row (the
 * action); `chip` holds what lies between the counts and the name.
 */
export function parseInterrupts(text: string): CpuTable {
  const lines = text.split('\n');
  const cpus = headerCpus(lines[0]);
  const rows: CpuTable['rows'] = [];
  for (const line of lines.slice(1)) {
    const m = /^\s*([^:\s]+):(.*)$/.exec(line);
    if (!m) continue;
    const fields = m[2]!.trim().split(/\s+/);
    const counts: number[] = [];
    let i = 0;
    while (i < fields.length && counts.length < cpus.length && /^\d+$/.test(fields[i]!)) counts.push(Number(fields[i++]));
    const rest = fields.slice(i);
    const numbered = /^\d+$/.test(m[1]!);
    rows.push({ key: m[1]!, counts, chip: numbered ? rest.slice(0, -1).join(' ') : '', name: numbered ? (rest[rest.length - 1] ?? '') : rest.join(' ') });
  }
  return { cpus, rows };
}

/** /proc/softirqs (fs/proc/softirqs.c: show_softirqs): one row per vector ("NET_RX:") with a count per CPU. */
export function parseSoftirqs(text: string): CpuTable {
  const lines = text.split('\n');
  const cpus = headerCpus(lines[0]);
  const rows: CpuTable['rows'] = [];
  for (const line of lines.slice(1)) {
    const m = /^\s*([A-Z_]+):(.*)$/.exec(line);
    if (!m) continue;
    rows.push({ key: m[1]!, counts: m[2]!.trim().split(/\s+/).filter(Boolean).map(Number), chip: '', name: m[1]! });
  }
  return { cpus, rows };
}

/** One row of /proc/net/softnet_stat (net/core/net-procfs.c: softnet_seq_show). */
export interface SoftnetStatRow {
  processed: number;
  dropped: number;
  time_squeeze: number;
  received_rps: number;
  flow_limit_count: number;
  /** The CPU of the row: column 13 since 5.10; before, the row's position. */
  cpu: number;
}

/** Rows of %08x columns: processed, dropped, time_squeeze, 6 zeros, received_rps, flow_limit_count, backlog length, CPU index, … */
export function parseSoftnetStat(text: string): SoftnetStatRow[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((line, i) => {
      const v = line
        .trim()
        .split(/\s+/)
        .map((h) => parseInt(h, 16));
      return { processed: v[0] ?? 0, dropped: v[1] ?? 0, time_squeeze: v[2] ?? 0, received_rps: v[9] ?? 0, flow_limit_count: v[10] ?? 0, cpu: v.length >= 13 ? v[12]! : i };
    });
}

/**
 * /proc/net/snmp and /proc/net/netstat (net/ipv4/proc.c: snmp_seq_show, netstat_seq_show): pairs
 * of lines, names then values, each starting with the group ("Udp:", "TcpExt:"). Keys are nstat's:
 * the group and the name run together ("UdpInDatagrams", "TcpExtTCPRcvQDrop").
 */
export function parseSnmp(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n').filter((l) => l.includes(':'));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [group, ...names] = lines[i]!.trim().split(/\s+/);
    const [group2, ...values] = lines[i + 1]!.trim().split(/\s+/);
    if (group !== group2 || !group) continue;
    const prefix = group.slice(0, -1);
    names.forEach((n, j) => {
      const v = Number(values[j]);
      if (Number.isFinite(v)) out[`${prefix}${n}`] = v;
    });
  }
  return out;
}

/** `ethtool -S <dev>` (ethtool's do_gnicstats): "NIC statistics:" then "     name: value" lines. */
export function parseEthtoolStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^\s+([^:]+):\s+(-?\d+)\s*$/.exec(line);
    if (m) out[m[1]!.trim()] = Number(m[2]);
  }
  return out;
}

/** Lines "Key: value" (or tab-separated) of `ethtool -i|-a|-k|-c`, in order; a later section's key wins unless `first`. */
export function parseEthtoolFields(text: string, first = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([^:]+?):\s*(.*?)\s*$/.exec(line);
    if (!m || m[2] === '') continue;
    const key = m[1]!.trim();
    if (first && key in out) continue;
    out[key] = m[2]!.replace(/\s*\[fixed\]$/, '');
  }
  return out;
}

/** The "Current hardware settings:" section of `ethtool -g` (rings) or `ethtool -l` (channels): key → number ("RX", "Combined"). */
export function parseEthtoolCurrent(text: string): Record<string, number> {
  const at = text.indexOf('Current hardware settings:');
  const out: Record<string, number> = {};
  if (at < 0) return out;
  for (const line of text.slice(at).split('\n').slice(1)) {
    const m = /^\s*([^:]+):\s*(\S+)/.exec(line);
    if (!m) continue;
    if (/^\d+$/.test(m[2]!)) out[m[1]!.trim()] = Number(m[2]);
  }
  return out;
}

/** `ethtool -c`: "Adaptive RX: on  TX: off" and "rx-usecs: 50" lines. */
export function parseEthtoolCoalesce(text: string): { adaptiveRx?: 'on' | 'off'; values: Record<string, number> } {
  const adaptive = /Adaptive RX:\s*(on|off)/.exec(text);
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z-]+):\s+(\d+)\s*$/.exec(line.trim());
    if (m) values[m[1]!] = Number(m[2]);
  }
  return { ...(adaptive ? { adaptiveRx: adaptive[1] as 'on' | 'off' } : {}), values };
}

/** `ethtool -x`: the indirection table (queue per entry, in entry order) and the hash key ("6d:5a:…"), each null when absent. */
export function parseEthtoolRss(text: string): { indir: number[] | null; hkey: string | null } {
  const indir: number[] = [];
  let hkey: string | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const row = /^\s*(\d+):\s+([\d\s]+)$/.exec(line);
    if (row) indir.push(...row[2]!.trim().split(/\s+/).map(Number));
    if (/^RSS hash key:/.test(line)) {
      const k = (lines[i + 1] ?? '').trim();
      hkey = /^[0-9a-f]{2}(:[0-9a-f]{2})+$/i.test(k) ? k.toLowerCase() : null;
    }
  }
  return { indir: indir.length > 0 ? indir : null, hkey };
}

/** `ethtool -n <dev> rx-flow-hash udp4`: "sdfn" when the hash takes the L4 ports, "sd" for addresses only, null when unreadable. */
export function parseEthtoolFlowHash(text: string): 'sd' | 'sdfn' | null {
  if (!/IP SA/.test(text) || !/IP DA/.test(text)) return null;
  return /L4 bytes 0 & 1/.test(text) && /L4 bytes 2 & 3/.test(text) ? 'sdfn' : 'sd';
}

/** A kernel release ("6.18.44-fc-v857", "5.15.0-91-generic") as [major, minor], or null. */
export function parseKernelRelease(text: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** `CONFIG_NAME=value` of a kernel config (/proc/config.gz, /boot/config-<release>); "n" for "# CONFIG_NAME is not set", null when absent. */
export function kernelConfigValue(config: string, name: string): string | null {
  const m = new RegExp(`^${name}=(.*)$`, 'm').exec(config);
  if (m) return m[1]!;
  return new RegExp(`^# ${name} is not set$`, 'm').test(config) ? 'n' : null;
}
