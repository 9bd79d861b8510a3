/** `hmmlab serve`: the web viewer of the results store on 127.0.0.1 (src/serve). */
import type { Command } from 'commander';
import { DEFAULT_PORT, serveCommand } from '../../serve/index.js';
import { dbOption } from '../common-options.js';
import type { CliContext } from '../context.js';
import { parsePort } from '../options.js';

/** Adds `hmmlab serve` to `program`. */
export function registerServe(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('serve')
    .description(
      'serve the web viewer of stored runs, comparisons, topologies and explorations on 127.0.0.1',
    );
  dbOption(cmd).option('--port <n>', `port (default ${DEFAULT_PORT}; 0 picks a free one)`);
  cmd.action(async (opts: { db?: string; port?: string }) => {
    const port = opts.port === undefined ? undefined : String(parsePort(opts.port));
    ctx.exitCode = await serveCommand({ ...opts, ...(port !== undefined ? { port } : {}) }, ctx.version);
  });
}
