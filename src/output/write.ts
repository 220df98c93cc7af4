/**
 * Atomic, change-aware file output: bytes that did not change leave the file (and its mtime) untouched.
 * Synchronous: output files are small and many, and one `writeFileSync` is several times faster here than
 * the same write through the thread pool.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OutputError } from '../errors.js';

export interface WriteStats {
  written: number;
  unchanged: number;
  /** When present: every file written or found unchanged (what a build's record lists). */
  paths?: string[];
}

/** Folders this process made or found, so that writing many files into a few folders makes each only once. */
const made = new Set<string>();

/** Replaces `file` atomically (temp file + rename), without comparing. */
export function writeAtomic(file: string, content: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    try {
      writeFileSync(tmp, content);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dir, { recursive: true }); // removed since
      writeFileSync(tmp, content);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new OutputError(`cannot write ${file}`, { cause: err });
  }
}

/** Writes `content` unless the file already holds exactly it (read only when it has the new one's size). */
export function writeIfChanged(file: string, content: string | Uint8Array, stats?: WriteStats): boolean {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  stats?.paths?.push(file);
  const st = statSync(file, { throwIfNoEntry: false });
  if (st?.isFile() && st.size === bytes.length && readFileSync(file).equals(bytes)) {
    if (stats) stats.unchanged++;
    return false;
  }
  writeAtomic(file, bytes);
  if (stats) stats.written++;
  return true;
}
