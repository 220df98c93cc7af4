/** Loads and compiles the user's templates once; a broken template is reported with file and line. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { TemplateError } from '../errors.js';

export type Template<T = unknown> = (data: T) => string;

/** A private Handlebars environment: no prototype access, strict lookups (a misspelt field is an error, not a blank). */
export const hbs = Handlebars.create();

export function compileTemplate<T = unknown>(source: string, file: string, opts: { strict?: boolean } = {}): Template<T> {
  try {
    hbs.parse(source);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const line = /line (\d+)/.exec(msg)?.[1];
    throw new TemplateError(`${file}${line ? `:${line}` : ''}: template does not compile: ${msg.split('\n')[0]}`, { cause: err });
  }
  const compiled = hbs.compile(source, { strict: opts.strict ?? true, noEscape: false });
  return (data: T) => {
    try {
      return compiled(data);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new TemplateError(`${file}: ${msg}`, { cause: err });
    }
  };
}

export async function loadTemplate<T = unknown>(dir: string, name: string, opts?: { strict?: boolean }): Promise<Template<T>> {
  const file = path.join(dir, name);
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    throw new TemplateError(`cannot read template ${file}`, { cause: err });
  }
  return compileTemplate<T>(source, file, opts);
}
