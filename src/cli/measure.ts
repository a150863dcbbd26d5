import { spawn, type ChildProcess } from 'node:child_process';
import type { Command } from 'commander';
import { didYouMean, InputError } from '../scenario/errors.ts';
import { measuredCsv, measuredSeries, readSample, type MeasureSample } from '../study/measure.ts';
import { nodeHostFs } from './host-fs-node.ts';
import { EXIT_FAILED, writeAtomic } from './io.ts';
import { argvWithoutNetns, rerunInNetns } from './netns.ts';
import { collect, positiveNumber } from './options.ts';

interface MeasureCliOptions {
  dev: string[];
  netns?: string;
  intervalMs: number;
  durationS?: number;
  out?: string;
}

/** Longest measurement without a load command (a forgotten --duration-s should not run for ever). */
const MAX_DURATION_S = 3600;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export function registerMeasure(program: Command): void {
  program
    .command('measure')
    .description("sample this machine's counters (/proc/stat, /proc/interrupts, /proc/softirqs, softnet_stat, snmp/netstat, ethtool -S) while a load runs; write them as rxsim series CSV")
    .option('--dev <ifname>', 'a network device whose interrupts and ethtool -S counters to sample (repeatable; default: every device with a driver behind it)', collect, [])
    .option('--netns <name>', 'measure inside this network namespace (ip netns exec; the load runs there too)')
    .option('--interval-ms <ms>', 'sampling interval', positiveNumber('--interval-ms'), 100)
    .option('--duration-s <s>', 'how long to sample (with a load: at most this long, then the load is stopped; without: required)', positiveNumber('--duration-s'))
    .option('--out <file>', 'write the CSV to a file instead of stdout')
    .argument('[load...]', 'the load command, after --, e.g. -- iperf3 -c 10.0.0.2 -t 5')
    .action(async (load: string[], o: MeasureCliOptions) => {
      if (o.netns !== undefined) {
        const at = process.argv.indexOf('measure');
        rerunInNetns(o.netns, ['measure', ...argvWithoutNetns(process.argv.slice(at + 1))]);
      }
      if (o.intervalMs < 10) throw new InputError(`--interval-ms ${o.intervalMs}`, 'expected at least 10 ms (the counters move in ticks; shorter intervals mostly measure reading them)');
      if (load.length === 0 && o.durationS === undefined) throw new InputError('--duration-s', 'is needed without a load command (e.g. --duration-s 10, or -- <load command>)');
      if ((o.durationS ?? 0) > MAX_DURATION_S) throw new InputError(`--duration-s ${o.durationS}`, `expected at most ${MAX_DURATION_S}`);
      const fs = nodeHostFs(undefined);
      const all = fs.list('/sys/class/net') ?? [];
      for (const d of o.dev) if (!all.includes(d)) throw new InputError(`--dev ${d}`, `no such network device in /sys/class/net (expected one of ${all.join(', ')})${didYouMean(d, all)}`);
      const devs = o.dev.length > 0 ? o.dev : all.filter((d) => fs.link(`/sys/class/net/${d}/device`) !== null);
      const samples: MeasureSample[] = [];
      const t0 = nowMs();
      samples.push(readSample(fs, devs, 0));
      let child: ChildProcess | null = null;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let spawnError: Error | null = null;
      if (load.length > 0) {
        // The load's output goes to stderr: stdout carries the CSV.
        child = spawn(load[0]!, load.slice(1), { stdio: ['ignore', 2, 2] });
        child.on('error', (e) => (spawnError = e));
        child.on('exit', (code, signal) => (exit = { code, signal }));
      }
      const endAt = o.durationS !== undefined ? o.durationS * 1000 : Infinity;
      // Sample on a fixed grid from t0 (a late tick does not shift the later ones); the last
      // sample is taken when the load ends or the duration is up.
      for (let k = 1; ; k++) {
        const target = Math.min(k * o.intervalMs, endAt);
        while (nowMs() - t0 < target && !(child && (exit || spawnError))) await new Promise((r) => setTimeout(r, Math.max(1, Math.min(10, target - (nowMs() - t0)))));
        samples.push(readSample(fs, devs, nowMs() - t0));
        if (spawnError) throw new InputError(`-- ${load[0]}`, `cannot run the load command: ${(spawnError as Error).message}`);
        if ((child && exit) || nowMs() - t0 >= endAt) break;
      }
      if (child && !exit) {
        child.kill('SIGTERM');
        process.stderr.write(`rxsim: measure: --duration-s ${o.durationS} is up: stopped the load (${load.join(' ')})\n`);
      }
      const csv = measuredCsv(measuredSeries(fs, samples));
      if (o.out) writeAtomic(o.out, csv);
      else process.stdout.write(csv);
      const done = exit as { code: number | null; signal: NodeJS.Signals | null } | null;
      if (done && done.code !== 0 && done.code !== null) {
        process.stderr.write(`rxsim: measure: the load exited with status ${done.code}\n`);
        process.exitCode = EXIT_FAILED;
      }
    });
}
