/** `gazette build`: load → select → feeds, OPML, subscribe page, digest previews → output folder. */
import path from 'node:path';
import { loadAndSelect, type Context, type Loaded } from './context.js';
import { renderFeeds, siteFrom, type OutputFile } from '../render/feeds.js';
import { pageData, renderPages } from '../render/pages.js';
import { loadTemplate } from '../render/templates.js';
import { writeIfChanged, type WriteStats } from '../output/write.js';
import { loadDigestTemplates } from '../render/templates.js';
import { planTopicDigest, writeArchive, writePreview } from './digest.js';

export interface BuildOptions {
  strict?: boolean;
}

export async function writeOutput(outDir: string, files: readonly OutputFile[]): Promise<WriteStats> {
  const stats: WriteStats = { written: 0, unchanged: 0 };
  await Promise.all(files.map((f) => writeIfChanged(path.join(outDir, f.path), f.content, stats)));
  return stats;
}

/** Renders and writes everything `build` produces for an already loaded selection. */
export async function buildSite(ctx: Context, loaded: Loaded): Promise<WriteStats> {
  const dir = ctx.config.paths.templates;
  const [item, opml, index] = await Promise.all([
    loadTemplate(dir, 'feed-item.hbs'),
    loadTemplate(dir, 'opml.hbs'),
    loadTemplate(dir, 'index.hbs'),
  ]);
  const site = siteFrom(ctx.config);
  const files = [
    ...renderFeeds(loaded.selection, site, { item }),
    ...renderPages(pageData(loaded.selection, site, { signup: true, archive: true }), { opml, index }),
  ];
  const stats = await writeOutput(ctx.outDir, files);
  await buildPreviews(ctx, loaded, stats);
  return stats;
}

/** The latest digest preview of every topic with something new in the digest window, and the archive page. */
export async function buildPreviews(ctx: Context, loaded: Loaded, stats: WriteStats): Promise<number> {
  const since = new Date(ctx.now().getTime() - ctx.config.digest.windowHours * 3_600_000);
  let written = 0;
  // MJML is slow to load: only when some article is new enough to make a digest.
  if (loaded.selection.eligible.some((a) => a.date > since)) {
    const templates = await loadDigestTemplates(ctx.config.paths.templates);
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
