import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// The package's subpaths (package.json "exports"), as examples/race-driver.ts imports them,
// resolve to the sources in tests, so that tests need no build.
const src = (p: string) => fileURLToPath(new URL(`./src/${p}/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^hmmlab\/kernel$/, replacement: src('kernel') },
      { find: /^hmmlab\/drivers$/, replacement: src('drivers') },
      { find: /^hmmlab\/explore$/, replacement: src('explore') },
      { find: /^hmmlab\/sim$/, replacement: src('sim') },
    ],
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    // Mutation testing's output and its sandboxes (copies of the tests) are never part of the suite.
    exclude: [...configDefaults.exclude, 'mutation/**', '.stryker-tmp/**'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
