#!/usr/bin/env node
/* eslint-disable @typescript-eslint/no-require-imports, no-undef -- a plain CommonJS launcher, run by node before tsx is registered */
// `npx enrich <command>`: the operator CLI (src/cli/enrich.ts), run through tsx like the rest of the project.
require('tsx/cjs/api').register();
require('../src/cli/enrich.ts');
