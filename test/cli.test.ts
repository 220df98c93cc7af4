import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import net from 'node:net';
import { articleText, NOW, ROOT, runCli, tempDir, writeFiles } from './helpers.js';
import { resolveContext, loadAndSelect, type Context } from '../src/commands/context.js';
import { buildSite } from '../src/commands/site.js';
import { parseConfig } from '../src/config/load.js';
import { codeVersion, dependenciesVersion } from '../src/code-version.js';
import type { Command } from 'commander';
import { makeProgram } from '../src/cli.js';

describe('gazette CLI', () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  writeFiles(dir, {
    'content/good.md': articleText({ webUrl: 'https://e.com/good' }),
    'content/bad.md': articleText({ publishedDateTime: 'soon' }),
    'content/other/ok.md': articleText({ webUrl: 'https://e.com/ok' }),
  });

  test('check reports every skipped file by name and reason, and exits 0', () => {
    const r = runCli(['check', '--content', 'content'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped bad\.md: publishedDateTime: not an ISO 8601 date/);
    assert.match(r.stdout, /3 files in content: 2 loaded, 1 skipped/);
  });
  test('--strict turns a skipped file into exit 1', () => {
    const r = runCli(['check', '--strict', '--content', 'content'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--strict: 1 file\(s\) skipped/);
  });
  test('failures print one clear line, never a stack trace', () => {
    const r = runCli(['check', '--content', 'nowhere'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read the content folder nowhere/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const bad = runCli(['check', '--config', 'missing.yaml'], { cwd: dir });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /cannot read config file missing\.yaml/);
  });
  test('a cache folder that cannot be written is a warning: check and build go on without it', () => {
    // (A folder below a file: not writable even for root, which CI may be.)
    writeFiles(dir, { 'blocked': 'a file', 'blocked.yaml': 'paths:\n  cache: blocked/cache\n' });
    const check = runCli(['--config', 'blocked.yaml', 'check', '--content', 'content'], { cwd: dir });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /cannot write the cache file blocked\/cache\/content-[0-9a-f]+\.tsv \(ENOTDIR[^)]*\): going on without it/);
    assert.match(check.stdout, /3 files in content: 2 loaded, 1 skipped/);
    for (let i = 0; i < 2; i++) {
      const build = runCli(['--config', 'blocked.yaml', '--content', 'content', '--out', 'out-blocked', 'build'], { cwd: dir, env: { GAZETTE_NOW: NOW.toISOString() } });
      assert.equal(build.code, 0, build.stderr);
      assert.match(build.stderr, /cannot write the cache file .*going on without it/);
      assert.ok(readFileSync(path.join(dir, 'out-blocked', 'all', 'rss.xml'), 'utf8').includes('https://e.com/good'));
    }
  });
  test('unknown commands and flags are usage errors (exit 2)', () => {
    assert.equal(runCli(['frobnicate'], { cwd: dir }).code, 2);
    assert.equal(runCli(['check', '--no-such-flag'], { cwd: dir }).code, 2);
  });
  test('a bad value for a flag is a usage error too (exit 2), with one line that names it', () => {
    for (const [args, said] of [
      [['send', '--all', '--since', 'yesterday'], /^gazette: --since: not a date: yesterday$/m],
      [['send', '--all', '--since', '2026-02-30'], /^gazette: --since: not a date: 2026-02-30$/m],
      [['send'], /say which digests to send/],
      [['subscribers', 'list', '--status', 'gone'], /--status must be one of/],
      [['subscribers', 'add', 'not-an-address'], /not a valid email address/],
      [['serve', '--port', '99999'], /^gazette: --port: not a port number \(0 to 65535\): "99999"$/m],
      [['serve', '--port', '80a'], /--port: not a port number/],
    ] as const) {
      const r = runCli(['--db', path.join(dir, 'usage.db'), ...args], { cwd: dir });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, said);
      assert.doesNotMatch(r.stderr, /--verbose|\n.*\n.*\n/, 'one line, no stack trace');
    }
  });
  test('a port already in use is a clear failure', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    after(() => taken.close());
    const { port } = taken.address() as net.AddressInfo;
    const r = runCli(['--db', path.join(dir, 'port.db'), '--content', 'content', '--out', 'port-out', 'serve', '--port', String(port)], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `gazette: 127.0.0.1:${port} is already in use (another gazette start or serve?): stop it, or choose another with --port: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
  });
  test('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = runCli(['--version'], { cwd: dir });
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), version);
  });
});

describe('the bundled CLI and the sources', () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  test('npm test built the bundle that bin/gazette.cjs runs', () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'bundle', 'cli.cjs')));
    assert.ok(existsSync(path.join(ROOT, 'dist', 'bundle', 'worker.cjs')), 'the content worker is bundled beside the CLI');
  });

  test("a bundle runs with V8's code cache, which never outlives the bundle", () => {
    // A bundle of its own in a temp folder (its cache goes beside it), run as bin/gazette.cjs runs the CLI.
    const bundle = path.join(dir, 'bundle', 'b.cjs');
    const source = (word: string) => `const util = require('node:util');\nfunction greet(w) { return util.format('%s from %s', w, require('node:path').basename(__filename)); }\nconsole.log(greet('${word}'), typeof module.exports);\n`;
    writeFiles(dir, { 'bundle/b.cjs': source('hello') });
    const run = () => {
      const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(ROOT, 'bin', 'run-bundle.cjs'))}).runBundle(${JSON.stringify(bundle)}, 'test')`], {
        encoding: 'utf8',
        env: { ...process.env, GAZETTE_DEBUG_CODE_CACHE: '1' },
      });
      assert.equal(r.status, 0, r.stderr);
      return { out: r.stdout.trim(), cache: /code cache test: (\w+)/.exec(r.stderr)?.[1] };
    };
    const cacheDir = path.join(dir, 'bundle', 'v8-cache');
    assert.deepEqual(run(), { out: 'hello from b.cjs object', cache: 'none' });
    assert.equal(readdirSync(cacheDir).length, 1, 'the first run saved its compiled code');
    assert.deepEqual(run(), { out: 'hello from b.cjs object', cache: 'used' });
    // The same length, other text, a later mtime: V8 alone would take the old cache for it.
    const [first] = readdirSync(cacheDir);
    writeFileSync(bundle, source('howdy'));
    utimesSync(bundle, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(run(), { out: 'howdy from b.cjs object', cache: 'none' });
    const second = readdirSync(cacheDir).find((f) => f !== first)!;
    assert.ok(second, 'a cache of its own for the new bundle');
    // A damaged cache is rejected, the bundle still runs, and the cache is written again.
    writeFileSync(path.join(cacheDir, second), 'not a code cache');
    assert.deepEqual(run(), { out: 'howdy from b.cjs object', cache: 'rejected' });
    assert.notEqual(readFileSync(path.join(cacheDir, second), 'utf8'), 'not a code cache');
    assert.deepEqual(run(), { out: 'howdy from b.cjs object', cache: 'used' });
  });

  test('agree on the code version: caches written by one are used by the other', async () => {
    writeFiles(dir, {
      'content/a.md': articleText({ webUrl: 'https://e.com/a', topics: ['AI'] }),
      'content/b.md': articleText({ webUrl: 'https://e.com/b', topics: ['AI'] }),
      'gazette.yaml': `paths:\n  cache: ${JSON.stringify(path.join(dir, 'cache'))}\n`,
    });
    const cli = runCli(['--config', 'gazette.yaml', '--content', 'content', '--out', 'out', 'build'], { cwd: dir, env: { GAZETTE_NOW: NOW.toISOString() } });
    assert.equal(cli.code, 0, cli.stderr);
    const manifest = () => readdirSync(path.join(dir, 'cache')).filter((f) => f.startsWith('render-')).map((f) => readFileSync(path.join(dir, 'cache', f), 'utf8'));
    const before = manifest();
    assert.equal(before.length, 1);

    const base = await resolveContext({ content: path.join(dir, 'content'), out: path.join(dir, 'out') });
    const ctx: Context = { ...base, config: parseConfig({ paths: { cache: path.join(dir, 'cache') } }), now: () => NOW, log: () => {}, warn: () => {} };
    const loaded = await loadAndSelect(ctx);
    assert.equal(loaded.load.parsed, 0, 'the content cache the bundle wrote is valid for the sources');
    const stats = await buildSite(ctx, loaded);
    assert.equal(stats.written, 0);
    assert.deepEqual(manifest(), before, 'the feed renderer has the same identity in both');
  });

  test('the code version follows the sources', () => {
    const feeds = codeVersion(['render/feeds']);
    assert.match(feeds, /^[0-9a-f]{16}$/);
    assert.equal(codeVersion(['render/feeds']), feeds);
    assert.notEqual(codeVersion(['render/feeds', 'render/pages']), feeds);
    assert.throws(() => codeVersion(['render/no-such-module']), /no-such-module/);
    assert.match(dependenciesVersion(), /^[0-9a-f]{16}$/, 'the installed dependencies are part of it (npm keeps node_modules/.package-lock.json)');
  });
});

/** The README's command list, the CLI's commands and options, one each way: the README is part of the product. */
describe('the README says what the CLI does', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const program = makeProgram();
  const longOptions = (cmd: Command) => cmd.options.map((o) => o.long!).filter((l) => l !== '--version').sort();
  /** Every command without subcommands, by its words (`subscribers add`). */
  const leaves = (cmd: Command, words: string[] = []): [string, Command][] =>
    cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => (c.commands.length ? leaves(c, [...words, c.name()]) : [[[...words, c.name()].join(' '), c] as [string, Command]]));

  /** `npx gazette <words> <usage>` lines of the Commands block: the command's words and the options its usage names. */
  function documented(): Map<string, string[]> {
    const block = /## Commands\n+```\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'README.md has a ## Commands section with a code block');
    const out = new Map<string, string[]>();
    for (const line of block.split('\n')) {
      const m = /^npx gazette ((?:[a-z]+ )*[a-z]*)(.*?)(?: {2,}|$)/.exec(line);
      if (!m) continue;
      const words = m[1]!.trim();
      assert.ok(!out.has(words), `README lists \`gazette ${words}\` once`);
      out.set(words, [...m[2]!.matchAll(/--[a-z][a-z-]*/g)].map((o) => o[0]).sort());
    }
    return out;
  }

  test('each command with exactly the options it takes, and no command or option the CLI lacks', () => {
    const doc = documented();
    const cli = new Map(leaves(program).map(([words, c]) => [words, longOptions(c)]));
    for (const [words, options] of cli) assert.deepEqual(doc.get(words), options, `README's line for \`gazette ${words}\``);
    const extra = [...doc.keys()].filter((w) => w !== '' && !cli.has(w));
    assert.deepEqual(extra, [], 'commands the README lists and the CLI does not have');
    assert.deepEqual(doc.get(''), ['--version'], 'the line for `gazette --version`');
  });

  test('the global options', () => {
    const line = /^Global options: ([\s\S]*?\))\.\s/m.exec(readme)?.[1]; // (the sentence)
    assert.ok(line, 'README.md names the global options');
    assert.deepEqual([...new Set([...line.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]!))].sort(), longOptions(program));
  });

  test('every command has --help, and its first line is the usage', () => {
    for (const [words] of [['', program] as const, ...leaves(program), ['digest'], ['subscribers']]) {
      const r = runCli([...words.split(' ').filter(Boolean), '--help'], { cwd: ROOT });
      assert.equal(r.code, 0, `${words} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: gazette ${words}`.trimEnd()), `${words} --help`);
    }
  });
});
