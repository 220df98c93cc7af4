/** Reading and parsing a list of files, synchronously: run inline for a few files, in workers for many. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import type { NormalizeResult } from './normalize.js';
import { pendingEntry, pendingEntryOf, redoEntry, toEntry, type Entry } from './entry.js';
import { MAX_FILE_BYTES, readSource, withoutSecured } from './source.js';
import { scanMeta } from './scan.js';
import type { Stamp } from './list.js';

export interface ParseJob {
  dir: string;
  files: { file: string }[];
  /** Scan the selection fields only, when the front matter has the plain shape the scan reads. */
  lazy?: boolean;
  /** Shared by every thread of one load: [0] the index of the next unclaimed file, [1 + k] set by worker k when it starts claiming. */
  next?: Int32Array;
  /** This worker's number k (the main thread has none). */
  worker?: number;
}

/** What a content worker is sent once started: the job's files as one string of lines (cloned in one piece, not as ~10–50k objects). */
export interface WorkerJob {
  dir: string;
  files: string;
}

/** The full parser (src/content/parse.ts), passed in so that a scanning worker need not load it. */
export type FullParse = (file: string, source: string) => NormalizeResult;

/** Files are claimed in chunks through an atomic counter, so fast and late-starting threads share the work evenly. */
export const CHUNK = 32;

export interface FileRead extends Stamp {
  /** Empty when the file is over the size limit (it is not read). */
  bytes: Buffer;
}

/** One file's bytes with the stamp they were read at (one open, fstat, read, close). */
export function readArticleFile(dir: string, file: string): FileRead {
  // Joined as text (`file` is relative, from the listing): `path.join` would normalize each path again.
  const fd = openSync(`${dir}${path.sep}${file}`, 'r');
  try {
    const st = fstatSync(fd);
    if (st.size > MAX_FILE_BYTES) return { bytes: Buffer.alloc(0), size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
    const bytes = Buffer.allocUnsafe(st.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return { bytes: bytes.subarray(0, at), size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
  } finally {
    closeSync(fd);
  }
}

/** Parses chunks of `job.files` until none are left; returns [index, entry] pairs of what this thread did. */
export function parseClaimed(job: ParseJob & { next: Int32Array }, full?: FullParse): [number, Entry][] {
  const out: [number, Entry][] = [];
  if (job.worker !== undefined) Atomics.store(job.next, 1 + job.worker, 1);
  for (;;) {
    const start = Atomics.add(job.next, 0, CHUNK);
    if (start >= job.files.length) return out;
    const end = Math.min(start + CHUNK, job.files.length);
    const entries = parseFiles({ dir: job.dir, lazy: job.lazy, files: job.files.slice(start, end) }, full);
    for (let i = 0; i < entries.length; i++) out.push([start + i, entries[i]!]);
  }
}

/**
 * How long after a change a file's times may still be those of the change. File times have the resolution of
 * the kernel's clock tick on many systems (Linux before 6.13: 1–10 ms; 6.13 and later make them fine once
 * read): a file changed again within the tick it was read in keeps the size, mtime and ctime that were read,
 * and a cache keyed by them would keep the first text for good. So a file read within this time of its last
 * change is read again once it has passed (`settle`); from then on, any change shows in its ctime.
 */
export const RACY_MS = 20;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Reads again, in place, the entries of `entries` (read at or after `readFrom`, epoch ms) whose files changed
 * less than RACY_MS before: once that time is over (at most RACY_MS of waiting a round; a file changing all
 * along, or dated ahead by another machine's clock, is taken as its third read finds it).
 */
export async function settle(dir: string, entries: Entry[], readFrom: number, lazy: boolean | undefined, full: FullParse, sleep = delay): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const racy: number[] = [];
    let latest = 0;
    for (let i = 0; i < entries.length; i++) {
      const c = entries[i]!.ctimeMs;
      if (c < 0 || c + RACY_MS <= readFrom) continue;
      racy.push(i);
      latest = Math.max(latest, c);
    }
    if (racy.length === 0) return;
    const wait = Math.min(RACY_MS, Math.ceil(latest + RACY_MS - Date.now()));
    if (wait > 0) await sleep(wait);
    readFrom = Date.now();
    const again = parseFiles({ dir, lazy, files: racy.map((i) => entries[i]!) }, full);
    racy.forEach((i, k) => (entries[i] = again[k]!));
  }
}

/** The stamp of a file that could not be read: no file's, so the next load tries again. */
const UNREAD: Stamp = { size: -1, mtimeMs: -1, ctimeMs: -1 };

/** Without `full`, a file the scan cannot read becomes a `redo` entry for a thread that has the full parser. */
export function parseFiles(job: ParseJob, full?: FullParse): Entry[] {
  return job.files.map(({ file }) => {
    let read: FileRead;
    try {
      read = readArticleFile(job.dir, file);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return toEntry(file, UNREAD, { ok: false, issue: { file, reason: `cannot read: ${reason}` } });
    }
    // The scan skips the `secured` line as it is; the full parser gets the source without it.
    const r = readSource(file, read.bytes, read.size, job.lazy);
    if (!r.ok) return toEntry(file, read, r);
    if (job.lazy) {
      const meta = scanMeta(r.source);
      if (meta) return pendingEntry(file, read, meta);
    }
    return full ? toEntry(file, read, full(file, withoutSecured(r.source).text)) : redoEntry(file, read);
  });
}

/**
 * A worker's answer, packed: the scanned-only entries (nearly all of a lazy load) as a few arrays and one
 * string of their meta JSON lines, which structured cloning copies in one piece, instead of ~10k objects it
 * would copy one by one (~6 µs each at 100k files); their file names are the job's. Any other entry (parsed
 * in full, broken, left to the main thread) goes as it is.
 */
export interface PackedEntries {
  index: Int32Array;
  size: Float64Array;
  mtimeMs: Float64Array;
  ctimeMs: Float64Array;
  /** The entries' meta JSON, one per line (JSON text holds no raw line break). */
  metas: string;
  other: [number, Entry][];
}

export function packEntries(list: [number, Entry][]): PackedEntries {
  const scanned = list.filter(([, e]) => e.pending && e.meta !== null);
  const other = list.filter(([, e]) => !(e.pending && e.meta !== null));
  const index = new Int32Array(scanned.length);
  const size = new Float64Array(scanned.length);
  const mtimeMs = new Float64Array(scanned.length);
  const ctimeMs = new Float64Array(scanned.length);
  const metas = new Array<string>(scanned.length);
  scanned.forEach(([i, e], k) => {
    index[k] = i;
    size[k] = e.size;
    mtimeMs[k] = e.mtimeMs;
    ctimeMs[k] = e.ctimeMs;
    metas[k] = e.meta!;
  });
  return { index, size, mtimeMs, ctimeMs, metas: metas.join('\n'), other };
}

/** `packEntries`' answer back as [index, entry] pairs; `files` is the job's list. */
export function unpackEntries(p: PackedEntries, files: readonly { file: string }[]): [number, Entry][] {
  const out: [number, Entry][] = p.other.slice();
  let at = 0;
  for (let k = 0; k < p.index.length; k++) {
    let end = p.metas.indexOf('\n', at);
    if (end < 0) end = p.metas.length;
    const i = p.index[k]!;
    out.push([i, pendingEntryOf(files[i]!.file, p.size[k]!, p.mtimeMs[k]!, p.ctimeMs[k]!, p.metas.slice(at, end))]);
    at = end + 1;
  }
  return out;
}
