import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { articleText, runCli, tempDir, writeFiles } from './helpers.js';

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
  test('unknown commands and flags are usage errors (exit 2)', () => {
    assert.equal(runCli(['frobnicate'], { cwd: dir }).code, 2);
    assert.equal(runCli(['check', '--no-such-flag'], { cwd: dir }).code, 2);
  });
  test('every command has --help', () => {
    for (const cmd of [[], ['check'], ['build']]) {
      const r = runCli([...cmd, '--help'], { cwd: dir });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Usage: gazette/);
    }
  });
});
