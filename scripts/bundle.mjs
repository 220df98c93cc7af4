// `npm run compile` (and so `npm install`): bundles the CLI and the content worker into dist/bundle/cli.cjs and
// dist/bundle/worker.cjs, which bin/gazette.cjs runs (through bin/run-bundle.cjs); types are checked by
// `tsc --noEmit`, part of `npm test`.
// Why: Node loads an ES module graph file by file (resolve, open, read, compile each); Gazette's ~40 modules
// plus zod's ~80 made up most of the ~250 ms before a command did any work. One file starts ~120 ms sooner.
// Why CommonJS: a script (unlike an ES module, on Node 20) can be compiled with V8's code cache, which
// bin/run-bundle.cjs keeps beside the bundle: the next run skips parsing and compiling (~90 ms more).
// The lazy imports stay lazy: esbuild keeps each lazily imported module's code in a function that runs on
// first import, so `build` still never runs SMTP or MJML code.
//
// Not bundled: better-sqlite3 (a native addon) and mjml (large, rarely loaded: its output is cached).
// `import.meta.url` (used to find the package root and to `require` those two) becomes the bundle's own URL.
import { build, transform } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
/**
 * gray-matter requires its own js-yaml 3 only to bind it as its default YAML engine, which Gazette always
 * replaces (src/content/parse.ts): it gets Gazette's js-yaml 4 instead, loaded anyway, and the bundle loses
 * js-yaml 3 (~10 ms of module setup on every run that parses an article).
 */
const grayMatterYaml = {
  name: 'gray-matter-yaml',
  setup(b) {
    b.onResolve({ filter: /^js-yaml$/ }, (args) =>
      // The module Gazette's own `import … from 'js-yaml'` gets (its ES module build), not a second copy.
      /[\\/]gray-matter[\\/]/.test(args.importer) ? b.resolve('js-yaml', { kind: 'import-statement', resolveDir: root }) : undefined,
    );
  },
};
// Also drops the code caches of the previous bundle (bin/run-bundle.cjs keeps them in dist/bundle/v8-cache).
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts', worker: 'src/content/worker.ts' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'mjml'],
  define: { 'import.meta.url': '__gazetteBundleUrl' },
  plugins: [grayMatterYaml],
  banner: { js: "const __gazetteBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

/**
 * Leaves the bundles ASCII-only. esbuild escapes every non-ASCII character of strings, regular expressions and
 * names, but keeps comments as they are (dependencies' comments hold dashes, quotes, examples in other
 * scripts): one such character makes Node decode the whole file as two-byte text, ~15 ms at every start of the
 * CLI and of the content worker, where ASCII-only text takes ~4 ms (and V8 keeps it at one byte a character).
 * They are replaced in the comments; esbuild's own reading of both texts, comments stripped, must be the same.
 */
for (const name of ['cli.cjs', 'worker.cjs']) {
  const file = `${outdir}/${name}`;
  const text = readFileSync(file, 'utf8');
  // A line or paragraph separator ends a `//` comment: kept a line end.
  const ascii = text.replace(/[\u2028\u2029]/g, '\n').replace(/[^\x00-\x7f]/g, '?');
  if (ascii === text) continue;
  const code = async (source) => (await transform(source, { minifyWhitespace: true, legalComments: 'none', format: 'cjs', target: 'node20' })).code;
  if ((await code(ascii)) !== (await code(text))) throw new Error(`${file}: non-ASCII text outside comments; not rewritten`);
  writeFileSync(file, ascii);
}
