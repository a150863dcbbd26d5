import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectBadInput, rxsimIn } from '../cli/binary.ts';

/** `rxsim check` on lesson files: bad input is one line and exit 2 before any run; a contradicted claim is exit 1. */
const dir = mkdtempSync(join(tmpdir(), 'rxsim-lesson-'));

function lesson(name: string, steps: unknown[]): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify({ name, title: name, summary: 's', steps }));
  return p;
}
const step = (over: Record<string, unknown>) => ({ title: 't', at_ms: 6, views: ['path'], stages: ['irq'], question: 'q?', explanation: 'e.', expect: [], ...over });

describe('rxsim check lessons', () => {
  it('refuses a misspelt scenario or metric with its JSON path and nearest name (exit 2, nothing run)', async () => {
    const scen = lesson('scen', [step({ scenario: 'rr-latency-idel', expect: [{ metric: 'interrupts.total', '>': 0 }] })]);
    expectBadInput(await rxsimIn(dir, 'check', scen), /scen\.json: steps\[0\]\.scenario: "rr-latency-idel" is not a shipped scenario \(did you mean "rr-latency-idle"\?\)/);
    const metric = lesson('metric', [step({ scenario: 'rr-latency-idle', expect: [{ metric: 'interrupts.totl', '>': 0 }] })]);
    expectBadInput(await rxsimIn(dir, 'check', metric), /metric\.json: steps\[0\]\.expect\[0\]\.metric "interrupts\.totl": .*did you mean "interrupts\.total"/);
    const withBaseline = lesson('b', [step({ scenario: 'rr-latency-idle', expect: [{ metric: 'interrupts.total', '>': 0 }] })]);
    expectBadInput(await rxsimIn(dir, 'check', withBaseline, '--apply', 'sysctl -w net.core.netdev_budget=600'), /--apply with .*b\.json: lessons are checked against their own steps' claims/);
  });

  it('checks each step against its run: exit 0 when every claim holds, 1 when one contradicts it', async () => {
    const good = lesson('good', [
      step({ scenario: 'rr-latency-idle', expect: [{ metric: 'rr[client].transactions_per_sec', '>=': 60000, why: 'w' }] }),
      step({ at_ms: undefined, at_event: { tracepoint: 'irq_handler_entry', contains: 'name=eth0' }, expect: [{ metric: 'step.at_ms', within: [5, 5.2], why: 'w' }] }),
    ]);
    const ok = await rxsimIn(dir, 'check', good, '--seed', '1');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/good step 2 .*\n {2}PASS {2}step\.at_ms = 5\.\d+, expected within \[5, 5\.2\]/);
    expect(ok.stdout).toMatch(/2\/2 expectations passed in 1 lesson \(2 steps\)/);
    const bad = lesson('bad', [step({ scenario: 'rr-latency-idle', expect: [{ metric: 'rr[client].transactions_per_sec', '>=': 600000, why: 'ten times too many' }] })]);
    const r = await rxsimIn(dir, 'check', bad, '--seed', '1');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL {2}rr\[client\]\.transactions_per_sec/);
  }, 120_000);
});
