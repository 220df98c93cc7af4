#!/usr/bin/env node
// Runs the compiled CLI (dist/bundle/cli.cjs, built by `npm install` through the prepare script) with V8's code
// cache (bin/run-bundle.cjs). When it is missing or older than a source file — while developing — runs the
// TypeScript sources through tsx instead.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
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
  createRequire(import.meta.url)('./run-bundle.cjs').runBundle(bundle, command);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
