#!/usr/bin/env node
/**
 * Stryker's JSON report (mutation/report.json, the `json` reporter of stryker.config.json) in
 * short: mutation/summary.json, committed, with per file the mutants killed, survived, timed out
 * and not covered by any test, and the mutation score as Stryker defines it:
 *
 *   score = (killed + timeout) / (killed + timeout + survived + noCoverage), in percent
 *
 * (compile errors, runtime errors and ignored mutants count in neither). The report holds the
 * files mutated this time and, through incremental mode, the results kept for every other file
 * mutated before, so the summary covers every file ever mutated from this incremental file.
 *
 *   node scripts/mutation-summary.mjs [report.json] [summary.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reportPath = process.argv[2] ?? join(root, 'mutation', 'report.json');
const summaryPath = process.argv[3] ?? join(root, 'mutation', 'summary.json');

/** Stryker's mutation score in percent, two decimals; null when no mutant counts. */
function score({ killed, survived, timeout, noCoverage }) {
  const valid = killed + timeout + survived + noCoverage;
  return valid === 0 ? null : Math.round(((killed + timeout) / valid) * 10000) / 100;
}

/** The counts of one file's mutants by Stryker's status. */
export function countMutants(mutants) {
  const c = { killed: 0, survived: 0, timeout: 0, noCoverage: 0 };
  for (const m of mutants) {
    if (m.status === 'Killed') c.killed++;
    else if (m.status === 'Survived') c.survived++;
    else if (m.status === 'Timeout') c.timeout++;
    else if (m.status === 'NoCoverage') c.noCoverage++;
  }
  return c;
}

/** The summary of a mutation-testing-report-schema report: files sorted by path. */
export function summarize(report) {
  const files = {};
  const total = { killed: 0, survived: 0, timeout: 0, noCoverage: 0 };
  for (const path of Object.keys(report.files).sort()) {
    const c = countMutants(report.files[path].mutants);
    files[path] = { ...c, score: score(c) };
    for (const k of Object.keys(total)) total[k] += c[k];
  }
  return { files, score: score(total) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const summary = summarize(report);
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  for (const [path, f] of Object.entries(summary.files)) {
    console.log(
      `${String(f.score ?? '-').padStart(6)}  ${path}  (killed ${f.killed}, timeout ${f.timeout}, survived ${f.survived}, no coverage ${f.noCoverage})`,
    );
  }
  console.log(`${String(summary.score ?? '-').padStart(6)}  all (${summaryPath})`);
}
