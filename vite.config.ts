import { defineConfig } from 'vitest/config';

// One config for the browser app (web/) and the test runner.
export default defineConfig({
  root: 'web',
  publicDir: false,
  server: { fs: { allow: ['..'] } },
  build: { outDir: '../dist', emptyOutDir: true },
  worker: { format: 'es' },
  test: {
    root: '.',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
