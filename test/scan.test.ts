/**
 * The quick scan (src/content/scan.ts) against the full parser: whenever the scan answers, its URL, date,
 * quality, published flag and topics are exactly what the full parse gives. Checked on every real file, the
 * fixtures, and mutations of real files into the YAML shapes a hand-written reader gets wrong.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readSource } from '../src/content/source.js';
import { scanMeta, type Meta } from '../src/content/scan.js';
import { parseSource } from '../src/content/parse.js';
import { loadContent } from '../src/content/load.js';
import { select } from '../src/select/select.js';
import { resolveTopics } from '../src/select/topics.js';
import { articleText, CORPUS, NOW, ROOT, runCli, tempDir, writeFiles } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** 'agree': scanned and equal to the full parse; 'fallback': the scan declined; 'broken': the full parse fails. */
function compare(text: string, name = 'x.md'): 'agree' | 'fallback' | 'broken' {
  const r = readSource(name, enc(text));
  if (!r.ok) return 'broken';
  // Loading scans the source with its `secured` line kept (readSource's keepSecured); the full parser never sees it.
  const kept = readSource(name, enc(text), undefined, true);
  assert.ok(kept.ok);
  const meta = scanMeta(kept.source);
  const full = parseSource(name, r.source.text);
  const cutMeta = scanMeta(r.source);
  if (!meta && !cutMeta) return full.ok ? 'fallback' : 'broken';
  if (!full.ok) return 'broken';
  const a = full.article;
  const expected: Meta = { id: a.id, date: a.date, quality: a.quality, published: a.published, topics: a.topics };
  if (cutMeta) assert.deepEqual(cutMeta, expected, `scan (secured cut) and full parse disagree on ${name}:\n${text.slice(0, 600)}`);
  if (!meta) return 'fallback';
  assert.deepEqual(meta, expected, `scan and full parse disagree on ${name}:\n${text.slice(0, 600)}`);
  return 'agree';
}

function mdFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const realDir = path.join(CORPUS, 'real');
const haveCorpus = existsSync(realDir);

test('the scan agrees with the full parser on every real file, and reads nearly all of them', { skip: haveCorpus ? false : `../shared/corpus is absent (${CORPUS}): the real-file check needs it` }, () => {
  const files = [...mdFiles(realDir), ...mdFiles(path.join(CORPUS, 'seeds'))];
  const counts = { agree: 0, fallback: 0, broken: 0 };
  for (const f of files) counts[compare(readFileSync(f, 'utf8'), f)]++;
  assert.equal(counts.broken, 0);
  // The fast path must not silently turn into the slow one.
  assert.ok(counts.agree >= files.length * 0.95, `only ${counts.agree} of ${files.length} scanned: ${JSON.stringify(counts)}`);
});

test('the scan agrees on the fixtures and the sample content', () => {
  const outcomes = [...mdFiles(path.join(ROOT, 'test', 'fixtures')), ...mdFiles(path.join(ROOT, 'content'))].map((f) => compare(readFileSync(f, 'utf8'), f));
  assert.ok(outcomes.filter((o) => o === 'agree').length >= outcomes.length / 2, `scanned too few: ${outcomes.join(', ')}`);
});

/** Front matter lines a plain scanner could misread; each is put into a valid article. */
const TRICKS: Record<string, string> = {
  'quality 08': 'quality: 08',
  'quality 1e2': 'quality: 1e2',
  'quality hex': 'quality: 0x40',
  'quality float': 'quality: 64.5',
  'quality .5': 'quality: .5',
  'quality quoted': 'quality: "64"',
  'quality negative': 'quality: -3',
  'quality null': 'quality: ~',
  'quality comment': 'quality: 64 # score',
  'published yes': 'published: yes',
  'published True': 'published: True',
  'published quoted': 'published: "false"',
  'published false': 'published: false',
  'published comment': 'published: false # hidden',
  'date plain day': 'publishedDateTime: 2021-06-09',
  'date with space': 'publishedDateTime: 2021-06-09 14:41:16',
  'date offset': 'publishedDateTime: 2021-06-09T14:41:16+02:00',
  'date quoted': 'publishedDateTime: "2021-06-09T14:41:16Z"',
  'date single quoted': "publishedDateTime: '2021-06-09T14:41:16Z'",
  'date bad': 'publishedDateTime: 2021-13-40T99:00:00Z',
  'url entity': 'webUrl: "https://e.example/a?x=1&#038;y=2"',
  'url escape': 'webUrl: "https://e.example/\\u0061"',
  'url single quoted': "webUrl: 'https://e.example/it''s'",
  'url plain hash': 'webUrl: https://e.example/a#frag',
  'url comment': 'webUrl: https://e.example/a #note',
  'url javascript': 'webUrl: "javascript:alert(1)"',
  'url anchor': 'webUrl: &u https://e.example/anchored',
  'url multi-line plain': 'webUrl: https://e.example/a\n  /continued',
  'url block scalar': 'webUrl: |\n  https://e.example/block',
  'url null': 'webUrl: null',
  'url empty': 'webUrl:',
  'topics flow': 'topics: [AI, Robots]',
  'topics empty flow': 'topics: []',
  'topics null': 'topics:',
  'topics column 0': 'topics:\n- AI\n- Robots',
  'topics numbers': 'topics:\n  - 5G\n  - 2021',
  'topics quoted': 'topics:\n  - "AI # not a comment"\n  - \'Rock \'\'n\'\' Roll\'',
  'topics comment': 'topics:\n  - AI # comment\n  # a line comment\n  - Robots',
  'topics nested': 'topics:\n  - name: AI',
  'topics bad indent': 'topics:\n  - AI\n    - Robots',
  'topics entity': 'topics:\n  - R&amp;D\n  - R&D',
  'topics null item': 'topics:\n  - null\n  - AI',
  'topics string': 'topics: AI',
  'topics alias': 'x: &t [AI]\ntopics: *t',
  'duplicate key': 'quality: 10\nquality: 90',
  'duplicate topics': 'topics:\n  - AI\ntopics:\n  - Robots',
  'duplicate other key': 'heat: 1\nheat: 2',
  'line separator in a title': 'title: "A\u2028B"\nquality: 9\u2029',
  'key with digits and dashes': 'x-1_b: 2',
  'key then tab': 'quality:\t64',
  'hidden key in a quoted title': 'title: "Looks closed\nwebUrl: https://evil.example/"',
  'hidden key in a single-quoted title': "title: 'Looks closed\npublished: false'",
  'block scalar with key-like lines': 'excerpt: |\n  published: false\n  quality: 1',
  'folded scalar at column 0 end': 'excerpt: >\n  text\npublished: false',
  'flow map over lines': 'provider: { name: X,\n  domain: x.example }',
  'tab indent': 'topics:\n\t- AI',
  'merge key': '<<: {quality: 5}',
  'tagged value': 'quality: !!str 64',
  'document end marker': '...',
  'key without space': 'quality:64',
  'comment after quoted title': 'title: "A title" # c',
  'secured quoted': 'secured: "abc+/def==" # c',
  'secured plain with a colon': 'secured: abc: def',
  'secured unclosed quote': 'secured: "abc',
  'secured block scalar': 'secured: |\n  abc\n  def',
  'no-break space before a value': 'quality: \u00a064',
  'no-break space after a value': 'topics: []\u00a0',
  'blanks after a value': 'webUrl: "https://e.example/story"  \t',
  'blanks after an empty flow list': 'topics: [] \t',
};

/** A real article to put each trick into: the fields it replaces are removed first. */
const BASE = articleText({ webUrl: 'https://e.example/story', publishedDateTime: '2026-11-21T08:00:00Z', quality: 70, published: true, topics: ['AI', 'Robots'] });

function withTrick(line: string): string {
  const keys = new Set([...line.matchAll(/^([A-Za-z<]+):/gm)].map((m) => m[1]));
  const lines = BASE.split('\n');
  const out: string[] = [];
  let skipping = false;
  for (const l of lines) {
    const k = /^([A-Za-z]+):/.exec(l)?.[1];
    if (k) skipping = keys.has(k);
    else if (!/^\s|^-/.test(l)) skipping = false;
    if (!skipping) out.push(l);
  }
  return out.join('\n').replace(/^---\n/, `---\n${line}\n`);
}

test('tricky YAML: the scan either declines or agrees with the full parser', () => {
  const outcome: Record<string, string> = {};
  for (const [name, line] of Object.entries(TRICKS)) outcome[name] = compare(withTrick(line), `${name}.md`);
  // Shapes that must never be read by the scan (they are where a line-based reader goes wrong).
  for (const name of ['hidden key in a quoted title', 'hidden key in a single-quoted title', 'topics alias', 'duplicate key', 'duplicate topics', 'flow map over lines', 'url multi-line plain', 'url anchor', 'tagged value']) {
    assert.notEqual(outcome[name], 'agree', `${name} must go to the full parser`);
  }
  // The shapes real files use are read by the scan.
  for (const name of ['published false', 'date quoted', 'date offset', 'url entity', 'url plain hash', 'topics column 0', 'topics quoted', 'topics comment', 'topics entity', 'topics empty flow', 'block scalar with key-like lines', 'comment after quoted title', 'duplicate other key', 'key with digits and dashes', 'key then tab', 'secured quoted', 'secured plain with a colon', 'blanks after a value']) {
    assert.equal(outcome[name], 'agree', `${name} should be scanned`);
  }
});

test('mutations of real files: every one is declined, broken, or read exactly', { skip: haveCorpus ? false : `../shared/corpus is absent (${CORPUS})` }, () => {
  const files = mdFiles(realDir).filter((_, i) => i % 7 === 0);
  // Deterministic edits at every line of a file: the scan must never disagree with the full parse.
  const edits: ((l: string) => string)[] = [
    (l) => `${l} # note`,
    (l) => l.replace(/: /, ':  '),
    (l) => l.replace(/: "/, ': \'').replace(/"$/, "'"),
    (l) => l.replace(/^(\s*)/, '$1 '),
    (l) => l.replace(/^ +/, ''),
    (l) => l.replace(/"$/, ''),
    (l) => `${l}\n`,
    (l) => l.replace(/^([a-zA-Z]+):/, '$1 :'),
  ];
  let cases = 0;
  for (const f of files) {
    const lines = readFileSync(f, 'utf8').replace(/\r\n/g, '\n').split('\n');
    const end = lines.indexOf('---', 1);
    for (let i = 1; i < end; i += 3) {
      for (const edit of edits) {
        const copy = [...lines];
        copy[i] = edit(copy[i]!);
        compare(copy.join('\n'), `${path.basename(f)}:${i}`);
        cases++;
      }
    }
  }
  assert.ok(cases > 1000, `${cases} cases`);
});

test('lazy load: a broken file is found when selection is about to use it, reported, replaced, and remembered', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const content = path.join(dir, 'content');
  const cacheFile = path.join(dir, 'cache', 'content.tsv');
  writeFiles(content, {
    // Newest in AI, scans fine, but its images list is not a list: the full parse refuses it.
    'broken-new.md': articleText({ webUrl: 'https://e.example/broken', publishedDateTime: '2026-11-21T10:00:00Z', topics: ['AI'], images: 'not a list' }),
    'good.md': articleText({ webUrl: 'https://e.example/good', publishedDateTime: '2026-11-21T09:00:00Z', topics: ['AI'] }),
    // Broken too, but never used by a feed (below the quality bar).
    'broken-low.md': articleText({ webUrl: 'https://e.example/low', quality: 5, topics: ['AI'], type: 'podcast' }),
  });
  const rules = { minQuality: 50, missingQuality: 50 as const, itemsPerFeed: 1, maxAgeDays: 0 };
  const reported: string[] = [];
  const load = await loadContent(content, { cacheFile, lazy: true, onIssue: (i) => reported.push(`${i.file} ${i.field}`) });
  assert.equal(load.articles.length, 3);
  assert.equal(load.scannedOnly(), 3, 'nothing parsed in full yet');
  const sel = select(load.articles, resolveTopics([], load.articles), rules, NOW);
  assert.deepEqual(sel.topics[0]!.articles.map((a) => a.id), ['https://e.example/good'], 'the broken newest article is replaced by the next one');
  assert.deepEqual(reported, ['broken-new.md images']);
  assert.equal(load.scannedOnly(), 1, 'the unused broken file is still only scanned');
  load.save();

  // The next load knows from the cache: the broken file is a skipped file, the good one is parsed already.
  const again = await loadContent(content, { cacheFile, lazy: true });
  assert.equal(again.parsed, 0);
  assert.deepEqual(again.issues.map((i) => i.file), ['broken-new.md']);
  assert.equal(again.scannedOnly(), 1);
  assert.equal(again.articles.find((a) => a.id === 'https://e.example/good')!.title, 'Cameras learn to read rail tracks');

  // A full load (what `check` does) parses the rest and reports both.
  const full = await loadContent(content, { cacheFile });
  assert.deepEqual(full.issues.map((i) => i.file).sort(), ['broken-low.md', 'broken-new.md']);
  assert.equal(full.scannedOnly(), 0);

  // The CLI: build reports the file it could not use; check reports every broken file.
  const build = runCli(['--content', content, '--out', path.join(dir, 'out'), 'build'], { cwd: dir, env: { GAZETTE_NOW: NOW.toISOString() } });
  assert.equal(build.code, 0, build.stderr);
  assert.match(build.stderr, /skipped broken-new\.md: images/);
  assert.doesNotMatch(build.stderr, /broken-low/);
  const check = runCli(['--content', content, 'check'], { cwd: dir, env: { GAZETTE_NOW: NOW.toISOString() } });
  assert.match(check.stderr, /skipped broken-low\.md: type/);
  assert.match(check.stderr, /skipped broken-new\.md: images/);
  const strict = runCli(['--content', content, '--out', path.join(dir, 'out'), 'build', '--strict'], { cwd: dir, env: { GAZETTE_NOW: NOW.toISOString() } });
  assert.equal(strict.code, 1, 'build --strict parses everything and fails on the unused broken file too');
  assert.match(strict.stderr, /skipped broken-low\.md: type/);
});

test('lazy load: a file edited between the scan and its use is left out of that run, and the next run reads it', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const content = path.join(dir, 'content');
  const cacheFile = path.join(dir, 'cache', 'content.tsv');
  writeFiles(content, {
    'a.md': articleText({ webUrl: 'https://e.example/a', publishedDateTime: '2026-11-21T10:00:00Z', topics: ['AI'] }),
    'b.md': articleText({ webUrl: 'https://e.example/b', publishedDateTime: '2026-11-21T09:00:00Z', topics: ['AI'] }),
  });
  const rules = { minQuality: 50, missingQuality: 50 as const, itemsPerFeed: 1, maxAgeDays: 0 };
  const reported: string[] = [];
  const load = await loadContent(content, { cacheFile, lazy: true, onIssue: (i) => reported.push(`${i.file}: ${i.reason}`) });
  // The editor moves a.md to another URL while the build runs.
  writeFiles(content, { 'a.md': articleText({ webUrl: 'https://e.example/moved', publishedDateTime: '2026-11-21T10:00:00Z', topics: ['AI'], title: 'Longer title than before' }) });
  const sel = select(load.articles, resolveTopics([], load.articles), rules, NOW);
  assert.deepEqual(sel.topics[0]!.articles.map((a) => a.id), ['https://e.example/b']);
  assert.deepEqual(reported, ['a.md: changed while it was being read; left out of this run']);
  load.save();
  const next = await loadContent(content, { cacheFile, lazy: true });
  assert.equal(next.parsed, 1, 'the edited file is read again');
  assert.ok(next.articles.some((a) => a.id === 'https://e.example/moved'));
});

test('the cache keeps file names with quotes, backslashes and non-ASCII letters', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const content = path.join(dir, 'content');
  const cacheFile = path.join(dir, 'cache', 'content.tsv');
  const names = ['plain.md', 'a "quoted" name.md', 'back\\slash.md', 'grüße/été.md', 'tab\there.md'];
  writeFiles(content, Object.fromEntries(names.map((n, i) => [n, articleText({ webUrl: `https://e.example/${i}` })])));
  const first = await loadContent(content, { cacheFile, lazy: true });
  first.save();
  const again = await loadContent(content, { cacheFile, lazy: true });
  assert.equal(again.parsed, 0, 'every entry came back from the cache');
  assert.deepEqual(again.articles.map((a) => a.file).sort(), [...names].sort());
});
