import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { rxsimIn } from './cli/binary.ts';

/**
 * docs/ci.md is a claim: its GitHub Actions workflow and GitLab job parse, and their `npx rxsim`
 * commands — with the page's command that records the baseline — run as written in a directory
 * laid out as the page says, leaving the JUnit file where the publishing step reads it.
 */
const page = readFileSync(new URL('../docs/ci.md', import.meta.url), 'utf8');
const blocks = (lang: string): string[] => [...page.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

interface GithubWorkflow {
  jobs: Record<string, { steps: { run?: string; uses?: string; with?: Record<string, string>; if?: string }[] }>;
}
interface GitlabJob {
  script: string[];
  artifacts: { when: string; reports: { junit: string } };
}

const yamls = blocks('yaml').map((y) => parse(y) as unknown);
const github = yamls.find((y): y is GithubWorkflow => typeof y === 'object' && y !== null && 'jobs' in y)!;
const gitlab = (yamls.find((y) => typeof y === 'object' && y !== null && 'rxsim' in y) as { rxsim: GitlabJob }).rxsim;

/** `npx rxsim check a b` → ['check', 'a', 'b'] (the page's commands quote nothing). */
const rxsimArgs = (command: string): string[] => command.replace(/^npx rxsim /, '').split(/\s+/);

/** A team's repository: scenarios in rxsim-scenarios/, the baseline beside them. */
function teamRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rxsim-ci-'));
  mkdirSync(join(dir, 'rxsim-scenarios'));
  copyFileSync(new URL('../sim-scenarios/tcp-10g-gro-on.json', import.meta.url), join(dir, 'rxsim-scenarios', 'tcp-10g-gro-on.json'));
  copyFileSync(new URL('../sim-scenarios/rps-backlog-drops.json', import.meta.url), join(dir, 'rxsim-scenarios', 'rps-backlog-drops.json'));
  return dir;
}

describe('docs/ci.md', () => {
  const steps = Object.values(github.jobs)[0]!.steps;
  const record = blocks('sh')
    .flatMap((b) => b.split('\n'))
    .find((l) => l.startsWith('npx rxsim') && l.includes('--update-baseline'))!;

  it('the GitHub workflow and the GitLab job run the same check and publish its JUnit file even when it fails', () => {
    const githubCheck = steps.map((s) => s.run ?? '').find((r) => r.startsWith('npx rxsim check'))!;
    const gitlabCheck = gitlab.script.find((r) => r.startsWith('npx rxsim check'))!;
    expect(githubCheck).toBe(gitlabCheck);
    const out = rxsimArgs(githubCheck)[rxsimArgs(githubCheck).indexOf('--out') + 1];
    const publish = steps.find((s) => s.uses?.startsWith('mikepenz/action-junit-report'))!;
    expect(publish.if).toBe('always()');
    expect(publish.with?.report_paths).toBe(out);
    expect(gitlab.artifacts.reports.junit).toBe(out);
    expect(gitlab.artifacts.when).toBe('always');
  });

  it('the commands run as written: record the baseline, then the CI check passes and writes the JUnit report', async () => {
    const dir = teamRepo();
    const recorded = await rxsimIn(dir, ...rxsimArgs(record));
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(existsSync(join(dir, 'rxsim-baseline.json'))).toBe(true);
    const checkCommand = gitlab.script.find((r) => r.startsWith('npx rxsim check'))!;
    const checked = await rxsimIn(dir, ...rxsimArgs(checkCommand));
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    const junit = readFileSync(join(dir, gitlab.artifacts.reports.junit), 'utf8');
    expect(junit).toMatch(/<testsuite name="baseline tcp-10g-gro-on" tests="\d+" failures="0">/);
    expect(junit).toMatch(/<testsuite name="baseline rps-backlog-drops" tests="\d+" failures="0">/);
    expect(junit).toMatch(/<testcase classname="rps-backlog-drops seed 1" name="packets\.dropped\.backlog &gt; 10000">/);
  }, 120_000);
});
