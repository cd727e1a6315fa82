#!/usr/bin/env node
/* eslint-disable @typescript-eslint/no-require-imports, no-undef -- a plain CommonJS launcher, run by node before tsx is registered */
// `npx enrich <command>`: the operator CLI. In a clone, src/cli/enrich.ts through tsx, like the rest of the project
// (never a dist/ older than the sources); where there are no sources or no tsx (the image: production dependencies,
// compiled code only), the build's dist/src/cli/enrich.js on plain node.
const { existsSync } = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', 'src', 'cli', 'enrich.ts');
const built = path.join(__dirname, '..', 'dist', 'src', 'cli', 'enrich.js');

function tsx() {
  try {
    return require('tsx/cjs/api');
  } catch {
    return undefined;
  }
}

const api = existsSync(source) ? tsx() : undefined;
if (api) {
  api.register();
  require(source);
} else if (existsSync(built)) {
  require(built);
} else {
  console.error('enrich: neither the sources with tsx (npm ci) nor a build (npm run build) to run');
  process.exit(1);
}
