/** Rendering and writing what `build` (and `start`'s rebuilds) produce, for an already loaded selection. */
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cacheFileFor, cacheNotWritten, hubPendingFile, readHubPending, readStringList, type Context, type Loaded } from './context.js';
import { absolute, FEED_FILE, iconFileName, RENDERER_ID, renderFeeds, siteFrom, type FeedItemView, type FeedSelection, type FeedSpec, type OutputFile, type Resplice } from '../render/feeds.js';
import { pageData, renderPages } from '../render/pages.js';
import { compileTemplate, loadTemplate, readTemplate } from '../render/templates.js';
import { writeAtomic, writeIfChanged, type WriteStats } from '../output/write.js';
import { loadDigestTemplates } from '../render/templates.js';
import { readerSchedules } from '../config/schema.js';
import { publishToHub } from '../deliver/websub.js';
import { ConfigError } from '../errors.js';
import { issueSummary, planTopicDigest, writeArchive, writePreview, type IssueSummary } from './digest.js';
import { phase } from '../timing.js';
import { fileVersion } from '../content/articles.js';
import type { Article } from '../content/article.js';

/** Writes the files that changed. */
export function writeOutput(outDir: string, files: readonly OutputFile[]): WriteStats {
  const stats: WriteStats = { written: 0, unchanged: 0, paths: [], changed: [] };
  for (const f of files) writeIfChanged(path.join(outDir, f.path), f.content, stats);
  return stats;
}

/**
 * What each feed's files were rendered from, kept between builds: a feed whose inputs (site settings, item
 * template, its articles and their file versions) are unchanged and whose files are as that build left them
 * (size and mtime) is not rendered again.
 */
const manifestFile = (ctx: Context) => cacheFileFor(ctx, 'render', ctx.outDir, '.json');

/** Whether a URL's host is this machine (localhost, 127.0.0.0/8, ::1). */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
}

/**
 * With `feeds.hub` set: tells the hub of the feeds among `written` (files a build wrote, their bytes changed) and
 * of those an earlier build could not tell it of. A hub that does not take them is a warning, not a failed
 * build: feed readers still see the change at their next poll, and the next build (an "up to date" one too)
 * tries those feeds again.
 */
export async function notifyHub(ctx: Context, written: readonly string[] = []): Promise<void> {
  const site = siteFrom(ctx.config);
  const hub = site.hub;
  if (!hub) return;
  if (isLoopback(site.baseUrl) && !isLoopback(hub)) {
    // The hub would fetch the feeds from this machine's own address, which only this machine reaches.
    ctx.warn(`websub: not telling ${hub}: the feeds are at ${site.baseUrl}, an address only this machine reaches (set site.baseUrl to where readers get them)`);
    return;
  }
  const file = hubPendingFile(ctx);
  const pending = readHubPending(ctx);
  const changed = written.map((f) => path.relative(ctx.outDir, f).split(path.sep).join('/')).filter((rel) => FEED_FILE.test(rel));
  const urls = [...new Set([...pending, ...changed.map((rel) => absolute(site, rel))])];
  if (urls.length === 0) return;
  const failed = await publishToHub(hub, urls);
  try {
    if (failed.length > 0) writeAtomic(file, JSON.stringify(failed.map((f) => f.url)));
    else if (pending.length > 0) rmSync(file, { force: true });
  } catch (err) {
    ctx.warn(cacheNotWritten(file, err));
  }
  const feeds = (n: number) => `${n} feed${n === 1 ? '' : 's'}`;
  const held = pending.length > 0 ? ` (${pending.length} of them held over from an earlier build)` : '';
  if (failed.length === 0) ctx.log(`websub: told ${hub} of ${feeds(urls.length)} changed${held}`);
  else {
    const first = failed[0]!;
    ctx.warn(`websub: ${hub} did not take ${failed.length} of ${feeds(urls.length)} (${first.url}: ${first.reason}); readers see them at their next poll, and the next build tells the hub again`);
  }
}

/** The feed folders (`topics/<slug>`) a build removed and none has made again since: the server answers 410 Gone for them. */
export const goneFeedsFile = (ctx: Context) => cacheFileFor(ctx, 'gone', ctx.outDir, '.json');

/** `site.icon`, copied into the output folder as icon.<ext>; a file that cannot be read fails the build, naming it. */
export function siteIcon(ctx: Context): OutputFile[] {
  const icon = ctx.config.site.icon;
  if (!icon) return [];
  try {
    return [{ path: iconFileName(icon), content: readFileSync(icon) }];
  } catch (err) {
    throw new ConfigError(`site.icon: cannot read ${icon}`, { cause: err });
  }
}

/** The removed feed folders `goneFeedsFile` lists (none when it is missing or unreadable). */
export const readGoneFeeds = readStringList;

function feedSignature(spec: FeedSpec, base: string, versionOf: (a: Article) => string | undefined): string {
  const h = createHash('sha256').update(base).update(`\0${spec.dir}\0${spec.name}\0${spec.title}\0${spec.description}`);
  for (const a of spec.articles) h.update(`\0${a.file}\0${a.id}\0${versionOf(a) ?? '?'}`);
  return h.digest('hex');
}

/** What a rebuild after edits knows of the last build: the edited files, and every article's file version then. */
export interface BeforeEdits {
  edited: ReadonlySet<string>;
  versionOf: (a: Article) => string | undefined;
}

/**
 * The feeds of `selection` whose inputs changed since they were written (the feed manifest): their files, and
 * `done`, to call once everything is written, which counts the feeds left as they were, removes those the last
 * build wrote and this one does not make, and keeps the manifest.
 * `versionOf`: the stamp of an article's file (`stampText`). With `before` (a rebuild after edits that moved no article),
 * a feed that the last build wrote for the same articles — as the manifest and its files show — gets only
 * the edited articles' items rendered again, in place of the old ones.
 */
export async function changedFeeds(
  ctx: Context,
  selection: FeedSelection,
  versionOf: (a: Article) => string | undefined,
  before?: BeforeEdits,
): Promise<{ files: OutputFile[]; done(stats: WriteStats): Promise<void> }> {
  const itemSource = await readTemplate(ctx.config.paths.templates, 'feed-item.hbs');
  const item = compileTemplate<FeedItemView>(itemSource.source, itemSource.file);
  const site = siteFrom(ctx.config);
  const base = JSON.stringify([RENDERER_ID, site, itemSource.source]);
  const manifestPath = manifestFile(ctx);
  const previous = JSON.parse(await readFile(manifestPath, 'utf8').catch(() => '{}')) as Record<string, string>;
  const feedFiles = (dir: string) => ['rss.xml', 'atom.xml', 'feed.json'].map((f) => path.join(ctx.outDir, dir, f));
  /** The feed's files as they are: a file deleted or changed by hand since the last build is written again. */
  const fileState = (dir: string) =>
    feedFiles(dir)
      .map((f) => statSync(f, { throwIfNoEntry: false }))
      .map((st) => (st ? `${st.size}/${st.mtimeMs}` : '-'))
      .join(',');
  const signatures = new Map<string, string>();
  /** Files of the feeds found current (not rendered again). */
  const kept: string[] = [];
  const current = (spec: FeedSpec) => {
    const sig = feedSignature(spec, base, versionOf);
    signatures.set(spec.dir, sig);
    const ok = previous[spec.dir] === `${sig} ${fileState(spec.dir)}`;
    if (ok) kept.push(...feedFiles(spec.dir));
    return ok;
  };
  const resplice = (spec: FeedSpec): Resplice | null => {
    if (!before) return null;
    // Written by the last build for these articles, as they were then, and not touched since.
    if (previous[spec.dir] !== `${feedSignature(spec, base, before.versionOf)} ${fileState(spec.dir)}`) return null;
    const changed = new Set(spec.articles.filter((a) => before.edited.has(a.file)));
    if (changed.size === 0) return null;
    try {
      const [rss, atom, json] = feedFiles(spec.dir).map((f) => readFileSync(f, 'utf8')) as [string, string, string];
      return { old: { rss, atom, json }, changed };
    } catch {
      return null;
    }
  };
  const files = renderFeeds(selection, site, { item }, { skip: current, resplice });
  /** A file of the cache folder, written if it can be: without it the next build only does more work. */
  const keep = (file: string, text: string) => {
    try {
      writeAtomic(file, text);
    } catch (err) {
      ctx.warn(cacheNotWritten(file, err));
    }
  };
  /**
   * A feed the last build wrote and this one does not make (its topic is named by no article any more): its
   * files go, as a build into an empty folder would not have them — left, they would show their last items
   * forever, a deleted or unpublished article among them. Files changed by hand since are left. Either way it
   * joins the list of removed feeds the server answers 410 Gone for; a feed made again leaves it.
   */
  const removeVanished = (stats: WriteStats) => {
    const goneFile = goneFeedsFile(ctx);
    const was = readGoneFeeds(goneFile).sort();
    const gone = new Set(was.filter((d) => !signatures.has(d)));
    for (const [d, entry] of Object.entries(previous)) {
      if (signatures.has(d)) continue;
      gone.add(d);
      if (entry.slice(entry.indexOf(' ') + 1) !== fileState(d)) {
        ctx.warn(`${path.join(ctx.outDir, d)}: the feed of a topic no article names any more, changed since Gazette wrote it: left as it is`);
        continue;
      }
      for (const f of feedFiles(d)) {
        rmSync(f, { force: true });
        stats.removed = (stats.removed ?? 0) + 1;
      }
      try {
        rmdirSync(path.join(ctx.outDir, d)); // only when nothing else is in it
      } catch {
        // Other files in it: the folder stays.
      }
    }
    const now = [...gone].sort();
    if (now.join('\n') !== was.join('\n')) keep(goneFile, JSON.stringify(now));
  };
  return {
    files,
    async done(stats) {
      stats.unchanged += kept.length;
      stats.paths?.push(...kept);
      removeVanished(stats);
      const manifest: Record<string, string> = {};
      for (const [d, sig] of signatures) manifest[d] = `${sig} ${fileState(d)}`;
      // (Not written: every feed is rendered again next time.)
      if (JSON.stringify(manifest) !== JSON.stringify(previous)) keep(manifestPath, JSON.stringify(manifest));
    },
  };
}

/** Renders and writes everything `build` produces for an already loaded selection. */
export async function buildSite(ctx: Context, loaded: Loaded): Promise<WriteStats> {
  const dir = ctx.config.paths.templates;
  const [feeds, opml, index] = await Promise.all([
    changedFeeds(ctx, loaded.selection, fileVersion),
    loadTemplate(dir, 'opml.hbs'),
    loadTemplate(dir, 'index.hbs'),
  ]);
  const files = [
    ...feeds.files,
    ...renderPages(pageData(loaded.selection, siteFrom(ctx.config), { signup: true, archive: true, schedules: readerSchedules(ctx.config.digest.schedules) }), { opml, index }),
    ...siteIcon(ctx),
  ];
  phase('render');
  const stats = writeOutput(ctx.outDir, files);
  await feeds.done(stats);
  phase('write');
  await buildPreviews(ctx, loaded, stats);
  loaded.load.save(); // what planning the previews parsed in full
  phase('previews');
  return stats;
}

/** The latest digest preview of every topic with something new in the digest window, and the archive page. */
export async function buildPreviews(ctx: Context, loaded: Loaded, stats: WriteStats): Promise<number> {
  const since = new Date(ctx.now().getTime() - ctx.config.digest.windowHours * 3_600_000);
  const written = new Map<string, IssueSummary>();
  // MJML is slow to load: only when some article is new enough to make a digest.
  if (loaded.selection.eligible.some((a) => a.date > since)) {
    const templates = await loadDigestTemplates(ctx.config.paths.templates, ctx.config.paths.cache);
    for (const topic of loaded.topics) {
      const digest = planTopicDigest(ctx, loaded, topic.slug, since, templates);
      if (digest) {
        await writePreview(ctx, digest, topic.slug, templates, stats);
        written.set(`${topic.slug}/${digest.day}`, issueSummary(digest));
      }
    }
  }
  await writeArchive(ctx, new Map(loaded.topics.map((t) => [t.slug, t.name])), written, stats);
  return written.size;
}
