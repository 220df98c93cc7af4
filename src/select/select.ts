/**
 * Selection, a pure function of (articles, topics, rules, now).
 *
 * An article is eligible when it is published (a missing flag means published), its quality is at or above
 * `minQuality` (a missing quality counts as `missingQuality`, or excludes the article when that is
 * "exclude"), it is not dated in the future, and it is within `maxAgeDays` / `since` when set.
 * Duplicates (same canonical URL) keep one article: the newest, then the higher quality, then the first file
 * by path. Rank: newest first, then higher quality, then URL — the order feed readers show. Each feed is
 * capped at `itemsPerFeed`. An article loaded lazily is parsed in full (`sound`) only when it is about to
 * enter a feed, and left out if its file turns out broken; `eligible` is not checked (digests check what they pick).
 */
import { sound, type Article } from '../content/article.js';
import { effectiveTopics, topicIndex, type TopicDef } from './topics.js';

export interface SelectionRules {
  minQuality: number;
  missingQuality: number | 'exclude';
  itemsPerFeed: number;
  maxAgeDays: number;
  /** Only articles dated at or after this instant. */
  since?: Date;
}

export interface TopicSelection {
  topic: TopicDef;
  articles: Article[];
}

export interface SelectionStats {
  considered: number;
  unpublished: number;
  belowQuality: number;
  future: number;
  tooOld: number;
  duplicates: number;
  eligible: number;
}

export interface Selection {
  topics: TopicSelection[];
  /** Everything eligible across topics, ranked and capped: the `all` feed. */
  all: Article[];
  /** Every eligible article, ranked, uncapped (digests pick from this). */
  eligible: Article[];
  stats: SelectionStats;
}

export function compareRank(a: Article, b: Article): number {
  return b.date.getTime() - a.date.getTime() || (b.quality ?? 0) - (a.quality ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function select(articles: readonly Article[], topics: readonly TopicDef[], rules: SelectionRules, now: Date): Selection {
  const stats: SelectionStats = { considered: articles.length, unpublished: 0, belowQuality: 0, future: 0, tooOld: 0, duplicates: 0, eligible: 0 };
  const nowMs = now.getTime();
  const oldest = Math.max(
    rules.maxAgeDays > 0 ? nowMs - rules.maxAgeDays * 86_400_000 : -Infinity,
    rules.since ? rules.since.getTime() : -Infinity,
  );
  const byId = new Map<string, Article>();
  for (const a of articles) {
    if (!a.published) { stats.unpublished++; continue; }
    const q = a.quality ?? rules.missingQuality;
    if (q === 'exclude' || q < rules.minQuality) { stats.belowQuality++; continue; }
    const t = a.date.getTime();
    if (t > nowMs) { stats.future++; continue; }
    if (t < oldest) { stats.tooOld++; continue; }
    const prev = byId.get(a.id);
    if (prev) {
      stats.duplicates++;
      // A duplicate is rare: both are checked in full, so a broken file never displaces a good one.
      if (!sound(prev) || (sound(a) && preferOver(a, prev))) byId.set(a.id, a);
    } else byId.set(a.id, a);
  }
  const eligible = [...byId.values()].sort(compareRank);
  stats.eligible = eligible.length;

  const bySlug = topicIndex(topics);
  const perTopic = new Map<string, Article[]>(topics.map((t) => [t.slug, []]));
  let full = 0;
  for (const a of eligible) {
    // Once every feed is full, no later article can enter one (most of a large corpus).
    if (full === perTopic.size) break;
    for (const slug of effectiveTopics(a, bySlug)) {
      const list = perTopic.get(slug)!;
      if (list.length < rules.itemsPerFeed && sound(a) && list.push(a) === rules.itemsPerFeed) full++;
    }
  }
  const all: Article[] = [];
  for (const a of eligible) {
    if (all.length >= rules.itemsPerFeed) break;
    if (sound(a)) all.push(a);
  }
  return {
    topics: topics.map((topic) => ({ topic, articles: perTopic.get(topic.slug)! })),
    all,
    eligible,
    stats,
  };
}

function preferOver(a: Article, b: Article): boolean {
  if (a.date.getTime() !== b.date.getTime()) return a.date > b.date;
  if ((a.quality ?? 0) !== (b.quality ?? 0)) return (a.quality ?? 0) > (b.quality ?? 0);
  return a.file < b.file;
}

/** Every eligible article of one topic (its own or a descendant's), ranked, uncapped: what digests pick from. */
export function topicArticles(selection: Selection, topics: readonly TopicDef[], slug: string): Article[] {
  const bySlug = topicIndex(topics);
  return selection.eligible.filter((a) => effectiveTopics(a, bySlug).has(slug));
}
