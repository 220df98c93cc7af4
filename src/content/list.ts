/** The content folder's article files, with their stamps (size, mtime, ctime): what tells a build or a cache what changed. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ContentError } from '../errors.js';

/**
 * What tells whether a file changed since it was read: its size, mtime and ctime (-1 each when not asked for).
 * The ctime too, because tools that set an mtime back — `cp -p`, `rsync -t`, `touch -r`, tar, an importer that
 * dates each file by its article — can leave a file's size and mtime as they were over new text; the kernel
 * sets the ctime on every change, and no tool can set it.
 */
export interface Stamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export const sameStamp = (a: Stamp, b: Stamp) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
/** A stamp as one string (`size:mtime:ctime`), for maps and records. */
export const stampText = (s: Stamp) => `${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

export interface Listed extends Stamp {
  file: string;
}

/**
 * Every `*.md` below `dir`, recursively, sorted, with their stamps when `stat` (sync stat calls: 3× faster
 * than async here). Without a cache to compare with, the files are not stat'ed here: reading them tells.
 * A symbolic link to a file is the file it points to (its stamp is that file's); one that points nowhere is
 * listed, so that reading it reports it; links to folders are not followed. Hidden files and folders (a name
 * that starts with `.`: `.git`, `._a.md`) are left out.
 */
export function listArticleFiles(dir: string, stat = true): Listed[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new ContentError(`cannot read the content folder ${dir}`, { cause: err });
  }
  const out: Listed[] = [];
  /** Each folder's path relative to `dir` (with its `/`), or null for a hidden one (or one inside a hidden one). */
  const folders = new Map<string, string | null>();
  for (const e of entries) {
    const link = e.isSymbolicLink();
    // Hidden files are no articles: editors' lock files (`.#a.md`), macOS's `._a.md` beside files on shared drives.
    if (!(e.isFile() || link) || e.name.startsWith('.') || !e.name.toLowerCase().endsWith('.md')) continue;
    let folder = folders.get(e.parentPath);
    if (folder === undefined) {
      const rel = path.relative(dir, e.parentPath).split(path.sep).join('/');
      folder = rel.split('/').some((s) => s.startsWith('.')) ? null : rel ? `${rel}/` : '';
      folders.set(e.parentPath, folder);
    }
    if (folder === null) continue;
    const file = folder + e.name;
    if (!stat && !link) {
      out.push({ file, size: -1, mtimeMs: -1, ctimeMs: -1 });
      continue;
    }
    // Joined as text: `path.join` normalizes each of the 20k paths again (~20% of a warm build's listing).
    const st = statSync(`${e.parentPath}${path.sep}${e.name}`, { throwIfNoEntry: false });
    if (st && link && !st.isFile()) continue; // (links are few: stat'ed even when `stat` is false, to know this)
    // (A plain file gone since the folder was read is left out; a link pointing nowhere is read, and fails.)
    if (st) out.push({ file, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
    else if (link) out.push({ file, size: -1, mtimeMs: -1, ctimeMs: -1 });
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
