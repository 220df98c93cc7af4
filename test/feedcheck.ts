/** Runs test/feedcheck.py (Python's feedparser) over files and returns its report. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.js';

export const PYTHON = '/usr/bin/python3';

export function feedparserMissing(): string | false {
  if (!existsSync(PYTHON)) return `${PYTHON} is absent (apt-get install python3-feedparser)`;
  try {
    execFileSync(PYTHON, ['-c', 'import feedparser'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'Python feedparser is absent (apt-get install python3-feedparser)';
  }
}

export interface EntryReport {
  id: string; link: string; title: string; summary: string; published: number[]; author: string; tags: string[];
  enclosures: { href: string; type: string }[]; media: { url: string; type: string }[]; htmlTags: [string, [string, string | null][]][];
}
export interface FeedReport {
  wellFormed?: boolean; xmlError?: string; bozo: number; bozoException: string; version: string; title: string; link: string;
  links: { rel: string; href: string; type: string }[]; language: string; updated: string; entries: EntryReport[];
}

export function feedparse(files: string[]): Record<string, FeedReport> {
  const out = execFileSync(PYTHON, [path.join(ROOT, 'test', 'feedcheck.py'), ...files], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(out) as Record<string, FeedReport>;
}

/** No script element, no event-handler attribute and no non-http(s) URL in any entry's HTML. */
export function assertInertHtml(tags: EntryReport['htmlTags'], where: string): void {
  for (const [tag, attrs] of tags) {
    if (['script', 'iframe', 'object', 'embed', 'style', 'form'].includes(tag)) throw new Error(`${where}: <${tag}> in content`);
    for (const [name, value] of attrs) {
      if (/^on/i.test(name)) throw new Error(`${where}: event handler ${name} on <${tag}>`);
      if (['href', 'src'].includes(name) && !/^https?:\/\//i.test(value ?? '')) throw new Error(`${where}: ${name}="${value}" on <${tag}>`);
    }
  }
}
