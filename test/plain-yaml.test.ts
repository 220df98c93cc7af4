/**
 * The plain front-matter reader (src/content/plain-yaml.ts) against js-yaml: whenever it answers, the answer is
 * exactly js-yaml's (core schema, duplicate keys allowed). Checked on every real article and on generated
 * documents made of the shapes a hand-written YAML reader gets wrong; and it must answer for the real ones, or
 * the fast path has quietly become the slow one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parsePlainYaml } from '../src/content/plain-yaml.js';
import { readSource } from '../src/content/source.js';
import { parseSource } from '../src/content/parse.js';
import { loadYaml } from '../src/yaml.js';
import { CORPUS, ROOT } from './helpers.js';

const jsYaml = (text: string): unknown => loadYaml(text, { maxAliases: 50, json: true });

/** 'same': read and equal to js-yaml's result; 'left': left to js-yaml. Fails when the two differ. */
function compare(text: string): 'same' | 'left' {
  const plain = parsePlainYaml(text);
  if (plain === undefined) return 'left';
  let expected: unknown;
  try {
    expected = jsYaml(text);
  } catch (err) {
    assert.fail(`read a text js-yaml refuses (${(err as Error).message.split('\n')[0]}):\n${text}`);
  }
  assert.deepStrictEqual(plain, expected, `differs from js-yaml:\n${text}`);
  return 'same';
}

/** The YAML gray-matter hands its engine for a file's text. */
function frontMatter(file: string): string {
  const r = readSource(file, readFileSync(file));
  assert.ok(r.ok, file);
  const t = r.source.text;
  const close = t.indexOf('\n---', 3);
  return t.slice(3, close < 0 ? t.length : close);
}

function mdFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const haveCorpus = existsSync(path.join(CORPUS, 'real'));

test('every real article is read, exactly as js-yaml reads it', { skip: haveCorpus ? false : `../shared/corpus is absent (${CORPUS}): the real-file check needs it` }, () => {
  const files = [...mdFiles(path.join(CORPUS, 'real')), ...mdFiles(path.join(CORPUS, 'seeds'))];
  const left = files.filter((f) => compare(frontMatter(f)) === 'left');
  assert.deepEqual(left, [], 'real articles left to js-yaml');
});

test('the sample content is read exactly, and whole articles come out as through gray-matter and js-yaml', () => {
  for (const f of mdFiles(path.join(ROOT, 'content'))) {
    assert.equal(compare(frontMatter(f)), 'same', f);
    const text = readSource(f, readFileSync(f));
    assert.ok(text.ok);
    // The same file with a first line gray-matter reads alike but this reader does not take (`--- ` with a blank).
    const viaLibraries = parseSource(f, text.source.text.replace(/^---\n/, '--- \n'));
    assert.deepStrictEqual(parseSource(f, text.source.text), viaLibraries, f);
  }
});

/** A seeded generator, so a failure names a document that can be made again. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Plain scalars of every kind the core schema tells apart, and ones that are not plain scalars at all. */
const PLAIN = [
  'news', 'video', 'Power Apps', 'AI in Robotics', 'null', 'Null', 'NULL', 'nULL', '~', 'true', 'True', 'TRUE', 'tRUE',
  'false', 'False', 'FALSE', 'yes', 'no', 'on', 'off', 'y', 'n', '0', '-0', '+0', '7', '-1', '+1', '012', '08', '0x1F',
  '0X1F', '0o17', '0b101', '0b', '0x', '1_000', '9007199254740993', '123456789012345678901234567890', '1.5', '-1.5',
  '.5', '5.', '1e3', '1E3', '1.0e+3', '.inf', '-.inf', '+.Inf', '.NaN', '.nan', 'NaN', 'inf', 'Infinity',
  '2019-08-19T21:00:10Z', '2021-06-09', '12:30', '1:2', 'a: b', 'a:b', 'a:', 'a #b', 'a#b', 'C# and F#', '#c', '-x',
  '- x', '-', '?x', '? x', ':x', ': x', '[a]', 'a [b]', '{a}', 'a {b}', 'a, b', ',a', '&a', '*a', '!a', '!!str a',
  '|', '>', '%a', '@a', '`a', 'a \'b\' c', 'a "b" c', 'http://x.example/#y', 'https://x.example/a?b=c&d=e', '50%',
  'x:y', 'emoji \u{1F600} ok', 'caf\u00e9', '\u2014 dash', 'a  b', 'é', '...', '---', 'a ...', '<<', '=', 'a\u00a0b',
];
/** Double-quoted scalar bodies (between the quotes), with escapes valid and not. */
const DOUBLE = [
  'Microsoft Power Apps | 2019', '', ' ', 'say \\"hi\\"', 'a\\nb', 'a\\rb', 'a\\tb', 'a\\\\b', 'a\\/b', 'a\\0b', 'a\\ab',
  'a\\eb', 'a\\ b', 'a\\Nb', 'a\\_b', 'a\\Lb', 'a\\Pb', '\\x41', '\\x4', '\\xZZ', '\\u00e9', '\\u00E9', '\\uD83D\\uDE00',
  '\\uD83D', '\\u12', '\\U0001F600', '\\q', 'ends\\', 'a #b', 'a: b', "it's", '<iframe src=\\"x\\"></iframe>', '\\"',
  'unclosed " inside',
];
const SINGLE = ['plain', '', "it''s", "''", "a ''b'' c", 'a "b" c', 'a #b', 'a: b', "odd ' inside"];
const KEYS = ['title', 'quality', 'publishedDateTime', 'k_1', '_x', 'a', 'null', 'True', 'FALSE', '__proto__', 'constructor', 'toString', '1', 'a-b', 'a b', '"q"'];
const AFTER = ['', '', '', ' ', '  ', ' # note', '#x', ' x'];
const ODD_LINES = ['# a comment', '  # indented comment', '\t', 'key:\tx', 'key: x\r', '...', '%YAML 1.2', '? k', ': v', '- top', '   ', ''];
const ODD_CHARS = ['\u0001', '\u007f', '\u0085', '\u2028', '\ufeff', '\ud800', '\udc00', '\u{1F600}', '\u00a0'];

function generate(rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const scalar = (): string => {
    const r = rnd();
    const v = r < 0.55 ? pick(PLAIN) : r < 0.85 ? `"${pick(DOUBLE)}"` : `'${pick(SINGLE)}'`;
    return v + (rnd() < 0.15 ? pick(AFTER) : '');
  };
  const lines: string[] = [];
  const block = (indent: number, depth: number): void => {
    const pad = ' '.repeat(indent);
    const n = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < n; i++) {
      const key = rnd() < 0.9 ? pick(KEYS.slice(0, 6)) : pick(KEYS);
      const r = rnd();
      if (depth >= 3 || r < 0.55) lines.push(`${pad}${key}: ${scalar()}`);
      else if (r < 0.62) lines.push(`${pad}${key}:${rnd() < 0.5 ? '' : ' '}`); // null
      else if (r < 0.75) {
        lines.push(`${pad}${key}:`);
        block(indent + (rnd() < 0.9 ? 2 : pick([1, 3, 4])), depth + 1);
      } else {
        lines.push(`${pad}${key}:`);
        const dash = indent + (rnd() < 0.85 ? 2 : pick([0, 1, 4]));
        const items = 1 + Math.floor(rnd() * 3);
        for (let j = 0; j < items; j++) {
          const lead = `${' '.repeat(dash)}-${rnd() < 0.92 ? ' ' : pick(['', '  ', ' - '])}`;
          if (rnd() < 0.5) {
            lines.push(lead + scalar());
            // A line going on with the item, or a deeper item.
            if (rnd() < 0.04) lines.push(' '.repeat(dash + pick([1, 2, 4])) + pick([pick(PLAIN), `- ${pick(PLAIN)}`]));
          } else {
            const at = lines.length;
            block(dash + 2, depth + 1);
            lines[at] = lead + lines[at]!.trimStart();
          }
        }
      }
      if (rnd() < 0.05) lines.push(pick(['', '   ']));
      if (rnd() < 0.02) lines.push(pad + '  ' + pick(PLAIN)); // a continuation line
    }
  };
  block(0, 0);
  if (rnd() < 0.08) lines.splice(Math.floor(rnd() * lines.length), 0, pick(ODD_LINES));
  let text = '\n' + lines.join('\n');
  if (rnd() < 0.06) {
    const at = Math.floor(rnd() * text.length);
    text = text.slice(0, at) + pick(ODD_CHARS) + text.slice(at);
  }
  if (rnd() < 0.03) text = text.replace(/^\n/, '\n  ');
  return text;
}

test('generated documents: each is left to js-yaml or read exactly as js-yaml reads it', () => {
  const rnd = prng(20261130);
  const counts = { same: 0, left: 0 };
  for (let i = 0; i < 6000; i++) counts[compare(generate(rnd))]++;
  // Neither side may be empty: the generator must reach both the reader and its refusals.
  assert.ok(counts.same > 1000 && counts.left > 1000, JSON.stringify(counts));
});

test('shapes left to js-yaml, and ones read', () => {
  const left = [
    '\ntopics:\n- AI', // a sequence at its key's indent
    '\ntitle: a\n  b', // a plain scalar going on
    '\ntitle: "a\n  b"', // a quoted one
    '\n__proto__: x',
    '\nTrue: x',
    '\n# comment\ntitle: x',
    '\ntitle: x # note',
    '\ntags: [a, b]',
    '\nx: &a 1\ny: *a',
    '\ntext: |\n  block',
    '\n  title: x', // indented as a whole
    '\n', // empty
    '\nx: "\\U0001F600"',
  ];
  for (const t of left) assert.equal(parsePlainYaml(t), undefined, JSON.stringify(t));
  assert.deepStrictEqual(parsePlainYaml('\na: 012\nb: 0x10\nc: ~\nd: True\ne: "x\\u00e9\\"y"\nf: \'it\'\'s\'\ng: 2019-08-19T21:00:10Z\nh:\ni:\n  - x\n  - k: 1\n    l:\n      m: n\na: last'), {
    a: 'last', b: 16, c: null, d: true, e: 'x\u00e9"y', f: "it's", g: '2019-08-19T21:00:10Z', h: null, i: ['x', { k: 1, l: { m: 'n' } }],
  });
});
