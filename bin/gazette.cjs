#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (dist/bundle/cli.cjs, built by `npm install` through the prepare script) with V8's code
// cache (bin/run-bundle.cjs). When it is missing or older than a source file — while developing — runs the
// TypeScript sources through tsx instead. CommonJS, as the bundle is: an ES module entry costs Node's ES module
// loader ~15 ms more on every run.
const { existsSync, readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = `${path.resolve(__dirname, '..')}${path.sep}`;
const bundle = `${root}dist/bundle/cli.cjs`;
const COMMANDS = new Set(['check', 'build', 'digest', 'send', 'serve', 'start', 'subscribers']);

function fresh() {
  if (!existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  for (const e of readdirSync(`${root}src`, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.ts') && statSync(`${e.parentPath}/${e.name}`).mtimeMs > built) return false;
  }
  return true;
}

if (fresh()) {
  // One code cache per command: each holds what that command compiled.
  const command = process.argv.slice(2).find((a) => COMMANDS.has(a)) ?? 'other';
  require('./run-bundle.cjs').runBundle(bundle, command);
} else {
  import('tsx/esm/api')
    .then(({ register }) => {
      register();
      return import('../src/cli.ts');
    })
    .catch((err) => {
      process.exitCode = 1;
      console.error(err);
    });
}
