/**
 * Backups of the state database: subscribers and the send log that makes delivery exactly-once, which a plain
 * file copy of a database in use can catch half-written (its newest pages still in the -wal file).
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DB } from './db.js';
import { StoreError } from '../errors.js';

export interface BackupCheck {
  /** What `PRAGMA integrity_check` says of the copy: "ok", or its first problem. */
  integrity: string;
  subscribers: number;
  deliveries: number;
}

/**
 * Writes a consistent copy of `db` to `target` — what one read transaction sees, so a service writing meanwhile
 * neither waits nor leaves half its write in the copy (`VACUUM INTO`, which also drops free pages) — and makes
 * it durable; `target` appears only once complete. Its folder is made when missing.
 */
export function backupDb(db: DB, target: string): void {
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(path.resolve(target)), { recursive: true }); // (backups/ on a first backup)
    db.prepare('VACUUM INTO ?').run(tmp);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new StoreError(`cannot write the backup ${target}`, { cause: err });
  }
}

/** Opens a backup read-only and checks it page by page; what it holds. */
export function checkBackup(file: string): BackupCheck {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      integrity: String(db.pragma('integrity_check', { simple: true })),
      subscribers: (db.prepare('SELECT count(*) AS n FROM subscribers').get() as { n: number }).n,
      deliveries: (db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n,
    };
  } finally {
    db.close();
  }
}
