/** Bytes of one file → Article or a ContentIssue. Pure: no disk, no clock; safe to run in a worker. */
import matter from 'gray-matter';
import { loadYaml } from '../yaml.js';
import type { ContentIssue } from './article.js';
import { frontMatterSchema } from './schema.js';
import { normalizeArticle, type NormalizeResult } from './normalize.js';
import { readSource } from './source.js';

const refuse = (lang: string) => () => {
  throw new Error(`front matter language "${lang}" is not allowed: content is data and is never executed`);
};

// gray-matter is bundled (and so code-cached): loaded with this module, which a build with nothing to read and a
// scanning worker never load. (Through createRequire, outside the bundle, it took ~30 ms to load.)

/**
 * gray-matter evaluates `---js` / `---coffee` front matter as code by default. These engines replace every
 * executable one; YAML goes through js-yaml's safe core schema. Real articles never use YAML aliases: a file
 * with more than 50 is refused unparsed.
 */
const matterOptions = {
  engines: {
    yaml: (s: string) => loadYaml(s, { maxAliases: 50, json: true }) as object,
    javascript: refuse('javascript'),
    js: refuse('js'),
    coffee: refuse('coffee'),
    coffeescript: refuse('coffeescript'),
    cson: refuse('cson'),
  },
};

/** The full parse: every field checked. */
export function parseArticle(file: string, bytes: Uint8Array): NormalizeResult {
  const r = readSource(file, bytes);
  return r.ok ? parseSource(file, r.source.text) : r;
}

/** Text as `readSource` leaves it (LF line ends, `secured` cut) → Article or a ContentIssue. */
export function parseSource(file: string, source: string): NormalizeResult {
  const fail = (reason: string, field?: string): NormalizeResult => {
    const issue: ContentIssue = field ? { file, field, reason } : { file, reason };
    return { ok: false, issue };
  };
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
