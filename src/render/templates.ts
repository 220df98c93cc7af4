/** Loads and compiles the user's templates once; a broken template is reported with file and line. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import Handlebars from 'handlebars';
import { TemplateError } from '../errors.js';
import { writeAtomic } from '../output/write.js';
import { codeVersion, packageRoot } from '../code-version.js';

export type Template<T = unknown> = (data: T) => string;

/** A private Handlebars environment: no prototype access, strict lookups (a misspelt field is an error, not a blank). */
export const hbs = Handlebars.create();

/** Plain-text templates: Handlebars without HTML escaping (a text part is never HTML). */
export const textHbs = Handlebars.create();

export interface CompileOptions {
  strict?: boolean;
  /** For plain-text output only. */
  noEscape?: boolean;
}

export function compileTemplate<T = unknown>(source: string, file: string, opts: CompileOptions = {}): Template<T> {
  const env = opts.noEscape ? textHbs : hbs;
  try {
    env.parse(source);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const line = /line (\d+)/.exec(msg)?.[1];
    throw new TemplateError(`${file}${line ? `:${line}` : ''}: template does not compile: ${msg.split('\n')[0]}`, { cause: err });
  }
  const compiled = env.compile<T>(source, { strict: opts.strict ?? true, noEscape: opts.noEscape ?? false });
  return (data: T) => {
    try {
      return compiled(data);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new TemplateError(`${file}: ${msg}`, { cause: err });
    }
  };
}

export { BUILTIN_TEMPLATES, readTemplate } from './template-files.js';
import { readTemplate } from './template-files.js';

export async function loadTemplate<T = unknown>(dir: string, name: string, opts?: CompileOptions): Promise<Template<T>> {
  const { file, source } = await readTemplate(dir, name);
  return compileTemplate<T>(source, file, opts);
}

/**
 * Reads digest.mjml and digest.txt.hbs and compiles them. MJML (~0.5 s to load and run) runs only when the
 * template, MJML's version or Gazette's digest code changed since its output was kept in `cacheDir`.
 */
export async function loadDigestTemplates(dir: string, cacheDir?: string) {
  const [digest, html, text] = await Promise.all([import('./digest.js'), readTemplate(dir, 'digest.mjml'), readTemplate(dir, 'digest.txt.hbs')]);
  const kept = cacheDir ? path.join(cacheDir, `mjml-${mjmlKey(html.source)}.html`) : undefined;
  if (kept) {
    const cached = await readFile(kept, 'utf8').catch(() => undefined);
    if (cached !== undefined) return digest.digestTemplatesFrom(cached, html.file, text.source, text.file);
  }
  // Required, not imported: mjml is CommonJS, and the bundle (CommonJS too) keeps it outside.
  const mjml2html = createRequire(import.meta.url)('mjml') as MjmlCompileFn;
  const compiled = await digest.compileDigestTemplates(html.source, html.file, text.source, text.file, mjml2html);
  if (kept) {
    try {
      writeAtomic(kept, compiled.htmlSource);
    } catch {
      // A cache that cannot be written is only slower.
    }
  }
  return compiled;
}

/** What MJML's output depends on: the template, MJML's version and the code that runs and checks it. */
function mjmlKey(source: string): string {
  const mjmlVersion = (createRequire(import.meta.url)('mjml/package.json') as { version: string }).version;
  return createHash('sha256')
    .update(`${source}\0${mjmlVersion}\0${codeVersion(['render/digest', 'render/templates'])}`)
    .digest('hex')
    .slice(0, 16);
}

type MjmlCompileFn = import('./digest.js').MjmlCompile;
