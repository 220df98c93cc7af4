/**
 * A quick scan of the front matter for the fields selection needs — URL, date, quality, published, topics —
 * without parsing the YAML. It understands only the plain shape real articles have (top-level `key: value`
 * lines, quoted or plain scalars, a block list of topics) and answers null for anything else, which then
 * goes through the full parser. When it answers, the answer is what the full parse would give for those
 * fields (test/scan.test.ts checks this against the full parser on every real file and on mutations).
 * Pure.
 */
import type { Topic } from './article.js';
import type { Source } from './source.js';
import { cleanUrl, parseIsoDate, topicList } from './text.js';

export interface Meta {
  id: string;
  date: Date;
  quality?: number;
  published: boolean;
  topics: Topic[];
}

/** Plain scalars the core schema reads as something other than a string. */
const NOT_STRING = /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

/** What may follow a quoted scalar on its line: spaces, or spaces and a comment. */
const AFTER = /^(?:[ \t]+#.*|[ \t]*)$/;

/** A plain scalar without its trailing comment. */
const plain = (v: string) => {
  const hash = v.search(/[ \t]#/);
  return hash < 0 ? v : v.slice(0, hash).trimEnd();
};
const plainOf = (v: string | undefined) => (v === undefined ? undefined : plain(v));

/**
 * Where the quoted scalar `v` starts with closes: the index of its closing quote (the first `"` not escaped
 * by an odd number of backslashes; the first `'` not doubled), or -1 when it does not close on this line.
 */
function quotedEnd(v: string): number {
  const q = v[0]!;
  for (let i = v.indexOf(q, 1); i > 0; i = v.indexOf(q, i + 1)) {
    if (q === "'") {
      if (v[i + 1] !== "'") return i;
      i++;
      continue;
    }
    let backslashes = 0;
    while (v.charCodeAt(i - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
  return -1;
}

/** A value on one line: the scalar's text when it is a string we read exactly; undefined when unsure. */
function scalar(v: string, kind: 'string' | 'date'): string | undefined {
  const c = v[0];
  if (c === '"' || c === "'") {
    // Double-quoted escapes are left to the full parser.
    if (c === '"' && v.includes('\\')) return undefined;
    const end = quotedEnd(v);
    if (end < 0 || !AFTER.test(v.slice(end + 1))) return undefined;
    const inner = v.slice(1, end);
    return c === "'" ? inner.replaceAll("''", "'") : inner;
  }
  v = plain(v);
  if (v.includes(': ') || v.endsWith(':') || v.includes('\t') || NOT_STRING.test(v)) return undefined;
  if (kind === 'date') return /^\d{4}-\d\d-\d\d(?:[Tt ][0-9:.]+)?(?:Z|z|[+-][0-9:]+)?$/.test(v) ? v : undefined;
  return /^[A-Za-z]/.test(v) ? v : undefined;
}

/** A complete one-line value (`text` from `v` to `end`, blanks trimmed) of a field the scan does not read: only its extent matters. */
function skippable(text: string, v: number, end: number): boolean {
  if (v === end) return true;
  const c = text.charCodeAt(v);
  // # | > : a comment or a block scalar (its lines are indented).
  if (c === 35 || c === 124 || c === 62) return true;
  if (c === 34 || c === 39) {
    const value = text.slice(v, end);
    const close = quotedEnd(value);
    return close > 0 && AFTER.test(value.slice(close + 1));
  }
  // [ { : only an empty flow collection.
  if (c === 91 || c === 123) return end - v === 2 && text.charCodeAt(v + 1) === c + 2;
  // & * ! % @ ` : anchors, aliases, tags, reserved indicators.
  return c !== 38 && c !== 42 && c !== 33 && c !== 37 && c !== 64 && c !== 96;
}

const isBlank = (c: number) => c === 32 || c === 9;

/** The fields the scan reads, by number; -1 for any other key. */
const enum F { WebUrl, OriginalUrl, Date, Quality, Published, Topics }
function field(key: string): number {
  switch (key) {
    case 'webUrl': return F.WebUrl;
    case 'originalUrl': return F.OriginalUrl;
    case 'publishedDateTime': return F.Date;
    case 'quality': return F.Quality;
    case 'published': return F.Published;
    case 'topics': return F.Topics;
    default: return -1;
  }
}

/** A character of a key after its first: an ASCII letter or digit, `_` or `-` (the first is a letter or `_`). */
const keyChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45;
/** Line separators other than LF (CR is gone already): a file holding one is left to the full parser. */
const ODD_BREAKS = ['\u2028', '\u2029'];

export function scanMeta(src: Source): Meta | null {
  const text = src.text;
  const first = text.indexOf('\n');
  if (!/^---[ \t]*$/.test(text.slice(0, first))) return null;
  const closeEnd = text.indexOf('\n', src.close);
  if (!/^---[ \t]*$/.test(text.slice(src.close, closeEnd < 0 ? text.length : closeEnd))) return null;
  // (indexOf of a character above U+00FF answers at once in a one-byte string, as most texts are.)
  for (const odd of ODD_BREAKS) {
    const at = text.indexOf(odd, first);
    if (at >= 0 && at < src.close) return null;
  }

  /** Values of the fields read, by F; a field met twice is left to the full parser (the last one wins there). */
  const found: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
  let seen = 0;
  let topics: string[] | undefined;
  /** `topics:` with nothing after it: YAML null (the full parser's error) unless list items follow. */
  let topicsBare = false;
  /**
   * The key whose value continues on the following lines (F, or -1 for a key the scan does not read; -2
   * before the first key), whether it had an inline value, and whether the scan reads what follows.
   */
  let openKey = -2;
  let openInline = false;
  let openRead = false;
  let listIndent = -1;

  for (let pos = first + 1; pos < src.close; ) {
    let end = text.indexOf('\n', pos);
    if (end < 0 || end > src.close) end = src.close;
    const c0 = text.charCodeAt(pos);
    if (c0 === 32 && openKey !== -2 && !openRead) {
      // An indented line under a field the scan does not read (most lines of a file): only a tab matters.
      let i = pos;
      while (text.charCodeAt(i) === 32) i++;
      if (text.charCodeAt(i) === 9) return null;
      pos = end + 1;
      continue;
    }
    if ((c0 >= 97 && c0 <= 122) || (c0 >= 65 && c0 <= 90) || c0 === 95) {
      // A top-level key line (most of the rest): `key:` then the end of the line, or spaces/tabs and a value.
      let i = pos + 1;
      while (keyChar(text.charCodeAt(i))) i++;
      if (i >= end || text.charCodeAt(i) !== 58) return null;
      // The value: after `:` and spaces/tabs, to the end of the line less trailing spaces/tabs (YAML's only blanks).
      let v = i + 1;
      if (v < end) {
        const c = text.charCodeAt(v);
        if (c !== 32 && c !== 9) return null;
        while (v < end && isBlank(text.charCodeAt(v))) v++;
      }
      let vEnd = end;
      while (vEnd > v && isBlank(text.charCodeAt(vEnd - 1))) vEnd--;
      const f = field(text.slice(pos, i));
      pos = end + 1;
      const empty = v === vEnd || text.charCodeAt(v) === 35;
      openKey = f;
      openInline = !empty;
      openRead = f === F.Topics || (!empty && f >= 0);
      if (f < 0) {
        // A field the scan does not read, met twice or not (the full parser lets the last one win): only its extent matters.
        if (!skippable(text, v, vEnd)) return null;
        continue;
      }
      const value = text.slice(v, vEnd);
      if (seen & (1 << f)) return null;
      seen |= 1 << f;
      if (f === F.Topics) {
        if (value === '[]') topics = [];
        else if (!empty) return null;
        else (topics = []), (listIndent = -1), (topicsBare = true);
        continue;
      }
      if (empty) return null;
      found[f] = value;
      continue;
    }
    const line = text.slice(pos, end);
    pos = end + 1;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed[0] === '#') continue;
    const indent = line.length - line.trimStart().length;
    if (indent > 0 && line.slice(0, indent).includes('\t')) return null;
    // Anything else at column 0 that is not a list item is no plain key line.
    if (indent === 0 && !line.startsWith('- ') && line !== '-') return null;
    if (openKey === -2) return null;
    const isItem = trimmed === '-' || trimmed.startsWith('- ');
    if (indent === 0 && (!isItem || openInline)) return null;
    if (openKey !== F.Topics) {
      if (openKey >= 0 && openInline) return null; // a multi-line value of a field we read
      continue;
    }
    if (openInline || !isItem) return null;
    if (listIndent < 0) listIndent = indent;
    if (indent !== listIndent) return null;
    const item = scalar(trimmed.slice(2).trim(), 'string');
    if (item === undefined) return null;
    topics!.push(item);
  }
  if (topicsBare && topics!.length === 0) return null;

  const dateText = found[F.Date];
  const date = dateText === undefined ? undefined : parseIsoDate(scalar(dateText, 'date'));
  if (!date) return null;

  let url: string | undefined;
  for (const k of [F.WebUrl, F.OriginalUrl]) {
    const v = found[k];
    if (v === undefined) continue;
    const s = scalar(v, 'string');
    if (s === undefined) return null;
    url ??= cleanUrl(s);
  }
  if (!url) return null;

  let quality: number | undefined;
  const q = plainOf(found[F.Quality]);
  if (q !== undefined) {
    if (!/^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/.test(q)) return null;
    quality = Number(q);
  }
  const p = plainOf(found[F.Published]);
  if (p !== undefined && p !== 'true' && p !== 'false') return null;

  return { id: url, date, quality, published: p !== 'false', topics: topicList(topics ?? []) };
}
