/** Identifies versions of Gazette's own code, so that a cache written by other code is not used. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A hash of the modules `names` (relative to `moduleUrl`, compiled `.js` or source `.ts`, whichever exist). */
export function codeVersion(moduleUrl: string, names: readonly string[]): string {
  const h = createHash('sha256');
  for (const name of names) {
    for (const ext of ['.js', '.ts']) {
      const file = fileURLToPath(new URL(name + ext, moduleUrl));
      if (existsSync(file)) h.update(readFileSync(file));
    }
  }
  return h.digest('hex').slice(0, 16);
}
