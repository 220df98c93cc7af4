/**
 * Selection → RSS 2.0, Atom 1.0 and JSON Feed 1.1 files, plus OPML. Pure: templates and site in, strings out.
 *
 * `feed` writes RSS and Atom; its gaps are worked around here (see docs/feeds.md):
 * - `updated`/`lastBuildDate` default to the build time → always passed: the newest item's date;
 * - RSS `<author>` must be an email → the provider goes to `dc:creator` instead;
 * - custom namespaces are not declared → `xmlns:media` is added to the `<rss>` element;
 * - a second RSS enclosure overwrites the first → only the lead image is an enclosure;
 * - Atom enclosure types are guessed from the file extension ("image/jpg") → replaced with real MIME types;
 * - CDATA sections escape only the first `]]>` and attributes are not escaped for `<` → titles and HTML are
 *   entity-escaped (no `>` can reach a CDATA section) and attribute text is stripped of `<`;
 * - JSON Feed output is version 1.0 without `authors`/`language` → the JSON Feed is written here.
 */
import { Feed, type Item } from 'feed';
import type { Article, Image } from '../content/article.js';
import type { Selection } from '../select/select.js';
import type { Template } from './templates.js';
import { escapeText } from './html.js';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { codeVersion } from '../code-version.js';

/** Identifies this renderer's code, so a build after an upgrade re-renders every feed. */
export const RENDERER_ID = codeVersion(['render/feeds']);

export interface Site {
  title: string;
  description: string;
  baseUrl: string;
  language: string;
  author: string;
  /** The WebSub hub every feed names (`feeds.hub`), if any. */
  hub?: string;
  /** Where the site's icon (`site.icon`, copied into the output folder) is served; null without one. */
  icon: string | null;
}

/** A feed file's path in the output folder: `all/` or `topics/<slug>/` (captured), then rss.xml, atom.xml or feed.json. */
export const FEED_FILE = /^(all|topics\/[^/]+)\/(?:rss\.xml|atom\.xml|feed\.json)$/;

/** The name `site.icon` is copied to in the output folder: icon.<its extension, lowercase>. */
export function iconFileName(source: string): string {
  return `icon${path.extname(source).toLowerCase().replace('.jpeg', '.jpg')}`;
}

export interface FeedItemView {
  url: string;
  title: string;
  excerpt: string;
  source: string;
  isVideo: boolean;
  image: Image | null;
  related: { url: string; title: string; source: string }[];
}

export interface FeedTemplates {
  item: Template<FeedItemView>;
}

export interface OutputFile {
  path: string;
  /**
   * The file's text, or its pieces in order: a feed put together from item texts is written piece by piece,
   * never joined (joining ~6 MB of feeds at 20k articles into flat text cost more than encoding it). Bytes for
   * a file copied as it is (the site's icon).
   */
  content: string | readonly string[] | Uint8Array;
}

/** An output file's text as one string. */
export const outputText = (f: OutputFile): string =>
  typeof f.content === 'string' ? f.content : f.content instanceof Uint8Array ? new TextDecoder().decode(f.content) : f.content.join('');

export interface FeedSpec {
  /** Folder inside the output folder: `topics/<slug>` or `all`. */
  dir: string;
  slug: string;
  name: string;
  title: string;
  description: string;
  articles: Article[];
}

export interface FeedLinks {
  rss: string;
  atom: string;
  json: string;
  html: string;
}

/** The site settings the renderers need; the base URL always ends with `/`. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080/';

export function siteFrom(config: { site: Omit<Site, 'baseUrl' | 'hub' | 'icon'> & { baseUrl?: string; icon?: string }; feeds?: { hub?: string } }): Site {
  const s = config.site;
  const baseUrl = s.baseUrl ?? DEFAULT_BASE_URL;
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const site: Site = { ...s, baseUrl: base, icon: s.icon ? new URL(iconFileName(s.icon), base).href : null };
  if (config.feeds?.hub) site.hub = new URL(config.feeds.hub).href; // as the XML feeds write it
  return site;
}

export function absolute(site: Site, rel: string): string {
  return new URL(rel, site.baseUrl).href;
}

export function feedLinks(site: Site, spec: Pick<FeedSpec, 'dir' | 'slug'>): FeedLinks {
  return {
    rss: absolute(site, `${spec.dir}/rss.xml`),
    atom: absolute(site, `${spec.dir}/atom.xml`),
    json: absolute(site, `${spec.dir}/feed.json`),
    html: absolute(site, `#topic-${spec.slug}`),
  };
}

/** The feeds of a selection (only its `all` and per-topic lists matter). */
export type FeedSelection = Pick<Selection, 'all' | 'topics'>;

export function feedSpecs(selection: FeedSelection, site: Site): FeedSpec[] {
  return [
    { dir: 'all', slug: 'all', name: 'All topics', title: `${site.title}: all topics`, description: site.description, articles: selection.all },
    ...selection.topics.map((t) => ({
      dir: `topics/${t.topic.slug}`,
      slug: t.topic.slug,
      name: t.topic.name,
      title: `${site.title}: ${t.topic.name}`,
      description: t.topic.description ?? `The best new articles about ${t.topic.name}.`,
      articles: t.articles,
    })),
  ];
}

const MIME: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', jpe: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp',
  avif: 'image/avif', svg: 'image/svg+xml', bmp: 'image/bmp', tif: 'image/tiff', tiff: 'image/tiff',
};

/** Each image URL's type, worked out once: an article's image is typed for RSS twice, Atom and every JSON Feed it is in. */
const mimeOf = new Map<string, string>();

/** MIME type from the URL's file extension; image/jpeg (what news images almost always are) when it has none. */
export function imageMime(url: string): string {
  let mime = mimeOf.get(url);
  if (mime === undefined) {
    const ext = /\.([a-z0-9]+)$/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    mime = (ext && MIME[ext]) || 'image/jpeg';
    if (mimeOf.size >= 100_000) mimeOf.clear();
    mimeOf.set(url, mime);
  }
  return mime;
}

export function itemView(a: Article, maxRelated = Infinity): FeedItemView {
  return {
    url: a.url,
    title: a.title,
    excerpt: a.excerpt,
    source: a.provider.name,
    isVideo: a.type === 'video',
    image: a.images[0] ?? null,
    related: a.related.slice(0, maxRelated).map((r) => ({ url: r.url, title: r.title, source: r.source })),
  };
}

/** Text safe inside a CDATA section and in feed's unescaped attributes. */
const attrText = (s: string) => s.replace(/[<>]/g, '');
const xmlAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** The date a feed changed: its newest item's, or the epoch for an empty feed (never the build time). */
export function feedUpdated(articles: readonly Article[]): Date {
  let max = 0;
  for (const a of articles) max = Math.max(max, a.date.getTime());
  return new Date(max);
}

interface Prepared {
  article: Article;
  content: string;
}

function baseFeed(site: Site, spec: FeedSpec, links: FeedLinks, self: string): Feed {
  return new Feed({
    id: self,
    title: spec.title,
    description: spec.description,
    link: links.html,
    language: site.language,
    updated: feedUpdated(spec.articles),
    generator: 'Gazette',
    feedLinks: { rss: links.rss, atom: links.atom, json: links.json },
    feed: self,
    author: { name: site.author, link: site.baseUrl },
    copyright: `${site.title}; articles belong to their publishers`,
    hub: site.hub,
    // RSS's <image> (and Atom's <logo>) must be GIF, JPEG or PNG; Atom's <icon> may be any image.
    image: site.icon && /\.(?:png|jpg|gif)$/.test(site.icon) ? site.icon : undefined,
    favicon: site.icon ?? undefined,
  });
}

function rss(site: Site, spec: FeedSpec, links: FeedLinks, items: Prepared[]): string {
  const feed = baseFeed(site, spec, links, links.rss);
  for (const { article: a, content } of items) {
    const img = a.images[0];
    const item: Item = {
      title: escapeText(a.title),
      link: a.url,
      date: a.date,
      description: escapeText(a.excerpt),
      content,
      category: a.topics.map((t) => ({ name: t.name })),
      extensions: [{ name: 'dc:creator', objects: { _text: a.provider.name } }],
    };
    if (img) {
      item.enclosure = { url: img.url, type: imageMime(img.url), length: 0 };
      const media: Record<string, string> = { url: xmlAttr(img.url), medium: 'image', type: imageMime(img.url) };
      if (img.width) media.width = String(img.width);
      if (img.height) media.height = String(img.height);
      item.extensions!.push({ name: 'media:content', objects: { _attributes: media } });
    }
    feed.addItem(item);
  }
  let xml = feed.rss2();
  xml = xml.replace(/<rss version="2.0"/, '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"');
  if (!xml.includes('xmlns:dc=')) xml = xml.replace(/<rss version="2.0"/, '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"');
  return xml + '\n';
}

function atom(site: Site, spec: FeedSpec, links: FeedLinks, items: Prepared[]): string {
  const feed = baseFeed(site, spec, links, links.atom);
  const types = new Map<string, string>();
  for (const { article: a, content } of items) {
    const img = a.images[0];
    const item: Item = {
      title: escapeText(a.title),
      id: a.id,
      link: a.url,
      date: a.date,
      published: a.date,
      description: escapeText(a.excerpt),
      content,
      author: [{ name: a.provider.name }],
      category: a.topics.map((t) => ({ term: attrText(t.name) })),
    };
    if (img) {
      item.image = img.url;
      types.set(xmlAttr(img.url), imageMime(img.url));
    }
    feed.addItem(item);
  }
  const xml = feed
    .atom1()
    .replace(/<link rel="enclosure" href="([^"]*)" type="[^"]*"\/>/g, (m, href: string) =>
      types.has(href) ? `<link rel="enclosure" href="${href}" type="${types.get(href)}"/>` : m,
    );
  return xml + '\n';
}

function jsonItem({ article: a, content }: Prepared) {
  const img = a.images[0];
  return {
    id: a.id,
    url: a.url,
    title: a.title,
    content_html: content,
    summary: a.excerpt || undefined,
    image: img?.url,
    date_published: a.date.toISOString(),
    authors: [{ name: a.provider.name }],
    tags: a.topics.map((t) => t.name),
    attachments: img ? [{ url: img.url, mime_type: imageMime(img.url) }] : undefined,
  };
}

const jsonText = (doc: unknown) => JSON.stringify(doc, null, 2) + '\n';

function jsonFeed(site: Site, spec: FeedSpec, links: FeedLinks, items: Prepared[]): string {
  return jsonText({
    version: 'https://jsonfeed.org/version/1.1',
    title: spec.title,
    home_page_url: links.html,
    feed_url: links.json,
    description: spec.description,
    language: site.language,
    authors: [{ name: site.author, url: site.baseUrl }],
    ...(site.icon ? { icon: site.icon, favicon: site.icon } : {}),
    ...(site.hub ? { hubs: [{ type: 'WebSub', url: site.hub }] } : {}),
    items: items.map(jsonItem),
  });
}

/**
 * Each article's `<item>` / `<entry>` as `feed` writes it, rendered once for all the feeds that list it: documents
 * of `ITEMS_PER_DOC` articles (`render`), cut at each item's start. An item does not depend on its feed (its
 * feed's fields are all in the header) and is written at the same depth in every feed, so the text is the same
 * in each. Null when a document does not cut into exactly one piece per article (text in the header or a
 * template that looks like an item start): the feeds are then rendered whole.
 */
function itemTexts(render: (items: Prepared[]) => string, items: Prepared[], start: string, end: string): Map<Article, string> | null {
  const out = new Map<Article, string>();
  for (let i = 0; i < items.length; i += ITEMS_PER_DOC) {
    const texts = itemTextsOf(render, items.slice(i, i + ITEMS_PER_DOC), start, end);
    if (!texts) return null;
    for (const [a, t] of texts) out.set(a, t);
  }
  return out;
}

/**
 * Small documents: one of all ~820 items of a 20k-article site made a few megabytes of text at each level
 * xml-js joins, each in memory the process had never touched (~3 µs a 4 KB page here): ~11k page faults
 * against ~2.4k with documents of 16 items.
 */
const ITEMS_PER_DOC = 16;

function itemTextsOf(render: (items: Prepared[]) => string, items: Prepared[], start: string, end: string): Map<Article, string> | null {
  const doc = render(items);
  const bounds = itemBounds(doc, items.length, start, end);
  return bounds && new Map(items.map((p, i) => [p.article, doc.slice(bounds[i], bounds[i + 1])]));
}

/**
 * Where each of the `count` items of a feed's text starts, and where the last one ends (`count + 1` offsets);
 * null when the text does not cut into exactly `count` items at `start` … `end`.
 */
function itemBounds(doc: string, count: number, start: string, end: string): number[] | null {
  const bounds: number[] = [];
  for (let at = doc.indexOf(start); at >= 0; at = doc.indexOf(start, at + start.length)) bounds.push(at);
  const last = doc.lastIndexOf(end);
  if (count === 0 || bounds.length !== count || last < bounds[count - 1]!) return null;
  bounds.push(last + end.length);
  return bounds;
}

/**
 * A feed of `items` from the feed of its first item alone (header, that item, footer) with that item's text
 * replaced by all of theirs — what `render(items)` gives, without writing each item again for every feed.
 */
function assemble(render: (items: Prepared[]) => string, items: Prepared[], texts: Map<Article, string> | null): string | string[] {
  // RSS declares the content namespace when any item has content: the first item must tell the same.
  if (!texts || items.length < 2 || (!items[0]!.content && items.some((p) => p.content))) return render(items);
  // (A feed that was to be respliced has the texts of its changed articles only.)
  if (items.some((p) => !texts.has(p.article))) return render(items);
  const shell = render(items.slice(0, 1));
  const first = texts.get(items[0]!.article)!;
  const at = shell.indexOf(first);
  if (at < 0 || shell.indexOf(first, at + 1) >= 0) return render(items);
  const out = [shell.slice(0, at)];
  for (const p of items) out.push(texts.get(p.article)!);
  out.push(shell.slice(at + first.length));
  return out;
}

/**
 * A feed's text as the last build wrote it (`old`, for the same articles in the same order, by the same code,
 * site and template) with the items of the `changed` articles replaced by their new texts: cut at each item's
 * start as `itemTexts` cuts. Null when the old text does not cut into one piece per article.
 */
function resplice(old: string, items: Prepared[], changed: ReadonlySet<Article>, texts: Map<Article, string> | null, start: string, end: string): string[] | null {
  if (!texts) return null;
  const bounds = itemBounds(old, items.length, start, end);
  if (!bounds) return null;
  const out = [old.slice(0, bounds[0])];
  for (let i = 0; i < items.length; i++) {
    const a = items[i]!.article;
    const text = changed.has(a) ? texts.get(a) : old.slice(bounds[i], bounds[i + 1]);
    if (text === undefined) return null;
    out.push(text);
  }
  out.push(old.slice(bounds[items.length]));
  return out;
}

/** The JSON Feed as the last build wrote it with the changed articles' items made again; null when it does not list these articles. */
function respliceJson(old: string, items: Prepared[], changed: ReadonlySet<Article>): string | null {
  let doc: { items?: { id?: unknown }[] };
  try {
    doc = JSON.parse(old) as typeof doc;
  } catch {
    return null;
  }
  const list = doc.items;
  if (!Array.isArray(list) || list.length !== items.length || items.some((p, i) => list[i]?.id !== p.article.id)) return null;
  items.forEach((p, i) => {
    if (changed.has(p.article)) list[i] = jsonItem(p);
  });
  return jsonText(doc);
}

/** Where each item starts in `feed`'s output (xml-js indents by 4 per level: rss > channel > item, feed > entry). */
const RSS_ITEM = ['\n        <item>', '</item>'] as const;
const ATOM_ENTRY = ['\n    <entry>', '</entry>'] as const;

export interface RenderFeedsOptions {
  /** Leaves out specs whose files are known to be current. */
  skip?: (spec: FeedSpec) => boolean;
  /** Render every feed whole, each item again in each feed (the reference the shared item texts are tested against). */
  whole?: boolean;
  /**
   * For a feed whose files the last build wrote for the same articles in the same order (the same code, site
   * and template), of which only some articles changed since: those files and the changed articles. Only their
   * items are rendered, put in place of the old ones (a rebuild after an edit); a feed whose files do not cut
   * so is rendered whole.
   */
  resplice?: (spec: FeedSpec) => Resplice | null;
}

/** See `RenderFeedsOptions.resplice`. */
export interface Resplice {
  old: { rss: string; atom: string; json: string };
  changed: ReadonlySet<Article>;
}

/** Every feed file for the selection, in a fixed order. */
export function renderFeeds(selection: FeedSelection, site: Site, templates: FeedTemplates, opts: RenderFeedsOptions = {}): OutputFile[] {
  const cache = new Map<Article, string>();
  const contentOf = (a: Article) => {
    let html = cache.get(a);
    if (html === undefined) {
      html = templates.item(itemView(a)).trim();
      cache.set(a, html);
    }
    return html;
  };
  const specs = feedSpecs(selection, site).filter((spec) => !opts.skip?.(spec));
  const prepared = (articles: Article[]) => articles.map((article) => ({ article, content: contentOf(article) }));
  const splices = new Map<FeedSpec, Resplice>();
  if (!opts.whole && opts.resplice) {
    for (const spec of specs) {
      const r = opts.resplice(spec);
      if (r) splices.set(spec, r);
    }
  }
  /** The articles whose items are rendered: all of a feed rendered whole, only the changed ones of a respliced feed. */
  const rendered = (spec: FeedSpec) => {
    const r = splices.get(spec);
    return r ? spec.articles.filter((a) => r.changed.has(a)) : spec.articles;
  };
  // Articles listed by more than one of these feeds (most: every topic feed's articles are also in `all` or another topic's).
  let rssTexts: Map<Article, string> | null = null;
  let atomTexts: Map<Article, string> | null = null;
  if (!opts.whole && (specs.length > 1 || splices.size > 0)) {
    const unique = prepared([...new Set(specs.flatMap(rendered))]);
    const [spec] = specs;
    const links = feedLinks(site, spec!);
    if (unique.length > 0) {
      rssTexts = itemTexts((items) => rss(site, spec!, links, items), unique, ...RSS_ITEM);
      atomTexts = itemTexts((items) => atom(site, spec!, links, items), unique, ...ATOM_ENTRY);
    }
  }
  const files: OutputFile[] = [];
  for (const spec of specs) {
    const links = feedLinks(site, spec);
    const r = splices.get(spec);
    if (r) {
      // Only the changed articles' items (contents) are made again.
      const items = spec.articles.map((article) => ({ article, content: r.changed.has(article) ? contentOf(article) : '' }));
      // RSS declares the content namespace only if some item has content: an edited item must not change that.
      const hasContent = r.old.rss.includes(' xmlns:content=');
      const sameHeader = items.every((p) => !r.changed.has(p.article) || Boolean(p.content) === hasContent);
      const texts = [
        sameHeader ? resplice(r.old.rss, items, r.changed, rssTexts, ...RSS_ITEM) : null,
        resplice(r.old.atom, items, r.changed, atomTexts, ...ATOM_ENTRY),
        respliceJson(r.old.json, items, r.changed),
      ];
      if (texts.every((t) => t !== null)) {
        files.push({ path: `${spec.dir}/rss.xml`, content: texts[0]! }, { path: `${spec.dir}/atom.xml`, content: texts[1]! }, { path: `${spec.dir}/feed.json`, content: texts[2]! });
        continue;
      }
    }
    const items = prepared(spec.articles);
    files.push(
      { path: `${spec.dir}/rss.xml`, content: assemble((list) => rss(site, spec, links, list), items, rssTexts) },
      { path: `${spec.dir}/atom.xml`, content: assemble((list) => atom(site, spec, links, list), items, atomTexts) },
      { path: `${spec.dir}/feed.json`, content: jsonFeed(site, spec, links, items) },
    );
  }
  return files;
}
