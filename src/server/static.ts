/**
 * The output folder over HTTP: right types, strong ETags and Last-Modified with 304s, gzip, Cache-Control.
 * Nothing outside the folder is ever served (encoded `..`, NUL bytes and symlinks out included).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import etag from 'etag';
import fresh from 'fresh';

export const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.opml': 'text/x-opml; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.eml': 'message/rfc822',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.svg': 'image/svg+xml',
};

/** Feed files get their registered types, so readers and browsers treat them as feeds. */
export function contentType(file: string): string {
  const base = path.basename(file);
  if (base === 'rss.xml') return 'application/rss+xml; charset=utf-8';
  if (base === 'atom.xml') return 'application/atom+xml; charset=utf-8';
  if (base === 'feed.json') return 'application/feed+json; charset=utf-8';
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function cacheControl(file: string): string {
  if (/\.(xml|json|opml)$/.test(file)) return 'public, max-age=300';
  return 'public, max-age=60';
}

interface Entry {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzip?: Buffer;
  etag: string;
  lastModified: string;
}

/** Bytes of file bodies (and their gzip) kept in memory: the feeds and pages readers ask for, not the whole archive. */
export const CACHE_BYTES = 64 * 1024 * 1024;

export class StaticFiles {
  /** Least recently used first (a hit moves its entry to the end). */
  private readonly cache = new Map<string, Entry>();
  /** Bytes the cache holds (bodies and gzips). */
  cachedBytes = 0;
  private rootReal?: string;

  constructor(
    private readonly root: string,
    private readonly maxBytes = CACHE_BYTES,
  ) {}

  /** The file a URL path names inside the root, or null when it names nothing servable. */
  async resolve(urlPath: string): Promise<string | null> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return null;
    const segments = decoded.split('/').filter(Boolean);
    if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return null;
    this.rootReal ??= await realpath(this.root).catch(() => path.resolve(this.root));
    let file = path.join(this.rootReal, ...segments);
    let st = await stat(file).catch(() => null);
    if (st?.isDirectory()) {
      file = path.join(file, 'index.html');
      st = await stat(file).catch(() => null);
    }
    if (!st?.isFile()) return null;
    const real = await realpath(file).catch(() => null);
    if (!real || (real !== this.rootReal && !real.startsWith(this.rootReal + path.sep))) return null;
    return real;
  }

  private async entry(file: string): Promise<Entry | null> {
    const st = await stat(file).catch(() => null);
    if (!st) return null;
    const hit = this.cache.get(file);
    if (hit) this.drop(file, hit);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return this.keep(file, hit);
    const body = await readFile(file);
    return this.keep(file, { mtimeMs: st.mtimeMs, size: st.size, body, etag: etag(body), lastModified: st.mtime.toUTCString() });
  }

  private drop(file: string, e: Entry): void {
    this.cache.delete(file);
    this.cachedBytes -= e.body.length + (e.gzip?.length ?? 0);
  }

  /** (Re)inserts `e` as the most recently used, then evicts the least recently used beyond the byte limit. */
  private keep(file: string, e: Entry): Entry {
    const there = this.cache.get(file); // (another request for it read it meanwhile)
    if (there) this.drop(file, there);
    this.cache.set(file, e);
    this.cachedBytes += e.body.length + (e.gzip?.length ?? 0);
    for (const [f, old] of this.cache) {
      if (this.cachedBytes <= this.maxBytes || f === file) break;
      this.drop(f, old);
    }
    return e;
  }

  /** Serves `urlPath` (with `headers` besides its own); returns false when there is no such file (the caller answers 404). */
  async serve(req: IncomingMessage, res: ServerResponse, urlPath: string, headers?: Record<string, string>): Promise<boolean> {
    const file = await this.resolve(urlPath);
    if (!file) return false;
    const e = await this.entry(file);
    if (!e) return false;
    const type = contentType(file);
    const gzipOk = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && e.body.length > 512 && !/^image\/(png|jpeg)/.test(type);
    const tag = gzipOk ? e.etag.replace(/"$/, '-gz"') : e.etag;
    res.setHeader('Content-Type', type);
    res.setHeader('ETag', tag);
    res.setHeader('Last-Modified', e.lastModified);
    res.setHeader('Cache-Control', cacheControl(file));
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
    if (fresh(req.headers, { etag: tag, 'last-modified': e.lastModified })) {
      res.statusCode = 304;
      res.end();
      return true;
    }
    let body = e.body;
    if (gzipOk) {
      if (!e.gzip) {
        e.gzip = gzipSync(e.body);
        if (this.cache.get(file) === e) this.cachedBytes += e.gzip.length;
      }
      body = e.gzip;
      res.setHeader('Content-Encoding', 'gzip');
    }
    res.setHeader('Content-Length', body.length);
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
