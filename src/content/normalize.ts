/** RawArticle → Article: pure, no I/O. */
import type { Article, ContentIssue, Image, RelatedItem } from './article.js';
import { relatedSchema, type RawArticle } from './schema.js';
import { cleanExcerpt, cleanText, cleanUrl, parseIsoDate, topicList } from './text.js';

export type NormalizeResult = { ok: true; article: Article } | { ok: false; issue: ContentIssue };

export function normalizeArticle(file: string, raw: RawArticle): NormalizeResult {
  const fail = (field: string, reason: string): NormalizeResult => ({ ok: false, issue: { file, field, reason } });

  const url = cleanUrl(raw.webUrl) ?? cleanUrl(raw.originalUrl);
  if (!url) {
    const given = raw.webUrl ?? raw.originalUrl;
    return given === undefined
      ? fail('webUrl', 'missing: neither webUrl nor originalUrl is set')
      : fail(raw.webUrl !== undefined ? 'webUrl' : 'originalUrl', `not an absolute http(s) URL: ${JSON.stringify(given.slice(0, 80))}`);
  }
  const title = cleanText(raw.title);
  if (!title) return fail('title', 'empty after cleaning');

  const topics = topicList(raw.topics);

  const images: Image[] = [];
  for (const img of raw.images) {
    const imgUrl = cleanUrl(img.url, url);
    if (imgUrl) images.push({ url: imgUrl, width: img.width, height: img.height, alt: cleanText(img.title ?? title) });
  }

  return {
    ok: true,
    article: {
      id: url,
      url,
      file,
      title,
      excerpt: cleanExcerpt(raw.excerpt ?? ''),
      date: raw.publishedDateTime,
      type: raw.type,
      quality: raw.quality,
      heat: raw.heat !== undefined && raw.heat >= 0 ? raw.heat : undefined,
      published: raw.published ?? true,
      provider: {
        name: cleanText(raw.provider?.name ?? '') || new URL(url).hostname.replace(/^www\./, ''),
        domain: raw.provider?.domain,
      },
      topics,
      images,
      related: cleanRelated(raw.related ?? [], url),
      featuredContent: raw.featuredContent,
    },
  };
}

/** Related coverage: items without a title or an http(s) URL dropped, one item per URL, the story itself excluded. */
export function cleanRelated(items: readonly unknown[], selfUrl: string): RelatedItem[] {
  const seen = new Set<string>([selfUrl]);
  const out: RelatedItem[] = [];
  for (const item of items) {
    const parsed = relatedSchema.safeParse(item);
    if (!parsed.success) continue;
    const r = parsed.data;
    const url = cleanUrl(r.webUrl) ?? cleanUrl(r.originalUrl);
    const title = cleanText(r.title);
    if (!url || !title || seen.has(url)) continue;
    seen.add(url);
    out.push({
      title,
      url,
      source: cleanText(r.provider?.name ?? '') || new URL(url).hostname.replace(/^www\./, ''),
      excerpt: cleanExcerpt(r.excerpt ?? ''),
      date: parseIsoDate(r.publishedDateTime),
    });
  }
  return out;
}
