/** Which topics exist: the configured ones, or (with none configured) every topic an article names. */
import type { Article } from '../content/article.js';
import type { TopicConfig } from '../config/schema.js';
import { slugify } from '../content/text.js';
import { ConfigError } from '../errors.js';

export interface TopicDef {
  slug: string;
  name: string;
  description?: string;
  /** Slug of the parent topic, whose feed also carries this topic's articles. */
  parent?: string;
}

export function resolveTopics(configured: readonly TopicConfig[], articles: readonly Article[]): TopicDef[] {
  if (configured.length === 0) {
    const bySlug = new Map<string, TopicDef>();
    for (const a of articles) for (const t of a.topics) if (!bySlug.has(t.slug)) bySlug.set(t.slug, { slug: t.slug, name: t.name });
    return [...bySlug.values()].sort((a, b) => a.slug.localeCompare(b.slug));
  }
  const defs = configured.map((t) => ({ slug: t.slug ?? slugify(t.name), name: t.name, description: t.description, parentRef: t.parent }));
  const slugs = new Set<string>();
  for (const d of defs) {
    if (!d.slug) throw new ConfigError(`topics: "${d.name}" has no usable slug; set one with slug:`);
    if (slugs.has(d.slug)) throw new ConfigError(`topics: two topics share the slug "${d.slug}"`);
    slugs.add(d.slug);
  }
  const out: TopicDef[] = defs.map((d) => {
    let parent: string | undefined;
    if (d.parentRef !== undefined) {
      const ref = d.parentRef;
      const p = defs.find((x) => x.name === ref || x.slug === ref || x.slug === slugify(ref));
      if (!p) throw new ConfigError(`topics: "${d.name}" names parent "${ref}", which is not a configured topic`);
      parent = p.slug;
    }
    return { slug: d.slug, name: d.name, description: d.description, parent };
  });
  // Refuse cycles: a parent chain must end.
  for (const t of out) {
    const seen = new Set<string>();
    for (let cur: TopicDef | undefined = t; cur?.parent; cur = out.find((x) => x.slug === cur!.parent)) {
      if (seen.has(cur.slug)) throw new ConfigError(`topics: the parent chain of "${t.name}" loops`);
      seen.add(cur.slug);
    }
  }
  return out;
}

/**
 * The topics by the slugs an article's topic names can have: each topic's slug, and — for a configured topic
 * with a slug of its own (`{ name: AI, slug: artificial-intelligence }`) — the slug of its name, which is what
 * the articles naming it carry. A slug always wins over another topic's name.
 */
export function topicIndex(topics: readonly TopicDef[]): Map<string, TopicDef> {
  const index = new Map(topics.map((t) => [t.slug, t]));
  for (const t of topics) {
    const byName = slugify(t.name);
    if (byName && !index.has(byName)) index.set(byName, t);
  }
  return index;
}

/** Slugs of the topics an article belongs to: its own, plus every ancestor of a configured one. `bySlug`: `topicIndex`. */
export function effectiveTopics(article: Article, bySlug: ReadonlyMap<string, TopicDef>): Set<string> {
  const out = new Set<string>();
  for (const t of article.topics) {
    for (let cur = bySlug.get(t.slug); cur && !out.has(cur.slug); cur = cur.parent ? bySlug.get(cur.parent) : undefined) {
      out.add(cur.slug);
    }
  }
  return out;
}
