/**
 * The content folder → articles and issues. The only module of this stage that touches the disk.
 *
 * Files are listed with their size and mtime. With a cache file, an entry whose file kept its size and
 * mtime is reused as it is; everything else is read and parsed — across worker threads when there are
 * many files — and the cache is rewritten. Deleted files drop out because only listed files are used.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Article, ContentIssue } from './article.js';
import { entryLine, materialize, parseEntryLine, type Entry } from './entry.js';
import { parseFiles, type ParseJob } from './read.js';
import { writeAtomic } from '../output/write.js';
import { ContentError } from '../errors.js';

export interface LoadResult {
  articles: Article[];
  issues: ContentIssue[];
  /** Number of `*.md` files found. */
  files: number;
  /** Files read and parsed this time (the rest came from the cache). */
  parsed: number;
}

export interface LoadOptions {
  /** Cache file; none → no cache. */
  cacheFile?: string;
  /** Parse in worker threads when at least this many files need parsing (default 400). */
  workerThreshold?: number;
}

interface Listed {
  file: string;
  size: number;
  mtimeMs: number;
}

/** Every `*.md` below `dir`, recursively, sorted, with size and mtime. */
export function listArticleFiles(dir: string): Listed[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new ContentError(`cannot read the content folder ${dir}`, { cause: err });
  }
  const out: Listed[] = [];
  for (const e of entries) {
    if (!e.isFile() || !e.name.toLowerCase().endsWith('.md')) continue;
    const full = path.join(e.parentPath, e.name);
    const st = statSync(full, { throwIfNoEntry: false });
    if (!st) continue;
    out.push({ file: path.relative(dir, full).split(path.sep).join('/'), size: st.size, mtimeMs: st.mtimeMs });
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * What parsing depends on: a cache written by other parsing code is not used. The compiled worker is used
 * when it exists (dist/), else parsing stays on this thread.
 */
const PARSER_FILES = ['parse', 'normalize', 'schema', 'text', 'entry'];
function parserVersion(): string {
  const h = createHash('sha256').update('gazette-content-cache-v1');
  for (const name of PARSER_FILES) {
    for (const ext of ['.js', '.ts']) {
      const f = path.join(here, name + ext);
      if (existsSync(f)) h.update(readFileSync(f));
    }
  }
  return h.digest('hex').slice(0, 16);
}

function workerScript(): string | null {
  const local = path.join(here, 'worker.js');
  if (existsSync(local)) return local;
  const dist = path.resolve(here, '..', '..', 'dist', 'content', 'worker.js');
  return existsSync(dist) ? dist : null;
}

function readCache(file: string, dir: string, version: string): Map<string, Entry> {
  const map = new Map<string, Entry>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return map;
  }
  const nl = text.indexOf('\n');
  if (nl < 0 || text.slice(0, nl) !== JSON.stringify({ version, dir })) return map;
  let start = nl + 1;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const e = parseEntryLine(text.slice(start, end));
    if (e) map.set(e.file, e);
    start = end + 1;
  }
  return map;
}

async function parseInWorkers(script: string, job: ParseJob, workers: number): Promise<Entry[]> {
  // Interleave so each worker gets a similar mix of sizes.
  const shares: ParseJob[] = Array.from({ length: workers }, () => ({ dir: job.dir, files: [] }));
  job.files.forEach((f, i) => shares[i % workers]!.files.push(f));
  const results = await Promise.all(
    shares.map(
      (share) =>
        new Promise<Entry[]>((resolve, reject) => {
          const w = new Worker(script, { workerData: share });
          w.once('message', (m: Entry[]) => resolve(m));
          w.once('error', reject);
          w.once('exit', (code) => code !== 0 && reject(new ContentError(`content worker exited with code ${code}`)));
        }),
    ),
  );
  const byFile = new Map<string, Entry>();
  for (const list of results) for (const e of list) byFile.set(e.file, e);
  return job.files.map((f) => byFile.get(f.file)!);
}

export async function loadContent(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const listed = listArticleFiles(dir);
  const absDir = path.resolve(dir);
  const version = opts.cacheFile ? parserVersion() : '';
  const cached = opts.cacheFile ? readCache(opts.cacheFile, absDir, version) : new Map<string, Entry>();

  const entries: (Entry | undefined)[] = listed.map((l) => {
    const c = cached.get(l.file);
    return c && c.size === l.size && c.mtimeMs === l.mtimeMs ? c : undefined;
  });
  const todo = listed.filter((_, i) => !entries[i]);
  if (todo.length > 0) {
    const job: ParseJob = { dir, files: todo };
    const script = workerScript();
    const workers = Math.min(availableParallelism(), 8);
    const fresh = script && workers > 1 && todo.length >= (opts.workerThreshold ?? 400) ? await parseInWorkers(script, job, workers) : parseFiles(job);
    let k = 0;
    for (let i = 0; i < entries.length; i++) if (!entries[i]) entries[i] = fresh[k++];
  }
  const all = entries as Entry[];
  if (opts.cacheFile && (todo.length > 0 || cached.size !== all.length)) {
    await writeAtomic(opts.cacheFile, `${JSON.stringify({ version, dir: absDir })}\n${all.map(entryLine).join('\n')}\n`);
  }
  const articles: Article[] = [];
  const issues: ContentIssue[] = [];
  for (const e of all) {
    if (e.article !== null) articles.push(materialize(e));
    else issues.push(e.issue!);
  }
  return { articles, issues, files: listed.length, parsed: todo.length };
}
