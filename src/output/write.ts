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
  /** Files a build no longer makes, removed (feeds of topics gone). */
  removed?: number;
  /** When present: every file written or found unchanged (what a build's record lists). */
  paths?: string[];
  /** When present: the files written, their bytes new or changed. */
  changed?: string[];
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

/**
 * Text is encoded into this one buffer, reused file after file: a new buffer for each (~100 files, 9 MB at 20k
 * articles) was memory the process had never touched, ~3 µs a 4 KB page to map on these machines.
 */
let scratch: Buffer | undefined;
const SCRATCH_BYTES = 1024 * 1024;

/** UTF-8 of text given whole or in pieces (each piece encoded where it lies: pieces are never joined). */
function encode(text: string | readonly string[]): Uint8Array {
  const pieces = typeof text === 'string' ? [text] : text;
  let length = 0;
  for (const p of pieces) length += p.length;
  // A UTF-16 code unit takes at most 3 bytes of UTF-8.
  if (length * 3 > SCRATCH_BYTES) return Buffer.concat(pieces.map((p) => Buffer.from(p, 'utf8')));
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  let at = 0;
  for (const p of pieces) at += scratch.write(p, at, 'utf8');
  return scratch.subarray(0, at);
}

/**
 * Writes `content` (text, whole or in pieces, or bytes) unless the file already holds exactly it (read only
 * when it has the new one's size).
 */
export function writeIfChanged(file: string, content: string | readonly string[] | Uint8Array, stats?: WriteStats): boolean {
  const bytes = content instanceof Uint8Array ? content : encode(content);
  stats?.paths?.push(file);
  const st = statSync(file, { throwIfNoEntry: false });
  if (st?.isFile() && st.size === bytes.length && readFileSync(file).equals(bytes)) {
    if (stats) stats.unchanged++;
    return false;
  }
  writeAtomic(file, bytes);
  if (stats) stats.written++;
  stats?.changed?.push(file);
  return true;
}
