/**
 * `gazette backup`: a copy of the state database made while another process writes to it holds every committed
 * row and nothing uncommitted, checks out, and works as a state database again; it never overwrites a file, and
 * never creates the database it was asked to copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openDb } from '../src/store/db.js';
import { checkBackup } from '../src/store/backup.js';
import { runCli, tempDir } from './helpers.js';

test('a backup taken while another process writes holds what was committed, checks out, and opens as a state database', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const dbPath = path.join(dir, 'data', 'gazette.db');
  const db = openDb(dbPath);
  const add = db.prepare("INSERT INTO subscribers (email, status, created_at, updated_at) VALUES (?, 'active', '2026-11-22T12:00:00Z', '2026-11-22T12:00:00Z')");
  db.transaction(() => {
    for (let i = 0; i < 500; i++) add.run(`reader${i}@example.com`);
  })();
  // Committed but still in the -wal file (no checkpoint), and a write transaction left open: a file copy of
  // gazette.db alone would miss the first; the backup must hold it and nothing of the second.
  assert.ok(existsSync(`${dbPath}-wal`));
  db.prepare('BEGIN IMMEDIATE').run();
  add.run('uncommitted@example.com');
  try {
    // As the README has it: into a folder that does not exist yet.
    const r = runCli(['--db', dbPath, 'backup', 'backups/backup.db'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /backup: .*gazette\.db → backups\/backup\.db \(\d+\.\d MB; 500 subscribers, 0 deliveries; integrity checked\)/);
  } finally {
    db.prepare('ROLLBACK').run();
    db.close();
  }
  const backup = path.join(dir, 'backups', 'backup.db');
  assert.deepEqual(checkBackup(backup), { integrity: 'ok', subscribers: 500, deliveries: 0 });
  // No temporary file left, and the copy is a database Gazette opens (and migrates, were it older).
  assert.deepEqual(readdirSync(path.dirname(backup)).filter((f) => f.endsWith('.tmp')), []);
  const restored = path.join(dir, 'restored.db');
  copyFileSync(backup, restored);
  const again = openDb(restored);
  try {
    assert.equal((again.prepare("SELECT count(*) AS n FROM subscribers WHERE email LIKE 'reader%'").get() as { n: number }).n, 500);
  } finally {
    again.close();
  }
});

test('a backup never overwrites a file, and a missing database is an error, not a new empty one', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const dbPath = path.join(dir, 'state.db');
  openDb(dbPath).close();
  const target = path.join(dir, 'keep.db');
  copyFileSync(dbPath, target);
  const before = readFileSync(target);
  const r = runCli(['--db', dbPath, 'backup', target], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /keep\.db exists: name a new file \(a backup never overwrites one\)/);
  assert.deepEqual(readFileSync(target), before);

  const missing = path.join(dir, 'nowhere', 'gazette.db');
  const m = runCli(['--db', missing, 'backup', path.join(dir, 'b.db')], { cwd: dir });
  assert.equal(m.code, 1);
  assert.match(m.stderr, /no state database at .*nowhere\/gazette\.db: nothing to back up/);
  assert.equal(existsSync(missing), false);
  assert.equal(existsSync(path.join(dir, 'b.db')), false);
});
