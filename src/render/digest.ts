/**
 * The email digest. Pure apart from `compileDigestTemplates`, which runs MJML once per template:
 *   plan (articles → Digest) → fill (Digest + Recipient → html/text) per recipient.
 *
 * The MJML template keeps its Handlebars expressions through MJML (blocks sit in <mj-raw>), so MJML runs
 * once and each recipient costs one precompiled Handlebars fill. Template data is documented in
 * docs/templates.md; it is exactly `DigestData`.
 */
import { sound, type Article } from '../content/article.js';
import { dayIn } from '../content/text.js';
import type { TopicDef } from '../select/topics.js';
import { compileTemplate, type Template } from './templates.js';
import { TemplateError } from '../errors.js';

export interface DigestImage {
  url: string;
  alt: string;
  /** Display size in the email: at most 560 px wide, height in proportion. */
  width: number;
  height: number;
}

export interface DigestArticle {
  id: string;
  url: string;
  title: string;
  source: string;
  excerpt: string;
  isVideo: boolean;
  image: DigestImage | null;
  related: { url: string; title: string; source: string }[];
}

export interface DigestTopic {
  slug: string;
  name: string;
  articles: DigestArticle[];
}

export interface Digest {
  site: { title: string; baseUrl: string; postalAddress: string };
  /** The site's language (BCP 47), for `<html lang>`. */
  language: string;
  /** "Gazette: Computer Vision — 22 November 2026" */
  title: string;
  subject: string;
  /** Human date of the issue, and the day `YYYY-MM-DD` it is filed under, both in its time zone. */
  date: string;
  day: string;
  preheader: string;
  topicNames: string;
  topics: DigestTopic[];
  articleCount: number;
  manyArticles: boolean;
  archiveUrl: string | null;
  /** What a size trim removed, for the log. */
  notes: string[];
}

export interface Recipient {
  name: string;
  email: string;
  unsubscribeUrl: string;
  preferencesUrl: string;
}

export type DigestData = Digest & { recipient: Recipient };

export interface DigestTemplates {
  html: Template<DigestData>;
  text: Template<DigestData>;
}

export interface DigestRules {
  maxArticles: number;
  maxRelated: number;
}

const MAX_IMAGE_WIDTH = 560;

function digestImage(a: Article): DigestImage | null {
  const img = a.images[0];
  if (!img) return null;
  const width = Math.min(img.width ?? MAX_IMAGE_WIDTH, MAX_IMAGE_WIDTH);
  const height = img.width && img.height ? Math.round((img.height * width) / img.width) : Math.round((width * 9) / 16);
  return { url: img.url, alt: img.alt, width, height };
}

function digestArticle(a: Article, maxRelated: number): DigestArticle {
  return {
    id: a.id,
    url: a.url,
    title: a.title,
    source: a.provider.name,
    excerpt: a.excerpt,
    isVideo: a.type === 'video',
    image: digestImage(a),
    related: a.related.slice(0, maxRelated).map((r) => ({ url: r.url, title: r.title, source: r.source })),
  };
}

/** Digest order: higher quality first, then newer, then URL. */
export function compareDigest(a: Article, b: Article): number {
  return (b.quality ?? 0) - (a.quality ?? 0) || b.date.getTime() - a.date.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export interface PlanInput {
  /** The subscriber's topics, in order, each with its eligible articles (any order). */
  topics: { topic: TopicDef; articles: readonly Article[] }[];
  /** Articles dated after `since` and not after `now` are new. */
  since: Date;
  now: Date;
  /** Article ids the recipient already received. */
  exclude?: ReadonlySet<string>;
  site: Digest['site'];
  language: string;
  /** The IANA time zone the issue is dated in (its day and its date in words). */
  timeZone: string;
  archiveUrl: string | null;
  rules: DigestRules;
}

/**
 * Picks the best new articles across the topics (each article once, in the first topic that has it),
 * or returns null when there is nothing new: nobody gets an empty digest.
 */
export function planDigest(input: PlanInput): Digest | null {
  const from = input.since.getTime();
  const to = input.now.getTime();
  const candidates = new Map<string, { article: Article; topicIndex: number }>();
  input.topics.forEach(({ articles }, topicIndex) => {
    for (const a of articles) {
      const t = a.date.getTime();
      if (t <= from || t > to || input.exclude?.has(a.id) || candidates.has(a.id)) continue;
      candidates.set(a.id, { article: a, topicIndex });
    }
  });
  const chosen: { article: Article; topicIndex: number }[] = [];
  for (const c of [...candidates.values()].sort((x, y) => compareDigest(x.article, y.article))) {
    if (chosen.length >= input.rules.maxArticles) break;
    // A lazily loaded article is parsed in full only now that it is picked; a broken file is left out.
    if (sound(c.article)) chosen.push(c);
  }
  if (chosen.length === 0) return null;
  const topics: DigestTopic[] = input.topics
    .map(({ topic }, i) => ({
      slug: topic.slug,
      name: topic.name,
      articles: chosen.filter((c) => c.topicIndex === i).map((c) => digestArticle(c.article, input.rules.maxRelated)),
    }))
    .filter((t) => t.articles.length > 0);
  const names = topics.map((t) => t.name);
  const topicNames = names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
  const date = new Intl.DateTimeFormat(input.language, { dateStyle: 'long', timeZone: input.timeZone }).format(input.now);
  const first = topics[0]!.articles[0]!;
  return {
    site: input.site,
    language: input.language,
    title: `${input.site.title}: ${topicNames} — ${date}`,
    subject: `${input.site.title} · ${topicNames}: ${first.title}`.slice(0, 200),
    date,
    day: dayIn(input.now, input.timeZone),
    preheader: chosen.length > 1 ? `${first.title} — and ${chosen.length - 1} more` : first.title,
    topicNames,
    topics,
    articleCount: chosen.length,
    manyArticles: chosen.length !== 1,
    archiveUrl: input.archiveUrl,
    notes: [],
  };
}

export function digestArticleIds(d: Digest): string[] {
  return d.topics.flatMap((t) => t.articles.map((a) => a.id));
}

export function fillDigest(d: Digest, recipient: Recipient, t: DigestTemplates): { html: string; text: string } {
  const data: DigestData = { ...d, recipient };
  return { html: t.html(data), text: t.text(data).replace(/\n{3,}/g, '\n\n').trim() + '\n' };
}

/** A recipient as long as any real one, to measure the worst case. */
const SIZE_PROBE: Recipient = {
  name: 'x'.repeat(64),
  email: `${'x'.repeat(64)}@${'x'.repeat(60)}.example`,
  unsubscribeUrl: `https://${'x'.repeat(60)}.example/unsubscribe?token=${'x'.repeat(160)}`,
  preferencesUrl: `https://${'x'.repeat(60)}.example/preferences?token=${'x'.repeat(160)}`,
};

/**
 * Keeps the HTML under `maxBytes` (Gmail clips above 102 KB, and the unsubscribe link goes with the clip):
 * related lists are shortened first, then the lowest-ranked articles are dropped. Each step is noted.
 */
export function fitDigest(d: Digest, t: DigestTemplates, maxBytes: number): Digest {
  const size = (x: Digest) => Buffer.byteLength(fillDigest(x, SIZE_PROBE, t).html);
  if (size(d) <= maxBytes) return d;
  const maxRel = Math.max(0, ...d.topics.flatMap((tp) => tp.articles.map((a) => a.related.length)));
  let cur = d;
  for (let keep = maxRel - 1; keep >= 0; keep--) {
    cur = { ...d, topics: d.topics.map((tp) => ({ ...tp, articles: tp.articles.map((a) => ({ ...a, related: a.related.slice(0, keep) })) })) };
    if (size(cur) <= maxBytes) {
      return { ...cur, notes: [...d.notes, `related coverage trimmed to ${keep} per article to keep the HTML under ${maxBytes} bytes`] };
    }
  }
  const notes = [...d.notes, `related coverage removed to keep the HTML under ${maxBytes} bytes`];
  while (cur.articleCount > 1 && size(cur) > maxBytes) {
    const lastTopic = cur.topics.length - 1;
    const topics = cur.topics
      .map((tp, i) => (i === lastTopic ? { ...tp, articles: tp.articles.slice(0, -1) } : tp))
      .filter((tp) => tp.articles.length > 0);
    cur = { ...cur, topics, articleCount: cur.articleCount - 1, manyArticles: cur.articleCount - 1 !== 1 };
    notes.push('an article was dropped to stay under the size budget');
  }
  return { ...cur, notes };
}

/** Handlebars blocks (`{{#…}}`, `{{/…}}`, `{{else}}`) in a text, in order. */
function blocks(s: string): string[] {
  return s.match(/\{\{\s*[#/^]\s*[\w.]+|\{\{\s*else\s*\}\}/g)?.map((b) => b.replace(/\s+/g, '')) ?? [];
}

export interface MjmlCompile {
  (mjml: string, options: { validationLevel: 'strict'; keepComments: boolean }): Promise<{
    html: string;
    errors: { line: number; message: string; tagName: string }[];
  }>;
}

/** MJML → HTML once; checks that every Handlebars block survived; precompiles both templates. */
export async function compileDigestTemplates(
  mjmlSource: string,
  mjmlFile: string,
  textSource: string,
  textFile: string,
  mjml2html: MjmlCompile,
): Promise<DigestTemplates & { htmlSource: string }> {
  let result;
  try {
    result = await mjml2html(mjmlSource, { validationLevel: 'strict', keepComments: false });
  } catch (err) {
    const e = err as { errors?: { line: number; message: string }[]; message?: string };
    const first = e.errors?.[0];
    throw new TemplateError(
      first ? `${mjmlFile}:${first.line}: ${first.message}${e.errors!.length > 1 ? ` (+${e.errors!.length - 1} more)` : ''}` : `${mjmlFile}: ${e.message}`,
      { cause: err },
    );
  }
  if (result.errors.length > 0) {
    const first = result.errors[0]!;
    throw new TemplateError(`${mjmlFile}:${first.line}: ${first.message}`);
  }
  const before = blocks(mjmlSource);
  const after = blocks(result.html);
  if (before.join() !== after.join()) {
    throw new TemplateError(
      `${mjmlFile}: MJML dropped Handlebars blocks (${before.length} in the template, ${after.length} after MJML): ` +
        'put {{#each}}/{{#if}}/{{/…}} that sit between MJML components inside <mj-raw>',
    );
  }
  // MJML indents its output; the indentation is a fifth of a digest's bytes (mail size, Gmail's 102 KB
  // clip). Leading white space is insignificant in HTML outside <pre> and <textarea>, where it is kept.
  const source = /<(pre|textarea)\b/i.test(result.html) ? result.html : result.html.replace(/^[ \t]+/gm, '');
  return digestTemplatesFrom(source, mjmlFile, textSource, textFile);
}

/** The HTML template MJML made (checked, as compileDigestTemplates leaves it) and the text template → templates. */
export function digestTemplatesFrom(htmlSource: string, mjmlFile: string, textSource: string, textFile: string): DigestTemplates & { htmlSource: string } {
  const html = compileTemplate<DigestData>(htmlSource, `${mjmlFile} (after MJML)`);
  const text = compileTemplate<DigestData>(textSource, textFile, { noEscape: true });
  return { html, text, htmlSource };
}
