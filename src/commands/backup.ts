/** `gazette backup <file>`: a consistent, checked copy of the state database, safe while Gazette runs. */
import { existsSync, statSync } from 'node:fs';
import type { Context } from './context.js';
import { openState } from './mailer.js';
import { backupDb, checkBackup } from '../store/backup.js';
import { StoreError, UsageError } from '../errors.js';

export function backupCommand(ctx: Context, file: string): void {
  if (!existsSync(ctx.dbPath)) throw new StoreError(`no state database at ${ctx.dbPath}: nothing to back up (--db names another)`);
  if (existsSync(file)) throw new UsageError(`${file} exists: name a new file (a backup never overwrites one)`);
  const db = openState(ctx);
  try {
    backupDb(db, file);
  } finally {
    db.close();
  }
  const check = checkBackup(file);
  if (check.integrity !== 'ok') throw new StoreError(`the backup ${file} does not check out: ${check.integrity}`);
  const mb = (statSync(file).size / 1048576).toFixed(1);
  ctx.log(`backup: ${ctx.dbPath} → ${file} (${mb} MB; ${check.subscribers} subscribers, ${check.deliveries} deliveries; integrity checked)`);
}
