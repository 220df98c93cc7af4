/**
 * A build after edits that change no article's place: only the feeds the edited articles are in are written
 * again, from the last build's record (src/output/uptodate.ts) and the content cache, without loading the
 * other articles or selecting again.
 *
 * It applies when everything but a few article files is as the last build had it (config, templates, code,
 * the clock's stretch, the output files), no file was added or removed, and each edited file still parses
 * and has the same selection fields as before (URL, date, quality, published, topics): then every feed
 * holds the same articles, the pages (which show counts and dates) are the same, and — for an article older
 * than the digest window — the digest previews too. Anything else: null, and the build does all the work.
 * test/uptodate.test.ts checks that the output is byte for byte what a whole build writes.
 */
import { cacheNotWritten, contentCacheFile, type Context } from './context.js';
import { changedFeeds, writeOutput } from './site.js';
import { appendToContentCache, readContentCache } from '../content/load.js';
import { sameStamp, stampText, type Listed } from '../content/list.js';
import { parseFiles, settle } from '../content/read.js';
import { parseSource } from '../content/parse.js';
import type { Entry } from '../content/entry.js';
import { cachedArticle } from '../content/articles.js';
import type { Article } from '../content/article.js';
import type { TopicDef } from '../select/topics.js';
import { listingText, type BuildRecord } from '../output/uptodate.js';
import type { WriteStats } from '../output/write.js';

/** At most this many edited files take this way; more go through a whole build. */
const MAX_EDITS = 20;

export interface EditsResult {
  stats: WriteStats;
  /** The edited files. */
  edited: string[];
  /** The listing (as `listingText` writes it) with each edited file's stamp as it was read. */
  listing: string;
}

/** `listed`: the content folder's files now; `listing`: the same as `listingText` writes it. */
export async function rebuildEdits(ctx: Context, record: BuildRecord, listed: readonly Listed[], listing: string, now: Date): Promise<EditsResult | null> {
  // Both listings are sorted by file, one line each: the same files, line for line, or a whole build.
  const was = record.listing.split('\n');
  const is = listing.split('\n');
  if (was.length !== is.length) return null;
  const edits: Listed[] = [];
  for (let i = 0; i < is.length; i++) {
    if (was[i] === is[i]) continue;
    if (was[i]!.slice(0, was[i]!.indexOf('\t')) !== listed[i]!.file) return null; // added and removed
    edits.push(listed[i]!);
  }
  if (edits.length === 0 || edits.length > MAX_EDITS) return null;

  const cacheFile = contentCacheFile(ctx);
  // Only the entries of the edited files and of the feeds' articles are read.
  const needed = new Set([...edits.map((l) => l.file), ...record.feeds.all, ...record.feeds.topics.flatMap((t) => t.files)]);
  const cache = readContentCache(ctx.contentDir, cacheFile, needed);
  if (!cache) return null;
  const since = now.getTime() - ctx.config.digest.windowHours * 3_600_000;
  const fresh = new Map<string, Entry>();
  const readFrom = Date.now();
  const parsed = parseFiles({ dir: ctx.contentDir, files: edits }, parseSource);
  await settle(ctx.contentDir, parsed, readFrom, false, parseSource);
  for (const [i, l] of edits.entries()) {
    const old = cache.get(l.file);
    const e = parsed[i];
    // Its place in the feeds is decided by its selection fields (`meta`); in the digest window, the previews
    // could change too. A file that does not parse (or did not) goes through a whole build, which reports it.
    if (!old || old.meta === null || e!.meta !== old.meta || cachedArticle(e!).date.getTime() > since) return null;
    fresh.set(l.file, e!);
  }

  // The feeds as the last build made them, the edited articles in their new text.
  const articles = new Map<string, Article>();
  const versions = new Map<string, string>();
  const listedNow = new Map(listed.map((l) => [l.file, l]));
  const article = (file: string): Article | null => {
    let a = articles.get(file);
    if (!a) {
      const e = fresh.get(file) ?? cache.get(file);
      // Every article in a feed was parsed in full by the build that put it there, from the file as it is now
      // (an entry written since from another version of it is not used); anything else: a whole build.
      const l = listedNow.get(file);
      if (!e || e.meta === null || e.pending || !l || (!fresh.has(file) && !sameStamp(e, l))) return null;
      articles.set(file, (a = cachedArticle(e)));
      versions.set(file, stampText(e));
    }
    return a;
  };
  const feed = (files: readonly string[]) => {
    const out = files.map(article);
    return out.every((a) => a !== null) ? (out as Article[]) : null;
  };
  const all = feed(record.feeds.all);
  const topics: { topic: TopicDef; articles: Article[] }[] = [];
  for (const t of record.feeds.topics) {
    const articles = feed(t.files);
    if (!articles) return null;
    topics.push({ topic: { slug: t.slug, name: t.name, description: t.description }, articles });
  }
  if (!all) return null;

  // The feeds' files as the last build wrote them hold the edited articles as they were then (their version in
  // the cache) and every other article as it is: only the edited items are rendered again.
  const then = new Map([...fresh.keys()].map((f) => [f, stampText(cache.get(f)!)]));
  const before = { edited: new Set(fresh.keys()), versionOf: (a: Article) => then.get(a.file) ?? versions.get(a.file) };
  const feeds = await changedFeeds(ctx, { all, topics }, (a) => versions.get(a.file), before);
  const stats = writeOutput(ctx.outDir, feeds.files);
  await feeds.done(stats);
  try {
    appendToContentCache(cacheFile, [...fresh.values()]);
  } catch (err) {
    ctx.warn(cacheNotWritten(cacheFile, err));
  }
  // A file edited again between its stat and its read is listed as it was read.
  const moved = [...fresh.values()].some((e) => !sameStamp(e, listedNow.get(e.file)!));
  return {
    stats,
    edited: [...fresh.keys()],
    listing: moved ? listingText(listed.map((l) => fresh.get(l.file) ?? l)) : listing,
  };
}
