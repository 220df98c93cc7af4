/**
 * Benchmark corpus: N articles over T topics, in the real files' shape and sizes. Real articles from
 * ../shared/corpus/real are the templates (their text is varied, never published); without the corpus a
 * built-in template is used. Deterministic: the same N and T give the same files.
 *
 *   node --import tsx bench/generate.ts <N> <T> <dir>
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const REAL = path.resolve(import.meta.dirname, '..', '..', 'shared', 'corpus', 'real');

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FALLBACK = `---
category: news
title: "Example headline about a product launch"
excerpt: "An excerpt of a couple of sentences, as the real files have, cut off mid-sentence where the source cut it ..."
publishedDateTime: 2021-01-01T10:00:00Z
webUrl: "https://example.com/2021/01/01/example-headline/"
type: article
quality: 80
heat: 80
published: true

provider:
  name: Example News
  domain: example.com

topics:
  - Example

images:
  - url: "https://example.com/images/example.jpg"
    width: 1200
    height: 675
    isCached: true

related:
  - title: "Another outlet covers the launch"
    excerpt: "A related excerpt."
    publishedDateTime: 2021-01-01T12:00:00Z
    webUrl: "https://other.example.net/launch"
    type: article
    provider:
      name: Other News
      domain: other.example.net
    quality: 40
---
`;

export function generate(n: number, topics: number, dir: string): void {
  const templates = existsSync(REAL)
    ? readdirSync(REAL).filter((f) => f.endsWith('.md')).sort().map((f) => readFileSync(path.join(REAL, f), 'utf8'))
    : [FALLBACK];
  rmSync(dir, { recursive: true, force: true });
  const rand = rng(n * 31 + topics);
  const names = Array.from({ length: topics }, (_, i) => `Topic ${String.fromCharCode(65 + (i % 26))}${i >= 26 ? i : ''}`);
  const base = Date.UTC(2020, 0, 1);
  for (let i = 0; i < n; i++) {
    const t = templates[i % templates.length]!;
    const date = new Date(base + Math.floor(rand() * 5 * 365 * 86_400_000)).toISOString().replace(/\.\d+Z$/, 'Z');
    const picked = new Set([names[Math.floor(rand() * topics)]!, names[Math.floor(rand() * topics)]!]);
    const quality = Math.floor(rand() * 150);
    const text = t
      .replace(/^publishedDateTime: .*$/m, `publishedDateTime: ${date}`)
      .replace(/^(webUrl|originalUrl): "([^"]*)"/gm, (_m, k: string, u: string) => `${k}: "${u}${u.includes('?') ? '&' : '?'}g=${i}"`)
      .replace(/^title: "(.*)"$/m, (_m, title: string) => `title: "${title} (${i})"`)
      .replace(/^quality: .*$/m, `quality: ${quality}`)
      .replace(/^published: .*$/m, `published: ${rand() < 0.85}`)
      .replace(/^topics:\n(?:  - .*\n)+/m, `topics:\n${[...picked].map((p) => `  - ${p}`).join('\n')}\n`);
    const sub = path.join(dir, String(Math.floor(i / 1000)).padStart(3, '0'));
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `${date.slice(0, 10)}-${i}.md`), text);
  }
}

if (process.argv[1] && /generate\.ts$/.test(process.argv[1])) {
  const [n = '1000', t = '30', dir = 'bench/corpus/1000'] = process.argv.slice(2);
  generate(Number(n), Number(t), dir);
  console.log(`wrote ${n} articles over ${t} topics to ${dir}`);
}
