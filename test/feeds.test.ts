import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveContext, loadAndSelect, type Context } from '../src/commands/context.js';
import { buildSite } from '../src/commands/site.js';
import { parseConfig } from '../src/config/load.js';
import { imageMime, outputText, renderFeeds, siteFrom, type FeedItemView, type OutputFile } from '../src/render/feeds.js';
import type { Article } from '../src/content/article.js';
import { BUILTIN_TEMPLATES, loadTemplate } from '../src/render/templates.js';
import { CORPUS, NOW, ROOT, runCli, tempDir } from './helpers.js';
import { assertInertHtml, feedparse, feedparserMissing } from './feedcheck.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'feeds');
const GOLDEN = path.join(ROOT, 'test', 'golden');
const noFeedparser = feedparserMissing();

/** Caches go to a temp folder of their own (never the repository's data/, never the output folder the tests list). */
async function context(content: string, out: string, cache: string): Promise<Context> {
  const ctx = await resolveContext({ content, out });
  return {
    ...ctx,
    config: parseConfig({ site: { title: 'Test Gazette', baseUrl: 'https://news.example.com/gazette/', author: 'Test Desk' }, paths: { cache } }),
    now: () => NOW,
    log: () => {},
    warn: () => {},
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

describe('feeds from fixtures', () => {
  const { dir: out, cleanup } = tempDir();
  const { dir: cache, cleanup: cleanupCache } = tempDir();
  after(cleanup);
  after(cleanupCache);
  before(async () => {
    const ctx = await context(FIXTURES, out, cache);
    await buildSite(ctx, await loadAndSelect(ctx));
  });

  test('the layout: three formats per topic and for all, OPML, subscribe page', () => {
    const files = walk(out).map((f) => path.relative(out, f));
    assert.deepEqual(files, [
      'all/atom.xml', 'all/feed.json', 'all/rss.xml', 'digests/index.html', 'feeds.opml', 'index.html',
      'topics/ai/atom.xml', 'topics/ai/feed.json', 'topics/ai/rss.xml',
      'topics/computer-vision/atom.xml', 'topics/computer-vision/feed.json', 'topics/computer-vision/rss.xml',
      'topics/evil-co/atom.xml', 'topics/evil-co/feed.json', 'topics/evil-co/rss.xml',
    ]);
  });

  for (const name of ['rss.xml', 'atom.xml', 'feed.json']) {
    test(`golden: computer-vision/${name}`, () => {
      const actual = readFileSync(path.join(out, 'topics', 'computer-vision', name), 'utf8');
      const golden = path.join(GOLDEN, `computer-vision.${name}`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, actual);
      assert.equal(actual, readFileSync(golden, 'utf8'), `differs from ${golden} (UPDATE_GOLDEN=1 to accept)`);
    });
  }

  test('feedparser reads every XML feed cleanly, with the right items', { skip: noFeedparser }, () => {
    const files = walk(out).filter((f) => /\.(xml|opml)$/.test(f));
    const reports = feedparse(files);
    for (const [file, r] of Object.entries(reports)) {
      assert.equal(r.wellFormed, true, `${file}: ${r.xmlError}`);
      if (file.endsWith('.opml')) continue;
      assert.equal(r.bozo, 0, `${file}: ${r.bozoException}`);
      for (const e of r.entries) assertInertHtml(e.htmlTags, `${file} ${e.id}`);
    }
    const rss = reports[path.join(out, 'topics/computer-vision/rss.xml')]!;
    assert.equal(rss.version, 'rss20');
    assert.deepEqual(rss.entries.map((e) => e.id), [
      'https://example.org/news/rail-vision?id=1&src=feed',
      'https://video.example.com/watch?v=abc123',
      'https://hostile.example.net/a?x=%3Cy%3E&z=%22q%22',
    ]);
    const rail = rss.entries[0]!;
    assert.equal(rail.author, 'Example Transit Weekly');
    assert.deepEqual(rail.tags, ['Computer Vision', 'AI']);
    assert.deepEqual(rail.enclosures, [{ href: 'https://example.org/img/rail.png', type: 'image/png' }]);
    assert.deepEqual(rail.media, [{ url: 'https://example.org/img/rail.png', type: 'image/png' }]);
    assert.deepEqual(rail.published, [2026, 11, 20, 8, 30, 0]);
    assert.ok(rss.links.some((l) => l.rel === 'self' && l.href === 'https://news.example.com/gazette/topics/computer-vision/rss.xml'));
    const atom = reports[path.join(out, 'topics/computer-vision/atom.xml')]!;
    assert.equal(atom.version, 'atom10');
    assert.deepEqual(atom.entries.map((e) => e.id), rss.entries.map((e) => e.id));
    assert.deepEqual(atom.entries[0]!.enclosures, [{ href: 'https://example.org/img/rail.png', type: 'image/png' }]);
    assert.equal(atom.updated, '2026-11-20T08:30:00.000Z');
    assert.ok(atom.links.some((l) => l.rel === 'self' && l.href === 'https://news.example.com/gazette/topics/computer-vision/atom.xml'));
  });

  test('hostile text is inert: no script, handler or javascript: URL anywhere', () => {
    for (const file of walk(out)) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /(href|src)\s*=\s*["']?\s*javascript:/i, file);
      assert.doesNotMatch(text, /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/, `${file}: control character`);
      if (file.endsWith('.json')) continue;
      assert.doesNotMatch(text, /<script|<img src=x|<b onmouseover|<a href=javascript/i, file);
      assert.doesNotMatch(text, /\]\]>[^<\n]/, `${file}: a ]]> escaping its CDATA section`);
    }
  });

  test('videos link to the video with their thumbnail; embeds never reach a feed', () => {
    const rss = readFileSync(path.join(out, 'topics/computer-vision/rss.xml'), 'utf8');
    assert.match(rss, /Watch the video on Example Video/);
    assert.doesNotMatch(rss, /iframe|embed\/abc123/);
  });

  test('JSON Feed 1.1: version, authors, language, id and content_html on every item', () => {
    for (const file of walk(out).filter((f) => f.endsWith('.json'))) {
      const doc = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(doc.version, 'https://jsonfeed.org/version/1.1');
      assert.equal(doc.language, 'en');
      assert.ok(Array.isArray(doc.authors) && doc.authors[0].name === 'Test Desk');
      assert.match(doc.feed_url, /^https:\/\/news\.example\.com\/gazette\/.*feed\.json$/);
      for (const item of doc.items) {
        assert.equal(typeof item.id, 'string');
        assert.equal(typeof item.content_html, 'string');
        assert.match(item.url, /^https?:\/\//);
        assert.ok(!Number.isNaN(Date.parse(item.date_published)));
        assert.doesNotMatch(item.content_html, /<script|\son\w+\s*=|(href|src)="javascript:/i);
      }
    }
    const hostile = JSON.parse(readFileSync(path.join(out, 'topics/evil-co/feed.json'), 'utf8')).items[0];
    assert.equal(hostile.title, '<script>alert(1)</script> Fish & "chips" ]]> done', 'titles are plain text in JSON Feed');
  });

  test('OPML 2.0 lists every feed; the subscribe page has discovery links', () => {
    const opml = readFileSync(path.join(out, 'feeds.opml'), 'utf8');
    assert.match(opml, /<opml version="2.0">/);
    assert.equal(opml.match(/<outline type="rss"/g)?.length, 4);
    assert.match(opml, /xmlUrl="https:\/\/news\.example\.com\/gazette\/topics\/ai\/rss\.xml"/);
    const html = readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.equal(html.match(/<link rel="alternate" type="application\/rss\+xml"/g)?.length, 4);
    assert.match(html, /<meta name="viewport"/);
    assert.match(html, /&lt;Evil&gt; &amp; &quot;Co&quot;/);
    // Each feed's count, in words that agree with it.
    const counts = [...html.matchAll(/<p class="count">(\d+) (\w+)<\/p>/g)].map((m) => [Number(m[1]), m[2]] as const);
    assert.equal(counts.length, 4);
    for (const [n, word] of counts) assert.equal(word, n === 1 ? 'article' : 'articles', `${n} ${word}`);
    assert.ok(counts.some(([n]) => n === 1), 'a feed of one article is among them');
  });

  test('a second build of the same content leaves every file untouched', async () => {
    const before = new Map(walk(out).map((f) => [f, [readFileSync(f, 'utf8'), statSync(f).mtimeMs] as const]));
    const ctx = await context(FIXTURES, out, cache);
    const stats = await buildSite(ctx, await loadAndSelect(ctx));
    assert.equal(stats.written, 0);
    for (const [f, [text, mtime]] of before) {
      assert.equal(readFileSync(f, 'utf8'), text, f);
      assert.equal(statSync(f).mtimeMs, mtime, `${f} was rewritten`);
    }
  });
});

test('image MIME types come from the extension, JPEG when there is none', () => {
  assert.equal(imageMime('https://e.com/a.JPG?w=1'), 'image/jpeg');
  assert.equal(imageMime('https://e.com/a.webp'), 'image/webp');
  assert.equal(imageMime('https://e.com/thumbs/abc'), 'image/jpeg');
});

const real = path.join(CORPUS, 'real');
test('the real corpus builds into feeds that feedparser reads cleanly, byte-identical twice', {
  skip: !existsSync(real) ? `the shared corpus is absent (${real})` : noFeedparser,
}, () => {
  const { dir, cleanup } = tempDir();
  const { dir: cwd, cleanup: cleanupCwd } = tempDir(); // the CLI's default data/ goes there
  try {
    const env = { GAZETTE_NOW: NOW.toISOString() };
    const first = runCli(['build', '--content', real, '--out', dir], { env, cwd });
    assert.equal(first.code, 0, first.stderr);
    const files = walk(dir);
    assert.ok(files.length >= 60);
    const snapshot = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
    const reports = feedparse(files.filter((f) => f.endsWith('.xml')));
    for (const [file, r] of Object.entries(reports)) {
      assert.equal(r.wellFormed, true, `${file}: ${r.xmlError}`);
      assert.equal(r.bozo, 0, `${file}: ${r.bozoException}`);
      for (const e of r.entries) assertInertHtml(e.htmlTags, `${file} ${e.id}`);
    }
    const second = runCli(['build', '--content', real, '--out', dir], { env, cwd });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /0 files written/);
    for (const [f, text] of snapshot) assert.equal(readFileSync(f, 'utf8'), text, f);
  } finally {
    cleanup();
    cleanupCwd();
  }
});

/** The real corpus's selection (the fixtures' when the shared corpus is absent), its site and the built-in item template. */
async function realSelection(t: { diagnostic: (message: string) => void }) {
  const content = existsSync(real) ? real : FIXTURES;
  if (content === FIXTURES) t.diagnostic(`the shared corpus is absent (${real}): checked on the fixtures only`);
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const ctx = await context(content, path.join(dir, 'out'), path.join(dir, 'cache'));
  const { selection } = await loadAndSelect(ctx);
  return { selection, site: siteFrom(ctx.config), builtin: await loadTemplate<FeedItemView>(BUILTIN_TEMPLATES, 'feed-item.hbs') };
}

test('feeds put together from shared item texts are byte for byte the feeds rendered whole', async (t) => {
  const { selection, site, builtin } = await realSelection(t);
  const same = (item: (v: FeedItemView) => string, label: string, skip?: (spec: { dir: string }) => boolean) => {
    const whole = renderFeeds(selection, site, { item }, { whole: true, skip });
    const shared = renderFeeds(selection, site, { item }, { skip });
    assert.deepEqual(shared.map((f) => f.path), whole.map((f) => f.path), label);
    for (let i = 0; i < whole.length; i++) assert.equal(outputText(shared[i]!), outputText(whole[i]!), `${label}: ${whole[i]!.path}`);
    return whole.length;
  };
  assert.ok(same(builtin, 'built-in template') >= 9);
  assert.ok(selection.topics.filter((x) => x.articles.length > 1).length >= 2, 'feeds with several items');
  // Some feeds left out (a build after an edit renders only those with the article).
  same(builtin, 'some feeds', (spec) => spec.dir !== 'all' && !spec.dir.endsWith(selection.topics[0]!.topic.slug));
  // A template whose output looks like item starts, and one that writes nothing for some articles (RSS then
  // declares the content namespace only for feeds with content, which the first item must not hide).
  same((v) => `<p>${v.title}</p>\n        <item>\n    <entry></item></entry>`, 'item-like template');
  same((v) => (v.title.length % 3 === 0 ? '' : `<p>${v.title}</p>`), 'empty content for some articles');
  same(() => '', 'no content at all');
});

test('the content cache never serves stale articles: edits, additions and deletions show up in the feeds', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const content = path.join(dir, 'content');
  const out = path.join(dir, 'out');
  const base = await resolveContext({ content, out });
  const ctx: Context = { ...base, config: parseConfig({ paths: { cache: path.join(dir, 'cache') } }), now: () => NOW, log: () => {}, warn: () => {} };
  const { articleText, writeFiles } = await import('./helpers.js');
  const { rmSync } = await import('node:fs');
  writeFiles(content, {
    'a.md': articleText({ webUrl: 'https://e.com/a', title: 'First title', topics: ['AI'] }),
    'b.md': articleText({ webUrl: 'https://e.com/b', title: 'Second', topics: ['AI'] }),
  });
  const titles = () => JSON.parse(readFileSync(path.join(out, 'topics', 'ai', 'feed.json'), 'utf8')).items.map((i: { title: string }) => i.title).sort();
  let loaded = await loadAndSelect(ctx);
  await buildSite(ctx, loaded);
  assert.equal(loaded.load.parsed, 2);
  assert.deepEqual(titles(), ['First title', 'Second']);

  loaded = await loadAndSelect(ctx);
  assert.equal(loaded.load.parsed, 0, 'nothing changed: everything from the cache');

  writeFiles(content, {
    'a.md': articleText({ webUrl: 'https://e.com/a', title: 'Edited title', topics: ['AI'] }),
    'c.md': articleText({ webUrl: 'https://e.com/c', title: 'Added', topics: ['AI'] }),
  });
  rmSync(path.join(content, 'b.md'));
  loaded = await loadAndSelect(ctx);
  await buildSite(ctx, loaded);
  assert.equal(loaded.load.parsed, 2, 'only the edited and the added file are parsed');
  assert.deepEqual(titles(), ['Added', 'Edited title']);
  assert.equal(loaded.selection.all[0]!.related.length, 1, 'related lists come back from the cache');

  // Other text of the same size, its mtime then set back as it was (what `cp -p`, `rsync -t`, `touch -r`, or an
  // importer that dates files by their article leave): only the kernel's change time (ctime) tells.
  const { statSync, utimesSync } = await import('node:fs');
  const file = path.join(content, 'c.md');
  const dated = 1_700_000_000; // a whole second: set again exactly
  utimesSync(file, dated, dated);
  await buildSite(ctx, await loadAndSelect(ctx));
  const was = statSync(file);
  writeFiles(content, { 'c.md': articleText({ webUrl: 'https://e.com/c', title: 'Addee', topics: ['AI'] }) });
  utimesSync(file, dated, dated);
  assert.equal(statSync(file).size, was.size);
  assert.equal(statSync(file).mtimeMs, was.mtimeMs);
  loaded = await loadAndSelect(ctx);
  await buildSite(ctx, loaded);
  assert.equal(loaded.load.parsed, 1, 'the file with the same size and mtime is read again');
  assert.deepEqual(titles(), ['Addee', 'Edited title']);
});

test('a feed respliced after an edit is byte for byte the feed rendered whole, with only the edited items rendered', async (t) => {
  const { selection, site, builtin } = await realSelection(t);
  const byDir = (files: OutputFile[]) => {
    const m = new Map<string, { rss: string; atom: string; json: string }>();
    for (const f of files) {
      const d = path.posix.dirname(f.path);
      const e = m.get(d) ?? { rss: '', atom: '', json: '' };
      e[f.path.endsWith('rss.xml') ? 'rss' : f.path.endsWith('atom.xml') ? 'atom' : 'json'] = outputText(f);
      m.set(d, e);
    }
    return m;
  };
  const old = byDir(renderFeeds(selection, site, { item: builtin }));
  // Edited: the first article of `all` (also in its topics' feeds) and the last of the first topic with several.
  const several = selection.topics.find((x) => x.articles.length > 2)!;
  const targets = new Set([selection.all[0]!, several.articles[several.articles.length - 1]!]);
  const copies = new Map<Article, Article>();
  for (const a of targets) {
    const { id, url, file, title, excerpt, date, type, quality, heat, published, provider, topics, images, related, featuredContent } = a;
    copies.set(a, { id, url, file, title: `${title} <edited> & "quoted"`, excerpt: `${excerpt} More.`, date, type, quality, heat, published, provider, topics, images: images.slice(1), related: related.slice(0, 1), featuredContent });
  }
  const swap = (list: Article[]) => list.map((a) => copies.get(a) ?? a);
  const edited = { all: swap(selection.all), topics: selection.topics.map((x) => ({ ...x, articles: swap(x.articles) })) };
  const changed = new Set(copies.values());
  // As after an edit: the feeds without an edited article are current (not rendered), the others respliced.
  const skip = (spec: { articles: Article[] }) => !spec.articles.some((a) => changed.has(a));
  const check = (label: string, item: (v: FeedItemView) => string, oldFiles = old) => {
    const expected = renderFeeds(edited, site, { item }, { whole: true, skip });
    let calls = 0;
    let respliced = 0;
    const counted = (v: FeedItemView) => (calls++, item(v));
    const got = renderFeeds(edited, site, { item: counted }, {
      skip,
      resplice: (spec) => {
        const hit = new Set(spec.articles.filter((a) => changed.has(a)));
        if (hit.size === 0) return null;
        respliced++;
        return { old: oldFiles.get(spec.dir)!, changed: hit };
      },
    });
    assert.deepEqual(got.map((f) => f.path), expected.map((f) => f.path), label);
    for (let i = 0; i < got.length; i++) assert.equal(outputText(got[i]!), outputText(expected[i]!), `${label}: ${got[i]!.path}`);
    return { calls, respliced };
  };
  const spliced = check('built-in template', builtin);
  assert.ok(spliced.respliced >= 3, `the edited articles are in several feeds (${spliced.respliced})`);
  assert.equal(spliced.calls, changed.size, 'only the edited items rendered');
  // Old files that do not cut into one item per article, and an edit that would change RSS's header: rendered whole.
  const broken = new Map([...old].map(([d, f]) => [d, { rss: f.rss.replace('<item>', '<item >'), atom: f.atom.replace(/<entry>[\s\S]*?<\/entry>/, ''), json: '{"items":[]}' }]));
  check('old files of other items', builtin, broken);
  check('an edited item that loses its content', (v) => (v.title.includes('<edited>') ? '' : builtin(v)));
  // Only the edited items had content, and lose it: RSS no longer declares the content namespace.
  const titles = new Set([...targets].map((a) => a.title));
  check('the only items with content lose it', () => '', byDir(renderFeeds(selection, site, { item: (v) => (titles.has(v.title) ? builtin(v) : '') })));
});

test('site.icon: copied into the output, named by every feed and page; a new picture is copied again, a missing one fails the build', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const content = path.join(dir, 'content');
  const out = path.join(dir, 'out');
  mkdirSync(content);
  for (const f of readdirSync(FIXTURES)) writeFileSync(path.join(content, f), readFileSync(path.join(FIXTURES, f)));
  const icon = path.join(dir, 'brand', 'Logo.PNG');
  mkdirSync(path.dirname(icon));
  writeFileSync(icon, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')); // (the bytes are copied, never decoded)
  const build = async () => {
    const base = await resolveContext({ content, out });
    const ctx: Context = { ...base, config: parseConfig({ site: { baseUrl: 'https://news.example/', icon }, paths: { cache: path.join(dir, 'cache') } }), now: () => NOW, log: () => {}, warn: () => {} };
    await (await import('../src/commands/build.js')).buildCommand(ctx, {});
  };
  await build();
  const url = 'https://news.example/icon.png';
  assert.deepEqual(readFileSync(path.join(out, 'icon.png')), readFileSync(icon));
  const rss = readFileSync(path.join(out, 'all', 'rss.xml'), 'utf8');
  assert.match(rss, new RegExp(`<image>\\s*<title>[^<]+</title>\\s*<url>${url}</url>\\s*<link>https://news.example/[^<]*</link>\\s*</image>`));
  const atom = readFileSync(path.join(out, 'topics', 'ai', 'atom.xml'), 'utf8');
  assert.ok(atom.includes(`<icon>${url}</icon>`) && atom.includes(`<logo>${url}</logo>`), atom.slice(0, 800));
  const json = JSON.parse(readFileSync(path.join(out, 'all', 'feed.json'), 'utf8')) as { icon: string; favicon: string };
  assert.deepEqual([json.icon, json.favicon], [url, url]);
  for (const page of ['index.html', 'digests/index.html']) assert.ok(readFileSync(path.join(out, page), 'utf8').includes(`<link rel="icon" href="${url}">`), page);
  if (!noFeedparser) {
    const reports = feedparse([path.join(out, 'all', 'rss.xml'), path.join(out, 'topics', 'ai', 'atom.xml')]);
    for (const [file, r] of Object.entries(reports)) assert.equal(r.bozo, 0, `${file}: ${r.bozoException}`);
  }

  // Same name, new picture: not "up to date", copied.
  writeFileSync(icon, Buffer.from('89504e470d0a1a0a0000000d49484453', 'hex'));
  await build();
  assert.deepEqual(readFileSync(path.join(out, 'icon.png')), readFileSync(icon));

  rmSync(icon);
  await assert.rejects(build(), (err: Error) => /^site\.icon: cannot read .*Logo\.PNG$/.test(err.message));
  // `check` finds it too, before any build.
  writeFileSync(path.join(dir, 'gazette.config.yaml'), `site:\n  icon: ${JSON.stringify(icon)}\n`);
  const checked = runCli(['check', '--content', content], { cwd: dir });
  assert.equal(checked.code, 1);
  assert.match(checked.stderr, /site\.icon: cannot read .*Logo\.PNG/);
});
