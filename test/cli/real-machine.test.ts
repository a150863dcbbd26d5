import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSeriesCsv } from '../../src/study/series-csv.ts';
import { expectBadInput, rxsimIn } from './binary.ts';

/**
 * rxsim snapshot, measure and plot from the command line: recorded trees (--root), bad input,
 * and live on this machine — a veth pair between two network namespaces the test creates (and
 * removes, even when a test fails), with a bounded UDP load between its two ends.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOSTS = join(ROOT, 'test/fixtures/hosts');
const LOAD = join(ROOT, 'test/cli/fixtures/veth-load.mjs');
const CHROMIUM = process.env.RXSIM_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.RXSIM_SCREENSHOTS ?? join(tmpdir(), 'rxsim-screenshots');
const dir = mkdtempSync(join(tmpdir(), 'rxsim-real-'));
const rxsim = (...args: string[]) => rxsimIn(dir, ...args);

function ipPath(): string | null {
  return ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? null;
}
const IP = ipPath();
const liveSkip =
  process.platform !== 'linux' ? 'not Linux' : process.getuid?.() !== 0 ? 'not root (network namespaces need CAP_SYS_ADMIN)' : IP === null ? 'the ip command (iproute2) is not installed' : null;
if (liveSkip) console.warn(`rxsim snapshot/measure live tests skipped: ${liveSkip}`);

describe('rxsim snapshot --root, and bad input', () => {
  it('writes a scenario from a recorded tree that rxsim run runs', async () => {
    const out = join(dir, 'lb-07.json');
    const r = await rxsim('snapshot', '--root', join(HOSTS, 'synthetic-ixgbe-16cpu'), '--dev', 'eth2', '--cgroup', 'system.slice/nginx.service', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/eth2 \(ixgbe\), 16 CPUs; \d+ warnings/);
    const s = JSON.parse(readFileSync(out, 'utf8')) as { nics: { ring: { rx: number } }[] };
    expect(s.nics[0]!.ring.rx).toBe(4096);
    const run = await rxsim('run', out, '--duration-ms', '2', '--json');
    expect(run.code, run.stderr).toBe(0);
  });

  it('bad input: one line naming the token, exit 2', async () => {
    const [dev, root, netns, plot, measure] = await Promise.all([
      rxsim('snapshot', '--root', join(HOSTS, 'ci-vm-veth'), '--dev', 'vethh0'),
      rxsim('snapshot', '--root', join(dir, 'nowhere')),
      rxsim('snapshot', '--netns', 'rxsim-no-such-ns'),
      rxsim('plot', LOAD, '--html', join(dir, 'x.html')),
      rxsim('measure', '--dev', 'no-such-dev0', '--duration-s', '1'),
    ]);
    expectBadInput(dev, /^rxsim: --dev vethh0: no such network device in \/sys\/class\/net \(expected one of lo, veth0\) \(did you mean "veth0"\?\)$/m);
    expectBadInput(root, /^rxsim: --root .*nowhere: expected a directory holding a recorded proc\/ and sys\/ tree/);
    expectBadInput(netns, /^rxsim: --netns rxsim-no-such-ns: no such network namespace in \/run\/netns/);
    expectBadInput(plot, /veth-load\.mjs: expected rxsim series CSV with the header time_ms,metric,value/);
    expectBadInput(measure, /^rxsim: --dev no-such-dev0: no such network device in \/sys\/class\/net/);
  });
});

describe.skipIf(process.platform !== 'linux')('live, read only: the initial namespace, with ethtool on PATH', () => {
  it('runs ethtool as `ethtool <option> <dev> [args]` and takes what it prints (a stand-in ethtool logs its calls)', async () => {
    const dev = (readdirSync('/sys/class/net').find((d) => d !== 'lo' && existsSync(`/sys/class/net/${d}/device`)) ?? readdirSync('/sys/class/net').find((d) => d !== 'lo'))!;
    const bin = join(dir, 'fake-ethtool');
    mkdirSync(bin, { recursive: true });
    const log = join(dir, 'ethtool.log');
    writeFileSync(
      join(bin, 'ethtool'),
      `#!/bin/sh
echo "$*" >> ${log}
case "$1" in
  -g) printf 'Ring parameters for %s:\nPre-set maximums:\nRX:\t\t4096\nCurrent hardware settings:\nRX:\t\t256\nTX:\t\t256\n' "$2" ;;
  -n) printf 'UDP over IPV4 flows use these fields for computing Hash flow key:\nIP SA\nIP DA\n\n' ;;
  *) exit 95 ;;
esac
`,
      { mode: 0o755 },
    );
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(ROOT, 'src/cli/rxsim.mjs'), 'snapshot', '--dev', dev], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { nics: { ring: { rx: number }; rss: { 'rx-flow-hash': { udp4: string } } }[] };
    expect(s.nics[0]!.ring.rx).toBe(256);
    expect(s.nics[0]!.rss['rx-flow-hash'].udp4).toBe('sd');
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls).toContain(`-g ${dev}`);
    expect(calls).toContain(`-n ${dev} rx-flow-hash udp4`);
  }, 20_000);
});

describe.skipIf(liveSkip !== null)('live: a veth pair between two network namespaces', () => {
  const tag = `rxs${process.pid % 100000}`;
  const [nsA, nsB, vA, vB] = [`${tag}a`, `${tag}b`, `${tag}va`, `${tag}vb`];
  const ip = (...args: string[]) => execFileSync(IP!, args, { stdio: ['ignore', 'pipe', 'pipe'] });

  beforeAll(() => {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', vA, 'netns', nsA, 'type', 'veth', 'peer', 'name', vB, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', '10.199.0.1/24', 'dev', vA);
    ip('-n', nsB, 'addr', 'add', '10.199.0.2/24', 'dev', vB);
    ip('-n', nsA, 'link', 'set', vA, 'up');
    ip('-n', nsB, 'link', 'set', vB, 'mtu', '4000', 'up');
    ip('netns', 'exec', nsB, 'sh', '-c', `echo 2 > /sys/class/net/${vB}/queues/rx-0/rps_cpus && echo 128 > /sys/class/net/${vB}/queues/rx-0/rps_flow_cnt`);
    // A ring size where ethtool is installed and veth takes it (veth_set_ringparam is absent on older kernels).
    spawnSync('ip', ['netns', 'exec', nsB, 'ethtool', '-G', vB, 'rx', '512'], { stdio: 'ignore' });
  });

  afterAll(() => {
    for (const ns of [nsA, nsB]) spawnSync(IP!, ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('snapshot --netns holds the MTU, rps_cpus and rps_flow_cnt set there (and the ring where ethtool reads it)', async () => {
    const out = join(dir, 'veth.json');
    const r = await rxsim('snapshot', '--netns', nsB, '--dev', vB, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(out, 'utf8')) as {
      snapshot: { source: string; warnings: string[] };
      sysctl: Record<string, number | string>;
      nics: { name: string; mtu: number; ring?: { rx: number }; queues: Record<string, { rps_cpus: string; rps_flow_cnt: number }> }[];
    };
    expect(s.snapshot.source).toBe(`/ (netns ${nsB})`);
    // Global sysctls, hidden in the namespace, come from where rxsim started.
    expect(s.sysctl['net.core.netdev_budget']).toBe(Number(readFileSync('/proc/sys/net/core/netdev_budget', 'utf8')));
    expect(s.nics).toHaveLength(1);
    expect(s.nics[0]).toMatchObject({ name: vB, mtu: 4000, queues: { 'rx-0': { rps_cpus: '2', rps_flow_cnt: 128 } } });
    const ring = s.nics[0]!.ring?.rx;
    if (ring !== undefined) expect(ring).toBe(512);
    else expect(s.snapshot.warnings).toContainEqual(expect.stringMatching(new RegExp(`^${vB}: RX ring size not read`)));
  }, 20_000);

  it('measure samples the counters while a UDP load crosses the pair; plot draws it beside a simulated run', async () => {
    const csv = join(dir, 'measured.csv');
    const count = 20_000;
    const r = await rxsim(
      'measure',
      '--netns',
      nsB,
      '--dev',
      vB,
      '--interval-ms',
      '100',
      '--duration-s',
      '8',
      '--out',
      csv,
      '--',
      process.execPath,
      LOAD,
      'udp',
      '10.199.0.2',
      '9999',
      nsA,
      String(count),
      '1',
    );
    expect(r.code, r.stderr).toBe(0);
    const received = Number(/received (\d+)/.exec(r.stderr)?.[1]);
    expect(received).toBeGreaterThan(count / 2);
    const t = parseSeriesCsv(readFileSync(csv, 'utf8'), csv).metrics;
    const total = (m: string) => {
      const c = t.get(m)!;
      return c.v.reduce((acc, v, i) => acc + (v * (c.t[i]! - (i === 0 ? 0 : c.t[i - 1]!))) / 1000, 0);
    };
    // Per second × interval, summed: about the datagrams the receiver counted (sampling rounds a little).
    expect(total('nstat_per_sec.UdpInDatagrams')).toBeGreaterThan(received * 0.9);
    expect(total('nstat_per_sec.UdpInDatagrams')).toBeLessThan(received * 1.1);
    expect(total('softirqs_per_sec.NET_RX')).toBeGreaterThan(0);
    expect(total(`devices.${vB}.rx_packets_per_sec`)).toBeGreaterThan(received * 0.9);
    // Every interval, each CPU's five shares make 100 % (mpstat's classes).
    const cpus = [...t.keys()].filter((k) => /^cpus\.\d+\.usr$/.test(k)).map((k) => k.split('.')[1]);
    expect(cpus.length).toBeGreaterThan(0);
    for (const c of cpus) {
      const cols = ['usr', 'sys', 'irq', 'soft', 'idle'].map((k) => t.get(`cpus.${c}.${k}`)!.v);
      cols[0]!.forEach((_, i) => expect(cols.reduce((a, col) => a + col[i]!, 0)).toBeCloseTo(100, 0));
    }

    const sim = join(dir, 'simulated.csv');
    const run = await rxsim('run', join(ROOT, 'sim-scenarios/pod-to-pod-veth.json'), '--duration-ms', '20', '--series-ms', '1', '--series-out', sim);
    expect(run.code, run.stderr).toBe(0);
    const html = join(dir, 'plot.html');
    const p = await rxsim('plot', `measured=${csv}`, `simulated=${sim}`, '--html', html);
    expect(p.code, p.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*href=/);
    if (!existsSync(CHROMIUM)) return void console.warn(`plot not rendered: no Chromium at ${CHROMIUM}`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(e.message));
      await tab.goto(`file://${html}`);
      expect(errors).toEqual([]);
      // One chart per metric, the shared ones with a line from each file; a share bar per run and CPU.
      expect(await tab.locator('svg.rate-chart[data-metric="interrupts_per_sec"] path.series').count()).toBe(2);
      expect(await tab.locator('svg.rate-chart[data-metric="nstat_per_sec.UdpInDatagrams"]').count()).toBe(1);
      expect(await tab.locator('g.share-bar').count()).toBe(cpus.length + 4);
      mkdirSync(SHOTS, { recursive: true });
      await tab.screenshot({ path: join(SHOTS, 'plot-measured-simulated.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 40_000);
});

// Keep the scratch directory's files for a look after a failure.
writeFileSync(join(dir, 'README'), 'rxsim real-machine test scratch\n');
