/**
 * Entries → Article objects that parse their JSON (or, for scanned-only files, their front matter) on first
 * use. Main thread only: it needs the full parser.
 */
import type { Article, ContentIssue, Image, RelatedItem, Topic } from './article.js';
import { metaJson, readMeta, textOf, toEntry, type Entry, type Rest } from './entry.js';
import { parseSource } from './parse.js';
import { readSource } from './source.js';
import { RACY_MS, type FileRead } from './read.js';
import { sameStamp, stampText } from './list.js';
import { ContentError } from '../errors.js';

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

  /** The load entry this article was made from (its stamp is the file's version). */
  readonly #source: Entry;

  constructor(e: Entry) {
    this.#source = e;
    this.file = e.file;
    const m = readMeta(e.meta!);
    this.id = m.id;
    this.date = new Date(m.date ?? 0); // (a JSON null: the epoch, as `new Date(null)` made it)
    if (m.quality !== null) this.quality = m.quality;
    this.published = m.published;
    this.topics = topicList(m.topics) as Topic[];
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
  /** The stamp of the file as last read for this article (`stampText`; a full parse reads it again). */
  get fileVersion(): string {
    return stampText(this.#source);
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
    const readAt = Date.now();
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
    const same = sameStamp(read, e);
    if (r.ok && !same && metaJson(r.article) !== e.meta) {
      // Edited since the scan in a way that changes its place: left out now; the next build scans it again.
      this.#full = null;
      this.#hooks.issue({ file: e.file, reason: 'changed while it was being read; left out of this run' });
      return false;
    }
    Object.assign(e, toEntry(e.file, read, r), { line: undefined });
    // Changed since the scan, and within a clock tick of this read (see RACY_MS): the next load reads it again.
    if (!same && read.ctimeMs + RACY_MS > readAt) e.ctimeMs = -1;
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

/** The stamp (`stampText`) of the file an article of this module was read from; undefined for any other article. */
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
