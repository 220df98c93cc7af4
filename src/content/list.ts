/** The content folder's article files, with size and mtime: what tells a build or a cache what changed. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ContentError } from '../errors.js';

export interface Listed {
  file: string;
  /** -1 when not asked for. */
  size: number;
  mtimeMs: number;
}

/**
 * Every `*.md` below `dir`, recursively, sorted, with size and mtime when `stat` (sync stat calls: 3× faster
 * than async here). Without a cache to compare with, the files are not stat'ed here: reading them tells.
 */
export function listArticleFiles(dir: string, stat = true): Listed[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new ContentError(`cannot read the content folder ${dir}`, { cause: err });
  }
  const out: Listed[] = [];
  const folders = new Map<string, string>();
  for (const e of entries) {
    if (!e.isFile() || !e.name.toLowerCase().endsWith('.md')) continue;
    let folder = folders.get(e.parentPath);
    if (folder === undefined) {
      const rel = path.relative(dir, e.parentPath).split(path.sep).join('/');
      folders.set(e.parentPath, (folder = rel ? `${rel}/` : ''));
    }
    const file = folder + e.name;
    if (!stat) {
      out.push({ file, size: -1, mtimeMs: -1 });
      continue;
    }
    // Joined as text: `path.join` normalizes each of the 20k paths again (~20% of a warm build's listing).
    const st = statSync(`${e.parentPath}${path.sep}${e.name}`, { throwIfNoEntry: false });
    if (st) out.push({ file, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
