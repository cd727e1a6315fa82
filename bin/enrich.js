#!/usr/bin/env node
/* eslint-disable @typescript-eslint/no-require-imports, no-undef -- a plain CommonJS launcher, run by node before tsx is registered */
// `npx enrich <command>`: the operator CLI. Built (`npm run build`, the image): dist/src/cli/enrich.js with plain
// node; otherwise src/cli/enrich.ts through tsx, like the rest of the project.
const { existsSync } = require('node:fs');
const path = require('node:path');

const built = path.join(__dirname, '..', 'dist', 'src', 'cli', 'enrich.js');
if (existsSync(built)) {
  require(built);
} else {
  require('tsx/cjs/api').register();
  require('../src/cli/enrich.ts');
}
