// The tests Stryker runs against mutants (stryker.config.json, `npm run mutate`): the unit tests of
// the model's layers and the kernel's selftests, without the browser, the command line (it runs
// the built dist/, never the mutated sources), the store and the 45-second model property, which
// would multiply the time of every surviving mutant. HMMLAB_MUTATE_TESTS (comma-separated globs)
// replaces the list, e.g. HMMLAB_MUTATE_TESTS=src/kernel/**/*.test.ts,test/property/**/*.test.ts.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

const fromEnv = process.env.HMMLAB_MUTATE_TESTS?.split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include:
      fromEnv && fromEnv.length > 0
        ? fromEnv
        : ['src/{kernel,designs,drivers,check,explore,sim,uapi}/**/*.test.ts', 'test/conformance/**/*.test.ts'],
  },
});
