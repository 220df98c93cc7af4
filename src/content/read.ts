/** Reading and parsing a list of files, synchronously: run inline for a few files, in workers for many. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArticle } from './parse.js';
import { toEntry, type Entry } from './entry.js';

export interface ParseJob {
  dir: string;
  files: { file: string; size: number; mtimeMs: number }[];
  /** Shared by every thread of one load: [0] the index of the next unclaimed file, [1 + k] set by worker k when it starts claiming. */
  next?: Int32Array;
  /** This worker's number k (the main thread has none). */
  worker?: number;
}

/** Files are claimed in chunks through an atomic counter, so fast and late-starting threads share the work evenly. */
export const CHUNK = 32;

/** Parses chunks of `job.files` until none are left; returns [index, entry] pairs of what this thread did. */
export function parseClaimed(job: ParseJob & { next: Int32Array }): [number, Entry][] {
  const out: [number, Entry][] = [];
  if (job.worker !== undefined) Atomics.store(job.next, 1 + job.worker, 1);
  for (;;) {
    const start = Atomics.add(job.next, 0, CHUNK);
    if (start >= job.files.length) return out;
    const end = Math.min(start + CHUNK, job.files.length);
    const entries = parseFiles({ dir: job.dir, files: job.files.slice(start, end) });
    for (let i = 0; i < entries.length; i++) out.push([start + i, entries[i]!]);
  }
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
