#!/usr/bin/env node
/* eslint-disable @typescript-eslint/no-require-imports, no-undef -- plain CommonJS, run by the image's HEALTHCHECK */
// The container's health, by what it runs: the starter and the sandbox answer HTTP on their port (`/healthz`,
// `/_fixtures`); the worker has no port, and is healthy while its process runs (it exits when it cannot work).
const { readdirSync, readFileSync } = require('node:fs');

const commands = readdirSync('/proc')
  .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
  .map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return ''; // gone since the listing
    }
  });
/** @param {string} script */
const running = (script) => commands.some((command) => command.includes(script));

const probe = running('dist/src/starter.js')
  ? `http://127.0.0.1:${process.env.PORT || 3000}/healthz`
  : running('dist/src/sandbox/server.js')
    ? `http://127.0.0.1:${process.env.SANDBOX_PORT || 4010}/_fixtures`
    : undefined;

if (probe === undefined) {
  process.exit(running('dist/src/worker.js') ? 0 : 1);
} else {
  fetch(probe, { signal: AbortSignal.timeout(4000) }).then(
    (res) => process.exit(res.ok ? 0 : 1),
    () => process.exit(1),
  );
}
