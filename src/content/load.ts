/** The content folder → articles and issues. The only module of this stage that touches the disk. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Article, ContentIssue } from './article.js';
import { parseArticle } from './parse.js';
import { ContentError } from '../errors.js';

export interface LoadResult {
  articles: Article[];
  issues: ContentIssue[];
  /** Number of `*.md` files found. */
  files: number;
}

/** Every `*.md` below `dir`, recursively, as sorted paths relative to `dir` with `/` separators. */
export async function listArticleFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new ContentError(`cannot read the content folder ${dir}`, { cause: err });
  }
  return entries
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.md'))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

export async function loadContent(dir: string): Promise<LoadResult> {
  const files = await listArticleFiles(dir);
  const articles: Article[] = [];
  const issues: ContentIssue[] = [];
  const results = await Promise.all(
    files.map(async (file) => {
      try {
        return parseArticle(file, await readFile(path.join(dir, file)));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return { ok: false as const, issue: { file, reason: `cannot read: ${reason}` } };
      }
    }),
  );
  for (const r of results) {
    if (r.ok) articles.push(r.article);
    else issues.push(r.issue);
  }
  return { articles, issues, files: files.length };
}
