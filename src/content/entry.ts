/**
 * One file's load result in a form that is cheap to keep, move between threads and cache. What selection
 * needs (id, date, quality, published, topics) is kept as a small JSON `meta`; the rest of an article — and
 * its related list, apart — stays JSON text until something asks for it (src/content/articles.ts). A file
 * that was only scanned is read again and parsed in full when its article is first needed.
 * No dependency on the full parser: worker threads load this module.
 */
import type { Article, ContentIssue } from './article.js';
import type { NormalizeResult } from './normalize.js';
import type { Meta } from './scan.js';
import type { Stamp } from './list.js';

/** Where a piece of JSON text lives: a string, or a slice of the cache file's bytes. */
export interface Text {
  src: string | Buffer;
  start: number;
  end: number;
}

export const textOf = (t: Text) => (typeof t.src === 'string' ? t.src.slice(t.start, t.end) : t.src.toString('utf8', t.start, t.end));
const whole = (s: string): Text => ({ src: s, start: 0, end: s.length });

export interface Entry extends Stamp {
  file: string;
  /** JSON `[id, dateMs, quality|null, published 0|1, [[name, slug], …]]`; null when the file was skipped. */
  meta: string | null;
  /** JSON of the Article without `related`. */
  article: Text | null;
  /** JSON of the related list. */
  related: Text | null;
  /** Scanned only: the file is parsed in full (read again) when its article is first used. */
  pending: boolean;
  issue: ContentIssue | null;
  /** A worker could not scan this file and has no full parser: the main thread parses it. */
  redo?: boolean;
  /** The entry's line in the cache file it was read from, so an unchanged entry is copied, not re-encoded. */
  line?: { buf: Buffer; start: number; end: number };
}

export function metaJson(a: Meta): string {
  return JSON.stringify([a.id, a.date.getTime(), a.quality ?? null, a.published ? 1 : 0, a.topics.map((t) => [t.name, t.slug])]);
}

/** `metaJson`'s text read back; `topics` stays JSON text (articles share one topic list per text). */
export interface MetaFields {
  id: string;
  date: number | null;
  quality: number | null;
  published: boolean;
  topics: string;
}

/** One reused answer of `readMeta` (a fresh object each time cost its callers ~20% at 100k articles). */
const fields: MetaFields = { id: '', date: null, quality: null, published: false, topics: '' };

/** The fields of `meta`, in an object that the next call overwrites: copy them out at once. */
export function readMeta(meta: string): Readonly<MetaFields> {
  // By position — the id's closing quote, then three commas: ~1 µs, where JSON.parse and its arrays take ~4 µs.
  // Without a backslash in the text (nearly always), the id ends at the next quote: found by `indexOf`, ~3× faster
  // than reading the id character by character (the text is usually a slice of a worker's answer).
  const escaped = meta.includes('\\');
  const idEnd = escaped ? metaIdEnd(meta) : meta.charCodeAt(0) === 91 && meta.charCodeAt(1) === 34 ? meta.indexOf('"', 2) : -1;
  const c1 = idEnd < 0 ? -1 : meta.indexOf(',', idEnd + 2);
  const c2 = c1 < 0 ? -1 : meta.indexOf(',', c1 + 1);
  const c3 = c2 < 0 ? -1 : meta.indexOf(',', c2 + 1);
  const date = c1 < 0 ? NaN : Number(meta.slice(idEnd + 2, c1));
  if (c3 < 0 || meta.charCodeAt(idEnd + 1) !== 44 || Number.isNaN(date)) {
    // Any other shape (none that metaJson writes has a null date, for one): through JSON.parse.
    const [id, d, quality, published, topics] = JSON.parse(meta) as MetaTuple;
    fields.id = id;
    fields.date = d;
    fields.quality = quality;
    fields.published = published === 1;
    fields.topics = JSON.stringify(topics);
    return fields;
  }
  const quality = meta.slice(c1 + 1, c2);
  fields.id = escaped ? (JSON.parse(meta.slice(1, idEnd + 1)) as string) : meta.slice(2, idEnd);
  fields.date = date;
  fields.quality = quality === 'null' ? null : Number(quality);
  fields.published = meta.charCodeAt(c2 + 1) === 49;
  fields.topics = meta.slice(c3 + 1, meta.length - 1);
  return fields;
}

/** Where the id string of meta JSON `["id",…` ends (its closing quote), or -1 when the text does not start so. */
function metaIdEnd(meta: string): number {
  if (meta.charCodeAt(0) !== 91 || meta.charCodeAt(1) !== 34) return -1;
  for (let i = 2; i < meta.length; i++) {
    const c = meta.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return i;
  }
  return -1;
}

/** `s`: the file's stamp as it was read (only its stamp's fields are taken). */
export function toEntry(file: string, s: Stamp, r: NormalizeResult): Entry {
  const { size, mtimeMs, ctimeMs } = s;
  if (!r.ok) return { file, size, mtimeMs, ctimeMs, meta: null, article: null, related: null, pending: false, issue: r.issue };
  const { related, ...rest } = r.article;
  return { file, size, mtimeMs, ctimeMs, meta: metaJson(r.article), article: whole(JSON.stringify(rest)), related: whole(JSON.stringify(related)), pending: false, issue: null };
}

export function pendingEntry(file: string, s: Stamp, meta: Meta): Entry {
  return pendingEntryOf(file, s.size, s.mtimeMs, s.ctimeMs, metaJson(meta));
}

/** A scanned-only entry from its meta JSON. */
export function pendingEntryOf(file: string, size: number, mtimeMs: number, ctimeMs: number, meta: string): Entry {
  return { file, size, mtimeMs, ctimeMs, meta, article: null, related: null, pending: true, issue: null };
}

export function redoEntry(file: string, s: Stamp): Entry {
  return { file, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, meta: null, article: null, related: null, pending: false, issue: null, redo: true };
}

export type MetaTuple = [string, number, number | null, 0 | 1, [string, string][]];
export type Rest = Omit<Article, 'related' | 'id' | 'file' | 'date' | 'quality' | 'published' | 'topics'>;

// The cache is a file of lines: JSON file name, size, mtime, ctime, meta JSON (or "!" + issue JSON), article JSON
// (or "?" when only scanned), related JSON — separated by tabs (JSON text never contains
// a raw tab or newline).
export function entryLine(e: Entry): string {
  const head = `${JSON.stringify(e.file)}\t${e.size}\t${e.mtimeMs}\t${e.ctimeMs}\t`;
  if (!e.meta) return `${head}!${JSON.stringify(e.issue)}\t\t`;
  if (e.pending) return `${head}${e.meta}\t?\t`;
  return `${head}${e.meta}\t${textOf(e.article!)}\t${textOf(e.related!)}`;
}

/**
 * Reads every line of a cache file's bytes — or, with `want`, the lines of the files it wants (given the file
 * name as the line has it: JSON) —; article and related text stay in the buffer until used.
 */
export function parseEntries(buf: Buffer, from: number, onEntry: (e: Entry) => void, want?: (fileJson: string) => boolean): void {
  let pos = from;
  while (pos < buf.length) {
    const end = buf.indexOf(10, pos);
    // Every line is written with its newline: one without was cut short (a crash while appending).
    if (end < 0) break;
    const t1 = tabAfter(buf, pos, end);
    if (want && t1 > pos && !want(buf.toString('utf8', pos, t1))) {
      pos = end + 1;
      continue;
    }
    const t2 = tabAfter(buf, t1 + 1, end);
    const t3 = tabAfter(buf, t2 + 1, end);
    const t4 = tabAfter(buf, t3 + 1, end);
    const t5 = tabAfter(buf, t4 + 1, end);
    const t6 = tabAfter(buf, t5 + 1, end);
    if (t1 > pos && t2 > t1 && t3 > t2 && t4 > t3 && t5 > t4 && t6 > t5) {
      // File names are JSON strings; most have no escape and are sliced as they are.
      const file = hasByte(buf, pos, t1, 92 /* backslash */) ? (JSON.parse(buf.toString('utf8', pos, t1)) as string) : buf.toString('utf8', pos + 1, t1 - 1);
      const size = Number(buf.toString('latin1', t1 + 1, t2));
      const mtimeMs = Number(buf.toString('latin1', t2 + 1, t3));
      const ctimeMs = Number(buf.toString('latin1', t3 + 1, t4));
      const line = { buf, start: pos, end };
      let e: Entry;
      if (buf[t4 + 1] === 0x21 /* ! */) {
        e = { file, size, mtimeMs, ctimeMs, meta: null, article: null, related: null, pending: false, issue: JSON.parse(buf.toString('utf8', t4 + 2, t5)) as ContentIssue, line };
      } else if (buf[t5 + 1] === 0x3f /* ? */) {
        e = { file, size, mtimeMs, ctimeMs, meta: buf.toString('utf8', t4 + 1, t5), article: null, related: null, pending: true, issue: null, line };
      } else {
        e = { file, size, mtimeMs, ctimeMs, meta: buf.toString('utf8', t4 + 1, t5), article: { src: buf, start: t5 + 1, end: t6 }, related: { src: buf, start: t6 + 1, end }, pending: false, issue: null, line };
      }
      onEntry(e);
    }
    pos = end + 1;
  }
}

/** The next tab at or after `from` and before `end`, or -1 (also when `from` follows a -1). */
function tabAfter(buf: Buffer, from: number, end: number): number {
  if (from <= 0) return -1;
  const t = buf.indexOf(9, from);
  return t >= 0 && t < end ? t : -1;
}

function hasByte(buf: Buffer, from: number, to: number, byte: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === byte) return true;
  return false;
}
