import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { parseArticle, parseSource } from '../src/content/parse.js';
import { loadContent, readContentCache } from '../src/content/load.js';
import { RACY_MS } from '../src/content/read.js';
import { packEntries, parseFiles, unpackEntries, type PackedEntries, type WorkerJob } from '../src/content/read.js';
import { entryLine, metaJson, pendingEntryOf, type Entry } from '../src/content/entry.js';
import { materialize } from '../src/content/articles.js';
import { sound } from '../src/content/article.js';
import { firstNonUtf8 } from '../src/content/source.js';
import { cleanUrl, parseIsoDate, plainUrl, slugify, cleanExcerpt, cleanText, sinceInstant, topicList } from '../src/content/text.js';
import { decodeHTML } from 'entities';
import { articleText, baseFrontMatter, CORPUS, ROOT, tempDir, writeFiles } from './helpers.js';

const haveCorpus = existsSync(CORPUS);

const enc = (s: string) => new TextEncoder().encode(s);
function ok(text: string | Uint8Array) {
  const r = parseArticle('x.md', typeof text === 'string' ? enc(text) : text);
  if (!r.ok) assert.fail(`expected ok, got ${JSON.stringify(r.issue)}`);
  return r.article;
}
function bad(text: string | Uint8Array) {
  const r = parseArticle('x.md', typeof text === 'string' ? enc(text) : text);
  if (r.ok) assert.fail('expected an issue');
  return r.issue;
}

describe('text helpers', () => {
  test('slugify folds diacritics and never yields a path', () => {
    assert.equal(slugify('Computer Vision'), 'computer-vision');
    assert.equal(slugify('  Économie & Société '), 'economie-societe');
    assert.equal(slugify('../../etc'), 'etc');
    assert.equal(slugify('a/b\\c..d'), 'a-b-c-d');
    assert.equal(slugify('..'), '');
  });
  test('slugify: other scripts are transliterated, not dropped; C, C# and C++ stay apart', () => {
    const cases: [string, string][] = [
      ['Новости', 'novosti'], ['Ελληνικά', 'ellinika'], ['日本語', 'ribenyu'], ['한국어', 'hangugeo'], ['Straße', 'strasse'],
      ['Łódź', 'lodz'], ['Việt Nam', 'viet-nam'], ['AI 日本', 'ai-riben'],
      ['C', 'c'], ['C#', 'c-sharp'], ['F#', 'f-sharp'], ['C++', 'c-plus-plus'], ['Notepad++', 'notepad-plus-plus'], ['#hashtag', 'hashtag'],
      ['.NET', 'net'], ['AI & ML', 'ai-ml'], ['Power Apps', 'power-apps'],
    ];
    for (const [name, slug] of cases) assert.equal(slugify(name), slug, name);
    // Articles naming such topics keep them: one topic each.
    assert.deepEqual(topicList(['C', 'C#', 'C++', 'Новости', '日本語']).map((t) => t.slug), ['c', 'c-sharp', 'c-plus-plus', 'novosti', 'ribenyu']);
  });
  test('since: a day is its midnight in the site\'s time zone; an instant is itself; impossible days are refused', () => {
    const iso = (t: number) => new Date(t).toISOString();
    assert.equal(iso(sinceInstant('2026-11-01', 'UTC')), '2026-11-01T00:00:00.000Z');
    assert.equal(iso(sinceInstant('2026-11-01', 'Asia/Tokyo')), '2026-10-31T15:00:00.000Z');
    assert.equal(iso(sinceInstant('2026-11-01', 'America/New_York')), '2026-11-01T04:00:00.000Z', 'still summer time at midnight; it ends at 2:00 that day');
    assert.equal(iso(sinceInstant('2026-11-02', 'America/New_York')), '2026-11-02T05:00:00.000Z');
    assert.equal(iso(sinceInstant('2026-11-01', 'Pacific/Kiritimati')), '2026-10-31T10:00:00.000Z', 'UTC+14');
    assert.equal(iso(sinceInstant('2026-11-01', 'Pacific/Pago_Pago')), '2026-11-01T11:00:00.000Z', 'UTC-11');
    assert.equal(iso(sinceInstant('2026-11-01T08:00:00+09:00', 'America/New_York')), '2026-10-31T23:00:00.000Z');
    for (const bad of ['2026-02-30', '2026-13-01', 'yesterday', '']) assert.ok(Number.isNaN(sinceInstant(bad, 'Europe/Berlin')), bad);
  });

  test('dates: ISO 8601 with offsets, date-only, no zone; impossible dates refused', () => {
    assert.equal(parseIsoDate('2020-06-10T23:09:00Z')?.toISOString(), '2020-06-10T23:09:00.000Z');
    assert.equal(parseIsoDate('2020-06-10T23:09:00+02:00')?.toISOString(), '2020-06-10T21:09:00.000Z');
    assert.equal(parseIsoDate('2020-06-10T23:09:00-0530')?.toISOString(), '2020-06-11T04:39:00.000Z');
    assert.equal(parseIsoDate('2020-06-10')?.toISOString(), '2020-06-10T00:00:00.000Z');
    assert.equal(parseIsoDate('2020-06-10 23:09')?.toISOString(), '2020-06-10T23:09:00.000Z');
    assert.equal(parseIsoDate('2021-02-30'), undefined);
    assert.equal(parseIsoDate('yesterday'), undefined);
    assert.equal(parseIsoDate('2020-06-10T25:00:00Z'), undefined);
  });
  test('dates: the fast path for YYYY-MM-DDTHH:MM:SSZ agrees with the general one (+00:00) everywhere', () => {
    const iso = (d: Date | undefined) => d?.toISOString();
    const cases: string[] = [];
    for (const y of ['0999', '1000', '1900', '2000', '2023', '2024', '2100', '9999', '2O24', '+024', ' 024'])
      for (const mo of ['00', '01', '02', '04', '12', '13', '+1', '1.'])
        for (const d of ['00', '01', '28', '29', '30', '31', '32'])
          for (const t of ['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60', '07:05:09']) cases.push(`${y}-${mo}-${d}T${t}`);
    let valid = 0;
    for (const c of cases) {
      const fast = parseIsoDate(`${c}Z`);
      assert.equal(iso(fast), iso(parseIsoDate(`${c}+00:00`)), c);
      if (fast) valid++;
    }
    assert.ok(valid > 300 && valid < cases.length, `${valid} of ${cases.length} valid`);
    assert.equal(iso(parseIsoDate('2024-02-29T10:00:00Z')), '2024-02-29T10:00:00.000Z');
    assert.equal(parseIsoDate('2023-02-29T10:00:00Z'), undefined);
  });
  test('topic names: cleaned and slugged the same on every call (they are remembered)', () => {
    const first = topicList(['AI', 'Computer&nbsp;Vision', 'ai', '  ']);
    assert.deepEqual(first, [{ name: 'AI', slug: 'ai' }, { name: 'Computer Vision', slug: 'computer-vision' }]);
    const again = topicList(['AI', 'Computer&nbsp;Vision', 'ai', '  ']);
    assert.deepEqual(again, first);
    assert.notEqual(again[0], first[0], 'each article gets topic objects of its own');
  });
  test('URLs: entities decoded, only absolute http(s)', () => {
    assert.equal(cleanUrl('https://e.com/?a=1&#038;b=2'), 'https://e.com/?a=1&b=2');
    assert.equal(cleanUrl('javascript:alert(1)'), undefined);
    assert.equal(cleanUrl('JaVaScRiPt:alert(1)'), undefined);
    assert.equal(cleanUrl('data:text/html,x'), undefined);
    assert.equal(cleanUrl('/img.jpg'), undefined);
    assert.equal(cleanUrl('/img.jpg', 'https://e.com/a/b'), 'https://e.com/img.jpg');
  });
  test('URLs taken as they are (the fast path) are exactly what decoding and the URL parser give', (t) => {
    if (!haveCorpus) t.diagnostic(`../shared/corpus is absent (${CORPUS}): only the hand-made URLs are checked`);
    /** cleanUrl's answer without the fast path. */
    const parsed = (s: string) => {
      try {
        const u = new URL(decodeHTML(s).trim());
        return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
      } catch {
        return undefined;
      }
    };
    const tricky = [
      'https://e.com/a', 'http://e.com/', 'https://a-b.c.example/x/y?q=1', 'https://e.com/a/./b', 'https://e.com/a/../b',
      'https://e.com/a/%2e%2E/b', 'https://e.com/a/..', 'https://e.com/.', 'https://e.com/a?x=/../', 'https://E.com/a',
      'HTTPS://e.com/a', 'https://e.com', 'https://e.com:443/a', 'https://e.com:80/a', 'http://e.com:80/a', 'https://u@e.com/a',
      'https://127.0.0.1/a', 'https://1.2.3.4/', 'https://e.123/a', 'https://e.0x1f/a', 'https://0x7f.1/a', 'https://e.com./a',
      'https://.e.com/a', 'https://e..com/a', 'https://-e.com/a', 'https://e-.com/a', 'https://xn--nxasmq6b.com/a',
      'https://xn--zz.com/a', 'https://e.com/a b', 'https://e.com/a"b', "https://e.com/a?b='c'", 'https://e.com/a`b',
      'https://e.com/a{b}', 'https://e.com/a^b', 'https://e.com/a|b', 'https://e.com/a\\b', 'https://e.com/a#b',
      'https://e.com/a?b=1&amp;c=2', 'https://e.com/a?b&para=1', 'https://e.com/%zz/%41', 'https://e.com/é',
      'https://e.com/a\tb', ' https://e.com/a', 'https://e.com/a;b=c,d:e@f!$()*+~', 'https://e.com//a//b',
      'https://e.com/?', 'https://e.com/a?', 'https://e.com/a/.b/..c', 'https://e.com/a/.%2e/b', 'ftp://e.com/a',
    ];
    const corpus = haveCorpus ? readdirSync(CORPUS, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.md'))
      .flatMap((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8').match(/https?:\/\/[^\s"']+/g) ?? []) : [];
    // Every URL, and each with one character changed to one of the characters that matter to the URL parser.
    const marks = ['.', '/', '%', '-', '0', 'X', ':', '@', '&', '?', '#', '\\', ' '];
    let plain = 0;
    let n = 0;
    const check = (s: string) => {
      n++;
      if (!plainUrl(s)) return;
      plain++;
      assert.equal(cleanUrl(s), s);
      assert.equal(parsed(s), s, `taken as it is, but the URL parser gives otherwise: ${s}`);
    };
    tricky.forEach(check);
    for (const [i, u] of [...new Set(corpus)].entries()) {
      check(u);
      const at = (i * 7) % u.length;
      check(u.slice(0, at) + marks[i % marks.length] + u.slice(at + 1));
    }
    if (haveCorpus) assert.ok(plain > n / 3, `the fast path takes most real URLs (${plain} of ${n})`);
  });
  test('excerpts cut mid-sentence by the source sites end in an ellipsis; whole sentences stay as they are', () => {
    // As in the real corpus: about half its excerpts stop mid-word or after a comma.
    assert.equal(cleanExcerpt('a new identity management configuration experience with enhanced functionality to'), 'a new identity management configuration experience with enhanced functionality to\u2026');
    assert.equal(cleanExcerpt('Here are the capabilities covered: • Guest access • Building, '), 'Here are the capabilities covered: • Guest access • Building\u2026');
    assert.equal(cleanExcerpt('One; two —'), 'One; two\u2026');
    for (const whole of ['It shipped.', 'Really?', 'Yes!', 'And then\u2026', 'He said “no.”', 'She said \'yes\'', 'A list (see below)', 'Refs [1]', 'Il a dit « non »', '']) assert.equal(cleanExcerpt(whole), whole, whole);
    assert.equal(cleanExcerpt('  spaced   out &amp; cut  '), 'spaced out & cut\u2026', 'cleaned as any text first');
  });

  test('text: entities decoded, control characters removed, white space folded', () => {
    assert.equal(cleanText('Fish &amp; chips\u0000\u0007  now\n'), 'Fish & chips now');
  });
});

describe('parseArticle', () => {
  test('a good file becomes an Article', () => {
    const a = ok(articleText());
    assert.equal(a.id, 'https://example.org/story-1');
    assert.equal(a.date.toISOString(), '2026-11-21T08:00:00.000Z');
    assert.deepEqual(a.topics, [{ name: 'Computer Vision', slug: 'computer-vision' }, { name: 'AI', slug: 'ai' }]);
    assert.equal(a.related.length, 1);
    assert.equal(a.published, true);
  });
  test('CRLF and a BOM are accepted', () => {
    const a = ok('\uFEFF' + articleText().replace(/\n/g, '\r\n'));
    assert.equal(a.title, 'Cameras learn to read rail tracks');
  });
  test('missing webUrl falls back to originalUrl; quality above 100 kept; missing published means published', () => {
    const a = ok(articleText({ webUrl: undefined, originalUrl: 'https://youtube.com/watch?v=x&#038;t=1', quality: 187, published: undefined }));
    assert.equal(a.url, 'https://youtube.com/watch?v=x&t=1');
    assert.equal(a.quality, 187);
    assert.equal(a.published, true);
  });
  test('missing quality stays undefined (selection decides)', () => {
    assert.equal(ok(articleText({ quality: undefined })).quality, undefined);
  });
  test('related list cleaned: duplicates, no title, bad URL, self link dropped', () => {
    const a = ok(
      articleText({
        related: [
          { title: 'One', webUrl: 'https://a.com/1', provider: { name: 'A' } },
          { title: 'One again', webUrl: 'https://a.com/1' },
          { webUrl: 'https://a.com/2' },
          { title: '', webUrl: 'https://a.com/3' },
          { title: 'Evil', webUrl: 'javascript:alert(1)' },
          { title: 'Self', webUrl: 'https://example.org/story-1' },
          'not an object',
          { title: 'No provider', webUrl: 'https://www.b.org/x' },
        ],
      }),
    );
    assert.deepEqual(a.related.map((r) => [r.title, r.url, r.source]), [
      ['One', 'https://a.com/1', 'A'],
      ['No provider', 'https://www.b.org/x', 'b.org'],
    ]);
  });
  test('videos keep featuredContent as data', () => {
    const a = ok(articleText({ type: 'video', featuredContent: '<iframe src="https://www.youtube.com/embed/x"></iframe>' }));
    assert.equal(a.type, 'video');
    assert.match(a.featuredContent!, /iframe/);
  });
  test('topics named like paths get safe slugs', () => {
    const a = ok(articleText({ topics: ['../../etc', ' AI '] }));
    assert.deepEqual(a.topics.map((t) => t.slug), ['etc', 'ai']);
  });

  const cases: [string, string | Uint8Array, RegExp, string?][] = [
    ['broken YAML', '---\ntitle: "unclosed\nfoo: [\n---\n', /does not parse/],
    ['no front matter', 'Just some text\n', /no front matter/],
    ['empty file', '', /empty file/],
    ['unclosed front matter', '---\ntitle: x\n', /not closed/],
    ['closed only by a `---` line with more after it', `${articleText().replace(/\n---\n$/, '\n')}---${' '.repeat(70)}x\n`, /not closed/],
    ['missing title', articleText({ title: undefined }), /missing/, 'title'],
    ['wrong type', articleText({ quality: 'high' }), /number/, 'quality'],
    ['unparseable date', articleText({ publishedDateTime: 'last Tuesday' }), /ISO 8601/, 'publishedDateTime'],
    ['javascript: URL', articleText({ webUrl: 'javascript:alert(1)' }), /http\(s\)/, 'webUrl'],
    ['non-UTF-8 bytes, with where they are', new Uint8Array([...enc('---\nurl: x\ntitle: caf'), 0xe9, ...enc('\n---\n')]), /^not valid UTF-8 text: line 3 has the byte 0xE9 \(saved in an older encoding such as Windows-1252 or Latin-1\? save it as UTF-8\)$/],
    ['UTF-16 whose bytes are cut short', new Uint8Array([0xff, 0xfe, ...Buffer.from('---\n', 'utf16le'), 0x41]), /^not valid UTF-16 text/],
    ['a 5 MB file', enc(articleText({ excerpt: 'x'.repeat(5 * 1024 * 1024) })), /too large/],
    ['a list, not a mapping', '---\n- a\n- b\n---\n', /not a mapping/],
  ];
  for (const [name, input, reason, field] of cases) {
    test(`reported, not thrown: ${name}`, () => {
      const issue = bad(input);
      assert.equal(issue.file, 'x.md');
      assert.match(issue.reason, reason);
      if (field) assert.equal(issue.field, field);
    });
  }

  test('UTF-16 with its byte-order mark (Windows editors\' "Unicode") reads as the same article as UTF-8', () => {
    const text = articleText({ title: 'Café — 東京 🚆' });
    const want = ok(text);
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/\n/g, '\r\n'), 'utf16le')]);
    const be = Buffer.from(le.subarray(2)).swap16();
    assert.deepEqual(ok(le), want);
    assert.deepEqual(ok(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), want);
    assert.deepEqual(ok(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), enc(text)])), want, 'and UTF-8 with a BOM');
  });

  test('firstNonUtf8 finds the byte a fatal UTF-8 decoder refuses, and only then', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const valid = (b: Uint8Array) => { try { decoder.decode(b); return true; } catch { return false; } };
    // Every 1- to 3-byte sequence built from bytes at the edges of UTF-8's ranges, and random longer ones.
    const edges = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    const inputs: number[][] = [];
    for (const a of edges) for (const b of edges) for (const c of [...edges, -1]) inputs.push(c < 0 ? [a, b] : [a, b, c]);
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 3000; i++) inputs.push(Array.from({ length: 1 + Math.floor(rand() * 6) }, () => edges[Math.floor(rand() * edges.length)]!));
    inputs.push([...enc('ok é 東 🚆')]);
    for (const bytes of inputs) {
      const b = new Uint8Array(bytes);
      const at = firstNonUtf8(b);
      assert.equal(at < 0, valid(b), bytes.map((x) => x.toString(16)).join(' '));
      if (at >= 0) assert.ok(valid(b.subarray(0, at)), `all before ${at} is UTF-8: ${bytes.map((x) => x.toString(16)).join(' ')}`);
    }
  });

  test('a YAML alias bomb fails fast', () => {
    const lines = ['---', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    let prev = 'a';
    for (const n of 'bcdefghijk') {
      lines.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`);
      prev = n;
    }
    lines.push('title: bomb', '---', '');
    const issue = bad(lines.join('\n'));
    assert.match(issue.reason, /alias/i);
  });

  test('a ---js file is reported and never executed', () => {
    const { dir, cleanup } = tempDir();
    after(cleanup);
    const marker = path.join(dir, 'executed');
    const code = `---js\n{ title: (function(){ require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); return 'pwned' })() }\n---\n`;
    const issue = bad(code);
    assert.match(issue.reason, /not allowed/);
    assert.equal(existsSync(marker), false);
    const coffee = bad(`---coffee\ntitle: do -> require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')\n---\n`);
    assert.match(coffee.reason, /not allowed/);
    assert.equal(existsSync(marker), false);
  });
});

describe('loadContent', () => {
  test('walks folders recursively; bad files are reported and the good ones around them load', async () => {
    const { dir, cleanup } = tempDir();
    after(cleanup);
    writeFiles(dir, {
      'a.md': articleText({ webUrl: 'https://e.com/a' }),
      'nested/deeper/b.md': articleText({ webUrl: 'https://e.com/b' }),
      'nested/bad.md': articleText({ quality: 'high' }),
      'notes.txt': 'not an article',
      'empty.md': '',
    });
    const r = await loadContent(dir);
    assert.equal(r.files, 4);
    assert.deepEqual(r.articles.map((a) => a.file).sort(), ['a.md', 'nested/deeper/b.md']);
    assert.deepEqual(r.issues.map((i) => i.file).sort(), ['empty.md', 'nested/bad.md']);
  });
  test('hidden files and folders are no articles: editor lock files, macOS ._ files, .git', async () => {
    const { dir, cleanup } = tempDir();
    after(cleanup);
    writeFiles(dir, {
      'a.md': articleText({ webUrl: 'https://e.com/a' }),
      'sub/b.md': articleText({ webUrl: 'https://e.com/b' }),
      '.#a.md': 'lock',
      '._a.md': new Uint8Array([0, 5, 22, 7, 0, 2, 0, 0, 0xff, 0xfe]),
      '.git/x.md': articleText({ webUrl: 'https://e.com/x' }),
      'sub/.cache/y.md': articleText({ webUrl: 'https://e.com/y' }),
    });
    for (const cacheFile of [undefined, path.join(dir, '.cache-file')]) {
      const r = await loadContent(dir, { cacheFile });
      assert.deepEqual([r.files, r.articles.map((a) => a.file).sort(), r.issues], [2, ['a.md', 'sub/b.md'], []]);
    }
  });
  test('a symbolic link to a file is that file; one pointing nowhere is reported; links to folders are not followed', async () => {
    const { dir: root, cleanup } = tempDir();
    after(cleanup);
    const dir = path.join(root, 'content');
    const elsewhere = path.join(root, 'elsewhere');
    writeFiles(dir, { 'a.md': articleText({ webUrl: 'https://e.com/a' }) });
    writeFiles(elsewhere, { 'b.md': articleText({ webUrl: 'https://e.com/b', title: 'Linked' }), 'sub/c.md': articleText({ webUrl: 'https://e.com/c' }) });
    symlinkSync(path.join(elsewhere, 'b.md'), path.join(dir, 'linked.md'));
    symlinkSync(path.join(elsewhere, 'gone.md'), path.join(dir, 'dangling.md'));
    symlinkSync(path.join(elsewhere, 'sub'), path.join(dir, 'folder'));
    symlinkSync(path.join(elsewhere, 'sub'), path.join(dir, 'folder.md'));
    const cacheFile = path.join(root, 'cache');
    for (const cache of [undefined, cacheFile, cacheFile]) {
      const r = await loadContent(dir, { cacheFile: cache });
      assert.deepEqual(r.articles.map((a) => [a.file, a.title]).sort(), [['a.md', baseFrontMatter.title], ['linked.md', 'Linked']]);
      assert.deepEqual(r.issues.map((i) => [i.file, /^cannot read: ENOENT/.test(i.reason)]), [['dangling.md', true]]);
    }
    // Its stamp is the file's: an edit there is seen through the link.
    writeFiles(elsewhere, { 'b.md': articleText({ webUrl: 'https://e.com/b', title: 'Linked, edited' }) });
    const r = await loadContent(dir, { cacheFile });
    assert.equal(r.parsed, 1);
    assert.equal(r.articles.find((a) => a.file === 'linked.md')!.title, 'Linked, edited');
  });
  test('a file changed within the clock tick it was read in is read again once the tick is over', async () => {
    // File times have the kernel's tick as resolution on many systems (Linux before 6.13): a second change in
    // the tick of the read would leave size, mtime and ctime as read. The load waits out the tick (its sleep,
    // given here, changes the file as such an editor would) and reads the file again.
    const { dir, cleanup } = tempDir();
    after(cleanup);
    const text = (title: string, quality: number) => articleText({ webUrl: 'https://e.com/a', title, quality });
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      if (waits.length === 1) writeFiles(dir, { 'a.md': text('Other text', 90) }); // the same size
      await new Promise((r) => setTimeout(r, ms));
    };
    for (const lazy of [false, true]) {
      waits.length = 0;
      writeFiles(dir, { 'a.md': text('First text', 80) });
      const r = await loadContent(dir, { lazy, sleep });
      const [a] = r.articles;
      assert.ok(sound(a!), `lazy: ${lazy}: ${JSON.stringify(r.late)}`);
      assert.deepEqual([a!.title, a!.quality], ['Other text', 90], `lazy: ${lazy}`);
      assert.ok(waits.length >= 1 && waits.every((ms) => ms > 0 && ms <= RACY_MS), String(waits));
    }
    // Files last changed longer ago than that are not waited for.
    await new Promise((r) => setTimeout(r, RACY_MS + 5));
    waits.length = 0;
    await loadContent(dir, { sleep });
    assert.deepEqual(waits, []);
  });
  test('a missing content folder is a clear error', async () => {
    await assert.rejects(loadContent('/nonexistent/gazette'), /cannot read the content folder/);
  });
});

test('the secured blob is skipped unparsed; a block-scalar secured value still parses', () => {
  const text = articleText({ secured: 'x'.repeat(2000) });
  assert.equal(ok(text).title, 'Cameras learn to read rail tracks');
  const block = articleText().replace(/^---\n/, '---\nsecured: |\n  abc\n  def\n');
  assert.equal(ok(block).title, 'Cameras learn to read rail tracks');
});

test("a worker's packed answer unpacks to the same entries: scanned, parsed, broken and left to this thread", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFiles(dir, {
    'a.md': articleText({ webUrl: 'https://e.example/a' }),
    'b.md': articleText({ webUrl: 'https://e.example/b?q=ü', topics: ['Zürich "Q"', 'AI'] }),
    'broken.md': 'no front matter',
    'odd.md': articleText({ webUrl: 'https://e.example/odd' }).replace(/^---\n/, '---\nx: &a 1\n'),
  });
  const files = ['a.md', 'b.md', 'broken.md', 'odd.md'].map((file) => ({ file }));
  const entries = parseFiles({ dir, files, lazy: true });
  assert.deepEqual(entries.map((e) => (e.pending ? 'scanned' : e.redo ? 'redo' : e.issue ? 'broken' : 'parsed')), ['scanned', 'scanned', 'broken', 'redo']);
  const full = parseFiles({ dir, files: files.slice(0, 1) }, parseSource);
  const list: [number, Entry][] = [...entries.map((e, i) => [i, e] as [number, Entry]), [0, full[0]!]];
  const back = unpackEntries(packEntries(list), files);
  const key = (l: [number, Entry][]) => l.map(([i, e]) => `${i} ${entryLine(e)} ${e.pending} ${Boolean(e.redo)}`).sort();
  assert.deepEqual(key(back), key(list));
  assert.deepEqual(unpackEntries(packEntries([]), files), []);
});

test("an article's selection fields read back from its meta JSON exactly", () => {
  const hooks = { read: () => assert.fail('not read'), issue: () => assert.fail('no issue'), changed: () => {} };
  const metas = [
    { id: 'https://e.example/a', date: new Date('2026-11-21T08:00:00Z'), quality: 70, published: true, topics: [{ name: 'AI', slug: 'ai' }, { name: 'Robots', slug: 'robots' }] },
    { id: 'https://e.example/"q",[1],\\x\u2028ü', date: new Date(-1), quality: undefined, published: false, topics: [] },
    { id: 'https://e.example/b', date: new Date(8.64e15), quality: 64.5, published: true, topics: [{ name: 'a, "b" [c]', slug: 'a-b-c' }, { name: '\\', slug: 'x' }] },
    { id: 'https://e.example/c', date: new Date(0), quality: 0, published: false, topics: [{ name: 'AI', slug: 'ai' }] },
  ];
  for (const m of metas) {
    const meta = metaJson(m);
    const a = materialize(pendingEntryOf('x.md', 1, 1, 1, meta), hooks);
    assert.deepEqual({ id: a.id, date: a.date, quality: a.quality, published: a.published, topics: a.topics }, m, meta);
  }
  // Text of another shape goes through JSON.parse, as before (a null date is the epoch there).
  for (const meta of ['["https://e.example/n",null,null,1,[]]', ' ["https://e.example/s",5,1,0,[]]']) {
    const a = materialize(pendingEntryOf('x.md', 1, 1, 1, meta), hooks);
    const [id, date, , published] = JSON.parse(meta) as [string, number | null, null, number];
    assert.deepEqual([a.id, a.date.getTime(), a.published], [id, new Date(date!).getTime(), published === 1]);
  }
  // Articles with the same topics share one frozen list.
  const two = [0, 1].map(() => materialize(pendingEntryOf('x.md', 1, 1, 1, metaJson(metas[0]!)), hooks));
  assert.equal(two[0]!.topics, two[1]!.topics);
  assert.ok(Object.isFrozen(two[0]!.topics) && Object.isFrozen(two[0]!.topics[0]));
});

const real = path.join(CORPUS, 'real');
describe('the bundled content worker', { skip: existsSync(real) ? false : `the shared corpus is absent (${real})` }, () => {
  const files = readdirSync(real, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => ({ file: path.relative(real, path.join(e.parentPath, e.name)).split(path.sep).join('/') }))
    .sort((a, b) => (a.file < b.file ? -1 : 1));

  /** Runs dist/bundle/worker.cjs (as loadContent does) alone on every file (no other thread claims any) and returns its entries in file order. */
  async function inWorker(lazy: boolean): Promise<Entry[]> {
    const bundle = path.join(ROOT, 'dist', 'bundle', 'worker.cjs');
    assert.ok(existsSync(bundle), 'npm test builds the bundle first');
    const next = new Int32Array(new SharedArrayBuffer(8));
    const w = new Worker(path.join(ROOT, 'bin', 'run-bundle.cjs'), { workerData: { lazy, next, worker: 0, gazetteBundle: bundle } });
    w.postMessage({ dir: real, files: files.map((f) => f.file).join('\n') } satisfies WorkerJob);
    const [packed] = (await once(w, 'message')) as [PackedEntries];
    await once(w, 'exit');
    const answer = unpackEntries(packed, files);
    const out: Entry[] = [];
    for (const [i, e] of answer) out[i] = e;
    return out;
  }

  for (const lazy of [true, false]) {
    test(`${lazy ? 'scans' : 'parses'} every real file exactly as this thread does`, async () => {
      const here = parseFiles({ dir: real, files, lazy }, lazy ? undefined : parseSource);
      const there = await inWorker(lazy);
      assert.equal(there.length, files.length);
      for (let i = 0; i < files.length; i++) {
        assert.equal(Boolean(there[i]!.redo), Boolean(here[i]!.redo), files[i]!.file);
        if (!here[i]!.redo) assert.equal(entryLine(there[i]!), entryLine(here[i]!), files[i]!.file);
      }
      if (lazy) assert.ok(there.filter((e) => e.pending).length > files.length * 0.9, 'most real files are scanned');
    });
  }

  test('a load that starts workers gives the same articles as one on this thread', async () => {
    const key = (r: Awaited<ReturnType<typeof loadContent>>) => JSON.stringify([r.articles.map((a) => [a.file, a.id, a.date, a.quality, a.published, a.topics]), r.issues]);
    const one = await loadContent(real, { lazy: true, workerThreshold: Number.MAX_SAFE_INTEGER });
    const two = await loadContent(real, { lazy: true, workerThreshold: 1 });
    assert.equal(key(two), key(one));
  });
});

test('workers started before the listing are stopped when the load does not use them', async () => {
  // A first load starts its workers before it knows how many files there are. Run in a process of its own: a
  // worker left waiting for a job would keep that process from exiting (execFile's timeout would end it).
  const { dir, cleanup } = tempDir();
  after(cleanup);
  writeFiles(path.join(dir, 'small'), { 'a.md': articleText({ webUrl: 'https://e.com/a', title: 'A' }) });
  mkdirSync(path.join(dir, 'none'));
  const script = `
    import { loadContent } from ${JSON.stringify(path.join(ROOT, 'src', 'content', 'load.ts'))};
    const small = await loadContent(${JSON.stringify(path.join(dir, 'small'))}, { lazy: true });
    const none = await loadContent(${JSON.stringify(path.join(dir, 'none'))}, { lazy: true });
    const missing = await loadContent(${JSON.stringify(path.join(dir, 'missing'))}, { lazy: true }).then(() => 'loaded', (err) => err.name);
    console.log(JSON.stringify([small.articles.length, none.articles.length, missing]));
  `;
  // A file, not `-e`: Node ends an evaluated module's process without waiting for its workers.
  writeFileSync(path.join(dir, 'load.mts'), script);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(dir, 'load.mts')], { cwd: ROOT, timeout: 60_000 });
  assert.deepEqual(JSON.parse(stdout), [1, 0, 'ContentError']);
});

describe('the content cache file', () => {
  const lineCount = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean).length - 1; // minus the header
  const titles = (r: Awaited<ReturnType<typeof loadContent>>) => r.articles.map((a) => a.title).sort();
  /** A folder of `n` articles, loaded once with a cache file. */
  async function cachedFolder(n: number) {
    const { dir, cleanup } = tempDir();
    after(cleanup);
    const content = path.join(dir, 'content');
    const cacheFile = path.join(dir, 'cache.tsv');
    const files: Record<string, string> = {};
    for (let i = 0; i < n; i++) files[`a${i}.md`] = articleText({ webUrl: `https://e.com/${i}`, title: `Title ${i}` });
    writeFiles(content, files);
    await loadContent(content, { cacheFile });
    return { content, cacheFile };
  }

  test('the entries of some files are read alone, names with escapes and non-ASCII letters too', async () => {
    const { dir, cleanup } = tempDir();
    after(cleanup);
    const content = path.join(dir, 'content');
    const cacheFile = path.join(dir, 'cache.tsv');
    const names = ['plain.md', 'Zürich "quoted".md', 'back\\slash.md', 'sub/ünï.md', 'other.md'];
    writeFiles(content, Object.fromEntries(names.map((f, i) => [f, articleText({ webUrl: `https://e.com/${i}`, title: `T ${i}` })])));
    await loadContent(content, { cacheFile });
    const all = readContentCache(content, cacheFile, new Set(names))!;
    assert.deepEqual([...all.keys()].sort(), [...names].sort());
    const some = readContentCache(content, cacheFile, new Set([names[1]!, names[2]!, names[3]!, 'missing.md']))!;
    assert.deepEqual([...some.keys()].sort(), [names[1]!, names[2]!, names[3]!].sort());
    for (const [f, e] of some) assert.equal(entryLine(e), entryLine(all.get(f)!), f);
  });

  test('lines of any size are written whole: a rewrite copies old lines and encodes new ones, one over 4 MB of UTF-8 too', async () => {
    const { content, cacheFile } = await cachedFolder(300);
    // 1.4M characters (1.4 MB, under the file size limit): at up to 3 bytes a character, a line that is not
    // put through the 4 MB write buffer.
    const big = `é€${'x'.repeat(1_400_000)}.`;
    writeFiles(content, { 'a7.md': articleText({ webUrl: 'https://e.com/7', title: 'Title 7, big', excerpt: big }), 'b.md': articleText({ webUrl: 'https://e.com/b', title: 'Ünïcode “b”' }) });
    rmSync(path.join(content, 'a9.md'));
    for (let i = 10; i < 300; i++) rmSync(path.join(content, `a${i}.md`)); // more than a quarter gone: rewritten
    const fresh = await loadContent(content, { cacheFile });
    assert.equal(lineCount(cacheFile), 10);
    const again = await loadContent(content, { cacheFile });
    assert.equal(again.parsed, 0);
    assert.deepEqual(titles(again), titles(fresh));
    assert.equal(again.articles.find((a) => a.id === 'https://e.com/7')!.excerpt, big);
  });

  test('an edit is appended as one line, read back over the old one; a line cut short is ignored', async () => {
    const { content, cacheFile } = await cachedFolder(20);
    assert.equal(lineCount(cacheFile), 20);

    writeFiles(content, { 'a3.md': articleText({ webUrl: 'https://e.com/3', title: 'Title 3, edited' }) });
    const edited = await loadContent(content, { cacheFile });
    assert.equal(edited.parsed, 1);
    assert.equal(lineCount(cacheFile), 21, 'one line appended, not the cache rewritten');
    const again = await loadContent(content, { cacheFile });
    assert.equal(again.parsed, 0, 'the appended line is used');
    assert.ok(titles(again).includes('Title 3, edited') && !titles(again).includes('Title 3'));

    // A crash in the middle of an append leaves a line without its newline (here: a5's, with another title).
    const text = readFileSync(cacheFile, 'utf8');
    const a5 = text.split('\n').find((l) => l.startsWith('"a5.md"'))!;
    writeFileSync(cacheFile, text + a5.replace('Title 5', 'Title 5, torn').slice(0, -3));
    const torn = await loadContent(content, { cacheFile });
    assert.equal(torn.parsed, 0);
    assert.deepEqual(titles(torn), titles(again));
  });

  test('replaced and deleted lines are dropped by a rewrite once they pass a quarter of the cache', async () => {
    const { content, cacheFile } = await cachedFolder(400);
    let lines = lineCount(cacheFile);
    let rewrites = 0;
    for (let round = 1; round <= 30; round++) {
      const edits: Record<string, string> = {};
      for (let i = 0; i < 10; i++) edits[`a${i}.md`] = articleText({ webUrl: `https://e.com/${i}`, title: `Title ${i}, round ${round}` });
      writeFiles(content, edits);
      if (round === 15) rmSync(path.join(content, 'a399.md'));
      const r = await loadContent(content, { cacheFile });
      assert.equal(r.parsed, 10);
      const now = lineCount(cacheFile);
      assert.ok(now <= 400 * 1.25 + 100 + 10, `round ${round}: ${now} lines`);
      if (now < lines) {
        assert.equal(now, round >= 15 ? 399 : 400, 'a rewrite keeps one line per file');
        rewrites++;
      }
      lines = now;
    }
    assert.ok(rewrites >= 1, 'rewritten at least once');
    const last = await loadContent(content, { cacheFile });
    assert.equal(last.parsed, 0);
    assert.equal(last.articles.length, 399);
    assert.ok(titles(last).includes('Title 0, round 30'));
  });
});
