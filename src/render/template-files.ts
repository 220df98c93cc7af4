/** Template files: the user's, else Gazette's own. No template engine here (checking them costs no Handlebars). */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TemplateError } from '../errors.js';
import { packageRoot } from '../code-version.js';

/** Gazette's own templates, used for any template the user's folder does not have. */
export const BUILTIN_TEMPLATES = path.join(packageRoot(), 'templates');

/** `name` from the user's template folder when it has one, else the built-in one. */
export async function readTemplate(dir: string, name: string): Promise<{ file: string; source: string }> {
  const own = path.join(dir, name);
  const file = existsSync(own) ? own : path.join(BUILTIN_TEMPLATES, name);
  try {
    return { file, source: await readFile(file, 'utf8') };
  } catch (err) {
    throw new TemplateError(`cannot read template ${file}`, { cause: err });
  }
}
