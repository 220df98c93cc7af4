/**
 * Entries → Article objects that parse their JSON (or, for scanned-only files, their front matter) on first
 * use. Main thread only: it needs the full parser.
 */
import type { Article, ContentIssue, Image, RelatedItem, Topic } from './article.js';
import { metaJson, textOf, toEntry, type Entry, type MetaTuple, type Rest } from './entry.js';
import { parseSource } from './parse.js';
import { readSource } from './source.js';
import type { FileRead } from './read.js';
import { ContentError } from '../errors.js';

/**
 * Where the id string of meta JSON `["id",date,quality,published,[[name,slug],…]]` ends (its closing quote),
 * or -1 when the text does not start so.
 */
function metaIdEnd(meta: string): number {
  if (meta.charCodeAt(0) !== 91 || meta.charCodeAt(1) !== 34) return -1;
  for (let i = 2; i < meta.length; i++) {
    const c = meta.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return i;
  }
  return -1;
}

/**
 * Articles' topic lists, by their JSON text: a site has few distinct ones, so articles share them (frozen:
 * nothing changes an article's topics). Emptied when it grows past any real site's count.
 */
const topicLists = new Map<string, readonly Topic[]>();
function topicList(json: string): readonly Topic[] {
  let list = topicLists.get(json);
  if (list === undefined) {
    list = Object.freeze((JSON.parse(json) as [string, string][]).map(([name, slug]) => Object.freeze({ name, slug })));
    if (topicLists.size >= 10_000) topicLists.clear();
    topicLists.set(json, list);
  }
  return list;
}

abstract class LazyArticle implements Article {
  readonly id: string;
  readonly file: string;
  readonly date: Date;
  readonly quality?: number;
  readonly published: boolean;
  readonly topics: Topic[];
  #related?: RelatedItem[];

  /** The load entry this article was made from (its size and mtime are the file's version). */
  readonly #source: Entry;

  constructor(e: Entry) {
    this.#source = e;
    this.file = e.file;
    const meta = e.meta!;
    // Read by hand (one article's meta costs ~1 µs so, ~4 µs through JSON.parse and its arrays), unless odd.
    const idEnd = metaIdEnd(meta);
    const c1 = idEnd < 0 ? -1 : meta.indexOf(',', idEnd + 2);
    const c2 = c1 < 0 ? -1 : meta.indexOf(',', c1 + 1);
    const c3 = c2 < 0 ? -1 : meta.indexOf(',', c2 + 1);
    const dateMs = c1 < 0 ? NaN : Number(meta.slice(idEnd + 2, c1));
    if (c3 < 0 || meta.charCodeAt(idEnd + 1) !== 44 || Number.isNaN(dateMs)) {
      const [id, date, quality, published, topics] = JSON.parse(meta) as MetaTuple;
      this.id = id;
      this.date = new Date(date);
      if (quality !== null) this.quality = quality;
      this.published = published === 1;
      this.topics = topics.map(([name, slug]) => ({ name, slug }));
      return;
    }
    this.id = meta.includes('\\') ? (JSON.parse(meta.slice(1, idEnd + 1)) as string) : meta.slice(2, idEnd);
    this.date = new Date(dateMs);
    const quality = meta.slice(c1 + 1, c2);
    if (quality !== 'null') this.quality = Number(quality);
    this.published = meta.charCodeAt(c2 + 1) === 49;
    this.topics = topicList(meta.slice(c3 + 1, meta.length - 1)) as Topic[];
  }

  protected abstract rest(): Rest;
  protected abstract relatedItems(): RelatedItem[];

  get url(): string { return this.rest().url; }
  get title(): string { return this.rest().title; }
  get excerpt(): string { return this.rest().excerpt; }
  get type(): Article['type'] { return this.rest().type; }
  get heat(): number | undefined { return this.rest().heat; }
  get provider(): Article['provider'] { return this.rest().provider; }
  get images(): Image[] { return this.rest().images; }
  get featuredContent(): string | undefined { return this.rest().featuredContent; }
  get related(): RelatedItem[] {
    return (this.#related ??= this.relatedItems());
  }
  set related(v: RelatedItem[]) {
    this.#related = v;
  }
  /** The load entry (a full parse updates it). */
  protected get entry(): Entry {
    return this.#source;
  }
  /** `size:mtime` of the file as last read for this article (a full parse reads it again). */
  get fileVersion(): string {
    return `${this.#source.size}:${this.#source.mtimeMs}`;
  }
  toJSON(): Article {
    return { ...this.rest(), id: this.id, file: this.file, date: this.date, quality: this.quality, published: this.published, topics: this.topics, related: this.related };
  }
}

/** A fully parsed article from the cache or a fresh parse: its JSON is decoded on first use. */
class CachedArticle extends LazyArticle {
  #article: Entry['article'] & object;
  #relatedText: Entry['related'] & object;
  #rest?: Rest;

  constructor(e: Entry) {
    super(e);
    this.#article = e.article!;
    this.#relatedText = e.related!;
  }
  protected rest(): Rest {
    return (this.#rest ??= JSON.parse(textOf(this.#article)) as Rest);
  }
  protected relatedItems(): RelatedItem[] {
    return (JSON.parse(textOf(this.#relatedText)) as (RelatedItem & { date?: string })[]).map((x) => (x.date ? { ...x, date: new Date(x.date) } : (x as RelatedItem)));
  }
}

export interface PendingHooks {
  /** Reads the article's file again (the content folder is the loader's business). */
  read: (file: string) => FileRead;
  /** The full parse found the file broken: it is reported and the article is not used. */
  issue: (i: ContentIssue) => void;
  /** The entry changed (verified or broken): the cache should be written again. */
  changed: () => void;
}

/**
 * A scanned-only article: selection fields at hand; `verify()` reads the file again and parses it in full.
 * Selection and digests call `verify()` on what they are about to use, so a broken file is dropped then.
 * (The file is read through the loader's hook: the content stage keeps its I/O.)
 */
class PendingArticle extends LazyArticle {
  #hooks: PendingHooks;
  /** undefined: not parsed yet; null: the file is broken. */
  #full?: Article | null;

  constructor(e: Entry, hooks: PendingHooks) {
    super(e);
    this.#hooks = hooks;
  }

  verify(): boolean {
    if (this.#full !== undefined) return this.#full !== null;
    const e = this.entry;
    let read: FileRead;
    try {
      read = this.#hooks.read(e.file);
    } catch (err) {
      this.#full = null;
      this.#hooks.issue({ file: e.file, reason: `cannot read: ${err instanceof Error ? err.message : String(err)}` });
      return false;
    }
    const src = readSource(e.file, read.bytes, read.size);
    const r = src.ok ? parseSource(e.file, src.source.text) : src;
    const same = read.size === e.size && read.mtimeMs === e.mtimeMs;
    if (r.ok && !same && metaJson(r.article) !== e.meta) {
      // Edited since the scan in a way that changes its place: left out now; the next build scans it again.
      this.#full = null;
      this.#hooks.issue({ file: e.file, reason: 'changed while it was being read; left out of this run' });
      return false;
    }
    Object.assign(e, toEntry(e.file, read.size, read.mtimeMs, r), { line: undefined });
    this.#full = r.ok ? r.article : null;
    if (!r.ok) this.#hooks.issue(r.issue);
    this.#hooks.changed();
    return this.#full !== null;
  }

  #article(): Article {
    if (!this.verify()) throw new ContentError(`${this.file} does not parse and must not be used (verify() first)`);
    return this.#full!;
  }
  protected rest(): Rest {
    return this.#article();
  }
  protected relatedItems(): RelatedItem[] {
    return this.#article().related;
  }
}

/** `size:mtime` of the file an article of this module was read from; undefined for any other article. */
export function fileVersion(a: Article): string | undefined {
  return a instanceof LazyArticle ? a.fileVersion : undefined;
}

export function materialize(e: Entry, hooks: PendingHooks): Article {
  return e.pending ? new PendingArticle(e, hooks) : cachedArticle(e);
}

/** The article of an entry that was parsed in full (not `pending`). */
export function cachedArticle(e: Entry): Article {
  return new CachedArticle(e);
}
