/** OPML and the subscribe page. Pure: compiled templates in, strings out. */
import type { Selection } from '../select/select.js';
import { absolute, feedLinks, feedSpecs, feedUpdated, type FeedLinks, type OutputFile, type Site } from './feeds.js';
import type { Template } from './templates.js';

export interface FeedListEntry {
  slug: string;
  name: string;
  title: string;
  description: string;
  count: number;
  /** count ≠ 1: "1 article", "2 articles". */
  many: boolean;
  links: FeedLinks;
}

/** One choice of digest schedule: its name (`digest.schedules`), how readers see it, whether it is the one chosen. */
export interface ScheduleChoice {
  name: string;
  title: string;
  checked: boolean;
}

export interface PageData {
  site: Site;
  feeds: FeedListEntry[];
  topics: { slug: string; name: string }[];
  updated: string | null;
  opmlUrl: string;
  archiveUrl: string | null;
  /** The sign-up form: where it posts, and the digest schedules to choose from (several: the first chosen; else empty). */
  signup: { action: string; schedules: ScheduleChoice[] } | null;
}

export interface PageTemplates {
  opml: Template<PageData>;
  index: Template<PageData>;
}

export function pageData(selection: Selection, site: Site, opts: { signup: boolean; archive: boolean; schedules?: readonly { name: string; title: string }[] }): PageData {
  const schedules = opts.schedules && opts.schedules.length > 1 ? opts.schedules.map((s, i) => ({ name: s.name, title: s.title, checked: i === 0 })) : [];
  const feeds = feedSpecs(selection, site).map((spec) => ({
    slug: spec.slug,
    name: spec.name,
    title: spec.title,
    description: spec.description,
    count: spec.articles.length,
    many: spec.articles.length !== 1,
    links: feedLinks(site, spec),
  }));
  const newest = feedUpdated(selection.all);
  return {
    site,
    feeds,
    topics: selection.topics.map((t) => ({ slug: t.topic.slug, name: t.topic.name })),
    updated: newest.getTime() > 0 ? newest.toUTCString() : null,
    opmlUrl: absolute(site, 'feeds.opml'),
    archiveUrl: opts.archive ? absolute(site, 'digests/') : null,
    signup: opts.signup ? { action: 'subscribe', schedules } : null,
  };
}

export function renderPages(data: PageData, templates: PageTemplates): OutputFile[] {
  return [
    { path: 'feeds.opml', content: templates.opml(data) },
    { path: 'index.html', content: templates.index(data) },
  ];
}
