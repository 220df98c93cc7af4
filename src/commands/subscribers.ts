/** `gazette subscribers add|remove|list|import|export`. */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { Context } from './context.js';
import { openState } from './mailer.js';
import { listSubscribers, normalizeEmail, parseTopics, removeSubscriber, upsertSubscriber, type SubscriberStatus } from '../store/subscribers.js';
import { GazetteError, UsageError } from '../errors.js';

const STATUSES: SubscriberStatus[] = ['pending', 'active', 'unsubscribed', 'bounced'];

function withDb<T>(ctx: Context, fn: (db: ReturnType<typeof openState>) => T): T {
  const db = openState(ctx);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function addSubscriber(ctx: Context, email: string, opts: { topics?: string; name?: string }): void {
  const normalized = normalizeEmail(email);
  if (!normalized) throw new UsageError(`not a valid email address: "${email}"`);
  const topics = parseTopics(opts.topics);
  withDb(ctx, (db) => {
    const { created } = upsertSubscriber(db, { email: normalized, name: opts.name, topics, status: 'active' }, ctx.now());
    ctx.log(`${created ? 'added' : 'updated'} ${normalized} (${topics.join(', ')})`);
  });
}

export function removeSubscriberCommand(ctx: Context, email: string): void {
  withDb(ctx, (db) => {
    if (!removeSubscriber(db, email)) throw new GazetteError(`no subscriber ${email}`);
    ctx.log(`removed ${email.trim().toLowerCase()} and their send history`);
  });
}

export function listCommand(ctx: Context, opts: { status?: string }): void {
  if (opts.status && !STATUSES.includes(opts.status as SubscriberStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  withDb(ctx, (db) => {
    const rows = listSubscribers(db, { status: opts.status as SubscriberStatus | undefined });
    for (const r of rows) ctx.log(`${r.email.padEnd(36)} ${r.status.padEnd(12)} ${r.topics.join(',')}${r.name ? `  (${r.name})` : ''}`);
    ctx.log(`${rows.length} subscriber(s)`);
  });
}

export function exportCommand(ctx: Context): void {
  withDb(ctx, (db) => {
    const rows = listSubscribers(db).map((r) => ({ email: r.email, name: r.name, topics: r.topics.join(','), status: r.status, created_at: r.created_at }));
    process.stdout.write(stringify(rows, { header: true, columns: ['email', 'name', 'topics', 'status', 'created_at'] }));
  });
}

/**
 * The separator the header row uses: a comma, or what spreadsheets in many locales write instead — a semicolon
 * — or a tab; the one found most often in the header (column names hold none of them).
 */
function delimiterOf(text: string): string {
  const end = text.search(/\r?\n|$/);
  const header = text.slice(0, end);
  const count = (d: string) => header.split(d).length - 1;
  return [';', '\t'].reduce((best, d) => (count(d) > count(best) ? d : best), ',');
}

/**
 * CSV with a header row (separated by commas, semicolons or tabs: `delimiterOf`): `email` required; `name`,
 * `topics` (comma/semicolon separated slugs) and `status` optional. Every bad row is reported by line number;
 * the good ones are imported.
 */
export async function importCommand(ctx: Context, file: string): Promise<{ imported: number; rejected: number }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GazetteError(`cannot read ${file}`, { cause: err });
  }
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter: delimiterOf(text), columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true, info: true, relax_column_count: true });
  } catch (err) {
    throw new GazetteError(`${file} is not valid CSV`, { cause: err });
  }
  if (records.length > 0 && !('email' in records[0]!.record)) throw new GazetteError(`${file}: the header row has no "email" column`);
  let imported = 0;
  let rejected = 0;
  withDb(ctx, (db) => {
    const seen = new Set<string>();
    db.transaction(() => {
      for (const { record, info } of records) {
        const line = info.lines;
        const reject = (why: string) => {
          rejected++;
          ctx.warn(`${file}:${line}: rejected: ${why}`);
        };
        const email = normalizeEmail(record.email ?? '');
        if (!email) { reject(`not a valid email address: "${record.email ?? ''}"`); continue; }
        if (seen.has(email)) { reject(`duplicate of an earlier row: ${email}`); continue; }
        const status = (record.status || 'active').toLowerCase() as SubscriberStatus;
        if (!STATUSES.includes(status)) { reject(`status must be one of ${STATUSES.join(', ')}`); continue; }
        let topics: string[];
        try {
          topics = parseTopics(record.topics);
        } catch (err) {
          reject((err as Error).message);
          continue;
        }
        seen.add(email);
        upsertSubscriber(db, { email, name: record.name || undefined, topics, status }, ctx.now());
        imported++;
      }
    })();
  });
  ctx.log(`imported ${imported}, rejected ${rejected}`);
  return { imported, rejected };
}
