import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveContext, type Context } from '../src/commands/context.js';
import { buildCommand } from '../src/commands/build.js';
import { parseConfig } from '../src/config/load.js';
import { timeStretch } from '../src/output/uptodate.js';
import { BUILTIN_TEMPLATES } from '../src/render/templates.js';
import { articleText, NOW, tempDir, writeFiles } from './helpers.js';

const HOUR = 3_600_000;
const reportsUpToDate = (report: string[]) => report.some((l) => /: up to date \(/.test(l));
const DAY = 24 * HOUR;

describe('timeStretch: how long the clock leaves a build as it is', () => {
  const now = NOW.getTime(); // 12:00 UTC
  const rules = { maxAgeDays: 0, windowHours: 24 };

  test('with no article, the UTC day', () => {
    assert.deepEqual(timeStretch([], now, rules), { from: now - 12 * HOUR, until: now + 12 * HOUR });
  });
  test('ends when a future article becomes current, or one leaves the digest window', () => {
    assert.equal(timeStretch([now + 2 * HOUR], now, rules).until, now + 2 * HOUR);
    assert.equal(timeStretch([now - 23 * HOUR], now, rules).until, now + HOUR);
  });
  test('starts when the last article became current or left the window', () => {
    assert.equal(timeStretch([now - HOUR], now, rules).from, now - HOUR);
    assert.equal(timeStretch([now - 25 * HOUR], now, rules).from, now - HOUR);
    assert.deepEqual(timeStretch([now], now, rules), { from: now, until: now + 12 * HOUR });
  });
  test('ends when an article grows older than maxAgeDays', () => {
    const d = now - 7 * DAY + 3 * HOUR;
    assert.equal(timeStretch([d], now, { maxAgeDays: 7, windowHours: 1 }).until, d + 7 * DAY + 1);
  });
});

describe('a build with nothing changed says so and writes nothing; any change builds again', () => {
  const { dir, cleanup } = tempDir();
  test.after(cleanup);
  const content = path.join(dir, 'content');
  const out = path.join(dir, 'out');
  const templates = path.join(dir, 'templates');
  let clock = NOW.getTime();
  let title = 'Test Gazette';
  let secret: string | undefined;
  const lines: string[] = [];

  async function build(): Promise<string[]> {
    lines.length = 0;
    const base = await resolveContext({ content, out });
    const ctx: Context = {
      ...base,
      config: parseConfig({ site: { title }, paths: { cache: path.join(dir, 'cache'), templates } }),
      secrets: { ...base.secrets, secret },
      now: () => new Date(clock),
      log: (l) => lines.push(l),
      warn: (l) => lines.push(`warn: ${l}`),
    };
    await buildCommand(ctx, {});
    return [...lines];
  }
  const feed = (topic = 'ai') => readFileSync(path.join(out, 'topics', topic, 'feed.json'), 'utf8');
  const titles = () => (JSON.parse(feed()) as { items: { title: string }[] }).items.map((i) => i.title).sort();

  test('the second build of the same inputs is up to date, and repeats the warnings', async () => {
    writeFiles(content, {
      'a.md': articleText({ webUrl: 'https://e.com/a', title: 'First', topics: ['AI'], publishedDateTime: '2026-11-22T09:00:00Z' }),
      'b.md': articleText({ webUrl: 'https://e.com/b', title: 'Second', topics: ['AI'] }),
      'broken.md': articleText({ publishedDateTime: 'soon' }),
    });
    const first = await build();
    assert.ok(!reportsUpToDate(first));
    assert.ok(first.some((l) => /^warn: skipped broken\.md/.test(l)));
    assert.ok(existsSync(path.join(out, 'digests', 'ai')), 'a digest preview was written');
    const second = await build();
    assert.ok(reportsUpToDate(second), second.join('\n'));
    assert.ok(second.some((l) => /^warn: skipped broken\.md/.test(l)), 'the skipped file is still reported');
    assert.ok(second.some((l) => /^content: 3 files in .*: nothing changed since the build of 2026-11-22T12:00:00\.000Z$/.test(l)));
    assert.ok(second.some((l) => l.startsWith('selection: 2 eligible')));
    assert.deepEqual(titles(), ['First', 'Second']);
  });

  test('an edited, an added and a deleted article', async () => {
    writeFiles(content, {
      'a.md': articleText({ webUrl: 'https://e.com/a', title: 'First, edited', topics: ['AI'], publishedDateTime: '2026-11-22T09:00:00Z' }),
      'c.md': articleText({ webUrl: 'https://e.com/c', title: 'Third', topics: ['AI'] }),
    });
    rmSync(path.join(content, 'b.md'));
    assert.ok(!reportsUpToDate(await build()));
    assert.deepEqual(titles(), ['First, edited', 'Third']);
    assert.ok(reportsUpToDate(await build()));

    // The same size and, set back, the same mtime (as `cp -p` or `touch -r` leave them): the ctime tells.
    const file = path.join(content, 'c.md');
    const dated = 1_700_000_000; // a whole second: set again exactly
    utimesSync(file, dated, dated);
    assert.ok(!reportsUpToDate(await build()));
    const was = statSync(file);
    writeFiles(content, { 'c.md': articleText({ webUrl: 'https://e.com/c', title: 'Thirf', topics: ['AI'] }) });
    utimesSync(file, dated, dated);
    assert.equal(statSync(file).size, was.size);
    assert.equal(statSync(file).mtimeMs, was.mtimeMs);
    assert.ok(!reportsUpToDate(await build()));
    assert.deepEqual(titles(), ['First, edited', 'Thirf']);
  });

  test('the config and the templates', async () => {
    title = 'Renamed Gazette';
    assert.ok(!reportsUpToDate(await build()));
    assert.match(feed(), /Renamed Gazette/);
    assert.ok(reportsUpToDate(await build()));

    writeFiles(templates, { 'feed-item.hbs': `${readFileSync(path.join(BUILTIN_TEMPLATES, 'feed-item.hbs'), 'utf8')}<p>own template</p>\n` });
    assert.ok(!reportsUpToDate(await build()));
    assert.match(feed(), /own template/);
    assert.ok(reportsUpToDate(await build()));
  });

  test('the secret that signs the links in digest previews', async () => {
    secret = 'a-new-secret';
    assert.ok(!reportsUpToDate(await build()));
    assert.ok(reportsUpToDate(await build()));
  });

  test('output files deleted or changed by hand are written again', async () => {
    const file = path.join(out, 'topics', 'ai', 'rss.xml');
    const good = readFileSync(file, 'utf8');
    rmSync(file);
    assert.ok(!reportsUpToDate(await build()));
    assert.equal(readFileSync(file, 'utf8'), good);
    writeFileSync(file, 'vandalized');
    assert.ok(!reportsUpToDate(await build()));
    assert.equal(readFileSync(file, 'utf8'), good);
    assert.ok(reportsUpToDate(await build()));
  });

  test('a digest issue added to the archive since (as `gazette digest preview` leaves one)', async () => {
    writeFiles(out, { 'digests/ai/2026-11-01.html': '<p>an older issue</p>' });
    assert.ok(!reportsUpToDate(await build()));
    assert.match(readFileSync(path.join(out, 'digests', 'index.html'), 'utf8'), /2026-11-01/);
    assert.ok(reportsUpToDate(await build()));
  });

  test('the clock: up to date until an article changes side of a rule, or the day changes', async () => {
    writeFiles(content, { 'future.md': articleText({ webUrl: 'https://e.com/f', title: 'Future', topics: ['AI'], publishedDateTime: '2026-11-22T14:00:00Z' }) });
    assert.ok(!reportsUpToDate(await build()));
    assert.ok(!titles().includes('Future'), 'dated in the future: not yet');
    clock = NOW.getTime() + HOUR; // 13:00
    assert.ok(reportsUpToDate(await build()));
    clock = NOW.getTime() + 2 * HOUR; // 14:00: the article's time
    assert.ok(!reportsUpToDate(await build()));
    assert.ok(titles().includes('Future'));
    clock = NOW.getTime() + 2.5 * HOUR;
    assert.ok(reportsUpToDate(await build()));
    clock = NOW.getTime() + 12 * HOUR; // midnight: previews are dated by the day
    assert.ok(!reportsUpToDate(await build()));
  });
});

describe('writeIfChanged', () => {
  test('writes new and changed files, leaves equal ones untouched, and remakes a folder removed meanwhile', async () => {
    const { writeIfChanged } = await import('../src/output/write.js');
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'a', 'b', 'feed.xml');
      const stats = { written: 0, unchanged: 0, paths: [] as string[] };
      assert.equal(writeIfChanged(file, '<x/>', stats), true);
      const mtime = statSync(file).mtimeMs;
      assert.equal(writeIfChanged(file, '<x/>', stats), false);
      assert.equal(statSync(file).mtimeMs, mtime, 'an equal file is not rewritten');
      assert.equal(writeIfChanged(file, '<y/>', stats), true, 'same size, other bytes');
      assert.equal(readFileSync(file, 'utf8'), '<y/>');
      rmSync(path.join(dir, 'a'), { recursive: true });
      assert.equal(writeIfChanged(file, '<z/>', stats), true);
      assert.equal(readFileSync(file, 'utf8'), '<z/>');
      assert.deepEqual(stats, { written: 3, unchanged: 1, paths: [file, file, file, file] });
      assert.deepEqual(readdirSync(path.dirname(file)), ['feed.xml'], 'no temp file left behind');
      // Text in pieces is the text they make, small (encoded into the reused buffer) or large (not).
      for (const pieces of [['<a>', 'é—', '', '</a>'], ['<b>', 'ü'.repeat(400_000), '→', '</b>']]) {
        const text = pieces.join('');
        assert.equal(writeIfChanged(file, pieces), true);
        assert.equal(readFileSync(file, 'utf8'), text);
        assert.equal(writeIfChanged(file, text), false, 'the same bytes given whole');
        assert.equal(writeIfChanged(file, pieces), false, 'and in pieces');
      }
    } finally {
      cleanup();
    }
  });
});

describe('a build after edits that move no article writes only the feeds they are in, as a whole build would', () => {
  const { dir, cleanup } = tempDir();
  test.after(cleanup);
  const content = path.join(dir, 'content');
  const day = (n: number) => new Date(NOW.getTime() - n * DAY).toISOString().replace('.000', '');
  const article = (i: number, over: Record<string, unknown> = {}) =>
    articleText({ webUrl: `https://e.com/${i}`, title: `Story ${i}`, topics: i % 2 ? ['AI'] : ['AI', 'Computer Vision'], publishedDateTime: day(2 + i), ...over });

  async function buildInto(out: string, cache: string): Promise<string[]> {
    const lines: string[] = [];
    const base = await resolveContext({ content, out });
    const ctx: Context = {
      ...base,
      config: parseConfig({ paths: { cache } }),
      now: () => NOW,
      log: (l) => lines.push(l),
      warn: (l) => lines.push(`warn: ${l}`),
    };
    await buildCommand(ctx, {});
    return lines;
  }
  const out = path.join(dir, 'out');
  const build = () => buildInto(out, path.join(dir, 'cache'));
  const tree = (root: string) =>
    new Map(
      readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => [path.relative(root, path.join(e.parentPath, e.name)), readFileSync(path.join(e.parentPath, e.name), 'utf8')]),
    );
  let fresh = 0;
  /** The output is exactly what a whole build (new cache, new output folder) writes from the same files. */
  async function sameAsWholeBuild() {
    const other = path.join(dir, `whole-${++fresh}`);
    await buildInto(path.join(other, 'out'), path.join(other, 'cache'));
    assert.deepEqual(tree(out), tree(path.join(other, 'out')));
  }
  const edited = (report: string[]) => report.some((l) => / edited since the build of .*, in no field that decides where it goes$/.test(l));

  test('a title edited: its feeds are written again, nothing else', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`a${i}.md`] = article(i);
    files['low.md'] = articleText({ webUrl: 'https://e.com/low', title: 'Low', quality: 10, topics: ['AI'], publishedDateTime: day(3) });
    files['today.md'] = articleText({ webUrl: 'https://e.com/today', title: 'Today', topics: ['AI'], publishedDateTime: day(0.25) });
    writeFiles(content, files);
    assert.ok(!edited(await build()));
    await sameAsWholeBuild();

    writeFiles(content, { 'a4.md': article(4, { title: 'Story 4, corrected', related: [] }) });
    const report = await build();
    assert.ok(edited(report), report.join('\n'));
    assert.ok(report.some((l) => /^output: 9 files written, \d+ unchanged/.test(l)), 'the all, AI and Computer Vision feeds, 3 files each');
    assert.match(readFileSync(path.join(out, 'all', 'feed.json'), 'utf8'), /Story 4, corrected/);
    await sameAsWholeBuild();
    assert.ok(reportsUpToDate(await build()), 'and then up to date');
  });

  test('an article in no feed edited: nothing written', async () => {
    writeFiles(content, { 'low.md': articleText({ webUrl: 'https://e.com/low', title: 'Low, retitled', quality: 10, topics: ['AI'], publishedDateTime: day(3) }) });
    const report = await build();
    assert.ok(edited(report) && report.some((l) => l.startsWith('output: 0 files written')), report.join('\n'));
    await sameAsWholeBuild();
  });

  test('two edits at once', async () => {
    writeFiles(content, { 'a1.md': article(1, { excerpt: 'A new excerpt.' }), 'a2.md': article(2, { images: [] }) });
    assert.ok(edited(await build()));
    await sameAsWholeBuild();
  });

  test('a field that decides where an article goes, an article of the digest window, a broken file: a whole build', async () => {
    for (const [file, text] of [
      ['a5.md', article(5, { quality: 55 })],
      ['a6.md', article(6, { topics: ['AI'] })],
      ['a7.md', article(7, { publishedDateTime: day(1.5) })],
      ['today.md', articleText({ webUrl: 'https://e.com/today', title: 'Today, edited', topics: ['AI'], publishedDateTime: day(0.25) })],
      ['a8.md', article(8, { publishedDateTime: 'soon' })],
    ] as const) {
      writeFiles(content, { [file]: text });
      const report = await build();
      assert.ok(!edited(report) && !reportsUpToDate(report), `${file}: ${report.join('\n')}`);
      await sameAsWholeBuild();
    }
  });
});
