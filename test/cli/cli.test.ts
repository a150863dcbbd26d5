import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/metrics/result.ts';
import { scenario } from '../helpers.ts';

const BIN = fileURLToPath(new URL('../../src/cli/rxsim.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rxsim-cli-'));

/** Run the real `rxsim` binary (the compiled build when fresh; `fromSource` forces tsx). */
function rxsim(...args: string[]) {
  return run(false, args);
}

function run(fromSource: boolean, args: string[]) {
  const env = { ...process.env, RXSIM_FROM_SOURCE: fromSource ? '1' : '0' };
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The output of `rxsim run --json`. */
const parseResult = (text: string) => JSON.parse(text) as Result;

function file(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

/** Bad input: exit 2, exactly one line on stderr naming the problem, no stack trace. */
function expectBadInput(r: ReturnType<typeof rxsim>, message: string | RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('rxsim (the real binary)', () => {
  const good = file('good.json', scenario({ duration_ms: 2 }));

  it('runs the TypeScript sources (tsx) and the compiled build alike: the same digest', () => {
    const a = run(true, ['run', good, '--json']);
    const b = run(false, ['run', good, '--json']);
    expect(a.code).toBe(0);
    expect(parseResult(a.stdout).digest).toBe(parseResult(b.stdout).digest);
  });

  it('run prints a report in the layouts of the real tools', () => {
    const r = rxsim('run', good);
    expect(r.code).toBe(0);
    for (const heading of ['$ mpstat -P ALL', '$ cat /proc/interrupts', '$ cat /proc/softirqs', '$ cat /proc/net/softnet_stat', '$ ethtool -S eth0', 'NIC statistics:']) {
      expect(r.stdout).toContain(heading);
    }
    expect(r.stdout).toMatch(/eth0-TxRx-0/);
  });

  it('run --json prints the result with its digest, and --out writes it', () => {
    const r = rxsim('run', good, '--json');
    expect(r.code).toBe(0);
    const result = parseResult(r.stdout);
    expect(result.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(result.packets.offered).toBe(result.packets.delivered + result.packets.in_flight + Object.values(result.packets.dropped).reduce((a, b) => a + b, 0));
    const out = join(dir, 'out.json');
    expect(rxsim('run', good, '--json', '--out', out).code).toBe(0);
    expect(parseResult(readFileSync(out, 'utf8')).digest).toBe(result.digest);
  });

  it('--seed, --duration-ms, --apply and --set change the run', () => {
    const base = parseResult(rxsim('run', good, '--json').stdout);
    const seeded = parseResult(rxsim('run', good, '--json', '--seed', '7').stdout);
    expect(seeded.seed).toBe(7);
    expect(seeded.digest).not.toBe(base.digest);
    const longer = parseResult(rxsim('run', good, '--json', '--duration-ms', '4').stdout);
    expect(longer.sim.simulated_ns).toBe(4_000_000);
    const applied = parseResult(rxsim('run', good, '--json', '--apply', 'ethtool -C eth0 rx-usecs 100').stdout);
    expect(applied.nics[0]!.queues[0]!.itr_usecs).toBe(100);
    const set = parseResult(rxsim('run', good, '--json', '--set', 'nics[0].ring.rx=1024').stdout);
    expect(set.nics[0]!.queues[0]!.ring_size).toBe(1024);
  });

  it('bad input: one line, exit 2, the JSON path or token, the nearest name', () => {
    expectBadInput(rxsim('run', file('typo.json', { ...scenario(), durration_ms: 3 })), /typo\.json: durration_ms: unknown key "durration_ms" \(did you mean "duration_ms"\?\)/);
    expectBadInput(rxsim('run', file('ring.json', scenario({ nics: [{ ring: { rx: 9000 } }] }))), /nics\[0\]\.ring\.rx: 9000 descriptors is above ixgbe's maximum of 4096/);
    expectBadInput(rxsim('run', good, '--apply', 'ethtool -C eth0 rx-usec 100'), /--apply "ethtool -C eth0 rx-usec 100": token "rx-usec": unknown parameter \(did you mean "rx-usecs"\?\)/);
    expectBadInput(rxsim('run', good, '--set', 'nics[0].driver="ixgb"'), /nics\[0\]\.driver: "ixgb" is not one of ixgbe, ice, generic \(did you mean "ixgbe"\?\)/);
    expectBadInput(rxsim('run', file('broken.json', '{"name": "x",')), /broken\.json: line 1, column 14: invalid JSON/);
    expectBadInput(rxsim('run', join(dir, 'missing.json')), /missing\.json: no such scenario file/);
    expectBadInput(rxsim('run', good, '--sed', '3'), /unknown option '--sed' \(did you mean one of --seed, --set\?\)/);
    expectBadInput(rxsim('runn', good), /unknown command 'runn' \(did you mean run\?\)/);
    expectBadInput(rxsim('run', good, '--seed', 'x'), /--seed "x": expected a non-negative integer/);
    expectBadInput(rxsim('rss', '--src', '1.2.3.4', '--dst', '1.2.3.5:80'), /--src "1\.2\.3\.4": .*not an address with a port/);
  });

  it('nothing is half-written: a failing run leaves no output file', () => {
    const out = join(dir, 'never.json');
    expectBadInput(rxsim('run', file('bad2.json', { ...scenario(), cpus: 0 }), '--json', '--out', out), /cpus: 0 is below the minimum 1/);
    expect(existsSync(out)).toBe(false);
  });

  it('check evaluates expectations and exits 1 when one fails', () => {
    const pass = file('pass.json', scenario({ name: 'pass', duration_ms: 2, expect: [{ metric: 'packets.offered', '>': 0 }] }));
    const fail = file(
      'fail.json',
      scenario({
        name: 'fail',
        duration_ms: 2,
        expect: [{ metric: 'packets.offered', '<': 0, why: 'cannot hold' }],
      }),
    );
    const ok = rxsim('check', pass);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/PASS {2}packets\.offered = \d+, expected > 0/);
    const bad = rxsim('check', pass, fail);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL {2}packets\.offered = \d+, expected < 0 {2}— cannot hold/);
    // (A metric the result does not have is bad input now, exit 2: test/cli/check.test.ts.)
    expect(bad.stdout).toMatch(/1\/2 expectations passed in 2 scenarios/);
  });

  it('schema prints the JSON Schema editors use', () => {
    const r = rxsim('schema');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: { nics: { items: { properties: { coalesce: { properties: Record<string, { description: string }> } } } } } };
    expect(schema.properties.nics.items.properties.coalesce.properties['rx-usecs']!.description).toMatch(/EITR/);
  });

  it('rss prints the Toeplitz hash, queue and RPS CPU (Microsoft key)', () => {
    const r = rxsim('rss', '--src', '66.9.149.187:2794', '--dst', '161.142.100.80:1766', '--key-ms', '--queues', '4', '--rps-cpus', 'f');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hash:   0x51ccc178');
    expect(r.stdout).toContain('hash:   0x323e8fc2');
    expect(r.stdout).toContain('hash & 127 = 120 -> rx queue 0 of 4');
    expect(r.stdout).toContain('rps cpu: map[reciprocal_scale(hash, 4) = 1] = CPU 1');
    const v6 = rxsim('rss', '--src', '[3ffe:2501:200:1fff::7]:2794', '--dst', '[3ffe:2501:200:3::1]:1766', '--key-ms');
    expect(v6.stdout).toContain('hash:   0x40207d3d');
    expect(v6.stdout).toContain('hash:   0x2cc18cd5');
  });

  it('trace writes a Perfetto JSON and an ftrace text of the same run, windowed; bad options exit 2', () => {
    const json = join(dir, 'trace.json');
    const r = rxsim('trace', good, '--format', 'perfetto', '--out', json, '--from-ms', '1', '--to-ms', '2');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/trace\.json: \d+ events \(perfetto, poll\); digest [0-9a-f]{64}/);
    const trace = JSON.parse(readFileSync(json, 'utf8')) as { traceEvents: { ts: number; ph: string }[] };
    const timed = trace.traceEvents.filter((e) => e.ph !== 'M');
    expect(timed.length).toBeGreaterThan(10);
    for (const e of timed) expect(e.ts >= 1000 && e.ts < 2000).toBe(true);
    const txt = join(dir, 'trace.txt');
    expect(rxsim('trace', good, '--format', 'ftrace', '--detail', 'packet', '--out', txt).code).toBe(0);
    expect(readFileSync(txt, 'utf8')).toMatch(/netif_receive_skb: dev=eth0 skbaddr=[0-9a-f]{16} len=\d+/);
    expectBadInput(rxsim('trace', good, '--format', 'perfeto', '--out', json), /--format.*perfeto.*perfetto, ftrace/);
    expectBadInput(rxsim('trace', good, '--format', 'ftrace', '--out', json, '--from-ms', '3', '--to-ms', '2'), /--to-ms 2: expected a time after --from-ms 3/);
    expectBadInput(rxsim('trace', good, '--format', 'ftrace'), /--out/);
  });
});
