/**
 * One file's parse result in a form that is cheap to keep, move between threads and cache: the article as
 * JSON text (its `related` list apart, parsed only when a renderer asks for it), or the issue.
 */
import type { Article, ContentIssue, RelatedItem } from './article.js';
import type { NormalizeResult } from './normalize.js';

export interface Entry {
  file: string;
  size: number;
  mtimeMs: number;
  /** JSON of the Article without `related`; null when the file was skipped. */
  article: string | null;
  /** JSON of the related list. */
  related: string;
  issue: ContentIssue | null;
}

export function toEntry(file: string, size: number, mtimeMs: number, r: NormalizeResult): Entry {
  if (!r.ok) return { file, size, mtimeMs, article: null, related: '', issue: r.issue };
  const { related, ...rest } = r.article;
  return { file, size, mtimeMs, article: JSON.stringify(rest), related: JSON.stringify(related), issue: null };
}

/** The Article of an entry. `related` is parsed on first access: most articles are never rendered. */
export function materialize(e: Entry): Article {
  const a = JSON.parse(e.article!) as Record<string, unknown>;
  a.date = new Date(a.date as string);
  let related: RelatedItem[] | undefined;
  const raw = e.related;
  Object.defineProperty(a, 'related', {
    enumerable: true,
    configurable: true,
    get() {
      if (!related) {
        related = (JSON.parse(raw) as (RelatedItem & { date?: string })[]).map((x) => (x.date ? { ...x, date: new Date(x.date) } : (x as RelatedItem)));
      }
      return related;
    },
    set(v: RelatedItem[]) {
      related = v;
    },
  });
  return a as unknown as Article;
}

// The cache is a text file, one entry per line: JSON-encoded file name, size, mtime, article JSON (or
// "!" + issue JSON), related JSON — separated by tabs (JSON text never contains a raw tab or newline).
export function entryLine(e: Entry): string {
  return `${JSON.stringify(e.file)}\t${e.size}\t${e.mtimeMs}\t${e.article ?? `!${JSON.stringify(e.issue)}`}\t${e.related}`;
}

export function parseEntryLine(line: string): Entry | null {
  const parts = line.split('\t');
  if (parts.length !== 5) return null;
  const [file, size, mtime, payload, related] = parts as [string, string, string, string, string];
  const issue = payload.startsWith('!');
  return {
    file: JSON.parse(file) as string,
    size: Number(size),
    mtimeMs: Number(mtime),
    article: issue ? null : payload,
    related,
    issue: issue ? (JSON.parse(payload.slice(1)) as ContentIssue) : null,
  };
}
