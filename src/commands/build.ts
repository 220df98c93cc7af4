/** `gazette build`: load → select → feeds, OPML, subscribe page, digest previews → output folder. */
import path from 'node:path';
import { loadAndSelect, type Context, type Loaded } from './context.js';
import { RENDERER_ID, renderFeeds, siteFrom, type FeedItemView, type FeedSpec, type OutputFile } from '../render/feeds.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pageData, renderPages } from '../render/pages.js';
import { compileTemplate, loadTemplate, readTemplate } from '../render/templates.js';
import { writeAtomic, writeIfChanged, type WriteStats } from '../output/write.js';
import { loadDigestTemplates } from '../render/templates.js';
import { planTopicDigest, writeArchive, writePreview } from './digest.js';
import { phase } from '../timing.js';

export interface BuildOptions {
  strict?: boolean;
}

export async function writeOutput(outDir: string, files: readonly OutputFile[]): Promise<WriteStats> {
  const stats: WriteStats = { written: 0, unchanged: 0 };
  await Promise.all(files.map((f) => writeIfChanged(path.join(outDir, f.path), f.content, stats)));
  return stats;
}

/**
 * What each feed's files were rendered from, kept between builds: a feed whose inputs (site settings, item
 * template, its articles and their file versions) are unchanged and whose files exist is not rendered again.
 */
function manifestFile(ctx: Context): string {
  return path.join(ctx.config.paths.cache, `render-${createHash('sha256').update(path.resolve(ctx.outDir)).digest('hex').slice(0, 16)}.json`);
}

function feedSignature(spec: FeedSpec, base: string, versions: Map<string, string>): string {
  const h = createHash('sha256').update(base).update(`\0${spec.dir}\0${spec.name}\0${spec.title}\0${spec.description}`);
  for (const a of spec.articles) h.update(`\0${a.file}\0${a.id}\0${versions.get(a.file) ?? '?'}`);
  return h.digest('hex');
}

/** Renders and writes everything `build` produces for an already loaded selection. */
export async function buildSite(ctx: Context, loaded: Loaded): Promise<WriteStats> {
  const dir = ctx.config.paths.templates;
  const [itemSource, opml, index] = await Promise.all([
    readTemplate(dir, 'feed-item.hbs'),
    loadTemplate(dir, 'opml.hbs'),
    loadTemplate(dir, 'index.hbs'),
  ]);
  const item = compileTemplate<FeedItemView>(itemSource.source, itemSource.file);
  const site = siteFrom(ctx.config);
  const base = JSON.stringify([RENDERER_ID, site, itemSource.source]);
  const manifestPath = manifestFile(ctx);
  const previous = JSON.parse(await readFile(manifestPath, 'utf8').catch(() => '{}')) as Record<string, string>;
  const manifest: Record<string, string> = {};
  const current = (spec: FeedSpec) => {
    const sig = feedSignature(spec, base, loaded.load.versions);
    manifest[spec.dir] = sig;
    return previous[spec.dir] === sig && ['rss.xml', 'atom.xml', 'feed.json'].every((f) => existsSync(path.join(ctx.outDir, spec.dir, f)));
  };
  const files = [
    ...renderFeeds(loaded.selection, site, { item }, current),
    ...renderPages(pageData(loaded.selection, site, { signup: true, archive: true }), { opml, index }),
  ];
  phase('render');
  const stats = await writeOutput(ctx.outDir, files);
  stats.unchanged += (Object.keys(manifest).length * 3) - files.filter((f) => /\/(rss\.xml|atom\.xml|feed\.json)$/.test(f.path)).length;
  if (JSON.stringify(manifest) !== JSON.stringify(previous)) await writeAtomic(manifestPath, JSON.stringify(manifest));
  phase('write');
  await buildPreviews(ctx, loaded, stats);
  loaded.load.save(); // what planning the previews parsed in full
  phase('previews');
  return stats;
}

/** The latest digest preview of every topic with something new in the digest window, and the archive page. */
export async function buildPreviews(ctx: Context, loaded: Loaded, stats: WriteStats): Promise<number> {
  const since = new Date(ctx.now().getTime() - ctx.config.digest.windowHours * 3_600_000);
  let written = 0;
  // MJML is slow to load: only when some article is new enough to make a digest.
  if (loaded.selection.eligible.some((a) => a.date > since)) {
    const templates = await loadDigestTemplates(ctx.config.paths.templates, ctx.config.paths.cache);
    for (const topic of loaded.topics) {
      const digest = planTopicDigest(ctx, loaded, topic.slug, since, templates);
      if (digest) {
        await writePreview(ctx, digest, topic.slug, templates, stats);
        written++;
      }
    }
  }
  await writeArchive(ctx, new Map(loaded.topics.map((t) => [t.slug, t.name])), stats);
  return written;
}

export async function buildCommand(ctx: Context, opts: BuildOptions): Promise<void> {
  const started = performance.now();
  const loaded = await loadAndSelect(ctx, opts);
  const stats = await buildSite(ctx, loaded);
  ctx.log(`output: ${stats.written} files written, ${stats.unchanged} unchanged in ${ctx.outDir} (${Math.round(performance.now() - started)} ms)`);
}
