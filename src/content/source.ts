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
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return fail('not valid UTF-8 text');
  }
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
