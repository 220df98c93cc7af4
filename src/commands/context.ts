/** Global options → the resolved things every command needs. */
import { loadConfig, loadSecrets } from '../config/load.js';
import type { Config, Secrets } from '../config/schema.js';
import type { Listed } from '../content/list.js';
import type { LoadResult } from '../content/load.js';
import type { ContentIssue } from '../content/article.js';
import type { TopicDef } from '../select/topics.js';
import type { Selection, SelectionRules } from '../select/select.js';
import { GazetteError } from '../errors.js';
import { phase } from '../timing.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface GlobalOptions {
  config?: string;
  content?: string;
  out?: string;
  db?: string;
  verbose?: boolean;
}

export interface Context {
  config: Config;
  configSource: string;
  contentDir: string;
  outDir: string;
  dbPath: string;
  secrets: Secrets;
  now: () => Date;
  log: (line: string) => void;
  warn: (line: string) => void;
}

export async function resolveContext(opts: GlobalOptions, overrides: Partial<Context> = {}): Promise<Context> {
  const { config, source } = await loadConfig(opts.config);
  return {
    config,
    configSource: source,
    contentDir: opts.content ?? config.paths.content,
    outDir: opts.out ?? config.paths.output,
    dbPath: opts.db ?? process.env.GAZETTE_DB ?? config.paths.db,
    secrets: loadSecrets(),
    now: clockFromEnv(),
    log: (line) => console.log(line),
    warn: (line) => console.error(line),
    ...overrides,
  };
}

/** The clock: real time, or a fixed instant from GAZETTE_NOW (ISO 8601) for reproducible runs and tests. */
export function clockFromEnv(env: NodeJS.ProcessEnv = process.env): () => Date {
  const fixed = env.GAZETTE_NOW;
  if (!fixed) return () => new Date();
  const d = new Date(fixed);
  if (Number.isNaN(d.getTime())) throw new GazetteError(`GAZETTE_NOW is not a date: ${fixed}`);
  return () => new Date(d);
}

export function selectionRules(config: Config, since?: Date): SelectionRules {
  return { ...config.selection, since };
}

/** The warning for a cache file that cannot be written: the run goes on without it. */
export const cacheNotWritten = (file: string, err: unknown) =>
  `cannot write the cache file ${file} (${err instanceof Error ? err.message : String(err)}): going on without it; the next run does all the work again`;

/** A file below paths.cache that belongs to one folder: `<kind>-<hash of the folder's path><ext>`. */
export function cacheFileFor(ctx: Context, kind: string, folder: string, ext: string): string {
  return path.join(ctx.config.paths.cache, `${kind}-${createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 16)}${ext}`);
}

/** Feeds the WebSub hub (`feeds.hub`) has not yet been told of (its ping failed), per output folder: the next build tells it again. */
export const hubPendingFile = (ctx: Context) => cacheFileFor(ctx, 'websub', ctx.outDir, '.json');

/** A cache file's JSON list of strings (none when it is missing or unreadable). */
export function readStringList(file: string): string[] {
  try {
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((u): u is string => typeof u === 'string') : [];
  } catch {
    return [];
  }
}

/** The feed URLs `hubPendingFile` lists. */
export const readHubPending = (ctx: Context): string[] => readStringList(hubPendingFile(ctx));

/** One cache file per content folder, below paths.cache. */
export const contentCacheFile = (ctx: Context) => cacheFileFor(ctx, 'content', ctx.contentDir, '.tsv');

export function formatIssue(i: ContentIssue): string {
  return `skipped ${i.file}: ${i.field ? `${i.field}: ` : ''}${i.reason}`;
}

export interface Loaded {
  load: LoadResult;
  topics: TopicDef[];
  selection: Selection;
  /** The "selection: …" line of the report. */
  selectionLine: string;
}

/**
 * Load → select, printing every skipped file and a summary. `--strict` turns any skipped file into a failure.
 * Files are scanned lazily unless `full`: only the articles selection uses are parsed in full (a broken one
 * is reported and left out); `check` and `--strict` parse everything.
 */
export async function loadAndSelect(ctx: Context, opts: { strict?: boolean; since?: Date; full?: boolean; listed?: Listed[] } = {}): Promise<Loaded> {
  phase('start');
  // Loaded here, not with this module: a build with nothing to do never needs them.
  const [{ loadContent }, { resolveTopics }, { select }] = await Promise.all([import('../content/load.js'), import('../select/topics.js'), import('../select/select.js')]);
  const cacheFile = contentCacheFile(ctx);
  const load = await loadContent(ctx.contentDir, {
    cacheFile,
    lazy: !(opts.full || opts.strict),
    onIssue: (i) => ctx.warn(formatIssue(i)),
    onCacheError: (err) => ctx.warn(cacheNotWritten(cacheFile, err)),
    listed: opts.listed,
  });
  for (const issue of load.issues) ctx.warn(formatIssue(issue));
  const topics = resolveTopics(ctx.config.topics, load.articles);
  phase('load');
  const selection = select(load.articles, topics, selectionRules(ctx.config, opts.since), ctx.now());
  phase('select');
  load.save();
  phase('cache');
  const s = selection.stats;
  const skipped = load.issues.length + load.late.length;
  const scannedOnly = load.scannedOnly();
  const scanned = scannedOnly > 0 ? `; ${scannedOnly} not used yet, only scanned` : '';
  ctx.log(`content: ${load.files} files in ${ctx.contentDir}: ${load.articles.length - load.late.length} loaded, ${skipped} skipped (${load.parsed} read, ${load.files - load.parsed} unchanged${scanned})`);
  const selectionLine =
    `selection: ${s.eligible} eligible in ${topics.length} topics; filtered ${s.unpublished} unpublished, ` +
    `${s.belowQuality} below quality ${ctx.config.selection.minQuality}, ${s.future} dated in the future, ` +
    `${s.tooOld} too old, ${s.duplicates} duplicate URLs`;
  ctx.log(selectionLine);
  if (opts.strict && skipped > 0) {
    throw new GazetteError(`--strict: ${skipped} file(s) skipped`);
  }
  return { load, topics, selection, selectionLine };
}
