/** `gazette digest preview`: a topic's digest as .html, .txt and .eml, plus the web archive. */
import path from 'node:path';
import { readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { Context, Loaded } from './context.js';
import { loadAndSelect } from './context.js';
import { topicArticles } from '../select/select.js';
import type { MailTransport } from '../deliver/transport.js';
import { mailSettings } from '../deliver/settings.js';
import { planDigest, fitDigest, type Digest, type DigestTemplates } from '../render/digest.js';
import { loadDigestTemplates, loadTemplate } from '../render/templates.js';
import { absolute, siteFrom } from '../render/feeds.js';
import { writeIfChanged, type WriteStats } from '../output/write.js';
import { DeliveryError, GazetteError, UsageError, describeError } from '../errors.js';
import { addressList } from '../store/subscribers.js';
import { randomBytes } from 'node:crypto';
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
  const secret = ctx.secrets.secret ?? PREVIEW_SECRET;
  // Mail code (nodemailer, ~100 ms to load) only when a preview is written, not on every build.
  const { buildMessage } = await import('../deliver/message.js');
  const mail = buildMessage(digest, templates, PREVIEW_SUBSCRIBER, mailSettings(ctx.config), secret, new Date(`${digest.day}T00:00:00Z`), slug);
  const base = path.join(ctx.outDir, 'digests', slug, digest.day);
  const { composeEml } = await import('../deliver/transport.js');
  const eml = await composeEml(mail);
  writeIfChanged(`${base}.html`, mail.html as string, stats);
  writeIfChanged(`${base}.txt`, mail.text as string, stats);
  writeIfChanged(`${base}.eml`, eml, stats);
  for (const note of digest.notes) ctx.warn(`digest ${slug}: ${note}`);
  return base;
}

/** What the archive page says of an issue besides its day: kept in digests/issues.json beside the previews. */
export interface IssueSummary {
  /** The issue's date as its digest shows it ("November 22, 2026"). */
  date: string;
  /** Its first article's title. */
  headline: string;
  articles: number;
}

const ISSUES_FILE = 'issues.json';

export const issueSummary = (d: Digest): IssueSummary => ({ date: d.date, headline: d.topics[0]?.articles[0]?.title ?? '', articles: d.articleCount });

/**
 * digests/issues.json: a summary per issue, by `<slug>/<day>`; null when there is no such file. A damaged one
 * is said and read as empty (the archive shows those issues by day; the file is written anew).
 */
function readSummaries(dir: string, warn: (line: string) => void): Map<string, IssueSummary> | null {
  const file = path.join(dir, ISSUES_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const data = JSON.parse(text) as Record<string, unknown>;
    const out = new Map<string, IssueSummary>();
    for (const [key, v] of Object.entries(data)) {
      const s = v as Partial<IssueSummary> | null;
      if (s && typeof s.date === 'string' && typeof s.headline === 'string' && Number.isInteger(s.articles)) out.set(key, { date: s.date, headline: s.headline, articles: s.articles! });
    }
    return out;
  } catch (err) {
    warn(`${file} is not valid JSON (${describeError(err)}): the archive page lists those issues by day only until they are written again`);
    return new Map();
  }
}

/**
 * output/digests/index.html: every issue on disk, newest first, per topic, with its headline and size when
 * digests/issues.json knows them; `written` are the issues this run wrote, which that file then records. It
 * keeps the issues on disk only: one deleted goes from the file and the page.
 */
export async function writeArchive(ctx: Context, topicNames: Map<string, string>, written: ReadonlyMap<string, IssueSummary>, stats?: WriteStats): Promise<void> {
  const dir = path.join(ctx.outDir, 'digests');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const known = readSummaries(dir, ctx.warn);
  const kept: Record<string, IssueSummary> = {};
  const topics = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const days = (await readdir(path.join(dir, e.name)))
      .filter((f) => /^\d{4}-\d{2}-\d{2}\.html$/.test(f))
      .map((f) => f.slice(0, 10))
      .sort()
      .reverse();
    const issues = days.map((day) => {
      const key = `${e.name}/${day}`;
      const summary = written.get(key) ?? known?.get(key);
      if (summary) kept[key] = summary;
      return { day, href: `${key}.html`, date: summary?.date ?? day, headline: summary?.headline ?? null, articles: summary?.articles ?? null, many: summary?.articles !== 1 };
    });
    if (days.length) topics.push({ slug: e.name, name: topicNames.get(e.name) ?? e.name, issues });
  }
  if (known || Object.keys(kept).length > 0) writeIfChanged(path.join(dir, ISSUES_FILE), `${JSON.stringify(kept, null, 1)}\n`, stats);
  const template = await loadTemplate(ctx.config.paths.templates, 'archive.hbs');
  const site = siteFrom(ctx.config);
  writeIfChanged(path.join(dir, 'index.html'), template({ site, homeUrl: site.baseUrl, topics, contents: topics.length > 1 }), stats);
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

/** `--to`: the addresses a test goes to (commas between them), normalized; a usage error names a bad one. */
export function testRecipients(value: string | undefined): string[] {
  if (value === undefined) return [];
  const list = addressList(value);
  if ('bad' in list) throw new UsageError(`--to: not a valid email address: "${list.bad}"`);
  if (list.addresses.length === 0) throw new UsageError('--to: no address');
  return list.addresses;
}

/**
 * Sends `digest` to each address as a subscriber of that address would get it (the same links, signed as a send
 * signs them), for the editor to see in a real mail program before a send. Nothing is recorded: the addresses
 * are not subscribed, and a real digest later is not held back. Each test has a Message-ID of its own — with
 * the one a send would give that address, a mail system that had kept the test would drop the real digest as
 * a duplicate — and an `X-Gazette-Test` header.
 */
export async function sendTestDigest(ctx: Context, digest: Digest, slug: string, templates: DigestTemplates, to: readonly string[], transport: MailTransport, secret: string): Promise<void> {
  const { buildMessage, senderDomain } = await import('../deliver/message.js');
  for (const email of to) {
    const mail = buildMessage(digest, templates, { email, name: '' }, mailSettings(ctx.config), secret, ctx.now(), slug);
    mail.messageId = `<test.${randomBytes(12).toString('hex')}@${senderDomain(ctx.config.mail.from)}>`;
    mail.headers = { ...(mail.headers as Record<string, string>), 'X-Gazette-Test': 'a test of this digest, not recorded' };
    try {
      await transport.send(mail);
    } catch (err) {
      throw new DeliveryError(`the test digest to ${email} was not sent`, { cause: err });
    }
  }
}

/** `--since` or the digest window: the start of what a preview or test holds. */
export const previewSince = (ctx: Context, since: Date | undefined) => since ?? new Date(ctx.now().getTime() - ctx.config.digest.windowHours * 3_600_000);

/** The topic's digest for a preview or a test, or an error saying there is nothing new. */
export function previewDigest(ctx: Context, loaded: Loaded, slug: string, since: Date, templates: DigestTemplates): Digest {
  const digest = planTopicDigest(ctx, loaded, slug, since, templates);
  if (!digest) throw new GazetteError(`nothing new in "${slug}" since ${since.toISOString()}: no digest (widen the window with --since)`);
  return digest;
}

export async function digestPreviewCommand(ctx: Context, opts: { topic: string; since?: string; to?: string }): Promise<void> {
  const to = testRecipients(opts.to);
  const since = previewSince(ctx, parseSince(opts.since, ctx.config.site.timezone));
  const loaded = await loadAndSelect(ctx);
  const templates = await loadDigestTemplates(ctx.config.paths.templates, ctx.config.paths.cache);
  const digest = previewDigest(ctx, loaded, opts.topic, since, templates);
  const base = await writePreview(ctx, digest, opts.topic, templates);
  loaded.load.save(); // what planning the digest parsed in full
  await writeArchive(ctx, new Map(loaded.topics.map((t) => [t.slug, t.name])), new Map([[`${opts.topic}/${digest.day}`, issueSummary(digest)]]));
  ctx.log(`digest ${opts.topic}: ${digest.articleCount} article${digest.articleCount === 1 ? '' : 's'} → ${base}.html, .txt, .eml`);
  if (to.length === 0) return;
  const { openState, openTransport, tokenSecret } = await import('./mailer.js');
  const transport = await openTransport(ctx);
  const db = openState(ctx);
  try {
    await sendTestDigest(ctx, digest, opts.topic, templates, to, transport, tokenSecret(ctx, db));
  } finally {
    transport.close();
    db.close();
  }
  ctx.log(`digest ${opts.topic}: test sent to ${to.join(', ')} via ${transport.description} (nothing recorded)`);
}
