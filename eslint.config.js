// ESLint flat config. `npm run lint` runs it and `prettier --check`. Type-aware (typescript-eslint
// recommendedTypeChecked): the whole repo lints in about 15 s on 2 cores (5 s without types).
// The import-cycle and layering checks that must see type-only imports live in
// test/architecture.test.ts (import-x/no-cycle below skips `import type` by design).
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
import prettierConfig from 'eslint-config-prettier';

/** Node's built-in modules, with and without the `node:` prefix. */
const NODE_ONLY_IN_CLI = 'Only src/cli/ may import Node built-ins: the rest of src/ runs in the browser too, and web/ is the browser.';
const NODE_BUILTINS = {
  patterns: [{ group: ['node:*'], message: NODE_ONLY_IN_CLI }],
  paths: builtinModules.filter((m) => !m.startsWith('_')).map((name) => ({ name, message: NODE_ONLY_IN_CLI })),
};

/** The simulation is deterministic: same scenario and seed, same digest, in Node and in the browser. */
const NONDETERMINISM = [
  { object: 'Math', property: 'random', message: 'Nondeterministic: draw from the seeded RngStream (src/engine/rng.ts).' },
  { object: 'Date', property: 'now', message: 'Wall-clock time: the simulation runs on simulated time (sim.now).' },
  { object: 'performance', property: 'now', message: 'Wall-clock time: only src/cli/ and web/ may time a run.' },
  { object: 'crypto', property: 'getRandomValues', message: 'Nondeterministic: draw from the seeded RngStream (src/engine/rng.ts).' },
  { object: 'crypto', property: 'randomUUID', message: 'Nondeterministic: draw from the seeded RngStream (src/engine/rng.ts).' },
];

/** The model and the engine know no browser: no DOM. */
const DOM_GLOBALS = ['document', 'window', 'navigator', 'location', 'localStorage', 'sessionStorage', 'requestAnimationFrame'].map((name) => ({
  name,
  message: 'src/model/ and src/engine/ run in a Worker and in Node: no DOM.',
}));

/** Directories of the deterministic core (no Node, no wall clock, no randomness). */
const CORE = ['src/engine/**', 'src/model/**', 'src/scenario/**', 'src/metrics/**', 'src/trace/**', 'src/study/**'];

export default defineConfig(
  { ignores: ['build/', 'dist/', 'node_modules/', 'docs/screenshots/', 'test-results/', '.scratch/'] },

  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // As tsc's noUnusedParameters: a leading `_` marks a parameter kept for its signature.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  // JavaScript files (this config, the CLI launcher) are not in tsconfig.json: no type information.
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },

  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js', '.mjs'],
    },
    rules: {
      // Value-import cycles only: the rule always skips `import type` (no option); the full
      // graph, type-only imports included, is checked by test/architecture.test.ts.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },

  {
    files: ['src/**/*.ts', 'web/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-restricted-imports': ['error', NODE_BUILTINS] },
  },
  {
    files: CORE,
    rules: { 'no-restricted-properties': ['error', ...NONDETERMINISM] },
  },
  {
    files: ['src/engine/**', 'src/model/**'],
    rules: { 'no-restricted-globals': ['error', ...DOM_GLOBALS] },
  },
  // d3 passes behaviours as methods (`selection.call(zoom.transform, t)`), which d3 binds itself.
  { files: ['web/**'], rules: { '@typescript-eslint/unbound-method': 'off' } },

  prettierConfig,
);
