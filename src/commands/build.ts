/**
 * `gazette build`: load → select → feeds, OPML, subscribe page, digest previews → output folder; or, when
 * nothing changed since the last build, nothing (src/output/uptodate.ts) — checked before the code that
 * renders is even loaded.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Context } from './context.js';
import { BUILTIN_TEMPLATES, readTemplate } from '../render/template-files.js';
import { listArticleFiles, type Listed } from '../content/list.js';
import { inputsKey, outputState, readRecord, timeStretch, upToDate, writeRecord } from '../output/uptodate.js';
import { sourcesVersion } from '../code-version.js';
import { phase } from '../timing.js';

export interface BuildOptions {
  strict?: boolean;
}

/**
 * The build's record of what it was made from (src/output/uptodate.ts), one per output folder. Its inputs: the
 * content files (name, size, mtime: as the content cache trusts them), the resolved config and folders, every
 * template, Gazette's sources, MJML's and Node's versions (digest HTML, dates in words), the secret that signs
 * preview links, and --strict.
 */
function recordFile(ctx: Context): string {
  return path.join(ctx.config.paths.cache, `build-${createHash('sha256').update(path.resolve(ctx.outDir)).digest('hex').slice(0, 16)}.json`);
}

/** The inputs other than the article files, read once per build (before the build reads any of them). */
async function fixedInputs(ctx: Context, opts: BuildOptions): Promise<string[]> {
  const templates = await Promise.all(
    readdirSync(BUILTIN_TEMPLATES)
      .sort()
      .map(async (name) => {
        const t = await readTemplate(ctx.config.paths.templates, name);
        return `${name}\0${t.file}\0${t.source}`;
      }),
  );
  const mjml = (createRequire(import.meta.url)('mjml/package.json') as { version: string }).version;
  return [
    sourcesVersion(),
    process.version,
    mjml,
    JSON.stringify(ctx.config),
    path.resolve(ctx.contentDir),
    path.resolve(ctx.outDir),
    createHash('sha256').update(ctx.secrets.secret ?? '').digest('hex'),
    String(Boolean(opts.strict)),
    ...templates,
  ];
}

const buildInputs = (fixed: readonly string[], listing: readonly Listed[]) =>
  inputsKey([...fixed, listing.map((l) => `${l.file}\0${l.size}\0${l.mtimeMs}\n`).join('')]);

export async function buildCommand(ctx: Context, opts: BuildOptions): Promise<void> {
  const started = performance.now();
  phase('start');
  // One instant for the whole build: the record says how long the result holds from it.
  const now = ctx.now();
  const recordPath = recordFile(ctx);
  const record = readRecord(recordPath);
  const fixed = await fixedInputs(ctx, opts);
  let listed: Listed[] | undefined;
  if (record) {
    // Only with a record to compare with: a first build learns sizes and mtimes from reading the files.
    listed = listArticleFiles(ctx.contentDir);
    if (upToDate(record, buildInputs(fixed, listed), now.getTime(), ctx.outDir)) {
      for (const w of record.warnings) ctx.warn(w);
      ctx.log(`content: ${record.files} files in ${ctx.contentDir}: nothing changed since the build of ${record.builtAt}`);
      ctx.log(record.selection);
      ctx.log(`output: 0 files written, ${record.outputs.length} unchanged in ${ctx.outDir}: up to date (${Math.round(performance.now() - started)} ms)`);
      phase('check');
      return;
    }
  }
  const warnings: string[] = [];
  const run: Context = { ...ctx, now: () => now, warn: (line) => (warnings.push(line), ctx.warn(line)) };
  const [{ loadAndSelect }, { buildSite }] = await Promise.all([import('./context.js'), import('./site.js')]);
  const loaded = await loadAndSelect(run, { ...opts, listed });
  const stats = await buildSite(run, loaded);
  ctx.log(`output: ${stats.written} files written, ${stats.unchanged} unchanged in ${ctx.outDir} (${Math.round(performance.now() - started)} ms)`);
  await writeRecord(recordPath, {
    version: 1,
    key: buildInputs(fixed, loaded.load.listing()),
    ...timeStretch(
      loaded.load.articles.map((a) => a.date.getTime()),
      now.getTime(),
      { maxAgeDays: ctx.config.selection.maxAgeDays, windowHours: ctx.config.digest.windowHours },
    ),
    ...outputState(ctx.outDir, stats.paths ?? []),
    files: loaded.load.files,
    warnings,
    selection: loaded.selectionLine,
    builtAt: now.toISOString(),
  }).catch(() => {}); // without a record the next build only does all the work again
}
