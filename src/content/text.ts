/** Pure text helpers shared by every stage: entity decoding, XML-safe text, URLs, slugs, dates. */
import { decodeHTML } from 'entities';
import type { Topic } from './article.js';
import anyAscii from 'any-ascii';

// Characters XML 1.0 forbids (C0 controls except TAB/LF/CR, U+FFFE/U+FFFF) and lone surrogates.
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const HAS_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF\uD800-\uDFFF]/;
const NEEDS_FOLD = /\s\s|[\t\n\r\f\v\u00a0\u2028\u2029]|^\s|\s$/;

/** Removes characters that XML forbids (they would make a feed unparseable). */
export function stripForbidden(s: string): string {
  return HAS_FORBIDDEN.test(s) ? s.replace(XML_FORBIDDEN, '') : s;
}

/** Article text as plain text: entities decoded, forbidden characters removed, white space folded. */
export function cleanText(s: string): string {
  // Most text has no entity, no control character and single spaces: it is returned as it is.
  const decoded = s.includes('&') ? decodeHTML(s) : s;
  const safe = stripForbidden(decoded);
  return NEEDS_FOLD.test(safe) ? safe.replace(/\s+/g, ' ').trim() : safe;
}

/**
 * An excerpt as readers see it: the source sites often cut theirs mid-sentence ("…with enhanced functionality
 * to"); such a cut is marked with an ellipsis (a dangling comma, semicolon, colon or dash dropped first). Text
 * that ends a sentence, a quotation or a bracket is left as it is.
 */
export function cleanExcerpt(s: string): string {
  const text = cleanText(s);
  // (Escapes, not the characters: the bundle stays ASCII.) Ends: . ! ? … " ' ” ’ ) ] »; dropped: , ; : – — - and blanks.
  if (text === '' || /[.!?\u2026"'\u201d\u2019)\]\u00bb]$/.test(text)) return text;
  return `${text.replace(/[\s,;:\u2013\u2014-]+$/, '')}\u2026`;
}

/**
 * An absolute http(s) URL, or undefined. Entities such as `&#038;` are decoded first; relative URLs are
 * resolved against `base` when one is given. Anything else (javascript:, data:, mailto:…) is refused.
 */
export function cleanUrl(raw: unknown, base?: string): string | undefined {
  if (typeof raw !== 'string') return undefined;
  if (plainUrl(raw)) return raw;
  const s = stripForbidden(decodeHTML(raw)).trim();
  if (!s) return undefined;
  let u: URL;
  try {
    u = base ? new URL(s, base) : new URL(s);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (!u.hostname) return undefined;
  return u.href;
}

/**
 * A URL already in the form `new URL(s).href` gives and with nothing to decode — what nearly every article
 * URL is: lowercase http(s), a host of lowercase letter/digit/hyphen labels (not an IP address, no port,
 * no punycode), a path, maybe a query; only characters the URL parser keeps as they are, no `&` (an
 * entity could start there), no `.`/`..` segment, no `%2e`. For such text cleanUrl's answer is the text
 * itself (test/content.test.ts checks this against the URL parser), without decoding and parsing (~5 µs).
 */
const PLAIN_URL = /^https?:\/\/([a-z0-9.-]+)\/[A-Za-z0-9\-._~!$()*+,;=:@/?%]*$/;
const NOT_PLAIN = /\/\.\.?(?:[/?]|$)|%2e|xn--/i;
/** Host labels: none empty, none starting or ending with `-`, the last not read as (part of) an IPv4 address. */
const ODD_HOST = /^[.-]|[.-]$|\.\.|\.-|-\.|(?:^|\.)(?:\d+|0x[0-9a-f]*)$/;
export function plainUrl(s: string): boolean {
  const m = PLAIN_URL.exec(s);
  return m !== null && !ODD_HOST.test(m[1]!) && !NOT_PLAIN.test(s);
}

/**
 * Topic slug: lowercase ASCII letters and digits between single `-`. Never contains `/` or `..`. Diacritics are
 * folded; other scripts are transliterated (any-ascii: Новости → novosti, 日本語 → ribenyu), so that such a topic
 * is not dropped for want of a slug; `#` and `+` after a letter are words (C# → c-sharp, C++ → c-plus-plus),
 * so that C, C# and C++ stay three topics. Anything else becomes `-`.
 */
export function slugify(name: string): string {
  let s = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  // (any-ascii on the original text: it knows precomposed letters, e.g. Korean syllables, better than their parts.)
  if (/[^\x00-\x7f]/.test(s)) s = anyAscii(name.normalize('NFC'));
  return s
    .toLowerCase()
    .replace(/(?<=[a-z0-9+])\+/g, ' plus ')
    .replace(/(?<=[a-z0-9])#/g, ' sharp ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Topic names as written → topics: cleaned, slugged, one per slug, names that slug to nothing dropped. */
export function topicList(names: readonly string[]): Topic[] {
  const topics: Topic[] = [];
  for (const name of names) {
    const { clean, slug } = topicName(name);
    if (slug && !topics.some((t) => t.slug === slug)) topics.push({ name: clean, slug });
  }
  return topics;
}

/**
 * A topic name cleaned and slugged, remembered: a corpus has a few dozen topic names over thousands of files,
 * and slugging (Unicode normalization, four regular expressions) was ~2 µs a file. Bounded, in case of a
 * corpus whose every file names new topics.
 */
const topicNames = new Map<string, { clean: string; slug: string }>();
function topicName(name: string): { clean: string; slug: string } {
  let t = topicNames.get(name);
  if (!t) {
    if (topicNames.size >= 10_000) topicNames.clear();
    const clean = cleanText(name);
    topicNames.set(name, (t = { clean, slug: slugify(clean) }));
  }
  return t;
}

/** The number written by the decimal digits s[from, to), or -1 when another character is among them. */
function digits(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ`, the form nearly every article has, straight to a Date (parseIsoDate's general path
 * builds a string for the Date parser: ~1.5 µs more a file); undefined for anything else or anything out of
 * range, which the general path then decides.
 */
function utcSeconds(s: string): Date | undefined {
  if (s.length !== 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 90) return undefined;
  const y = digits(s, 0, 4), mo = digits(s, 5, 7), d = digits(s, 8, 10), h = digits(s, 11, 13), mi = digits(s, 14, 16), sec = digits(s, 17, 19);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return undefined;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  return date.getUTCDate() === d ? date : undefined; // not a day that month has: the general path refuses it
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Parses ISO 8601 (full date-time with `Z` or an offset, date-time without a zone = UTC, or date only =
 * UTC midnight) into a Date, or undefined when the text is not such a date or names an impossible day.
 */
export function parseIsoDate(input: unknown): Date | undefined {
  if (input instanceof Date) return Number.isNaN(input.getTime()) ? undefined : input;
  if (typeof input !== 'string') return undefined;
  const fast = utcSeconds(input);
  if (fast) return fast;
  const m = ISO_DATE.exec(input.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone = 'Z'] = m;
  const day = new Date(Date.UTC(+y!, +mo! - 1, +d!));
  if (day.getUTCFullYear() !== +y! || day.getUTCMonth() !== +mo! - 1 || day.getUTCDate() !== +d!) return undefined;
  if (+h > 23 || +mi > 59 || +sec > 59) return undefined;
  let z = zone.toUpperCase();
  if (z !== 'Z') z = z.length === 3 ? `${z}:00` : z.length === 5 ? `${z.slice(0, 3)}:${z.slice(3)}` : z;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${z}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

// UTC, the default, is handled without Intl: the first Intl.DateTimeFormat of a process loads ICU's time zone
// data, ~30 ms of every command's start that needs no date in words.

/** Whether `tz` is a time zone this runtime knows (an IANA name such as Europe/London, or UTC). */
export function isTimeZone(tz: string): boolean {
  if (tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of `at` in `timeZone`, as numbers (hour 0–23). */
function fieldsIn(at: number, timeZone: string): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number> {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  const p = Object.fromEntries(f.formatToParts(at).filter((x) => x.type !== 'literal').map((x) => [x.type, Number(x.value)]));
  return p as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>;
}

/** `YYYY-MM-DD` of `at` in `timeZone`. */
export function dayIn(at: Date, timeZone: string): string {
  if (timeZone === 'UTC') return at.toISOString().slice(0, 10);
  const p = fieldsIn(at.getTime(), timeZone);
  return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/**
 * The first instant of the calendar day `day` (`YYYY-MM-DD`) in `timeZone` (epoch ms), or NaN for a day that does
 * not exist (`2026-02-30`). Noon UTC of that date is within a day of it in every zone (offsets are -12 to +14 h).
 */
export function dayStart(day: string, timeZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return NaN;
  const noon = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12);
  if (new Date(noon).toISOString().slice(0, 10) !== day) return NaN;
  for (const t of [noon, noon - 86_400_000, noon + 86_400_000]) if (dayIn(new Date(t), timeZone) === day) return dayBounds(t, timeZone).from;
  return NaN;
}

/** "Since" as editors write it: an instant (ISO 8601 with a time), or a day — its midnight in `timeZone`; NaN for anything else. */
export function sinceInstant(value: string, timeZone: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? dayStart(value, timeZone) : Date.parse(value);
}

/** The day `at` falls in, in `timeZone`: its first instant and the next day's (epoch ms; DST days are 23 or 25 h). */
export function dayBounds(at: number, timeZone: string): { from: number; until: number } {
  if (timeZone === 'UTC') {
    const from = at - (((at % 86_400_000) + 86_400_000) % 86_400_000);
    return { from, until: from + 86_400_000 };
  }
  const p = fieldsIn(at, timeZone);
  /** Offset of the zone from UTC at `t`, in ms. */
  const offset = (t: number) => {
    const q = fieldsIn(t, timeZone);
    return Date.UTC(q.year, q.month - 1, q.day, q.hour, q.minute, q.second) - Math.floor(t / 1000) * 1000;
  };
  const midnight = (day: number) => {
    const wall = Date.UTC(p.year, p.month - 1, day);
    return wall - offset(wall - offset(wall));
  };
  return { from: Math.min(midnight(p.day), at), until: Math.max(midnight(p.day + 1), at + 1) };
}
