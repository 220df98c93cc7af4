/** Bytes of one file → Article or a ContentIssue. Pure: no disk, no clock; safe to run in a worker. */
import matter from 'gray-matter';
import yaml from 'js-yaml';
import type { ContentIssue } from './article.js';
import { frontMatterSchema } from './schema.js';
import { normalizeArticle, type NormalizeResult } from './normalize.js';

export const MAX_FILE_BYTES = 2 * 1024 * 1024;

const refuse = (lang: string) => () => {
  throw new Error(`front matter language "${lang}" is not allowed: content is data and is never executed`);
};

/** Real articles never use YAML aliases; a file with many is a "billion laughs" bomb and is refused unparsed. */
const MAX_ALIASES = 50;
const ALIAS = /(?:^|[\s,[{:-])\*[^\s,\]}]+/g;

function parseYamlData(s: string): object {
  if (s.includes('*') && (s.match(ALIAS)?.length ?? 0) > MAX_ALIASES) {
    throw new Error(`more than ${MAX_ALIASES} YAML aliases (alias bomb?)`);
  }
  // CORE_SCHEMA: plain YAML 1.2 data, dates stay strings and go through our ISO 8601 parser.
  return yaml.load(s, { schema: yaml.CORE_SCHEMA, json: true }) as object;
}

/**
 * gray-matter evaluates `---js` / `---coffee` front matter as code by default. These engines replace every
 * executable one; YAML goes through js-yaml's safe core schema with an alias guard.
 */
const matterOptions = {
  engines: {
    yaml: parseYamlData,
    javascript: refuse('javascript'),
    js: refuse('js'),
    coffee: refuse('coffee'),
    coffeescript: refuse('coffeescript'),
    cson: refuse('cson'),
  },
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseArticle(file: string, bytes: Uint8Array): NormalizeResult {
  const fail = (reason: string, field?: string): NormalizeResult => {
    const issue: ContentIssue = field ? { file, field, reason } : { file, reason };
    return { ok: false, issue };
  };
  if (bytes.length === 0) return fail('empty file');
  if (bytes.length > MAX_FILE_BYTES) {
    return fail(`file too large: ${(bytes.length / 1048576).toFixed(1)} MB (limit ${MAX_FILE_BYTES / 1048576} MB)`);
  }
  let source: string;
  try {
    source = utf8.decode(bytes);
  } catch {
    return fail('not valid UTF-8 text');
  }
  source = source.replace(/\r\n?/g, '\n');
  if (!/^---[ \t]*[a-z]*[ \t]*\n/i.test(source)) return fail('no front matter (the file must start with a `---` line)');
  if (!/\n---[ \t]*(\n|$)/.test(source.slice(3))) return fail('front matter is not closed by a `---` line');

  // `secured` is an opaque encrypted blob the articles carry; it is never used, so it is not parsed either.
  // Only a one-line value is cut; anything else (a block scalar) is left for the YAML parser.
  const secured = source.indexOf('\nsecured:');
  if (secured >= 0) {
    const end = source.indexOf('\n', secured + 1);
    const next = end < 0 ? '' : source[end + 1];
    if (next !== ' ' && next !== '\t') source = source.slice(0, secured) + (end < 0 ? '' : source.slice(end));
  }
  let data: unknown;
  try {
    data = matter(source, matterOptions).data;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return fail(`front matter does not parse: ${msg.split('\n')[0]}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return fail('front matter is not a mapping of fields');

  const result = frontMatterSchema.safeParse(data);
  if (!result.success) {
    const first = result.error.issues[0]!;
    const field = first.path.join('.') || undefined;
    const more = result.error.issues.length > 1 ? ` (+${result.error.issues.length - 1} more)` : '';
    const value = first.path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), data);
    const message = value === undefined ? 'missing (required)' : first.message;
    return fail(`${message}${more}`, field);
  }
  return normalizeArticle(file, result.data);
}
