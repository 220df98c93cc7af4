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

/** `size`: the file's size when `bytes` were left unread because of it. */
export function readSource(file: string, bytes: Uint8Array, size = bytes.length): { ok: true; source: Source } | { ok: false; issue: ContentIssue } {
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
  if (!/\n---[ \t]*(\n|$)/.test(text.slice(3))) return fail('front matter is not closed by a `---` line');

  // `secured` is an opaque encrypted blob the articles carry; it is never used, so it is not parsed either.
  // Only a one-line value is cut; anything else (a block scalar) is left for the YAML parser.
  const secured = text.indexOf('\nsecured:');
  if (secured >= 0) {
    const end = text.indexOf('\n', secured + 1);
    const next = end < 0 ? '' : text[end + 1];
    if (next !== ' ' && next !== '\t') text = text.slice(0, secured) + (end < 0 ? '' : text.slice(end));
  }
  // gray-matter ends the front matter at the first line that starts with `---`.
  const close = text.indexOf('\n---', 3);
  return { ok: true, source: { text, close: close < 0 ? text.length : close + 1 } };
}
