import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, rxsimIn } from './binary.ts';

/** A long `rxsim run`: progress on a terminal, a clean stop on Ctrl-C, and the same run as without either. */
const scenarios = new URL('../../sim-scenarios/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rxsim-long-'));

/**
 * Wait until a process has used `seconds` of CPU time (Linux: utime + stime in /proc/PID/stat, in
 * USER_HZ = 100 ticks per second), up to 30 s of wall time. A wall-clock wait does not say how far
 * a process got on a loaded machine; CPU time does: by 2 s rxsim has loaded (≈0.3 s compiled, ≈1.5 s
 * through tsx) and is simulating, with its Ctrl-C handler in place.
 */
async function usedCpu(pid: number, seconds: number): Promise<boolean> {
  for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    // Fields after the command name's closing parenthesis: state is the 3rd field, utime the 14th, stime the 15th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    if ((Number(fields[11]) + Number(fields[12])) / 100 >= seconds) return true;
  }
  return false;
}

describe('rxsim run, long', () => {
  it('Ctrl-C stops it cleanly: one line saying where, exit 130, no output file', async () => {
    const out = join(dir, 'never.txt');
    const child = spawn(process.execPath, [BIN, 'run', join(scenarios, 'flood-64b-rss-4-queues.json'), '--duration-ms', '10000', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Ctrl-C once rxsim listens for it: before that, Node's default action would kill it with the
    // signal (no line, no exit 130), which on a loaded machine a fixed wait of 1.5 s did not always avoid.
    expect(await usedCpu(child.pid!, 2)).toBe(true);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^rxsim: interrupted at [\d.]+ ms of 10000 ms simulated; nothing written$/m);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  const script = spawnSync('script', ['--version'], { encoding: 'utf8' });
  it.skipIf(script.status !== 0)(
    'on a terminal, a run longer than two seconds shows its progress on stderr (util-linux script gives it a pty)',
    () => {
      const cmd = `${process.execPath} ${BIN} run ${join(scenarios, 'flood-64b-rss-4-queues.json')} --duration-ms 1500 --out ${join(dir, 'done.txt')}`;
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/rxsim: [\d.]+ ms of 1500 ms simulated \(\d+ %\), \d+ s elapsed, ETA \d+ s/);
      expect(existsSync(join(dir, 'done.txt'))).toBe(true);
    },
    60_000,
  );

  it('the pauses for progress and Ctrl-C change nothing: run gives the digest check gives', async () => {
    const file = join(scenarios, 'seed-lab-iperf3-on-irq-core.json');
    const [run, check] = await Promise.all([rxsimIn(dir, 'run', file, '--json', '--seed', '3'), rxsimIn(dir, 'check', file, '--seed', '3')]);
    const digest = (JSON.parse(run.stdout) as { digest: string }).digest;
    expect(check.stdout).toContain(`digest ${digest.slice(0, 12)}`);
  }, 60_000);
});
