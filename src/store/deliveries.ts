/** Digest issues, deliveries and what each subscriber has received: the send log. */
import type { DB } from './db.js';
import { GroupCommit } from './group-commit.js';

export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'deferred' | 'failed';

export interface IssueRow {
  id: number;
  key: string;
  topics: string;
  period_start: string;
  period_end: string;
  article_ids: string;
  content_hash: string;
  digest: string;
  created_at: string;
}

export interface DeliveryRow {
  id: number;
  issue_id: number;
  subscriber_id: number;
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  message_id: string;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

export interface NewIssue {
  key: string;
  topics: string[];
  periodStart: Date;
  periodEnd: Date;
  articleIds: string[];
  contentHash: string;
  digest: unknown;
}

export class SendLog {
  private readonly s;
  /** New deliveries and `sent` records of the deliveries in flight share commits. */
  private readonly group: GroupCommit;
  constructor(private readonly db: DB) {
    this.group = new GroupCommit(db);
    this.s = {
      issueByKey: db.prepare('SELECT * FROM issues WHERE key = ?'),
      insertIssue: db.prepare(
        'INSERT INTO issues (key, topics, period_start, period_end, article_ids, content_hash, digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING',
      ),
      issueById: db.prepare('SELECT * FROM issues WHERE id = ?'),
      delivery: db.prepare('SELECT * FROM deliveries WHERE issue_id = ? AND subscriber_id = ?'),
      startNew: db.prepare(
        "INSERT INTO deliveries (issue_id, subscriber_id, status, attempts, message_id, created_at, updated_at) VALUES (?, ?, 'sending', 1, ?, ?, ?) ON CONFLICT(issue_id, subscriber_id) DO NOTHING RETURNING *",
      ),
      anyOpen: db.prepare("SELECT 1 FROM deliveries WHERE status IN ('pending','sending','deferred') LIMIT 1"),
      open: db.prepare("SELECT * FROM deliveries WHERE subscriber_id = ? AND status IN ('pending','sending','deferred') ORDER BY id"),
      mark: db.prepare('UPDATE deliveries SET status = ?, last_error = ?, updated_at = ? WHERE id = ?'),
      start: db.prepare("UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?"),
      sent: db.prepare("UPDATE deliveries SET status = 'sent', last_error = NULL, updated_at = ?, sent_at = ? WHERE id = ?"),
      received: db.prepare('INSERT OR IGNORE INTO received (subscriber_id, article_id, delivery_id) SELECT ?, value, ? FROM json_each(?)'),
      receivedAmong: db.prepare('SELECT article_id FROM received WHERE subscriber_id = ? AND article_id IN (SELECT value FROM json_each(?))'),
      lastDigest: db.prepare('UPDATE subscribers SET last_digest_at = MAX(COALESCE(last_digest_at, \'\'), ?) WHERE id = ?'),
    };
  }

  /** The issue with this key, created from `issue` when new (identical digests share one row). */
  ensureIssue(issue: NewIssue, now: Date): IssueRow {
    this.s.insertIssue.run(
      issue.key, issue.topics.join(','), issue.periodStart.toISOString(), issue.periodEnd.toISOString(),
      JSON.stringify(issue.articleIds), issue.contentHash, JSON.stringify(issue.digest), now.toISOString(),
    );
    return this.s.issueByKey.get(issue.key) as IssueRow;
  }

  issue(id: number): IssueRow {
    return this.s.issueById.get(id) as IssueRow;
  }

  /**
   * A new delivery, recorded as `sending` (attempt 1) right before its SMTP transaction — resolved once that is
   * committed; or, when the issue was already delivered or started for this subscriber, the existing row with
   * `created: false`.
   */
  startDelivery(issueId: number, subscriberId: number, messageId: string, now: Date): Promise<{ row: DeliveryRow; created: boolean }> {
    const ts = now.toISOString();
    return this.group.run(() => {
      const row = this.s.startNew.get(issueId, subscriberId, messageId, ts, ts) as DeliveryRow | undefined;
      return row ? { row, created: true } : { row: this.s.delivery.get(issueId, subscriberId) as DeliveryRow, created: false };
    });
  }

  /** Whether any delivery is unfinished: when none is, a run need not look for them per subscriber. */
  anyOpen(): boolean {
    return this.s.anyOpen.get() !== undefined;
  }

  /** Deliveries a previous run started and did not finish (crash, temporary failure): resumed first. */
  openDeliveries(subscriberId: number): DeliveryRow[] {
    return this.s.open.all(subscriberId) as DeliveryRow[];
  }

  /** Recorded before the SMTP transaction: a crash from here on is resumed with the same Message-ID. */
  markSending(id: number, now: Date): void {
    this.s.start.run(now.toISOString(), id);
  }

  /** Recorded after the server accepted the message, together with what the subscriber received; resolved once committed. */
  markSent(d: DeliveryRow, articleIds: readonly string[], periodEnd: string, now: Date): Promise<void> {
    const ids = JSON.stringify(articleIds);
    const ts = now.toISOString();
    return this.group.run(() => {
      this.s.sent.run(ts, ts, d.id);
      this.s.received.run(d.subscriber_id, d.id, ids);
      this.s.lastDigest.run(periodEnd, d.subscriber_id);
    });
  }

  mark(id: number, status: DeliveryStatus, error: string | null, now: Date): void {
    this.s.mark.run(status, error, now.toISOString(), id);
  }

  /** Which of `articleIds` the subscriber already received. */
  receivedAmong(subscriberId: number, articleIds: readonly string[]): Set<string> {
    if (articleIds.length === 0) return new Set();
    return new Set((this.s.receivedAmong.all(subscriberId, JSON.stringify(articleIds)) as { article_id: string }[]).map((r) => r.article_id));
  }
}

/**
 * Forgets finished deliveries (sent or failed) last changed before `before`, the record of the articles they
 * carried, and issues no delivery refers to any more: without it the log grows by a row per subscriber and per
 * article every day (~3 GB a year for 10,000 daily readers). Deliveries still owed (pending, sending, deferred)
 * are kept whatever their age. What is forgotten can no longer keep an article from reaching a subscriber a
 * second time — only a `--since` reaching back that far could plan one again.
 */
export function pruneHistory(db: DB, before: Date): { deliveries: number; received: number; issues: number } {
  const cutoff = before.toISOString();
  return db.transaction(() => {
    const old = "SELECT id FROM deliveries WHERE status IN ('sent', 'failed') AND updated_at < ?";
    const received = db.prepare(`DELETE FROM received WHERE delivery_id IN (${old})`).run(cutoff).changes;
    const deliveries = db.prepare(`DELETE FROM deliveries WHERE id IN (${old})`).run(cutoff).changes;
    const issues = db.prepare('DELETE FROM issues WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries WHERE issue_id = issues.id)').run(cutoff).changes;
    return { deliveries, received, issues };
  })();
}

/**
 * `pruneHistory` of what finished more than `days` days before `now` (0: keep everything), at most once a day
 * (its scan of the deliveries is not worth repeating for every send); null when it did not run.
 */
export function pruneHistoryDaily(db: DB, days: number, now: Date): ({ before: Date } & ReturnType<typeof pruneHistory>) | null {
  if (days <= 0) return null;
  const last = db.prepare("SELECT value FROM settings WHERE key = 'history_pruned_at'").get() as { value: string } | undefined;
  if (last && now.getTime() - Date.parse(last.value) < 86_400_000) return null;
  const before = new Date(now.getTime() - days * 86_400_000);
  const pruned = pruneHistory(db, before);
  db.prepare("INSERT INTO settings (key, value) VALUES ('history_pruned_at', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(now.toISOString());
  return { before, ...pruned };
}

/** Deliveries by status, when the last digest was accepted, and the newest error of those still owed. */
export function deliveryOverview(db: DB): { byStatus: Partial<Record<DeliveryStatus, number>>; lastSentAt: string | null; lastOwedError: string | null } {
  const byStatus = Object.fromEntries((db.prepare('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status').all() as { status: DeliveryStatus; n: number }[]).map((r) => [r.status, r.n]));
  const lastSentAt = (db.prepare("SELECT MAX(sent_at) AS at FROM deliveries WHERE status = 'sent'").get() as { at: string | null }).at;
  const owed = db.prepare("SELECT last_error FROM deliveries WHERE status IN ('pending', 'sending', 'deferred') AND last_error IS NOT NULL ORDER BY updated_at DESC LIMIT 1").get() as { last_error: string } | undefined;
  return { byStatus, lastSentAt, lastOwedError: owed?.last_error ?? null };
}

export interface DeliveryHistory {
  status: DeliveryStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  /** The digest's subject and article count. */
  subject: string | null;
  articles: number;
}

/** A subscriber's deliveries, newest first (at most `limit`), with what each carried, and how many there are in all. */
export function deliveriesOf(db: DB, subscriberId: number, limit = 10): { total: number; rows: DeliveryHistory[] } {
  const total = (db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE subscriber_id = ?').get(subscriberId) as { n: number }).n;
  const rows = db
    .prepare(
      `SELECT d.status, d.attempts, d.last_error, d.created_at, d.sent_at, json_extract(i.digest, '$.subject') AS subject, json_array_length(i.article_ids) AS articles
         FROM deliveries d JOIN issues i ON i.id = d.issue_id WHERE d.subscriber_id = ? ORDER BY d.id DESC LIMIT ?`,
    )
    .all(subscriberId, limit) as DeliveryHistory[];
  return { total, rows };
}
