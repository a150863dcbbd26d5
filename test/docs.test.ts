import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectResult } from '../src/metrics/result.ts';
import { COST_KEYS } from '../src/model/costs.ts';
import { knobTable, knobTableIn } from '../src/scenario/knobs/docs.ts';
import { simulate } from '../src/model/simulate.ts';
import { APP_KINDS } from '../src/scenario/schema.ts';
import { loadScenarioObject } from '../src/scenario/load.ts';

/** The README is the reference: it must name what the code has. */
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('lists every cost a scenario may override', () => {
    const costs = readme.slice(readme.indexOf('## Costs'), readme.indexOf('## Scenarios'));
    expect(COST_KEYS.filter((key) => !costs.includes(`\`${key}\``))).toEqual([]);
  });

  it('names every scenario in sim-scenarios/', () => {
    const files = readdirSync(new URL('../sim-scenarios/', import.meta.url)).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace(/\.json$/, '')).filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  it('describes every top-level key of the result', () => {
    const { resolved } = loadScenarioObject({ name: 'docs', duration_ms: 1, nics: [{ name: 'eth0' }] });
    const keys = Object.keys(collectResult(simulate(resolved), 0));
    const table = readme.slice(readme.indexOf('## Result format'), readme.indexOf('## Costs'));
    expect(keys.filter((key) => !table.includes(`\`${key}\``) && !table.includes(`\`${key}[]\``))).toEqual([]);
  });

  it('names every app kind', () => {
    expect(APP_KINDS.filter((kind) => !readme.includes(`\`${kind}\``))).toEqual([]);
  });

  it('shows the knob table the registry generates (npm run docs:knobs rewrites it)', () => {
    expect(knobTableIn(readme), 'the knob table in README.md is stale: run npm run docs:knobs').toBe(knobTable());
  });
});
