#!/usr/bin/env node
/**
 * `npm run mutate`: mutation testing of the model with StrykerJS (stryker.config.json), then the
 * committed summary (scripts/mutation-summary.mjs). Not part of `npm test` or CI: every mutant
 * reruns the tests that cover it, so a run over every mutated directory takes hours; narrow it.
 *
 *   npm run mutate                                          every file of stryker.config.json
 *   npm run mutate -- --mutate src/kernel/mmu_notifier.ts   one file (Stryker's own option;
 *                                                           comma-separated files or globs)
 *   HMMLAB_MUTATE=src/kernel/hmm.ts npm run mutate          the same through the environment
 *   npm run mutate -- --concurrency 1                       any other option of `stryker run`
 *
 * HMMLAB_MUTATE_TESTS (vitest.mutation.config.ts) replaces the list of test files run.
 * Writes mutation/report.html, mutation/report.json (both ignored by git),
 * mutation/stryker-incremental.json and mutation/summary.json (both committed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const stryker = join(dirname(require.resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');
const report = join(root, 'mutation', 'report.json');

const args = process.argv.slice(2);
const fromEnv = process.env.HMMLAB_MUTATE?.trim();
if (fromEnv && !args.includes('--mutate') && !args.includes('-m')) args.push('--mutate', fromEnv);

const started = Date.now();
const run = spawnSync(process.execPath, [stryker, 'run', ...args], { cwd: root, stdio: 'inherit' });
if (run.error) throw run.error;

// A report from this run (Stryker writes it even when the score is under a threshold).
if (existsSync(report) && statSync(report).mtimeMs >= started) {
  const summary = spawnSync(process.execPath, [join(root, 'scripts', 'mutation-summary.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (summary.status !== 0) process.exit(summary.status ?? 1);
}
process.exit(run.status ?? 1);
