/** Subscribers: normalized, validated addresses; one row per address, whatever its case. */
import { domainToASCII } from 'node:url';
import type { DB } from './db.js';
import { StoreError } from '../errors.js';

export type SubscriberStatus = 'pending' | 'active' | 'unsubscribed' | 'bounced';

export interface SubscriberRow {
  id: number;
  email: string;
  name: string;
  /** Topic slugs, or ['*'] for every topic. */
  topics: string[];
  status: SubscriberStatus;
  created_at: string;
  updated_at: string;
  confirmed_at: string | null;
  last_digest_at: string | null;
  /** When the sign-up form last sent a confirmation link not yet used (`requestConfirmation`); null otherwise. */
  confirm_requested_at: string | null;
  /** How many links the form sent in the day up to `confirm_requested_at` (`mayRequestConfirmation`). */
  confirm_count: number;
  /** When the sign-up form added the address; null for one added or imported by the editor. */
  signed_up_at: string | null;
  /** The digest schedule they chose (a `digest.schedules` name); null: every schedule. */
  schedule: string | null;
}

// Pragmatic RFC 5321 check: one @, a dot-atom-ish local part, a domain with a dot and no empty labels (an
// internationalized one in its ASCII form: xn-- labels, top-level ones too).
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * The normalized address (trimmed, lowercased; a domain in another script, `anna@bücher.de`, in its ASCII form
 * `anna@xn--bcher-kva.de`, which every mail server takes), or null when it is not a valid address. A local part
 * outside ASCII needs SMTPUTF8 of every server on the way, and is refused.
 */
export function normalizeEmail(input: string): string | null {
  const e = input.trim().toLowerCase();
  const at = e.lastIndexOf('@');
  if (at <= 0) return null;
  const local = e.slice(0, at);
  const domain = /[^\x00-\x7f]/.test(e.slice(at + 1)) ? domainToASCII(e.slice(at + 1)) : e.slice(at + 1);
  const address = `${local}@${domain}`;
  if (address.length > 254 || local.length > 64) return null;
  return EMAIL.test(address) ? address : null;
}

/** "a@x.org, B@Y.org" → the normalized addresses, or the first one that is not valid. */
export function addressList(text: string): { addresses: string[] } | { bad: string } {
  const addresses: string[] = [];
  for (const a of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const e = normalizeEmail(a);
    if (!e) return { bad: a };
    addresses.push(e);
  }
  return { addresses };
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** "a, b" → ['a','b']; empty or "*" → ['*']. Throws on a malformed slug. */
export function parseTopics(input: string | undefined): string[] {
  if (!input || input.trim() === '' || input.trim() === '*') return ['*'];
  const slugs = [...new Set(input.split(/[,;\s]+/).map((s) => s.trim().toLowerCase()).filter(Boolean))];
  for (const s of slugs) if (!SLUG.test(s)) throw new StoreError(`not a topic slug: "${s}"`);
  return slugs.sort();
}

interface Raw extends Omit<SubscriberRow, 'topics'> {
  topics: string;
}
const toRow = (r: Raw): SubscriberRow => ({ ...r, topics: r.topics.split(',') });

export function getSubscriber(db: DB, email: string): SubscriberRow | undefined {
  const r = db.prepare('SELECT * FROM subscribers WHERE email = ?').get(email) as Raw | undefined;
  return r && toRow(r);
}

export function listSubscribers(db: DB, filter: { status?: SubscriberStatus } = {}): SubscriberRow[] {
  const rows = filter.status
    ? (db.prepare('SELECT * FROM subscribers WHERE status = ? ORDER BY email').all(filter.status) as Raw[])
    : (db.prepare('SELECT * FROM subscribers ORDER BY email').all() as Raw[]);
  return rows.map(toRow);
}

/**
 * Which active subscribers a run is for: with `schedule`, a scheduled run's (or a send as that schedule), those who
 * chose it and those who chose none — or a schedule no longer configured (not in `known`): a renamed or removed
 * schedule must not leave its readers without any digest.
 */
export interface Audience {
  schedule?: string;
  known?: readonly string[];
}

const audienceSql = (a: Audience) =>
  a.schedule === undefined
    ? { where: "status = 'active'", params: [] as string[] }
    : { where: "status = 'active' AND (schedule IS NULL OR schedule = ? OR schedule NOT IN (SELECT value FROM json_each(?)))", params: [a.schedule, JSON.stringify(a.known ?? [a.schedule])] };

/** Active subscribers (of `audience`) in id order, `batch` at a time, so a large list is never all in memory. */
export function* activeSubscribers(db: DB, audience: Audience = {}, batch = 500): Generator<SubscriberRow> {
  const { where, params } = audienceSql(audience);
  const stmt = db.prepare(`SELECT * FROM subscribers WHERE ${where} AND id > ? ORDER BY id LIMIT ?`);
  let after = 0;
  for (;;) {
    const rows = stmt.all(...params, after, batch) as Raw[];
    if (rows.length === 0) return;
    for (const r of rows) yield toRow(r);
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * Active subscribers outside `audience` who are owed a delivery an earlier run left unfinished: any send completes
 * those (the digest is planned and stored already), whoever its new digests are for.
 */
export function owedOutside(db: DB, audience: Audience): SubscriberRow[] {
  if (audience.schedule === undefined) return [];
  const { where, params } = audienceSql(audience);
  const rows = db
    .prepare(`SELECT * FROM subscribers WHERE status = 'active' AND NOT (${where}) AND EXISTS (SELECT 1 FROM deliveries d WHERE d.subscriber_id = subscribers.id AND d.status IN ('pending','sending','deferred')) ORDER BY id`)
    .all(...params) as Raw[];
  return rows.map(toRow);
}

/** How many active subscribers `audience` has. */
export function activeCount(db: DB, audience: Audience = {}): number {
  const { where, params } = audienceSql(audience);
  return (db.prepare(`SELECT COUNT(*) AS n FROM subscribers WHERE ${where}`).get(...params) as { n: number }).n;
}

/** Active subscribers by the schedule they chose ('' for none: every schedule). */
export function scheduleCounts(db: DB): Record<string, number> {
  return Object.fromEntries((db.prepare("SELECT COALESCE(schedule, '') AS s, COUNT(*) AS n FROM subscribers WHERE status = 'active' GROUP BY 1").all() as { s: string; n: number }[]).map((r) => [r.s, r.n]));
}

/** How many subscribers have each status. */
export function subscriberCounts(db: DB): Partial<Record<SubscriberStatus, number>> {
  return Object.fromEntries((db.prepare('SELECT status, COUNT(*) AS n FROM subscribers GROUP BY status').all() as { status: SubscriberStatus; n: number }[]).map((r) => [r.status, r.n]));
}

export function wantsTopic(s: Pick<SubscriberRow, 'topics'>, slug: string): boolean {
  return s.topics.includes('*') || s.topics.includes(slug);
}

export interface UpsertInput {
  email: string;
  name?: string;
  topics?: string[];
  status: SubscriberStatus;
  /** A schedule name, null for every schedule; undefined keeps what the row has (a new row: null). */
  schedule?: string | null;
}

/** Adds or updates by address (an open sign-up request ends: `requestConfirmation`). Returns whether the row was created. */
export function upsertSubscriber(db: DB, input: UpsertInput, now: Date): { created: boolean; row: SubscriberRow } {
  const email = normalizeEmail(input.email);
  if (!email) throw new StoreError(`not a valid email address: "${input.email}"`);
  const ts = now.toISOString();
  const existing = getSubscriber(db, email);
  const topics = (input.topics ?? existing?.topics ?? ['*']).join(',');
  const schedule = input.schedule === undefined ? (existing?.schedule ?? null) : input.schedule;
  if (existing) {
    db.prepare('UPDATE subscribers SET name = ?, topics = ?, status = ?, schedule = ?, updated_at = ?, confirmed_at = COALESCE(confirmed_at, ?), confirm_requested_at = NULL WHERE id = ?').run(
      input.name ?? existing.name, topics, input.status, schedule, ts, input.status === 'active' ? ts : null, existing.id,
    );
    return { created: false, row: getSubscriber(db, email)! };
  }
  db.prepare('INSERT INTO subscribers (email, name, topics, status, schedule, created_at, updated_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    email, input.name ?? '', topics, input.status, schedule, ts, ts, input.status === 'active' ? ts : null,
  );
  return { created: true, row: getSubscriber(db, email)! };
}

/** How long a confirmation link is valid: after it, a sign-up never confirmed is forgotten (`forgetUnconfirmed`). */
export const CONFIRM_MAX_AGE_SECONDS = 7 * 24 * 3600;

const DAY_MS = 86_400_000;
/** Confirmation mails to one address: at most this many a day, at least 10 minutes apart. */
export const CONFIRMATIONS_PER_DAY = 3;
const CONFIRM_GAP_MS = 600_000;

/**
 * Whether the form may send `sub` (an address it knows, not active) another confirmation link now. Sign-up forms
 * are used to bomb an address with mail from many sites at once (each from other client addresses, so the limit
 * per client does not hold): one address gets at most CONFIRMATIONS_PER_DAY links a day, 10 minutes apart.
 */
export function mayRequestConfirmation(sub: SubscriberRow, now: Date): boolean {
  if (!sub.confirm_requested_at) return true;
  const since = now.getTime() - Date.parse(sub.confirm_requested_at);
  return since > DAY_MS || (since > CONFIRM_GAP_MS && sub.confirm_count < CONFIRMATIONS_PER_DAY);
}

/**
 * A sign-up from the form, before its confirmation link is sent: a new address is added as `pending`; one that
 * unsubscribed or bounced keeps that status until the link is used — anyone can type an address into the form,
 * and an unconfirmed request must not undo an unsubscribe (an import or `subscribers add` would take a `pending`
 * address for one never asked). The topics and name are those of the request. Returns the row as it was before
 * (undefined: created), for `withdrawConfirmation` should the link not go out. Not for active subscribers.
 */
export function requestConfirmation(db: DB, input: { email: string; name?: string; topics: string[]; schedule?: string | null }, now: Date): SubscriberRow | undefined {
  const email = normalizeEmail(input.email);
  if (!email) throw new StoreError(`not a valid email address: "${input.email}"`);
  const ts = now.toISOString();
  const existing = getSubscriber(db, email);
  if (existing?.status === 'active') throw new StoreError(`${email} is subscribed already`);
  if (existing) {
    const sameDay = existing.confirm_requested_at !== null && now.getTime() - Date.parse(existing.confirm_requested_at) <= DAY_MS;
    db.prepare('UPDATE subscribers SET name = ?, topics = ?, schedule = ?, updated_at = ?, confirm_requested_at = ?, confirm_count = ? WHERE id = ?').run(
      input.name || existing.name, input.topics.join(','), input.schedule === undefined ? existing.schedule : input.schedule, ts, ts, sameDay ? existing.confirm_count + 1 : 1, existing.id,
    );
  } else {
    db.prepare("INSERT INTO subscribers (email, name, topics, schedule, status, created_at, updated_at, confirm_requested_at, confirm_count, signed_up_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, 1, ?)").run(
      email, input.name ?? '', input.topics.join(','), input.schedule ?? null, ts, ts, ts, ts,
    );
  }
  return existing;
}

/** Undoes `requestConfirmation` when its link could not be sent: the row as it was, or none when it was new. */
export function withdrawConfirmation(db: DB, email: string, before: SubscriberRow | undefined): void {
  if (!before) {
    db.prepare("DELETE FROM subscribers WHERE email = ? AND status = 'pending' AND confirmed_at IS NULL").run(email);
    return;
  }
  db.prepare('UPDATE subscribers SET name = ?, topics = ?, schedule = ?, updated_at = ?, confirm_requested_at = ?, confirm_count = ? WHERE id = ?').run(
    before.name, before.topics.join(','), before.schedule, before.updated_at, before.confirm_requested_at, before.confirm_count, before.id,
  );
}

/**
 * Sign-ups whose confirmation link has expired unused: addresses the form added that were never confirmed are
 * deleted (nobody consented to being on the list; signing up again starts afresh); any other address just loses
 * the expired request — one that unsubscribed or bounced, one the editor imported or added as `pending` (even if
 * someone then typed it into the form). Returns how many were deleted.
 */
export function forgetUnconfirmed(db: DB, now: Date): number {
  const before = new Date(now.getTime() - CONFIRM_MAX_AGE_SECONDS * 1000).toISOString();
  return db.transaction(() => {
    const gone = db
      .prepare(
        `DELETE FROM subscribers WHERE confirm_requested_at < ? AND status = 'pending' AND confirmed_at IS NULL AND signed_up_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.subscriber_id = subscribers.id)`,
      )
      .run(before).changes;
    db.prepare('UPDATE subscribers SET confirm_requested_at = NULL WHERE confirm_requested_at < ?').run(before);
    return gone;
  })();
}

/** Sign-up requests whose link has not been used yet, and when the oldest of them expires. */
export function openSignUps(db: DB): { count: number; oldestExpires: Date | null } {
  const r = db.prepare('SELECT COUNT(*) AS n, MIN(confirm_requested_at) AS oldest FROM subscribers WHERE confirm_requested_at IS NOT NULL').get() as { n: number; oldest: string | null };
  return { count: r.n, oldestExpires: r.oldest ? new Date(Date.parse(r.oldest) + CONFIRM_MAX_AGE_SECONDS * 1000) : null };
}

export function setStatus(db: DB, email: string, status: SubscriberStatus, now: Date): boolean {
  const e = normalizeEmail(email) ?? email;
  // (An open sign-up request ends with any change of status: an unsubscribe, a bounce.)
  return db.prepare('UPDATE subscribers SET status = ?, updated_at = ?, confirm_requested_at = NULL WHERE email = ?').run(status, now.toISOString(), e).changes > 0;
}

export function removeSubscriber(db: DB, email: string): boolean {
  const e = normalizeEmail(email) ?? email.trim().toLowerCase();
  const sub = getSubscriber(db, e);
  if (!sub) return false;
  db.transaction(() => {
    db.prepare('DELETE FROM received WHERE subscriber_id = ?').run(sub.id);
    db.prepare('DELETE FROM deliveries WHERE subscriber_id = ?').run(sub.id);
    db.prepare('DELETE FROM subscribers WHERE id = ?').run(sub.id);
  })();
  return true;
}
