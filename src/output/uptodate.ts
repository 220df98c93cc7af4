/**
 * "Nothing changed since the last build". A build leaves a record of what it was made from (one hash of every
 * input but the clock), of the stretch of time in which the clock would not change its result, and of the
 * output files as it left them. A later build whose inputs hash the same, whose clock is inside that stretch
 * and whose output files are as recorded would write nothing: it says so and stops, without loading or
 * rendering anything (the feeds' own manifest and writeIfChanged still stand behind any build that runs).
 * `sameSetting` checks all but the article files; the build compares those (`key`) itself.
 *
 * What the clock changes: an article dated in the future becomes current at its date; one older than
 * `maxAgeDays` drops out; the digest previews take articles of the last `windowHours` and are dated by the
 * day in `site.timezone`. `timeStretch` is pure; the rest reads and writes the record and stats the output files.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from './write.js';
import { dayBounds } from '../content/text.js';

export interface BuildRecord {
  version: 2;
  /** Hash of every input but the clock (see `inputsKey`). */
  key: string;
  /** Hash of every input but the clock and the article files. */
  fixed: string;
  /** The article files the build read: `file\tsize\tmtime\tctime` lines. */
  listing: string;
  /** What each feed held: the `all` feed's article files, and each topic's (with what its feed shows of it). */
  feeds: { all: string[]; topics: { slug: string; name: string; description?: string; files: string[] }[] };
  /** The clock stretch [from, until) in which the build's result is the same (epoch ms). */
  from: number;
  until: number;
  /** Output files the build wrote or found current: path relative to the output folder, size, mtime (ms). */
  outputs: [string, number, number][];
  /** The digest folders (what the archive page lists): path relative to the output folder, mtime (ms); -1 absent. */
  dirs: [string, number][];
  /** Content files the build read (for the report). */
  files: number;
  /** What the build warned about (skipped files, digest notes): said again when nothing changed. */
  warnings: string[];
  /** The build's selection summary line. */
  selection: string;
  /** When the build ran (ISO 8601, by its clock). */
  builtAt: string;
}

const DAY = 86_400_000;

/**
 * The stretch of time around `now` in which no article (by `dates`, epoch ms) crosses a rule that depends on the
 * clock, and the day (in `rules.timeZone`, default UTC) stays the same. Pure.
 */
export function timeStretch(dates: Iterable<number>, now: number, rules: { maxAgeDays: number; windowHours: number; timeZone?: string }): { from: number; until: number } {
  let { from, until } = dayBounds(now, rules.timeZone ?? 'UTC');
  const cross = (at: number) => {
    if (at <= now) from = Math.max(from, at);
    else until = Math.min(until, at);
  };
  const maxAge = rules.maxAgeDays * DAY;
  const window = rules.windowHours * 3_600_000;
  for (const d of dates) {
    cross(d); // dated in the future until then; new for a digest from then
    cross(d + window); // out of the digest window from then
    if (maxAge > 0) cross(d + maxAge + 1); // too old from then (older than now - maxAge)
  }
  return { from, until };
}

/**
 * The listing as a record keeps it. Times in whole microseconds: formatting an integer is several times faster
 * than a fractional millisecond count (~10 ms of a warm 20k build's check), and a file read at least RACY_MS
 * after its change cannot change again within one microsecond of it.
 */
export const listingText = (listing: readonly { file: string; size: number; mtimeMs: number; ctimeMs: number }[]) =>
  listing.map((l) => `${l.file}\t${l.size}\t${Math.round(l.mtimeMs * 1000)}\t${Math.round(l.ctimeMs * 1000)}\n`).join('');

/** One hash of the build's inputs, in order; each part is prefixed by its length, so no two lists of parts hash alike. */
export function inputsKey(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${Buffer.byteLength(p)}\0`).update(p);
  return h.digest('hex');
}

/** The folders whose listing the archive page shows: digests/ and each topic folder in it. */
function digestDirs(outDir: string): [string, number][] {
  const top = path.join(outDir, 'digests');
  const mtime = (p: string) => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  const dirs: [string, number][] = [['digests', mtime(top)]];
  let entries;
  try {
    entries = readdirSync(top, { withFileTypes: true });
  } catch {
    return dirs;
  }
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    dirs.push([`digests/${e.name}`, mtime(path.join(top, e.name))]);
  }
  return dirs;
}

/** What a finished build leaves: its outputs (absolute paths) as they are now, and the digest folders. */
export function outputState(outDir: string, outputs: Iterable<string>): Pick<BuildRecord, 'outputs' | 'dirs'> {
  const rows: [string, number, number][] = [];
  for (const file of new Set(outputs)) {
    const st = statSync(file, { throwIfNoEntry: false });
    rows.push([path.relative(outDir, file).split(path.sep).join('/'), st?.size ?? -1, st?.mtimeMs ?? -1]);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return { outputs: rows, dirs: digestDirs(outDir) };
}

export function readRecord(file: string): BuildRecord | null {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as BuildRecord;
    return r.version === 2 ? r : null;
  } catch {
    return null;
  }
}

/** Keeps the record; one that cannot be written only means that the next build does all the work again. */
export function writeRecord(file: string, record: BuildRecord): void {
  try {
    writeAtomic(file, JSON.stringify(record));
  } catch {
    // See above.
  }
}

/**
 * Whether a build with the inputs `fixed` (all but the clock and the article files) at `now` starts from
 * where `record`'s build left off: same inputs, the clock in its stretch, its output as it left it.
 */
export function sameSetting(record: BuildRecord, fixed: string, now: number, outDir: string): boolean {
  if (record.fixed !== fixed || now < record.from || now >= record.until) return false;
  for (const [rel, size, mtimeMs] of record.outputs) {
    const st = statSync(path.join(outDir, rel), { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtimeMs) return false;
  }
  const dirs = digestDirs(outDir);
  return dirs.length === record.dirs.length && dirs.every(([rel, m], i) => record.dirs[i]![0] === rel && record.dirs[i]![1] === m);
}
