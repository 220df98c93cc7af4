import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { loadDigestTemplates } from '../src/render/templates.js';
import { compileDigestTemplates, fillDigest, fitDigest, planDigest, type Digest, type DigestTemplates, type PlanInput, type Recipient } from '../src/render/digest.js';
import { buildMessage } from '../src/deliver/message.js';
import { composeEml } from '../src/deliver/transport.js';
import { loadContent } from '../src/content/load.js';
import type { Article } from '../src/content/article.js';
import mjml2html from 'mjml';
import { articleText, CORPUS, NOW, ROOT, makeArticle, runCli, tempDir, writeFiles } from './helpers.js';
import { chromiumMissing, launch } from './browser.js';

const TEMPLATES = path.join(ROOT, 'templates');
const GOLDEN = path.join(ROOT, 'test', 'golden');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const site = { title: 'Test Gazette', baseUrl: 'https://news.example.com/', postalAddress: '1 Test Road, Testville' };
const recipient: Recipient = {
  name: 'Ada', email: 'ada@example.net',
  unsubscribeUrl: 'https://news.example.com/unsubscribe?token=abc', preferencesUrl: 'https://news.example.com/preferences?token=abc',
};
const topicAI = { slug: 'ai', name: 'AI' };
const topicCV = { slug: 'computer-vision', name: 'Computer Vision' };
const d = (s: string) => new Date(s);

function plan(overrides: Partial<PlanInput> & Pick<PlanInput, 'topics'>): Digest | null {
  return planDigest({ since: d('2026-11-21T00:00:00Z'), now: NOW, site, language: 'en', timeZone: 'UTC', archiveUrl: 'https://news.example.com/digests/', rules: { maxArticles: 10, maxRelated: 5 }, ...overrides });
}

function related(n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => ({ title: `${prefix} coverage number ${i + 1} from another newsroom with a long headline`, url: `https://other${i}.example.com/${prefix}/${i}`, source: `Outlet ${i + 1}`, excerpt: '' }));
}

const PLACEHOLDER = /\{\{|\}\}|\{%|%\}|\{[a-z][a-z0-9_-]*\}/i;

describe('digest', () => {
  let templates: DigestTemplates;
  let articles: Article[];
  before(async () => {
    templates = await loadDigestTemplates(TEMPLATES);
    const loaded = await loadContent(path.join(ROOT, 'test', 'fixtures', 'feeds'));
    articles = loaded.articles.filter((a) => a.published);
  });

  test('plan: the best new articles, each once across topics, none already received', () => {
    const a = makeArticle({ title: 'a', quality: 90, topics: [topicAI, topicCV] });
    const b = makeArticle({ title: 'b', quality: 70, topics: [topicCV] });
    const c = makeArticle({ title: 'c', quality: 99, date: d('2026-11-20T00:00:00Z') });
    const x = makeArticle({ title: 'x', quality: 95 });
    const digest = plan({ topics: [{ topic: topicCV, articles: [a, b] }, { topic: topicAI, articles: [a, c, x] }], exclude: new Set([x.id]) })!;
    assert.deepEqual(digest.topics.map((t) => [t.slug, t.articles.map((z) => z.title)]), [['computer-vision', ['a', 'b']]]);
    assert.equal(digest.articleCount, 2);
    assert.equal(plan({ topics: [{ topic: topicAI, articles: [c] }] }), null, 'nothing new → no digest');
  });

  test('an issue is dated in its time zone: a 07:00 Tokyo digest is the next day in UTC terms', () => {
    const a = makeArticle({ title: 'a', topics: [topicAI], date: d('2026-11-22T20:00:00Z') });
    const at = (now: string, timeZone: string) => plan({ topics: [{ topic: topicAI, articles: [a] }], now: d(now), timeZone })!;
    const tokyo = at('2026-11-22T22:00:00Z', 'Asia/Tokyo'); // 07:00 on the 23rd there
    assert.deepEqual([tokyo.day, tokyo.date], ['2026-11-23', 'November 23, 2026']);
    assert.match(tokyo.title, /November 23, 2026$/);
    const la = at('2026-11-23T04:00:00Z', 'America/Los_Angeles'); // 20:00 on the 22nd there
    assert.deepEqual([la.day, la.date], ['2026-11-22', 'November 22, 2026']);
    const utc = at('2026-11-22T22:00:00Z', 'UTC');
    assert.deepEqual([utc.day, utc.date], ['2026-11-22', 'November 22, 2026']);
  });
  test('the real templates keep their Handlebars blocks through MJML (strict validation)', async () => {
    const src = readFileSync(path.join(TEMPLATES, 'digest.mjml'), 'utf8');
    const t = await compileDigestTemplates(src, 'digest.mjml', '{{title}}', 'digest.txt.hbs', mjml2html as never);
    assert.match(t.htmlSource, /\{\{#each topics\}\}/);
    assert.match(t.htmlSource, /\{\{\/each\}\}/);
  });

  test('a block MJML would drop is caught at load time', async () => {
    const src = '<mjml><mj-body>{{#each topics}}<mj-section><mj-column><mj-text>{{name}}</mj-text></mj-column></mj-section>{{/each}}</mj-body></mjml>';
    const r = await mjml2html(src, { validationLevel: 'skip' });
    assert.doesNotMatch(r.html, /\{\{#each topics\}\}/, 'MJML really drops text between components');
    await assert.rejects(compileDigestTemplates(src, 'bad.mjml', '', 'bad.txt', mjml2html as never), /MJML dropped Handlebars blocks/);
  });

  test('broken templates are reported with file and line', async () => {
    const good = readFileSync(path.join(TEMPLATES, 'digest.mjml'), 'utf8');
    await assert.rejects(compileDigestTemplates(good, 'digest.mjml', 'line one\n{{#each topics}}\nno close', 'my.txt.hbs', mjml2html as never), /my\.txt\.hbs:\d+:/);
    await assert.rejects(compileDigestTemplates('<mjml>\n<mj-body>\n<mj-bogus/>\n</mj-body></mjml>', 'my.mjml', '', 't', mjml2html as never), /my\.mjml:3:/);
  });

  test('golden HTML and text from fixtures; nothing left of the template', () => {
    const digest = plan({ topics: [{ topic: topicCV, articles }], since: d('2026-11-01T00:00:00Z') })!;
    assert.ok(digest);
    const r = fillDigest(digest, recipient, templates);
    for (const [ext, body] of [['html', r.html], ['txt', r.text]] as const) {
      const golden = path.join(GOLDEN, `digest.${ext}`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(golden, body);
      assert.equal(body, readFileSync(golden, 'utf8'), `differs from ${golden} (UPDATE_GOLDEN=1 to accept)`);
    }
  });

  test('no {{, {% or {word} placeholder survives into any output', () => {
    const clean = articles.filter((a) => !a.file.includes('hostile'));
    const digest = plan({ topics: [{ topic: topicCV, articles: clean }, { topic: topicAI, articles: clean }], since: d('2026-11-01T00:00:00Z') })!;
    const r = fillDigest(digest, recipient, templates);
    assert.doesNotMatch(r.html, PLACEHOLDER);
    assert.doesNotMatch(r.text, PLACEHOLDER);
    assert.match(r.html, /Related coverage/);
    assert.match(r.html, /https:\/\/news\.example\.com\/unsubscribe\?token&#x3D;abc|https:\/\/news\.example\.com\/unsubscribe\?token=abc/);
    assert.match(r.text, /Unsubscribe: https:\/\/news\.example\.com\/unsubscribe\?token=abc/);
    assert.match(r.html, /1 Test Road, Testville/);
  });

  test('hostile text is inert in HTML and text; template syntax in content is never evaluated', () => {
    const evil = makeArticle({
      title: '{{constructor.constructor "return process"}} <script>alert(1)</script> {{{recipient.email}}}',
      excerpt: '<img src=x onerror=alert(2)> {%raw%} {link_color}',
      provider: { name: '<b onmouseover=alert(3)>Evil</b>' },
      related: [{ title: '<a href="javascript:alert(4)">x</a>', url: 'https://e.com/r', source: '"><svg onload=alert(5)>', excerpt: '' }],
    });
    const digest = plan({ topics: [{ topic: topicAI, articles: [evil] }] })!;
    const { html, text } = fillDigest(digest, recipient, templates);
    assert.doesNotMatch(html, /<script|<img src=x|<b onmouseover|<svg|\son[a-z]+\s*=|href="javascript:/i);
    assert.match(html, /\{\{constructor\.constructor &quot;return process&quot;\}\} &lt;script&gt;/);
    assert.match(html, /\{\{\{recipient\.email\}\}\}/, 'content is printed, not interpreted');
    assert.match(text, /\{\{constructor\.constructor "return process"\}\} <script>alert\(1\)<\/script>/, 'the text part carries the text as is');
    assert.doesNotMatch(text, /ada@example\.net\}/);
  });

  test('10 articles × 5 related stay well under 102 KB; an oversized digest trims related lists first and says so', () => {
    const many = Array.from({ length: 10 }, (_, i) =>
      makeArticle({ title: `A fairly long headline for article ${i} about something that happened today in the world`, excerpt: 'x '.repeat(150), related: related(5, `a${i}`), images: [{ url: `https://e.com/${i}.jpg`, width: 1200, height: 800, alt: 'alt' }] }),
    );
    const digest = plan({ topics: [{ topic: topicAI, articles: many }] })!;
    const size = Buffer.byteLength(fillDigest(digest, recipient, templates).html);
    assert.ok(size < 80_000, `HTML is ${size} bytes`);
    const fitted = fitDigest(digest, templates, size - 2_000);
    assert.ok(Buffer.byteLength(fillDigest(fitted, recipient, templates).html) <= size - 2_000);
    assert.equal(fitted.articleCount, 10, 'articles are kept while related lists can give');
    assert.ok(fitted.topics[0]!.articles.every((a) => a.related.length < 5));
    assert.match(fitted.notes[0]!, /related coverage trimmed to \d per article/);
  });

  test('the .eml is a complete multipart message with the one-click headers', async () => {
    const digest = plan({ topics: [{ topic: topicCV, articles }], since: d('2026-11-01T00:00:00Z') })!;
    const mail = buildMessage(digest, templates, { email: 'ada@example.net', name: 'Ada' }, { from: 'Test Gazette <news@example.com>', baseUrl: 'https://news.example.com/', siteTitle: 'Test Gazette' }, 'test-secret', NOW, 'computer-vision');
    const parsed = await simpleParser(await composeEml(mail));
    assert.equal(parsed.subject, digest.subject);
    assert.equal(parsed.from?.text, '"Test Gazette" <news@example.com>');
    assert.match(parsed.messageId!, /^<[0-9a-f]{24}\.[0-9a-f]{24}@example\.com>$/);
    const line = (k: string) => parsed.headerLines.find((h) => h.key === k)?.line.replace(/\r?\n\s+/g, ' ') ?? '';
    assert.equal(line('list-unsubscribe-post'), 'List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    // No mailto unless a mailbox someone reads is configured (Gazette cannot read one).
    assert.match(line('list-unsubscribe'), /^List-Unsubscribe: <https:\/\/news\.example\.com\/unsubscribe\?token=[^>,]+>$/);
    assert.match(line('list-id'), /^List-ID: "Test Gazette: Computer Vision" <computer-vision\.example\.com>$/);
    assert.match(parsed.text!, /Unsubscribe: https:\/\/news\.example\.com\/unsubscribe\?token=/);
    assert.match(parsed.html as string, /href="https:\/\/news\.example\.com\/unsubscribe\?token&#x3D;/);
    assert.match(String(parsed.headers.get('content-type') && (parsed.headers.get('content-type') as { value: string }).value), /multipart\/alternative/);
  });

  test('renders without horizontal scrolling at 375 and 640 px in Chromium', { skip: chromiumMissing() }, async () => {
    const many = Array.from({ length: 4 }, (_, i) =>
      makeArticle({ title: `Headline ${i} with a verylongunbrokenwordthatcouldoverflowanarrowscreenifnothandled`, related: related(3, `s${i}`), images: [{ url: `https://img.example.com/${i}.jpg`, width: 1600, height: 900, alt: 'alt' }] }),
    );
    const digest = plan({ topics: [{ topic: topicAI, articles: many }] })!;
    const { html } = fillDigest(digest, recipient, templates);
    mkdirSync(ARTIFACTS, { recursive: true });
    const browser = await launch();
    try {
      for (const width of [375, 640]) {
        const page = await browser.newPage({ viewport: { width, height: 800 } });
        // No network: every image is answered locally with a large picture.
        await page.route('**/*', (r) => r.fulfill({ status: 200, contentType: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900"><rect width="100%" height="100%" fill="#9ab"/></svg>' }));
        await page.setContent(html, { waitUntil: 'load' });
        const m = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
          imgs: [...document.images].map((i) => [i.getBoundingClientRect().left, i.getBoundingClientRect().right, i.naturalWidth]),
        }));
        assert.ok(m.scroll <= m.client, `${width}px: scrollWidth ${m.scroll} > ${m.client}`);
        assert.equal(m.imgs.length, 4);
        for (const [left, right, natural] of m.imgs) {
          assert.ok(left! >= 0 && right! <= width, `${width}px: image at ${left}..${right}`);
          assert.ok(natural! > 0, 'image loaded');
        }
        await page.screenshot({ path: path.join(ARTIFACTS, `digest-${width}.png`), fullPage: true });
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});

const seeds = path.join(CORPUS, 'seeds');
test('done-when: digest preview of computer-vision from the seeds', { skip: existsSync(seeds) ? false : `the shared corpus is absent (${seeds})` }, async () => {
  const { dir, cleanup } = tempDir();
  const { dir: cwd, cleanup: cleanupCwd } = tempDir(); // the CLI's default data/ goes there
  after(cleanup);
  after(cleanupCwd);
  const r = runCli(['digest', 'preview', '--topic', 'computer-vision', '--content', seeds, '--since', '2020-01-01', '--out', dir], { cwd, env: { GAZETTE_NOW: NOW.toISOString() } });
  assert.equal(r.code, 0, r.stderr);
  const base = path.join(dir, 'digests', 'computer-vision', '2026-11-22');
  const html = readFileSync(`${base}.html`, 'utf8');
  assert.ok(Buffer.byteLength(html) < 102 * 1024);
  assert.doesNotMatch(html, PLACEHOLDER);
  const mail = await simpleParser(readFileSync(`${base}.eml`));
  assert.match(mail.text!, /Related coverage:/);
  assert.match(mail.text!, /Unsubscribe: http:\/\/127\.0\.0\.1:8080\/unsubscribe\?token=/);
  assert.match(mail.html as string, /Unsubscribe<\/a>/);
  assert.match(mail.html as string, /Vergecast/);
  assert.ok(existsSync(path.join(dir, 'digests', 'index.html')));
  const none = runCli(['digest', 'preview', '--topic', 'computer-vision', '--content', seeds, '--out', dir], { cwd, env: { GAZETTE_NOW: NOW.toISOString() } });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /nothing new in "computer-vision"/);
  const unknown = runCli(['digest', 'preview', '--topic', 'nope', '--content', seeds, '--out', dir], { cwd });
  assert.match(unknown.stderr, /no topic "nope"; topics: ai, aws-ai, computer-vision/);
});

test('MJML output is kept in the cache and used while the template is unchanged; an edited template is compiled again', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const cache = path.join(dir, 'cache');
  const first = await loadDigestTemplates(TEMPLATES, cache);
  const { readdirSync } = await import('node:fs');
  const kept = readdirSync(cache).filter((f) => f.startsWith('mjml-'));
  assert.equal(kept.length, 1);
  assert.equal(readFileSync(path.join(cache, kept[0]!), 'utf8'), first.htmlSource);
  // Mark the kept output: a second load must come from it, not from MJML.
  writeFileSync(path.join(cache, kept[0]!), first.htmlSource.replace('<body', '<!-- kept --><body'));
  assert.match((await loadDigestTemplates(TEMPLATES, cache)).htmlSource, /<!-- kept -->/);
  // Another template (here: one extra line) is another key: MJML runs for it.
  const own = path.join(dir, 'templates');
  mkdirSync(own);
  writeFileSync(path.join(own, 'digest.mjml'), readFileSync(path.join(TEMPLATES, 'digest.mjml'), 'utf8').replace('</mj-body>', '<mj-section><mj-column><mj-text>Edited</mj-text></mj-column></mj-section></mj-body>'));
  const edited = await loadDigestTemplates(own, cache);
  assert.doesNotMatch(edited.htmlSource, /<!-- kept -->/);
  assert.match(edited.htmlSource, /Edited/);
});

test('the archive page lists every issue newest first with its date, headline and size, and forgets one deleted', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  writeFiles(dir, {
    'content/a.md': articleText({ webUrl: 'https://e.com/a', title: 'Rails <script>alert(1)</script> & cameras', topics: ['AI'], publishedDateTime: '2026-11-21T10:00:00Z' }),
    'content/b.md': articleText({ webUrl: 'https://e.com/b', title: 'Second story', topics: ['AI'], quality: 90, publishedDateTime: '2026-11-22T08:00:00Z' }),
    'content/c.md': articleText({ webUrl: 'https://e.com/c', title: 'Third story', topics: ['AI'], quality: 60, publishedDateTime: '2026-11-22T09:00:00Z' }),
  });
  const build = (now: string) => {
    const r = runCli(['--content', 'content', '--out', 'out', '--db', 'state.db', 'build'], { cwd: dir, env: { GAZETTE_NOW: now } });
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  const page = () => readFileSync(path.join(dir, 'out', 'digests', 'index.html'), 'utf8');
  const items = () => [...page().matchAll(/<li><a href="ai\/([\d-]+)\.html">([^<]+)<\/a>(.*?)<\/li>/g)].map((m) => [m[1], m[2], m[3]!.replace(/<[^>]+>/g, '').trim()]);
  build('2026-11-21T12:00:00Z');
  build('2026-11-22T12:00:00Z');
  assert.deepEqual(items(), [
    ['2026-11-22', 'November 22, 2026', '· 2 articlesSecond story'],
    ['2026-11-21', 'November 21, 2026', '· 1 articleRails &lt;script&gt;alert(1)&lt;/script&gt; &amp; cameras'],
  ]);
  assert.doesNotMatch(page(), /<script>/, 'a headline is text, escaped');
  // An issue deleted by hand leaves the page and the record .
  rmSync(path.join(dir, 'out', 'digests', 'ai', '2026-11-21.html'));
  build('2026-11-22T13:00:00Z');
  assert.deepEqual(items(), [['2026-11-22', 'November 22, 2026', '· 2 articlesSecond story']]);
  assert.deepEqual(items().map((i) => i[0]), ['2026-11-22']);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(path.join(dir, 'out', 'digests', 'issues.json'), 'utf8')) as object), ['ai/2026-11-22']);
  // A damaged record: said once, and the page still lists the issues, by day.
  writeFileSync(path.join(dir, 'out', 'digests', 'issues.json'), '{ not json');
  writeFiles(dir, { 'out/digests/ai/2026-11-01.html': '<p>an older issue</p>' });
  const r = build('2026-11-22T14:00:00Z');
  assert.match(r.stderr, /issues\.json is not valid JSON .*: the archive page lists those issues by day only/);
  assert.deepEqual(items(), [['2026-11-22', 'November 22, 2026', '· 2 articlesSecond story'], ['2026-11-01', '2026-11-01', '']]);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(path.join(dir, 'out', 'digests', 'issues.json'), 'utf8')) as object), ['ai/2026-11-22'], 'written anew');
});
