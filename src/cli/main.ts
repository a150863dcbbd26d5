import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatReport } from '../metrics/report.ts';
import { seriesCsv } from '../metrics/series.ts';
import { InputError } from '../scenario/errors.ts';
import { knobList, knobTable, spliceKnobTable } from '../scenario/knobs/docs.ts';
import { lessonJsonSchema } from '../lesson/schema.ts';
import { scenarioJsonSchema } from '../scenario/schema.ts';
import { baselineJsonSchema } from '../study/baseline.ts';
import { sweepJsonSchema } from '../study/sweep.ts';
import { toChromeTrace, toFtrace, TraceRecorder, type TraceDetail } from '../trace/index.ts';
import { EXIT_USAGE, fail, readText, writeAtomic } from './io.ts';
import { registerCheck } from './check.ts';
import { registerDiff } from './diff.ts';
import { registerExplain } from './explain.ts';
import { collect, integerOption, nonNegativeNumber, positiveNumber } from './options.ts';
import { runFileInteractive } from './run-file.ts';
import { registerMeasure } from './measure.ts';
import { registerMerge } from './merge.ts';
import { registerPlot } from './plot.ts';
import { rssCommand, type RssOptions } from './rss.ts';
import { registerSnapshot } from './snapshot.ts';
import { registerSweep } from './sweep.ts';
import { registerTune } from './tune.ts';
import { registerValidate } from './validate.ts';
import { registerCalibrate } from './calibrate.ts';

const SCENARIO_DIR = fileURLToPath(new URL('../../sim-scenarios', import.meta.url));

/** The version in package.json (next to src/ and build/). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
}

const program = new Command();
program
  .name('rxsim')
  .description('Deterministic discrete-event simulator of the Linux network receive path')
  .version(packageVersion(), '-V, --version', 'print the version of rxsim')
  .showSuggestionAfterError(true)
  .exitOverride()
  // One line per error: "rxsim: error: unknown option '--sed' (did you mean one of --seed, --set?)".
  .configureOutput({
    writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `rxsim: ${s.replace(/\n\(Did you mean (.*)\)\n?$/s, ' (did you mean $1)\n')}` : s),
  });

program
  .command('run')
  .description('run a scenario and print a report (or the result JSON with --json)')
  .argument('<scenario>', 'scenario file (*.json)')
  .option('--seed <n>', 'override the scenario seed', integerOption('--seed'))
  .option('--duration-ms <ms>', 'override duration_ms', positiveNumber('--duration-ms'))
  .option('--apply <cmd>', 'apply a command after the scenario\'s own (repeatable), e.g. "ethtool -C eth0 rx-usecs 100"', collect, [])
  .option('--set <path=value>', 'set a scenario field before validation (repeatable), e.g. nics[0].ring.rx=1024', collect, [])
  .option('--json', 'print the result JSON instead of the report')
  .option('--out <file>', 'write the output to a file instead of stdout')
  .option('--series-ms <ms>', 'interval of the per-interval series, the steady-state check and the confidence intervals (0: none)', nonNegativeNumber('--series-ms'), 1)
  .option('--series-out <file>', 'write the series as CSV (time_ms,metric,value)')
  .action(async (file: string, o: { seed?: number; durationMs?: number; apply: string[]; set: string[]; json?: boolean; out?: string; seriesMs: number; seriesOut?: string }) => {
    if (o.seriesOut && o.seriesMs === 0) throw new InputError(`--series-out ${o.seriesOut}`, 'needs series: --series-ms must be > 0');
    const { loaded, result } = await runFileInteractive(file, { seed: o.seed, durationMs: o.durationMs, apply: o.apply, set: o.set }, undefined, o.seriesMs);
    const text = o.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result, loaded.resolved.description);
    if (o.seriesOut && result.series) writeAtomic(o.seriesOut, seriesCsv(result.series));
    if (o.out) writeAtomic(o.out, text);
    else process.stdout.write(text);
  });

program
  .command('trace')
  .description('run a scenario while recording a trace; write it for Perfetto (Chrome trace JSON) or as ftrace text')
  .argument('<scenario>', 'scenario file (*.json)')
  .addOption(new Option('--format <format>', 'perfetto (open in ui.perfetto.dev) or ftrace (text, like /sys/kernel/tracing/trace)').choices(['perfetto', 'ftrace']).makeOptionMandatory())
  .requiredOption('--out <file>', 'file to write')
  .addOption(new Option('--detail <level>', 'poll: interrupts, softirqs, polls, scheduling, queues; packet: also netif_receive_skb per skb').choices(['poll', 'packet']).default('poll'))
  .option('--from-ms <ms>', 'keep events from this simulated time', nonNegativeNumber('--from-ms'))
  .option('--to-ms <ms>', 'keep events up to this simulated time', positiveNumber('--to-ms'))
  .option('--buffer <events>', 'events kept (the newest when more happen)', integerOption('--buffer'), 262144)
  .option('--seed <n>', 'override the scenario seed', integerOption('--seed'))
  .option('--duration-ms <ms>', 'override duration_ms', positiveNumber('--duration-ms'))
  .option('--apply <cmd>', "apply a command after the scenario's own (repeatable)", collect, [])
  .action(
    async (
      file: string,
      o: { format: 'perfetto' | 'ftrace'; out: string; detail: TraceDetail; fromMs?: number; toMs?: number; buffer: number; seed?: number; durationMs?: number; apply: string[] },
    ) => {
      if (o.fromMs !== undefined && o.toMs !== undefined && o.toMs <= o.fromMs) throw new InputError(`--to-ms ${o.toMs}`, `expected a time after --from-ms ${o.fromMs}`);
      if (o.buffer < 1) throw new InputError(`--buffer ${o.buffer}`, 'expected at least 1 event');
      const trace = new TraceRecorder({
        detail: o.detail,
        capacity: o.buffer,
        ...(o.fromMs !== undefined ? { fromNs: o.fromMs * 1e6 } : {}),
        ...(o.toMs !== undefined ? { toNs: o.toMs * 1e6 } : {}),
      });
      const { loaded, result } = await runFileInteractive(file, { seed: o.seed, durationMs: o.durationMs, apply: o.apply }, trace);
      const text = o.format === 'perfetto' ? JSON.stringify(toChromeTrace(trace, loaded.resolved.name)) : toFtrace(trace);
      writeAtomic(o.out, text);
      const lost = trace.buf.overwritten;
      process.stderr.write(
        `rxsim: ${o.out}: ${trace.buf.length} events (${o.format}, ${o.detail})${lost ? `; the oldest ${lost} were overwritten (raise --buffer or narrow --from-ms/--to-ms)` : ''}; digest ${result.digest}\n`,
      );
    },
  );

registerCheck(program, SCENARIO_DIR, packageVersion());

program
  .command('schema')
  .description(
    'print the JSON Schema of scenario files (or, with --sweep, of sweep files; with --baseline, of baseline files; with --observations, of rxsim calibrate observations; with --lesson, of lesson files)',
  )
  .option('--out <file>', 'write it to a file')
  .addOption(new Option('--sweep', 'the JSON Schema of sweep files (rxsim sweep)').conflicts(['baseline', 'observations', 'lesson']))
  .addOption(new Option('--baseline', 'the JSON Schema of baseline files (rxsim check --baseline)').conflicts(['observations', 'lesson']))
  .addOption(new Option('--observations', 'the JSON Schema of observations files (rxsim calibrate)').conflicts('lesson'))
  .option('--lesson', 'the JSON Schema of lesson files (lessons/*.json)')
  .action(async (o: { out?: string; sweep?: boolean; baseline?: boolean; observations?: boolean; lesson?: boolean }) => {
    const schema = o.sweep
      ? sweepJsonSchema()
      : o.baseline
        ? baselineJsonSchema()
        : o.observations
          ? (await import('../study/calibrate.ts')).observationsJsonSchema()
          : o.lesson
            ? lessonJsonSchema()
            : scenarioJsonSchema();
    const text = `${JSON.stringify(schema, null, 2)}\n`;
    if (o.out) writeAtomic(o.out, text);
    else process.stdout.write(text);
  });

program
  .command('knobs')
  .description('list every knob: its Linux name, where it lives, type, default, range and the kernel code that reads it')
  .option('--markdown', 'print the README table (markdown)')
  .option('--update <file>', 'rewrite the table between <!-- knobs:begin --> and <!-- knobs:end --> in a file (README.md)')
  .action((o: { markdown?: boolean; update?: string }) => {
    if (o.update) {
      let text: string;
      try {
        text = spliceKnobTable(readText(o.update, 'file'));
      } catch (e) {
        if (e instanceof Error && !(e instanceof InputError)) throw new InputError(o.update, `${e.message}: add them where the table goes`);
        throw e;
      }
      writeAtomic(o.update, text);
      return;
    }
    process.stdout.write(`${o.markdown ? knobTable() : knobList()}\n`);
  });

program
  .command('rss')
  .description('Toeplitz hash, indirection index, RX queue and RPS CPU of a 4-tuple')
  .requiredOption('--src <ip:port>', 'source address and port (IPv6 as [addr]:port)')
  .requiredOption('--dst <ip:port>', 'destination address and port')
  .addOption(new Option('--hkey <hex>', 'RSS key, e.g. 6d:5a:56:…').conflicts('keyMs'))
  .option('--key-ms', "use Microsoft's verification key")
  .option('--seed <n>', 'without a key: the netdev_rss_key a scenario with this seed draws', integerOption('--seed'), 1)
  .option('--queues <n>', 'RX queues (default indirection table i % n)', integerOption('--queues'), 1)
  .option('--indir-size <n>', 'indirection table entries (power of two)', integerOption('--indir-size'), 128)
  .option('--rps-cpus <hexmask>', 'rps_cpus of the queue: also print the RPS CPU')
  .action((o: RssOptions) => {
    process.stdout.write(rssCommand(o));
  });

registerSweep(program);
registerTune(program, fail);
registerMerge(program);
registerDiff(program);
registerExplain(program);
registerSnapshot(program);
registerMeasure(program);
registerPlot(program);
registerValidate(program);
registerCalibrate(program, packageVersion());

try {
  if (process.argv.length <= 2) {
    program.outputHelp();
    process.exit(EXIT_USAGE);
  }
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : EXIT_USAGE);
  }
  fail(e);
}
