/** Bytes of one file → Article or a ContentIssue. Pure: no disk, no clock; safe to run in a worker. */
import matter from 'gray-matter';
import { loadYaml } from '../yaml.js';
import type { ContentIssue } from './article.js';
import { frontMatterSchema } from './schema.js';
import { normalizeArticle, type NormalizeResult } from './normalize.js';
import { parsePlainYaml } from './plain-yaml.js';
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

/** Where gray-matter ends the front matter of a text opening with `---`: at the first line after it starting with `---`. */
function closeOf(source: string): number {
  const close = source.indexOf('\n---', 3);
  return close < 0 ? source.length : close;
}

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
  // A file that opens with a bare `---` line: gray-matter would hand its engine the text up to the next line
  // starting with `---`; read here when it has the plain shape, else by gray-matter and js-yaml.
  let data: unknown = source.startsWith('---\n') ? parsePlainYaml(source.slice(3, closeOf(source))) : undefined;
  if (data === undefined) {
    try {
      data = matter(source, matterOptions).data;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return fail(`front matter does not parse: ${msg.split('\n')[0]}`);
    }
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
