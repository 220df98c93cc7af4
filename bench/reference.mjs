/**
 * The obvious implementation, as a yardstick: gray-matter + feed in one pass, no cache, no workers.
 * Reads every article, keeps the published ones at quality ≥ 50, and writes RSS, Atom and JSON per topic.
 *
 *   node bench/reference.mjs <content> <out>
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import matter from 'gray-matter';
import { Feed } from 'feed';

const [content = 'content', out = '/tmp/reference-out'] = process.argv.slice(2);
const started = performance.now();
const files = readdirSync(content, { recursive: true }).map(String).filter((f) => f.endsWith('.md'));
const byTopic = new Map();
for (const f of files) {
  const { data } = matter(readFileSync(path.join(content, f), 'utf8'));
  if (data.published === false || (data.quality ?? 50) < 50) continue;
  const url = data.webUrl ?? data.originalUrl;
  if (!url || !data.title) continue;
  for (const t of data.topics ?? []) {
    const slug = String(t).toLowerCase().replace(/[^a-z0-9]+/g, '-');
    if (!byTopic.has(slug)) byTopic.set(slug, []);
    byTopic.get(slug).push({ title: data.title, url, date: new Date(data.publishedDateTime), excerpt: data.excerpt ?? '', image: data.images?.[0]?.url });
  }
}
for (const [slug, items] of byTopic) {
  items.sort((a, b) => b.date.getTime() - a.date.getTime());
  const feed = new Feed({ title: slug, id: `https://example.com/${slug}/`, link: `https://example.com/${slug}/`, copyright: '' });
  for (const i of items.slice(0, 50)) feed.addItem({ title: i.title, link: i.url, date: i.date, description: i.excerpt, image: i.image });
  const dir = path.join(out, slug);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'rss.xml'), feed.rss2());
  writeFileSync(path.join(dir, 'atom.xml'), feed.atom1());
  writeFileSync(path.join(dir, 'feed.json'), feed.json1());
}
console.log(`reference: ${files.length} files, ${byTopic.size} topics in ${Math.round(performance.now() - started)} ms`);
