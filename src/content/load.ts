/**
 * The content folder → articles and issues. The only module of this stage that touches the disk.
 *
 * Files are listed with their stamps (size, mtime, ctime). With a cache file, an entry whose file kept its
 * stamp is reused as it is; everything else is read and parsed — across worker threads when there are
 * many files — and added to the cache (appended, or the cache rewritten). Deleted files drop out because only
 * listed files are used.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Article, ContentIssue } from './article.js';
import { entryLine, parseEntries, type Entry } from './entry.js';
import { materialize } from './articles.js';
import { parseSource } from './parse.js';
import { parseClaimed, parseFiles, readArticleFile, settle, unpackEntries, type PackedEntries, type ParseJob, type WorkerJob } from './read.js';
import { ContentError } from '../errors.js';
import { listArticleFiles, sameStamp, type Listed } from './list.js';
import { codeVersion, packageRoot } from '../code-version.js';

export interface LoadResult {
  articles: Article[];
  issues: ContentIssue[];
  /** Number of `*.md` files found. */
  files: number;
  /** Files read and parsed this time (the rest came from the cache). */
  parsed: number;
  /** How many articles are still only scanned (lazy loads): each is parsed in full when used. */
  scannedOnly(): number;
  /** Files that a deferred full parse found broken, in the order found (also passed to `onIssue`). */
  late: ContentIssue[];
  /** Writes the cache again when deferred parses changed it since the load (a no-op without a cache; never throws: see `onCacheError`). */
  save(): void;
  /** Every file with the stamp it was read (or found unchanged) at, in file order. */
  listing(): Listed[];
}

export interface LoadOptions {
  /** Cache file; none → no cache. */
  cacheFile?: string;
  /** Parse in worker threads when at least this many files need parsing (default 2000: below that, starting a worker costs more than it saves). */
  workerThreshold?: number;
  /**
   * Scan only the selection fields of files whose front matter has the plain shape of real articles, and
   * parse the rest of such a file when its article is first used (`Article.verify`). Default false: every
   * file is parsed and checked in full (what `check` does).
   */
  lazy?: boolean;
  /** Told of each file a deferred full parse finds broken. */
  onIssue?: (issue: ContentIssue) => void;
  /**
   * Told, once, that the cache file cannot be written (a read-only folder, a full disk): the load goes on
   * without it — a cache only saves time — and the next one reads every file again.
   */
  onCacheError?: (err: unknown) => void;
  /** The folder's files as `listArticleFiles(dir)` (with stat) just listed them, when the caller has them. */
  listed?: Listed[];
  /** How the load waits for files that changed in the clock tick they were read in (`settle`); tests change them meanwhile. */
  sleep?: (ms: number) => Promise<void>;
}

/** What parsing depends on: a cache written by other parsing code is not used. */
const PARSER_FILES = ['content/source', 'content/scan', 'content/parse', 'content/normalize', 'content/schema', 'content/text', 'content/entry', 'yaml'];
const parserVersion = () => codeVersion(PARSER_FILES);

/**
 * The bundled worker (dist/bundle/worker.cjs) when it is newer than every source file — the rule bin/gazette.cjs
 * uses to run the bundle at all; otherwise (sources edited since, running through tsx) parsing stays on this
 * thread rather than in stale code. It runs through bin/run-bundle.cjs, with V8's code cache.
 */
function workerScript(): WorkerScript | null {
  const root = packageRoot();
  const bundle = path.join(root, 'dist', 'bundle', 'worker.cjs');
  const built = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return null;
  const sources = readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true });
  if (!sources.every((e) => !e.isFile() || statSync(path.join(e.parentPath, e.name)).mtimeMs <= built)) return null;
  return { loader: path.join(root, 'bin', 'run-bundle.cjs'), bundle };
}

/** Below this many files to read, starting a worker costs more than it saves (`LoadOptions.workerThreshold`). */
const WORKER_THRESHOLD = 2000;

/** Workers from the bundle; none when it is missing or older than the sources. */
function crewFor(workers: number, lazy: boolean | undefined): Crew | null {
  const script = workerScript();
  return script ? startWorkers(script, workers, lazy) : null;
}

/** A worker bundle and the file that runs it (bin/run-bundle.cjs runs the bundle named in workerData). */
interface WorkerScript {
  loader: string;
  bundle: string;
}

/**
 * Writes the cache through one 4 MB buffer (unchanged lines are copied as bytes, new ones gathered into runs of
 * text encoded straight into it — one `write` per ~16k characters, not per line: its checks cost ~0.6 µs a
 * call), to a temp file renamed into place.
 */
function writeCache(file: string, header: string, entries: readonly Entry[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let off = 0;
    /** New lines not yet encoded, each with its newline. */
    let run = '';
    const flush = () => {
      if (off > 0) writeSync(fd, buf, 0, off);
      off = 0;
    };
    const encodeRun = () => {
      if (run === '') return;
      // A UTF-16 code unit takes at most 3 bytes of UTF-8.
      const most = run.length * 3;
      if (off + most > buf.length) flush();
      if (most > buf.length) writeSync(fd, Buffer.from(run, 'utf8'));
      else off += buf.write(run, off, 'utf8');
      run = '';
    };
    const text = (l: string) => {
      run += `${l}\n`;
      if (run.length >= 16_384) encodeRun();
    };
    const bytes = (l: Buffer) => {
      encodeRun();
      if (off + l.length + 1 > buf.length) flush();
      if (l.length + 1 > buf.length) {
        writeSync(fd, Buffer.concat([l, NL]));
        return;
      }
      off += l.copy(buf, off);
      buf[off++] = 10;
    };
    text(header);
    for (const e of entries) {
      if (e.line) bytes(e.line.buf.subarray(e.line.start, e.line.end));
      else text(entryLine(e));
    }
    encodeRun();
    flush();
    closeSync(fd);
    renameSync(tmp, file);
  } catch (err) {
    // (A disk that filled up mid-way leaves no half file behind.)
    try {
      closeSync(fd);
    } catch {
      // Closed already.
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}
const NL = Buffer.from('\n');

/**
 * The cache's entries by file (a later line for a file replaces an earlier one) — only those of `want` when
 * given — and how many lines it has (read: entries of the files wanted); null when the file is missing or was
 * written for another folder or by other parsing code.
 */
function readCache(file: string, dir: string, version: string, want?: ReadonlySet<string>): { map: Map<string, Entry>; lines: number } | null {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return null;
  }
  const nl = buf.indexOf(10);
  if (nl < 0 || buf.toString('utf8', 0, nl) !== JSON.stringify({ version, dir })) return null;
  const map = new Map<string, Entry>();
  let lines = 0;
  const quoted = want && new Set([...want].map((f) => JSON.stringify(f)));
  parseEntries(buf, nl + 1, (e) => (lines++, map.set(e.file, e)), quoted && ((f) => quoted.has(f)));
  return { map, lines };
}

/**
 * Appends entries to the cache (one write): what changed since it was read, when that is little — a rebuild
 * after an edit writes a line, not the whole cache. Their lines replace earlier ones for the same files
 * when read; a line cut short by a crash is ignored (parseEntries).
 */
export function appendToContentCache(file: string, entries: readonly Entry[]): void {
  if (entries.length === 0) return;
  const buf = Buffer.from(entries.map((e) => `${entryLine(e)}\n`).join(''), 'utf8');
  appendFileSync(file, buf);
  // Now in the file: a later save copies these lines, as it does lines it read.
  let start = 0;
  for (const e of entries) {
    const end = buf.indexOf(10, start);
    e.line = { buf, start, end };
    start = end + 1;
  }
}

/** The entries of `files` in the cache file of `dir`, when it was written for this folder by this parser; else null. */
export function readContentCache(dir: string, cacheFile: string, files: ReadonlySet<string>): Map<string, Entry> | null {
  return readCache(cacheFile, path.resolve(dir), parserVersion(), files)?.map ?? null;
}

/** Content workers started before the files are listed; each waits for the job (`WorkerJob`) by message. */
interface Crew {
  next: Int32Array;
  /** Each worker's answer; null when it was stopped. */
  threads: { w: Worker; done: Promise<PackedEntries | null> }[];
  stopped: Set<number>;
}

/**
 * Starts `workers` content workers now — each takes ~65–240 ms to load before it can claim files, which the
 * listing (~45 ms at 20k files, ~230 ms at 100k) and anything else before `parseInWorkers` overlap.
 */
function startWorkers(script: WorkerScript, workers: number, lazy: boolean | undefined): Crew {
  const next = new Int32Array(new SharedArrayBuffer(4 * (1 + workers)));
  const stopped = new Set<number>();
  const threads = Array.from({ length: workers }, (_, k) => {
    const w = new Worker(script.loader, { workerData: { lazy, next, worker: k, gazetteBundle: script.bundle } });
    const done = new Promise<PackedEntries | null>((resolve, reject) => {
      w.once('message', (p: PackedEntries) => resolve(p));
      w.once('error', reject);
      w.once('exit', (code) => (code === 0 || stopped.has(k) ? resolve(null) : reject(new ContentError(`content worker exited with code ${code}`))));
    });
    // A worker stopped unused (too few files) or failing while this thread works is told by `done` when awaited.
    done.catch(() => {});
    return { w, done };
  });
  return { next, threads, stopped };
}

/** Stops worker `k` of the crew: its answer (`done`) is then null. */
function stopWorker(crew: Crew, k: number): void {
  crew.stopped.add(k);
  void crew.threads[k]!.w.terminate();
}

/** Stops workers that will not be given a job. */
function stopWorkers(crew: Crew): void {
  crew.threads.forEach((_, k) => stopWorker(crew, k));
}

/**
 * This thread and the crew's workers claim chunks of files from a shared counter: this thread starts at once
 * while the workers finish loading, and whoever is faster takes more.
 */
async function parseInWorkers(crew: Crew, job: ParseJob): Promise<Entry[]> {
  const { next, threads } = crew;
  const message: WorkerJob = { dir: job.dir, files: job.files.map((f) => f.file).join('\n') };
  for (const { w } of threads) w.postMessage(message);
  const mine = parseClaimed({ ...job, next }, parseSource);
  // Every file is claimed now. A worker that has not begun claiming will find nothing: stop it rather than wait for it to load.
  threads.forEach((_, k) => {
    if (Atomics.load(next, 1 + k) === 0) stopWorker(crew, k);
  });
  const out = new Array<Entry>(job.files.length);
  const answers = (await Promise.all(threads.map((t) => t.done))).map((p) => (p ? unpackEntries(p, job.files) : []));
  for (const list of [mine, ...answers]) for (const [i, e] of list) out[i] = e;
  return out;
}

export async function loadContent(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  /** No file is read before this (epoch ms). */
  const readFrom = Date.now();
  const absDir = path.resolve(dir);
  const version = opts.cacheFile ? parserVersion() : '';
  const read = (opts.cacheFile && readCache(opts.cacheFile, absDir, version)) || { map: new Map<string, Entry>(), lines: 0 };
  const cached = read.map;
  /** Lines in the cache file, replaced and deleted files' included. */
  let cacheLines = read.lines;
  const workers = Math.min(availableParallelism(), 8) - 1;
  const threshold = opts.workerThreshold ?? WORKER_THRESHOLD;
  // Nothing cached and nothing listed yet (a first build): nearly always many files to read, so the workers start
  // loading now, while this thread lists; stopped unused if the folder turns out small. (Not when the caller
  // asked for workers only above the default's number of files.)
  let crew = workers > 0 && cached.size === 0 && !opts.listed && threshold <= WORKER_THRESHOLD ? crewFor(workers, opts.lazy) : null;
  let listed: Listed[];
  let todo: Listed[];
  const entries: (Entry | undefined)[] = [];
  try {
    listed = opts.listed ?? listArticleFiles(dir, cached.size > 0);
    for (const l of listed) {
      const c = cached.get(l.file);
      // A full load reads again what an earlier lazy load only scanned.
      entries.push(c && sameStamp(c, l) && (opts.lazy || !c.pending) ? c : undefined);
    }
    todo = listed.filter((_, i) => !entries[i]);
    if (crew && todo.length < threshold) {
      // Too few files for them after all: stopped unused.
      stopWorkers(crew);
      crew = null;
    }
    if (todo.length > 0) {
      const job: ParseJob = { dir, files: todo, lazy: opts.lazy };
      if (!crew && workers > 0 && todo.length >= threshold) crew = crewFor(workers, opts.lazy);
      const fresh = crew ? await parseInWorkers(crew, job) : parseFiles(job, parseSource);
      await settle(dir, fresh, readFrom, opts.lazy, parseSource, opts.sleep);
      let k = 0;
      for (let i = 0; i < entries.length; i++) if (!entries[i]) entries[i] = fresh[k++];
    }
  } catch (err) {
    // Workers waiting for a job would keep the process alive.
    if (crew) stopWorkers(crew);
    throw err;
  }
  const all = entries as Entry[];
  // What a scanning worker could not read, this thread parses in full.
  for (let i = 0; i < all.length; i++) if (all[i]!.redo) all[i] = parseFiles({ dir, files: [all[i]!] }, parseSource)[0]!;

  let dirty = Boolean(opts.cacheFile) && (todo.length > 0 || cached.size !== all.length);
  const late: ContentIssue[] = [];
  const hooks = {
    issue: (i: ContentIssue) => {
      late.push(i);
      opts.onIssue?.(i);
    },
    changed: () => (dirty = Boolean(opts.cacheFile)),
    read: (file: string) => readArticleFile(dir, file),
  };
  const articles: Article[] = [];
  const issues: ContentIssue[] = [];
  for (const e of all) {
    if (e.meta !== null) {
      articles.push(materialize(e, hooks));
    } else issues.push(e.issue!);
  }
  let cacheFailed = false;
  const save = () => {
    if (!dirty || !opts.cacheFile || cacheFailed) return;
    // Entries read from the cache keep their line; the others are new or changed.
    const fresh = all.filter((e) => !e.line);
    // Appended to, the cache keeps lines of deleted and replaced files: rewritten whole when they pass a quarter.
    if (cacheLines > 0 && cacheLines + fresh.length <= all.length * 1.25 + 100) {
      try {
        appendToContentCache(opts.cacheFile, fresh);
        cacheLines += fresh.length;
        dirty = false;
        return;
      } catch {
        // Rewritten whole instead.
      }
    }
    try {
      writeCache(opts.cacheFile, JSON.stringify({ version, dir: absDir }), all);
    } catch (err) {
      cacheFailed = true;
      opts.onCacheError?.(err);
    }
    dirty = false;
  };
  // A full load is complete now; a lazy one is saved by its caller once selection has verified what it uses.
  if (!opts.lazy) save();
  const listing = () => all.map((e) => ({ file: e.file, size: e.size, mtimeMs: e.mtimeMs, ctimeMs: e.ctimeMs }));
  return { articles, issues, files: listed.length, parsed: todo.length, scannedOnly: () => all.filter((e) => e.pending).length, late, save, listing };
}
