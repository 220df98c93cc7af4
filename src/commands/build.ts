/**
 * `gazette build`: load → select → feeds, OPML, subscribe page, digest previews → output folder; or, when
 * nothing changed since the last build, nothing (src/output/uptodate.ts) — checked before the code that
 * renders is even loaded.
 */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cacheFileFor, type Context } from './context.js';
import { BUILTIN_TEMPLATES, readTemplate } from '../render/template-files.js';
import { listArticleFiles, type Listed } from '../content/list.js';
import { inputsKey, listingText, outputState, readRecord, sameSetting, timeStretch, writeRecord } from '../output/uptodate.js';
import type { Article } from '../content/article.js';
import { sourcesVersion } from '../code-version.js';
import { phase } from '../timing.js';

export interface BuildOptions {
  strict?: boolean;
}

/** The build's record of what it was made from (src/output/uptodate.ts), one per output folder. */
const recordFile = (ctx: Context) => cacheFileFor(ctx, 'build', ctx.outDir, '.json');

/**
 * The inputs other than the article files (name and stamp — size, mtime, ctime — as the content cache trusts
 * them), read once per build, before the build reads any of them: the resolved config and folders, every
 * template, Gazette's sources and installed dependencies, MJML's and Node's versions (digest HTML, dates in
 * words), the secret that signs preview links, and --strict.
 */
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
    iconVersion(ctx.config.site.icon),
    String(Boolean(opts.strict)),
    ...templates,
  ];
}

const buildInputs = (fixed: string, listing: string) => inputsKey([fixed, listing]);

/** The icon's bytes, hashed: a new picture under the same name is a new build (one that cannot be read, too: it says why). */
function iconVersion(icon: string | undefined): string {
  if (!icon) return '';
  try {
    return createHash('sha256').update(readFileSync(icon)).digest('hex');
  } catch {
    return 'unreadable';
  }
}

export async function buildCommand(ctx: Context, opts: BuildOptions): Promise<void> {
  const started = performance.now();
  phase('start');
  // One instant for the whole build: the record says how long the result holds from it.
  const now = ctx.now();
  const recordPath = recordFile(ctx);
  const record = readRecord(recordPath);
  const fixed = inputsKey(await fixedInputs(ctx, opts));
  const ms = () => Math.round(performance.now() - started);
  let listed: Listed[] | undefined;
  if (record) {
    // Only with a record to compare with: a first build learns the stamps from reading the files.
    listed = listArticleFiles(ctx.contentDir);
    const listing = listingText(listed);
    /** The last build's report, with what this build found instead of its content and output lines. */
    const report = (content: string, output: string) => {
      for (const w of record.warnings) ctx.warn(w);
      ctx.log(`content: ${record.files} files in ${ctx.contentDir}: ${content}`);
      ctx.log(record.selection);
      ctx.log(`output: ${output} (${ms()} ms)`);
    };
    if (sameSetting(record, fixed, now.getTime(), ctx.outDir)) {
      if (record.key === buildInputs(fixed, listing)) {
        report(`nothing changed since the build of ${record.builtAt}`, `0 files written, ${record.outputs.length} unchanged in ${ctx.outDir}: up to date`);
        phase('check');
        if (ctx.config.feeds.hub) await (await import('./site.js')).notifyHub(ctx);
        return;
      }
      const edits = await (await import('./edits.js')).rebuildEdits(ctx, record, listed, listing, now);
      if (edits) {
        const outputs = record.outputs.map(([rel]) => path.join(ctx.outDir, rel));
        const which = edits.edited.length === 1 ? edits.edited[0] : `${edits.edited.length} files`;
        report(
          `${which} edited since the build of ${record.builtAt}, in no field that decides where it goes`,
          `${edits.stats.written} files written, ${outputs.length - edits.stats.written} unchanged in ${ctx.outDir}`,
        );
        phase('edits');
        writeRecord(recordPath, { ...record, key: buildInputs(fixed, edits.listing), listing: edits.listing, ...outputState(ctx.outDir, outputs) });
        await (await import('./site.js')).notifyHub(ctx, edits.stats.changed);
        return;
      }
    }
  }
  const warnings: string[] = [];
  const run: Context = { ...ctx, now: () => now, warn: (line) => (warnings.push(line), ctx.warn(line)) };
  const [{ loadAndSelect }, { buildSite, notifyHub }] = await Promise.all([import('./context.js'), import('./site.js')]);
  const loaded = await loadAndSelect(run, { ...opts, listed });
  const stats = await buildSite(run, loaded);
  ctx.log(`output: ${stats.written} files written, ${stats.unchanged} unchanged${stats.removed ? `, ${stats.removed} removed` : ''} in ${ctx.outDir} (${ms()} ms)`);
  const listing = listingText(loaded.load.listing());
  const files = (articles: readonly Article[]) => articles.map((a) => a.file);
  writeRecord(recordPath, {
    version: 2,
    key: buildInputs(fixed, listing),
    fixed,
    listing,
    feeds: {
      all: files(loaded.selection.all),
      topics: loaded.selection.topics.map((t) => ({ slug: t.topic.slug, name: t.topic.name, description: t.topic.description, files: files(t.articles) })),
    },
    ...timeStretch(
      loaded.load.articles.map((a) => a.date.getTime()),
      now.getTime(),
      { maxAgeDays: ctx.config.selection.maxAgeDays, windowHours: ctx.config.digest.windowHours, timeZone: ctx.config.site.timezone },
    ),
    ...outputState(ctx.outDir, stats.paths ?? []),
    files: loaded.load.files,
    warnings,
    selection: loaded.selectionLine,
    builtAt: now.toISOString(),
  });
  // After the record: the hub's answer is no part of what the build made (nor its warnings).
  await notifyHub(ctx, stats.changed);
}
