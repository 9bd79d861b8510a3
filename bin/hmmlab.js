#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli/main.js (built by `npm run build`, run by `npm install`).
import { main } from '../dist/cli/main.js';

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
