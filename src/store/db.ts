/** The state database: SQLite through better-sqlite3, WAL mode, versioned migrations. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';

export type DB = Database.Database;

/** Each entry moves the schema one version up; never edit one that has shipped, add a new one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE subscribers (
     id            INTEGER PRIMARY KEY,
     email         TEXT NOT NULL UNIQUE,
     name          TEXT NOT NULL DEFAULT '',
     topics        TEXT NOT NULL DEFAULT '*',          -- comma-separated slugs, or * for every topic
     status        TEXT NOT NULL CHECK (status IN ('pending','active','unsubscribed','bounced')),
     created_at    TEXT NOT NULL,
     updated_at    TEXT NOT NULL,
     confirmed_at  TEXT,
     last_digest_at TEXT                                -- end of the window of the last digest sent
   );
   CREATE TABLE issues (
     id            INTEGER PRIMARY KEY,
     key           TEXT NOT NULL UNIQUE,                -- hash of day, topics and article ids
     topics        TEXT NOT NULL,
     period_start  TEXT NOT NULL,
     period_end    TEXT NOT NULL,
     article_ids   TEXT NOT NULL,                       -- JSON array
     content_hash  TEXT NOT NULL,
     digest        TEXT NOT NULL,                       -- the planned digest (JSON), so a resend is identical
     created_at    TEXT NOT NULL
   );
   CREATE TABLE deliveries (
     id            INTEGER PRIMARY KEY,
     issue_id      INTEGER NOT NULL REFERENCES issues(id),
     subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
     status        TEXT NOT NULL CHECK (status IN ('pending','sending','sent','deferred','failed')),
     attempts      INTEGER NOT NULL DEFAULT 0,
     last_error    TEXT,
     message_id    TEXT NOT NULL,
     created_at    TEXT NOT NULL,
     updated_at    TEXT NOT NULL,
     sent_at       TEXT,
     UNIQUE (issue_id, subscriber_id)
   );
   CREATE INDEX deliveries_open ON deliveries(status) WHERE status IN ('pending','sending','deferred');
   CREATE TABLE received (
     subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
     article_id    TEXT NOT NULL,
     delivery_id   INTEGER NOT NULL REFERENCES deliveries(id),
     PRIMARY KEY (subscriber_id, article_id)
   ) WITHOUT ROWID;
   CREATE TABLE schedule_runs (
     name          TEXT PRIMARY KEY,
     last_run_at   TEXT NOT NULL
   );
   CREATE TABLE settings (
     key           TEXT PRIMARY KEY,
     value         TEXT NOT NULL
   );
   CREATE TABLE locks (
     name          TEXT PRIMARY KEY,
     owner         TEXT NOT NULL,
     pid           INTEGER NOT NULL,
     heartbeat_at  TEXT NOT NULL
   );`,
  // Deliveries a refused SMTP login marked failed were never sent (before 2026-11-29 a 530/534/535/538 answer
  // counted as the recipient's permanent failure): deferred, the next send delivers them.
  `UPDATE deliveries SET status = 'deferred' WHERE status = 'failed' AND substr(last_error, 1, 3) IN ('530', '534', '535', '538');`,
  // Pruning old history (pruneHistory) finds a delivery's received rows by this index.
  `CREATE INDEX IF NOT EXISTS received_delivery ON received(delivery_id);`,
  // When the sign-up form last sent the address a confirmation link, while it is not confirmed, how many it sent in the
  // day before, and when the form added the address (requestConfirmation): what lets sign-ups never confirmed be
  // forgotten — only those the form added, never an address the editor imported —, an unsubscribed address keep its
  // status until it confirms, and an address get at most a few confirmation mails a day.
  `ALTER TABLE subscribers ADD COLUMN confirm_requested_at TEXT;
   ALTER TABLE subscribers ADD COLUMN confirm_count INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE subscribers ADD COLUMN signed_up_at TEXT;
   CREATE INDEX subscribers_confirm_requested ON subscribers(confirm_requested_at) WHERE confirm_requested_at IS NOT NULL;`,
  // The one digest schedule (digest.schedules, by name) a subscriber chose, e.g. weekly rather than daily; NULL: every
  // schedule, as before there was a choice.
  `ALTER TABLE subscribers ADD COLUMN schedule TEXT;`,
];

export function openDb(file: string): DB {
  let db: DB;
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new Database(file);
  } catch (err) {
    throw new StoreError(`cannot open the state database ${file}`, { cause: err });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    throw new StoreError(`cannot prepare the state database ${file}`, { cause: err });
  }
  return db;
}

export function migrate(db: DB): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new StoreError(`the database is at schema version ${current}, newer than this Gazette knows (${MIGRATIONS.length}); upgrade Gazette`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

/** A setting kept in the database, created with `make()` the first time it is asked for. */
export function setting(db: DB, key: string, make: () => string): string {
  db.prepare('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)').run(key, make());
  return (db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string }).value;
}
