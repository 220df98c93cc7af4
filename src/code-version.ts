/** Identifies versions of Gazette's own code, so that a cache written by other code is not used. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Gazette's folder: the nearest one above this module with a package.json (from src/, dist/ or dist/bundle/ alike). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('Gazette: no package.json above its own code');
    dir = up;
  }
  return dir;
}

/**
 * A hash of Gazette's modules `names` (paths below src/ without extension, e.g. `render/feeds`): their
 * TypeScript sources, or their compiled `.js` in dist/ when the sources are not there. The same wherever the
 * calling code runs from (the sources through tsx, dist/, or the bundle), and it changes when they change.
 */
export function codeVersion(names: readonly string[]): string {
  const root = packageRoot();
  const h = createHash('sha256');
  for (const name of names) {
    const file = [path.join(root, 'src', `${name}.ts`), path.join(root, 'dist', `${name}.js`)].find((f) => existsSync(f));
    if (!file) throw new Error(`Gazette: cannot find its own module ${name}`);
    h.update(`${name}\0`).update(readFileSync(file));
  }
  return h.digest('hex').slice(0, 16);
}
