/** Bytes of one file → its text with the front matter located, or the reason it has none. Pure. */
import type { ContentIssue } from './article.js';

export const MAX_FILE_BYTES = 2 * 1024 * 1024;

export interface Source {
  /** The whole file as text: LF line ends, the one-line `secured:` blob cut out. */
  text: string;
  /** Where the front matter's closing `---` line starts (the YAML is `text.slice(openEnd, close)`). */
  close: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf16le = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: false });
const utf16be = new TextDecoder('utf-16be', { fatal: true, ignoreBOM: false });

/**
 * Where the first byte that is not UTF-8 is (a byte no sequence starts with, a sequence cut short, an overlong
 * form, a surrogate, a code point past U+10FFFF), or -1: what a fatal TextDecoder refuses, with its place.
 */
export function firstNonUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    const c1 = b[i + 1]!;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * A file's text: UTF-8 (with or without a byte-order mark), or UTF-16 with its byte-order mark (what Windows
 * editors save as "Unicode"); otherwise where the text stops being UTF-8, for the editor to find and fix.
 */
function decodeText(bytes: Uint8Array): { text: string } | { reason: string } {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    try {
      return { text: (bytes[0] === 0xff ? utf16le : utf16be).decode(bytes) };
    } catch {
      return { reason: 'not valid UTF-16 text (the file starts with a UTF-16 byte-order mark)' };
    }
  }
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    const at = Math.max(0, firstNonUtf8(bytes));
    let line = 1;
    for (let i = bytes.indexOf(0x0a); i >= 0 && i < at; i = bytes.indexOf(0x0a, i + 1)) line++;
    const hex = bytes[at]!.toString(16).toUpperCase().padStart(2, '0');
    return { reason: `not valid UTF-8 text: line ${line} has the byte 0x${hex} (saved in an older encoding such as Windows-1252 or Latin-1? save it as UTF-8)` };
  }
}

/**
 * `size`: the file's size when `bytes` were left unread because of it. `keepSecured`: leave the `secured` line
 * in (for the quick scan, which skips it as it is; `withoutSecured` cuts it later if the full parser is needed).
 */
export function readSource(file: string, bytes: Uint8Array, size = bytes.length, keepSecured = false): { ok: true; source: Source } | { ok: false; issue: ContentIssue } {
  const fail = (reason: string) => ({ ok: false as const, issue: { file, reason } });
  if (size > MAX_FILE_BYTES) {
    return fail(`file too large: ${(size / 1048576).toFixed(1)} MB (limit ${MAX_FILE_BYTES / 1048576} MB)`);
  }
  if (bytes.length === 0) return fail('empty file');
  const decoded = decodeText(bytes);
  if ('reason' in decoded) return fail(decoded.reason);
  let text = decoded.text;
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  if (!/^---[ \t]*[a-z]*[ \t]*\n/i.test(text)) return fail('no front matter (the file must start with a `---` line)');
  // gray-matter ends the front matter at the first line that starts with `---`. Some line must be a `---` line:
  // that first one, nearly always (checked alone), or any later one (the whole text searched).
  const close = text.indexOf('\n---', 3);
  const closeEnd = close < 0 ? -1 : text.indexOf('\n', close + 1);
  if (close < 0 || !/^---[ \t]*$/.test(text.slice(close + 1, closeEnd < 0 ? text.length : closeEnd))) {
    if (!/\n---[ \t]*(\n|$)/.test(text.slice(3))) return fail('front matter is not closed by a `---` line');
  }
  const source = { text, close: close < 0 ? text.length : close + 1 };
  return { ok: true, source: keepSecured ? source : withoutSecured(source) };
}

/**
 * The source without the front matter's one-line `secured:` value: an opaque encrypted blob the articles carry,
 * never used and so never parsed either. Anything else (a block scalar) is left for the YAML parser.
 */
export function withoutSecured(source: Source): Source {
  const { text, close } = source;
  const secured = text.indexOf('\nsecured:');
  if (secured < 0 || secured >= close) return source;
  const end = text.indexOf('\n', secured + 1);
  const next = end < 0 ? '' : text[end + 1];
  if (next === ' ' || next === '\t') return source;
  return { text: text.slice(0, secured) + text.slice(end), close: close - (end - secured) };
}
