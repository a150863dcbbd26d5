import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectResult, digestOf } from '../../src/metrics/result.ts';
import { simulate } from '../../src/model/simulate.ts';
import { loadScenario } from '../../src/scenario/load.ts';
import { run } from '../helpers.ts';

describe('determinism', () => {
  const busy = {
    duration_ms: 4,
    nics: [{ name: 'eth0', channels: { combined: 2 } }],
    flows: [
      { name: 'a', proto: 'udp', src: '10.0.0.1:1000-1015', dst: '10.0.0.2:9', rate: '3mpps', size: 'imix', arrival: 'poisson' },
      { name: 'b', proto: 'udp', src: '10.0.0.3:1000', dst: '10.0.0.2:9', rate: '200kpps', size: 'mtu', arrival: 'onoff', burst: 32, gap_us: 100 },
    ],
    apps: [{ name: 'hog', kind: 'cpu-hog', cpus: '1' }],
  };

  it('the same scenario and seed give the same digest', () => {
    expect(run(busy).result.digest).toBe(run(busy).result.digest);
  });

  it('running in slices (the browser reports progress every 0.1 ms) gives the same digest', () => {
    let calls = 0;
    const sliced = run({ ...busy, warmup_ms: 1 }, { onProgress: () => calls++, progressEveryNs: 100_000 }).result.digest;
    expect(calls).toBe(40);
    expect(sliced).toBe(run({ ...busy, warmup_ms: 1 }).result.digest);
    for (const name of ['seed-lab-iperf3-on-irq-core', 'rr-latency-under-flood']) {
      const text = readFileSync(new URL(`../../sim-scenarios/${name}.json`, import.meta.url), 'utf8');
      const s = loadScenario(text, { durationMs: 12 }).resolved;
      expect(collectResult(simulate(s, { onProgress: () => {}, progressEveryNs: 37_000 }), 0).digest, name).toBe(collectResult(simulate(s), 0).digest);
    }
  });

  it('a different seed gives a different digest', () => {
    expect(run({ ...busy, seed: 2 }).result.digest).not.toBe(run(busy).result.digest);
  });

  it('the digest covers the result except wall-clock time', () => {
    const a = run(busy).result;
    expect(digestOf({ ...a, sim: { ...a.sim, wall_ms: a.sim.wall_ms + 123 } })).toBe(a.digest);
    expect(digestOf({ ...a, packets: { ...a.packets, delivered: a.packets.delivered + 1 } })).not.toBe(a.digest);
  });
});

describe('platform neutrality of the engine and the model', () => {
  const root = fileURLToPath(new URL('../../src', import.meta.url));
  // Everything the browser's worker runs: the engine, the model, the scenario loader, the metrics and the tracer.
  const files = ['engine', 'model', 'scenario', 'metrics', 'trace']
    .flatMap((d) => readdirSync(join(root, d), { recursive: true }).map((f) => join(root, d, String(f))))
    .filter((f) => f.endsWith('.ts'));

  it('has files to scan', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(['Math.random', 'Date.now', 'performance.now', "from 'node:", 'from "node:', 'process.', 'document.', 'window.'])('no %s in src/engine, model, scenario, metrics or trace', (needle) => {
    const isComment = (line: string) => /^\s*(\/\/|\/\*|\*)/.test(line);
    const hits = files.filter((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .some((line) => line.includes(needle) && !isComment(line)),
    );
    expect(hits).toEqual([]);
  });
});
