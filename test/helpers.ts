/** Test helpers: fixture articles built by spreading a base object, temp folders, the CLI as a child. */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { stringify } from 'yaml';
import type { Article } from '../src/content/article.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CORPUS = path.resolve(ROOT, '..', 'shared', 'corpus');
export const NOW = new Date('2026-11-22T12:00:00Z');

export const baseFrontMatter = {
  category: 'news',
  title: 'Cameras learn to read rail tracks',
  excerpt: 'A short excerpt about the story.',
  publishedDateTime: '2026-11-21T08:00:00Z',
  webUrl: 'https://example.org/story-1',
  type: 'article',
  quality: 80,
  heat: 90,
  published: true,
  provider: { name: 'Example News', domain: 'example.org' },
  topics: ['Computer Vision', 'AI'],
  images: [{ url: 'https://example.org/img/1.jpg', width: 640, height: 360, isCached: true }],
  related: [
    { title: 'Second take', webUrl: 'https://second.example.com/a', provider: { name: 'Second' }, quality: 10, type: 'article' },
  ],
};

export function articleText(overrides: Record<string, unknown> = {}, body = ''): string {
  const data: Record<string, unknown> = { ...baseFrontMatter, ...overrides };
  for (const k of Object.keys(data)) if (data[k] === undefined) delete data[k];
  return `---\n${stringify(data)}---\n${body}`;
}

export function tempDir(prefix = 'gazette-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** Runs the real CLI (bin/gazette.cjs) in `cwd`. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'gazette.cjs'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let counter = 0;
/** A normalized Article for pure-stage tests. */
export function makeArticle(overrides: Partial<Article> = {}): Article {
  counter++;
  const url = overrides.url ?? `https://example.org/a/${counter}`;
  return {
    id: url,
    url,
    file: `a${counter}.md`,
    title: `Article ${counter}`,
    excerpt: 'Excerpt.',
    date: new Date('2026-11-21T08:00:00Z'),
    type: 'article',
    quality: 80,
    published: true,
    provider: { name: 'Example News', domain: 'example.org' },
    topics: [{ name: 'AI', slug: 'ai' }],
    images: [],
    related: [],
    ...overrides,
  };
}
