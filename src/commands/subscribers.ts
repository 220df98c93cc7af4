/** `gazette subscribers add|unsubscribe|remove|show|list|import|export`. */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { Context } from './context.js';
import { openState } from './mailer.js';
import { deliveriesOf } from '../store/deliveries.js';
import { CONFIRM_MAX_AGE_SECONDS, getSubscriber, listSubscribers, normalizeEmail, parseTopics, removeSubscriber, setStatus, upsertSubscriber, type SubscriberRow, type SubscriberStatus } from '../store/subscribers.js';
import { GazetteError, UsageError } from '../errors.js';
import { countsText } from './status.js';

const STATUSES: SubscriberStatus[] = ['pending', 'active', 'unsubscribed', 'bounced'];

function withDb<T>(ctx: Context, fn: (db: ReturnType<typeof openState>) => T): T {
  const db = openState(ctx);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * A schedule given on the command line or in a file: a `digest.schedules` name; `*` (or empty, in a file) is
 * every schedule (null); undefined when not given. Throws (with the names) for any other.
 */
function scheduleChoice(ctx: Context, value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === '' || v === '*') return null;
  const names = ctx.config.digest.schedules.map((s) => s.name);
  if (!names.includes(v)) throw new UsageError(`no schedule "${value}": schedules are ${names.join(', ')} (or * for every one)`);
  return v;
}

/** How a subscriber's choice of schedule reads: "weekly", "every schedule", "nightly (no such schedule now: every schedule)". */
export function scheduleText(ctx: Context, schedule: string | null): string {
  if (schedule === null) return 'every schedule';
  return ctx.config.digest.schedules.some((s) => s.name === schedule) ? schedule : `${schedule} (no such schedule now: every schedule)`;
}

/** Runs `fn` with the subscriber of `email`: a usage error for no address, an error for one not on the list. */
function withSubscriber(ctx: Context, email: string, fn: (db: ReturnType<typeof openState>, sub: SubscriberRow) => void): void {
  const normalized = normalizeEmail(email);
  if (!normalized) throw new UsageError(`not a valid email address: "${email}"`);
  withDb(ctx, (db) => {
    const sub = getSubscriber(db, normalized);
    if (!sub) throw new GazetteError(`no subscriber ${normalized}`);
    fn(db, sub);
  });
}

/**
 * Adds an active subscriber, or updates one. Someone who unsubscribed is added again only with `resubscribe`
 * (they asked the editor to): a typo'd command or an old address book must not undo an unsubscribe. A bounced
 * address is made active again — the editor knows the mailbox works again; the log says it was bounced.
 */
export function addSubscriber(ctx: Context, email: string, opts: { topics?: string; name?: string; resubscribe?: boolean; schedule?: string }): void {
  const normalized = normalizeEmail(email);
  if (!normalized) throw new UsageError(`not a valid email address: "${email}"`);
  const topics = parseTopics(opts.topics);
  const schedule = scheduleChoice(ctx, opts.schedule);
  withDb(ctx, (db) => {
    const existing = getSubscriber(db, normalized);
    if (existing?.status === 'unsubscribed' && !opts.resubscribe) {
      throw new GazetteError(`${normalized} unsubscribed on ${existing.updated_at.slice(0, 10)}; add --resubscribe if they asked you to subscribe them again`);
    }
    const { created, row } = upsertSubscriber(db, { email: normalized, name: opts.name, topics, status: 'active', schedule }, ctx.now());
    const was = existing && existing.status !== 'active' ? ` (was ${existing.status})` : '';
    const when = ctx.config.digest.schedules.length > 1 || row.schedule ? `; ${scheduleText(ctx, row.schedule)}` : '';
    ctx.log(`${created ? 'added' : 'updated'} ${normalized} (${topics.join(', ')}${when})${was}`);
  });
}

/**
 * Marks an address unsubscribed, as its one-click link would: for requests that reach the editor another way (a
 * reply, the `mail.unsubscribeMailto` mailbox). The row stays, so no import or `add` subscribes it again by mistake.
 */
export function unsubscribeCommand(ctx: Context, email: string): void {
  withSubscriber(ctx, email, (db, existing) => {
    const normalized = existing.email;
    if (existing.status === 'unsubscribed') return ctx.log(`${normalized} was already unsubscribed (since ${existing.updated_at.slice(0, 10)})`);
    setStatus(db, normalized, 'unsubscribed', ctx.now());
    ctx.log(`unsubscribed ${normalized} (was ${existing.status})`);
  });
}

/**
 * One subscriber as the editor needs to see them to answer "I did not get yesterday's digest": status and when
 * the record changed, topics, the end of the last digest's window, and the latest deliveries with what went wrong.
 */
export function showCommand(ctx: Context, email: string): void {
  withSubscriber(ctx, email, (db, sub) => {
    const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');
    ctx.log(`${sub.email}${sub.name ? ` (${sub.name})` : ''}`);
    const confirmed = sub.confirmed_at ? `; confirmed ${day(sub.confirmed_at)}` : '';
    ctx.log(`  status: ${sub.status} (record changed ${day(sub.updated_at)} UTC; added ${day(sub.created_at)}${confirmed})`);
    if (sub.confirm_requested_at) ctx.log(`  sign-up awaiting confirmation: link sent ${day(sub.confirm_requested_at)}, valid ${CONFIRM_MAX_AGE_SECONDS / 86_400} days`);
    ctx.log(`  topics: ${sub.topics.includes('*') ? 'every topic' : sub.topics.join(', ')}`);
    if (ctx.config.digest.schedules.length > 1 || sub.schedule) ctx.log(`  schedule: ${scheduleText(ctx, sub.schedule)}`);
    ctx.log(`  last digest: ${sub.last_digest_at ? `articles up to ${day(sub.last_digest_at)} UTC` : 'none yet'}`);
    const { total, rows } = deliveriesOf(db, sub.id);
    ctx.log(`  deliveries: ${total === 0 ? 'none' : `${total}${total > rows.length ? `, the newest ${rows.length}` : ''} (history kept ${ctx.config.digest.keepHistoryDays > 0 ? `${ctx.config.digest.keepHistoryDays} days` : 'forever'})`}`);
    for (const d of rows) {
      const why = d.last_error ? ` — ${d.last_error}` : '';
      const tries = d.attempts > 1 ? `, ${d.attempts} attempts` : '';
      ctx.log(`    ${day(d.sent_at ?? d.created_at)}  ${d.status.padEnd(8)}  ${d.subject ?? '(no subject)'} (${d.articles} article${d.articles === 1 ? '' : 's'}${tries})${why}`);
    }
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
    for (const r of rows) ctx.log(`${r.email.padEnd(36)} ${r.status.padEnd(12)} ${r.topics.join(',')}${r.schedule ? ` [${r.schedule}]` : ''}${r.name ? `  (${r.name})` : ''}`);
    const by: Partial<Record<SubscriberStatus, number>> = {};
    for (const r of rows) by[r.status] = (by[r.status] ?? 0) + 1;
    ctx.log(`${rows.length} subscriber(s)${opts.status || Object.keys(by).length < 2 ? '' : `: ${countsText(by, STATUSES)}`}`);
  });
}

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab, a CR, or their full-width forms) as a formula
 * (CSV injection: a name typed into the sign-up form could be `=HYPERLINK(…)`). Such a value is exported with
 * a leading apostrophe, which spreadsheets show as text; so that import can undo it exactly, a value that
 * already starts with an apostrophe followed by one of those characters or another apostrophe gets one too.
 */
const STARTS_FORMULA = '=+\\-@\\t\\r\\uFF1D\\uFF0B\\uFF0D\\uFF20';
const FORMULA = new RegExp(`^(?:[${STARTS_FORMULA}]|'['${STARTS_FORMULA}])`);
const ESCAPED = new RegExp(`^'(?=['${STARTS_FORMULA}])`);
export const escapeCell = (value: string): string => (FORMULA.test(value) ? `'${value}` : value);
export const unescapeCell = (value: string): string => value.replace(ESCAPED, '');

export function exportCommand(ctx: Context): void {
  withDb(ctx, (db) => {
    // (schedule last: scripts that read the columns by position keep working)
    const rows = listSubscribers(db).map((r) => ({ email: r.email, name: r.name, topics: r.topics.join(','), status: r.status, created_at: r.created_at, schedule: r.schedule ?? '' }));
    process.stdout.write(stringify(rows, { header: true, columns: ['email', 'name', 'topics', 'status', 'created_at', 'schedule'], cast: { string: escapeCell } }));
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
 * The columns import reads, by the names other mailing-list services export them under (Mailchimp: "Email
 * Address", "First Name", "Last Name"; others: "E-mail", "Full name"), lowercased. First and last names make the
 * name when there is no name column.
 */
const COLUMN_NAMES: Record<string, string> = {
  email: 'email', 'email address': 'email', 'e-mail': 'email', 'e-mail address': 'email', mail: 'email',
  name: 'name', 'full name': 'name', 'first name': 'first', firstname: 'first', fname: 'first', 'last name': 'last', lastname: 'last', lname: 'last',
  topics: 'topics', status: 'status', schedule: 'schedule',
};

/**
 * CSV with a header row (separated by commas, semicolons or tabs: `delimiterOf`): `email` required; `name`,
 * `topics` (comma/semicolon separated slugs), `status` and `schedule` optional (other services' names are read too:
 * COLUMN_NAMES; any other column is named once as not used). Every bad row is reported by line number; the
 * good ones are imported. Rows without a status get `opts.status` (default active): a list of addresses that
 * unsubscribed elsewhere is imported with `--status unsubscribed`. Cells escaped by `export` (`escapeCell`) read
 * back as they were. An address that unsubscribed or bounced keeps that status whatever the file says (an old
 * list must not re-subscribe anyone); each one kept is reported. A file may still unsubscribe or mark bounced an
 * active address.
 */
export async function importCommand(ctx: Context, file: string, opts: { status?: string } = {}): Promise<{ imported: number; rejected: number }> {
  const defaultStatus = (opts.status ?? 'active').toLowerCase() as SubscriberStatus;
  if (!STATUSES.includes(defaultStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new GazetteError(`cannot read ${file}`, { cause: err });
  }
  let records: { record: Record<string, string>; info: { lines: number } }[];
  /** The header as written, and what each column is read as (`-<name>`: not used). */
  let header: string[] = [];
  let read: string[] = [];
  const columns = (h: string[]) => {
    header = h.map((c) => c.trim());
    return (read = header.map((c) => COLUMN_NAMES[c.toLowerCase().replace(/[\s_]+/g, ' ')] ?? `-${c}`));
  };
  try {
    records = parse(text, { delimiter: delimiterOf(text), columns, skip_empty_lines: true, trim: true, bom: true, info: true, relax_column_count: true, cast: unescapeCell });
  } catch (err) {
    throw new GazetteError(`${file} is not valid CSV`, { cause: err });
  }
  if (records.length > 0 && !read.includes('email')) {
    throw new GazetteError(`${file}: the header row has no email column (it has: ${header.map((h) => `"${h}"`).join(', ')}; Gazette reads email, name, topics, status and schedule)`);
  }
  const unused = header.filter((_, i) => read[i]!.startsWith('-'));
  if (records.length > 0 && unused.length > 0) ctx.warn(`${file}: not used: ${unused.map((h) => `"${h}"`).join(', ')} (Gazette reads email, name, topics, status and schedule)`);
  let imported = 0;
  let rejected = 0;
  let kept = 0;
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
        const status = (record.status ? record.status.toLowerCase() : defaultStatus) as SubscriberStatus;
        if (!STATUSES.includes(status)) { reject(`status must be one of ${STATUSES.join(', ')}`); continue; }
        let topics: string[];
        try {
          topics = parseTopics(record.topics);
        } catch (err) {
          reject((err as Error).message);
          continue;
        }
        let schedule: string | null | undefined;
        try {
          schedule = scheduleChoice(ctx, record.schedule);
        } catch (err) {
          reject((err as Error).message);
          continue;
        }
        seen.add(email);
        const existing = getSubscriber(db, email);
        if (existing && (existing.status === 'unsubscribed' || existing.status === 'bounced') && status !== existing.status && status !== 'unsubscribed') {
          kept++;
          const again = existing.status === 'unsubscribed' ? 'only they can subscribe again' : '`subscribers add` makes it active again';
          ctx.warn(`${file}:${line}: kept ${existing.status}: ${email} (since ${existing.updated_at.slice(0, 10)}; ${again})`);
          continue;
        }
        const name = record.name || [record.first, record.last].filter(Boolean).join(' ');
        upsertSubscriber(db, { email, name: name || undefined, topics, status, schedule }, ctx.now());
        imported++;
      }
    })();
  });
  ctx.log(`imported ${imported}, rejected ${rejected}${kept ? `, kept unsubscribed or bounced ${kept}` : ''}`);
  return { imported, rejected };
}
