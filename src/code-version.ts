/** Identifies versions of Gazette's own code, so that a cache written by other code is not used. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** Gazette's folder: the nearest one above this module with a package.json (from src/ or dist/bundle/ alike). */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('Gazette: no package.json above its own code');
    dir = up;
  }
  return (root = dir);
}

/**
 * A hash of Gazette's modules `names` (paths below src/ without extension, e.g. `render/feeds`): of their
 * sources, so it is the same wherever the calling code runs from (the sources through tsx, or the bundle)
 * and changes when they change — or when the installed dependencies do (`feed`, js-yaml, zod… shape what
 * those modules produce).
 */
export function codeVersion(names: readonly string[]): string {
  const h = createHash('sha256').update(`${dependenciesVersion()}\0`);
  for (const name of names) {
    const file = path.join(packageRoot(), 'src', `${name}.ts`);
    if (!existsSync(file)) throw new Error(`Gazette: cannot find its own module ${file}`);
    h.update(`${name}\0`).update(readFileSync(file));
  }
  return h.digest('hex').slice(0, 16);
}

let deps: string | undefined;

/**
 * A hash of the installed dependencies: npm's record of node_modules (node_modules/.package-lock.json),
 * else the lock file; empty when there is neither.
 */
export function dependenciesVersion(): string {
  if (deps !== undefined) return deps;
  for (const f of [path.join(packageRoot(), 'node_modules', '.package-lock.json'), path.join(packageRoot(), 'package-lock.json')]) {
    if (existsSync(f)) return (deps = createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 16));
  }
  return (deps = '');
}

let all: string | undefined;

/** A hash of every Gazette source file and the installed dependencies (what a whole build's result depends on). */
export function sourcesVersion(): string {
  if (all) return all;
  const src = path.join(packageRoot(), 'src');
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
  const h = createHash('sha256').update(`${dependenciesVersion()}\0`);
  for (const f of files) h.update(`${path.relative(src, f)}\0`).update(readFileSync(f));
  return (all = h.digest('hex').slice(0, 16));
}
