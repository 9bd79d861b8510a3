// importSources(): the generator scripts import the TypeScript sources, not dist/, so they need
// no build. Node 20 cannot load .ts itself: under plain `node` the calling script is re-run once
// with `--import tsx` (a dev dependency), and this process exits with the child's status;
// `npx tsx scripts/<script>.mjs` works directly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REEXEC_ENV = 'HMMLAB_SCRIPT_UNDER_TSX';

/**
 * The modules at `specifiers` (URLs, say `new URL('../src/sim/costs.ts', import.meta.url).href`),
 * imported in order; `script` is the caller's import.meta.url, run again under tsx when needed.
 */
export async function importSources(script, specifiers) {
  try {
    const out = [];
    for (const s of specifiers) out.push(await import(s));
    return out;
  } catch (err) {
    if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || process.env[REEXEC_ENV]) throw err;
    const result = spawnSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), fileURLToPath(script), ...process.argv.slice(2)],
      { stdio: 'inherit', env: { ...process.env, [REEXEC_ENV]: '1' } },
    );
    process.exit(result.status ?? 1);
  }
}
