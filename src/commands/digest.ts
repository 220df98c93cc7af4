/** `gazette digest preview`: a topic's digest as .html, .txt and .eml, plus the web archive. */
import path from 'node:path';
import { readdir } from 'node:fs/promises';
import type { Context, Loaded } from './context.js';
import { loadAndSelect } from './context.js';
import { topicArticles } from '../select/select.js';
import { planDigest, fitDigest, type Digest, type DigestTemplates } from '../render/digest.js';
import { loadDigestTemplates, loadTemplate } from '../render/templates.js';
import { absolute, siteFrom } from '../render/feeds.js';
import { writeIfChanged, type WriteStats } from '../output/write.js';
import { GazetteError, UsageError } from '../errors.js';
import { sinceInstant } from '../content/text.js';

export const PREVIEW_SUBSCRIBER = { email: 'reader@example.com', name: 'Sample Reader' };
/** Preview links are signed with this when GAZETTE_SECRET is unset; they are samples, not live links. */
const PREVIEW_SECRET = 'preview-only-not-a-secret';

export function planTopicDigest(ctx: Context, loaded: Loaded, slug: string, since: Date, templates: DigestTemplates): Digest | null {
  const topic = loaded.topics.find((t) => t.slug === slug);
  if (!topic) {
    const known = loaded.topics.map((t) => t.slug).join(', ') || '(none)';
    throw new UsageError(`no topic "${slug}"; topics: ${known}`);
  }
  const site = siteFrom(ctx.config);
  const plan = planDigest({
    topics: [{ topic, articles: topicArticles(loaded.selection, loaded.topics, slug) }],
    since,
    now: ctx.now(),
    site: { title: site.title, baseUrl: site.baseUrl, postalAddress: ctx.config.site.postalAddress },
    language: site.language,
    timeZone: ctx.config.site.timezone,
    archiveUrl: absolute(site, 'digests/'),
    rules: ctx.config.digest,
  });
  return plan && fitDigest(plan, templates, ctx.config.digest.maxHtmlBytes);
}

/** Writes digests/<slug>/<day>.html, .txt and .eml for a sample recipient. */
export async function writePreview(ctx: Context, digest: Digest, slug: string, templates: DigestTemplates, stats?: WriteStats): Promise<string> {
  const site = siteFrom(ctx.config);
  const secret = ctx.secrets.secret ?? PREVIEW_SECRET;
  // Mail code (nodemailer, ~100 ms to load) only when a preview is written, not on every build.
  const { buildMessage } = await import('../deliver/message.js');
  const mail = buildMessage(digest, templates, PREVIEW_SUBSCRIBER, { from: ctx.config.mail.from, replyTo: ctx.config.mail.replyTo, unsubscribeMailto: ctx.config.mail.unsubscribeMailto, baseUrl: site.baseUrl, siteTitle: site.title }, secret, new Date(`${digest.day}T00:00:00Z`), slug);
  const base = path.join(ctx.outDir, 'digests', slug, digest.day);
  const { composeEml } = await import('../deliver/transport.js');
  const eml = await composeEml(mail);
  writeIfChanged(`${base}.html`, mail.html as string, stats);
  writeIfChanged(`${base}.txt`, mail.text as string, stats);
  writeIfChanged(`${base}.eml`, eml, stats);
  for (const note of digest.notes) ctx.warn(`digest ${slug}: ${note}`);
  return base;
}

/** output/digests/index.html: every issue on disk, newest first, per topic. */
export async function writeArchive(ctx: Context, topicNames: Map<string, string>, stats?: WriteStats): Promise<void> {
  const dir = path.join(ctx.outDir, 'digests');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const topics = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const days = (await readdir(path.join(dir, e.name)))
      .filter((f) => /^\d{4}-\d{2}-\d{2}\.html$/.test(f))
      .map((f) => f.slice(0, 10))
      .sort()
      .reverse();
    if (days.length) topics.push({ name: topicNames.get(e.name) ?? e.name, issues: days.map((day) => ({ day, href: `${e.name}/${day}.html` })) });
  }
  const template = await loadTemplate(ctx.config.paths.templates, 'archive.hbs');
  const site = siteFrom(ctx.config);
  writeIfChanged(path.join(dir, 'index.html'), template({ site, homeUrl: site.baseUrl, topics }), stats);
}

/**
 * `--since` (and the API's "since"): an instant (ISO 8601 with a time), or a day — its midnight in `timeZone`, the
 * zone digests are dated in (`site.timezone`), so that "since 2026-11-01" in Tokyo means Tokyo's 1 November.
 */
export function parseSince(value: string | undefined, timeZone = 'UTC'): Date | undefined {
  if (value === undefined) return undefined;
  const at = sinceInstant(value, timeZone);
  if (Number.isNaN(at)) throw new UsageError(`--since: not a date: ${value}`);
  return new Date(at);
}

export async function digestPreviewCommand(ctx: Context, opts: { topic: string; since?: string }): Promise<void> {
  const sinceArg = parseSince(opts.since, ctx.config.site.timezone);
  const loaded = await loadAndSelect(ctx);
  const templates = await loadDigestTemplates(ctx.config.paths.templates, ctx.config.paths.cache);
  const since = sinceArg ?? new Date(ctx.now().getTime() - ctx.config.digest.windowHours * 3_600_000);
  const digest = planTopicDigest(ctx, loaded, opts.topic, since, templates);
  if (!digest) {
    throw new GazetteError(`nothing new in "${opts.topic}" since ${since.toISOString()}: no digest (widen the window with --since)`);
  }
  const base = await writePreview(ctx, digest, opts.topic, templates);
  loaded.load.save(); // what planning the digest parsed in full
  await writeArchive(ctx, new Map(loaded.topics.map((t) => [t.slug, t.name])));
  ctx.log(`digest ${opts.topic}: ${digest.articleCount} article(s) → ${base}.html, .txt, .eml`);
}
