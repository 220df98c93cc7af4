/**
 * One file's parse result in a form that is cheap to keep, move between threads and cache. What selection
 * needs (id, date, quality, published, topics) is read for every article; the rest of an article — and its
 * related list, apart — is parsed from its JSON only when something asks for it, which for most articles
 * of a large site is never.
 */
import type { Article, ContentIssue, Image, RelatedItem, Topic } from './article.js';
import type { NormalizeResult } from './normalize.js';

/** Where an article's JSON text lives: a string, or a slice of the cache file's bytes. */
interface Text {
  src: string | Buffer;
  start: number;
  end: number;
}

const textOf = (t: Text) => (typeof t.src === 'string' ? t.src.slice(t.start, t.end) : t.src.toString('utf8', t.start, t.end));
const whole = (s: string): Text => ({ src: s, start: 0, end: s.length });

export interface Entry {
  file: string;
  size: number;
  mtimeMs: number;
  /** JSON `[id, dateMs, quality|null, published 0|1, [[name, slug], …]]`; null when the file was skipped. */
  meta: string | null;
  /** JSON of the Article without `related`. */
  article: Text | null;
  /** JSON of the related list. */
  related: Text | null;
  issue: ContentIssue | null;
  /** The entry's line in the cache file it was read from, so an unchanged entry is copied, not re-encoded. */
  line?: { buf: Buffer; start: number; end: number };
}

export function toEntry(file: string, size: number, mtimeMs: number, r: NormalizeResult): Entry {
  if (!r.ok) return { file, size, mtimeMs, meta: null, article: null, related: null, issue: r.issue };
  const { related, ...rest } = r.article;
  const a = r.article;
  const meta = JSON.stringify([a.id, a.date.getTime(), a.quality ?? null, a.published ? 1 : 0, a.topics.map((t) => [t.name, t.slug])]);
  return { file, size, mtimeMs, meta, article: whole(JSON.stringify(rest)), related: whole(JSON.stringify(related)), issue: null };
}

type Rest = Omit<Article, 'related' | 'id' | 'file' | 'date' | 'quality' | 'published' | 'topics'>;

/** An article whose selection fields are at hand and whose other fields are parsed on first use. */
class CachedArticle implements Article {
  readonly id: string;
  readonly file: string;
  readonly date: Date;
  readonly quality?: number;
  readonly published: boolean;
  readonly topics: Topic[];
  #article: Text;
  #relatedText: Text;
  #rest?: Rest;
  #related?: RelatedItem[];

  constructor(file: string, meta: string, article: Text, related: Text) {
    const [id, date, quality, published, topics] = JSON.parse(meta) as [string, number, number | null, 0 | 1, [string, string][]];
    this.id = id;
    this.file = file;
    this.date = new Date(date);
    if (quality !== null) this.quality = quality;
    this.published = published === 1;
    this.topics = topics.map(([name, slug]) => ({ name, slug }));
    this.#article = article;
    this.#relatedText = related;
  }

  #r(): Rest {
    return (this.#rest ??= JSON.parse(textOf(this.#article)) as Rest);
  }
  get url(): string { return this.#r().url; }
  get title(): string { return this.#r().title; }
  get excerpt(): string { return this.#r().excerpt; }
  get type(): Article['type'] { return this.#r().type; }
  get heat(): number | undefined { return this.#r().heat; }
  get provider(): Article['provider'] { return this.#r().provider; }
  get images(): Image[] { return this.#r().images; }
  get featuredContent(): string | undefined { return this.#r().featuredContent; }
  get related(): RelatedItem[] {
    return (this.#related ??= (JSON.parse(textOf(this.#relatedText)) as (RelatedItem & { date?: string })[]).map((x) =>
      x.date ? { ...x, date: new Date(x.date) } : (x as RelatedItem),
    ));
  }
  set related(v: RelatedItem[]) {
    this.#related = v;
  }
  toJSON(): Article {
    return { ...this.#r(), id: this.id, file: this.file, date: this.date, quality: this.quality, published: this.published, topics: this.topics, related: this.related };
  }
}

export function materialize(e: Entry): Article {
  return new CachedArticle(e.file, e.meta!, e.article!, e.related!);
}

/** The entry's cache line as bytes (without the newline). */
export function entryBytes(e: Entry): Buffer {
  return e.line ? e.line.buf.subarray(e.line.start, e.line.end) : Buffer.from(entryLine(e), 'utf8');
}

// The cache is a file of lines: JSON file name, size, mtime, meta JSON (or "!" + issue JSON), article JSON,
// related JSON — separated by tabs (JSON text never contains a raw tab or newline).
export function entryLine(e: Entry): string {
  if (!e.meta) return `${JSON.stringify(e.file)}\t${e.size}\t${e.mtimeMs}\t!${JSON.stringify(e.issue)}\t\t`;
  return `${JSON.stringify(e.file)}\t${e.size}\t${e.mtimeMs}\t${e.meta}\t${textOf(e.article!)}\t${textOf(e.related!)}`;
}

/** Reads every line of a cache file's bytes; article and related text stay in the buffer until used. */
export function parseEntries(buf: Buffer, from: number, onEntry: (e: Entry) => void): void {
  let pos = from;
  while (pos < buf.length) {
    let end = buf.indexOf(10, pos);
    if (end < 0) end = buf.length;
    const tabs: number[] = [];
    for (let t = buf.indexOf(9, pos); t >= 0 && t < end && tabs.length < 5; t = buf.indexOf(9, t + 1)) tabs.push(t);
    if (tabs.length === 5) {
      const [t1, t2, t3, t4, t5] = tabs as [number, number, number, number, number];
      const line = { buf, start: pos, end };
      const file = JSON.parse(buf.toString('utf8', pos, t1)) as string;
      const size = Number(buf.toString('latin1', t1 + 1, t2));
      const mtimeMs = Number(buf.toString('latin1', t2 + 1, t3));
      if (buf[t3 + 1] === 0x21 /* ! */) {
        onEntry({ file, size, mtimeMs, meta: null, article: null, related: null, issue: JSON.parse(buf.toString('utf8', t3 + 2, t4)) as ContentIssue, line });
      } else {
        onEntry({ file, size, mtimeMs, meta: buf.toString('utf8', t3 + 1, t4), article: { src: buf, start: t4 + 1, end: t5 }, related: { src: buf, start: t5 + 1, end }, issue: null, line });
      }
    }
    pos = end + 1;
  }
}
