// `npm run compile` (and so `npm install`): bundles the CLI and the content worker into dist/bundle/, which
// bin/gazette.js runs; types are checked by `tsc --noEmit`, part of `npm test`.
// Why: Node loads an ES module graph file by file (resolve, open, read, compile each); Gazette's ~40 modules
// plus zod's ~80 made up most of the ~250 ms before a command did any work. One graph in a few files (split
// at the lazy imports, so `build` still never loads SMTP or MJML code) starts ~120 ms sooner.
//
// Not bundled: better-sqlite3 (a native addon) and mjml (large, rarely loaded: its output is cached).
// Bundled CommonJS packages call `require`: the banner gives every chunk one.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts', worker: 'src/content/worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  external: ['better-sqlite3', 'mjml'],
  banner: { js: "import { createRequire as __gazetteRequire } from 'node:module'; const require = __gazetteRequire(import.meta.url);" },
  logLevel: 'warning',
});
