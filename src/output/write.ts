/** Atomic, change-aware file output: bytes that did not change leave the file (and its mtime) untouched. */
import { mkdir, readFile, rename, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { OutputError } from '../errors.js';

export interface WriteStats {
  written: number;
  unchanged: number;
  /** When present: every file written or found unchanged (what a build's record lists). */
  paths?: string[];
}

/** Replaces `file` atomically (temp file + rename), without comparing. */
export async function writeAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new OutputError(`cannot write ${file}`, { cause: err });
  }
}

export async function writeIfChanged(file: string, content: string | Uint8Array, stats?: WriteStats): Promise<boolean> {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  stats?.paths?.push(file);
  const old = await readFile(file).catch(() => undefined);
  if (old && old.equals(bytes)) {
    if (stats) stats.unchanged++;
    return false;
  }
  await writeAtomic(file, bytes);
  if (stats) stats.written++;
  return true;
}
