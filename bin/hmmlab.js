#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli/main.js (built by `npm run build`, run by `npm install`).
import { main } from '../dist/cli/main.js';

// Output piped into a reader that stops early (`hmmlab runs | head`): stop quietly, as
// command-line tools do on SIGPIPE, instead of failing with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // A bug in hmmlab itself, never bad input (bad input returns exit code 2 with a message).
    console.error(err);
    process.exitCode = 70;
  },
);
