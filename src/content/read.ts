/** Reading and parsing a list of files, synchronously: run inline for a few files, in workers for many. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArticle } from './parse.js';
import { toEntry, type Entry } from './entry.js';

export interface ParseJob {
  dir: string;
  files: { file: string; size: number; mtimeMs: number }[];
}

export function parseFiles(job: ParseJob): Entry[] {
  return job.files.map(({ file, size, mtimeMs }) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path.join(job.dir, file));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return toEntry(file, size, mtimeMs, { ok: false, issue: { file, reason: `cannot read: ${reason}` } });
    }
    return toEntry(file, size, mtimeMs, parseArticle(file, bytes));
  });
}
