/**
 * Sending digests, exactly once per subscriber and issue.
 *
 * For each active subscriber: first every delivery an earlier run left unfinished is resumed with the
 * digest and Message-ID stored for it; then a new digest is planned from the articles since the last one,
 * minus everything already received. Each delivery is recorded before the SMTP transaction (`sending`)
 * and after it (`sent`, together with the articles received), so a crash anywhere is resumed by the next
 * run. The one case no protocol can settle — a crash after the server accepted a message and before the
 * `sent` record — is re-sent with the same Message-ID, which mail systems use to discard duplicates.
 */
import type { SendMailOptions } from 'nodemailer';
import type { Article } from '../content/article.js';
import type { TopicDef } from '../select/topics.js';
import { planDigest, fitDigest, digestArticleIds, type Digest, type DigestRules, type DigestTemplates } from '../render/digest.js';
import { digestKey, hash, issueMessage, messageIdFor, type IssueMessage, type MailSettings } from './message.js';
import { classify, backoff } from './retry.js';
import type { MailTransport } from './transport.js';
import type { DB } from '../store/db.js';
import { SendLog, type DeliveryRow } from '../store/deliveries.js';
import { activeCount, activeSubscribers, owedOutside, setStatus, wantsTopic, type SubscriberRow } from '../store/subscribers.js';

export interface SendRequest {
  /** Topic slugs to send, or 'all' (every topic each subscriber follows). */
  topics: string[] | 'all';
  /** Overrides each subscriber's window start. */
  since?: Date;
  dryRun?: boolean;
  /** The time zone the issues are dated in (a schedule's); default the site's (`SendDeps.timeZone`). */
  timeZone?: string;
  /**
   * A scheduled run's schedule (or a send by hand as that schedule): only subscribers who chose it or none get
   * this run's digests (`Audience`). Unset: every active subscriber.
   */
  schedule?: string;
}

export interface SendDeps {
  db: DB;
  transport: MailTransport;
  templates: DigestTemplates;
  topics: readonly TopicDef[];
  /** Eligible articles per topic slug (a topic's own and its descendants'). */
  articlesOf: (slug: string) => readonly Article[];
  mail: MailSettings;
  site: Digest['site'];
  language: string;
  /** `site.timezone`: what issues are dated in unless the request says otherwise. */
  timeZone: string;
  /** The configured schedules' names: a subscriber's choice that names none of them counts as no choice. */
  schedules: readonly string[];
  archiveUrl: string | null;
  rules: DigestRules & { windowHours: number; maxHtmlBytes: number };
  secret: string;
  maxAttempts: number;
  concurrency: number;
  /** First backoff delay; tests make it tiny. */
  backoffMs: number;
  now: () => Date;
  sleep?: (ms: number) => Promise<void>;
  onProgress?: (done: number, total: number, s: SendSummary) => void;
  warn?: (line: string) => void;
  /** Set by a signal handler: finish the deliveries in flight, start no new ones. */
  shouldStop?: () => boolean;
}

export interface SendSummary {
  subscribers: number;
  sent: number;
  /** Nothing new for the subscriber. */
  skipped: number;
  failed: number;
  bounced: number;
  /** Temporary failures that used up their attempts: retried by the next run. */
  deferred: number;
  /** Attempts that failed temporarily and were tried again. */
  retried: number;
  /** Deliveries an earlier run left unfinished, completed now. */
  resumed: number;
  /** Dry run: digests that would be sent. */
  planned: number;
  /** Dry run: the distinct digests that would be sent, most recipients first. */
  plannedDigests?: { subject: string; articles: number; recipients: number }[];
  stopped: boolean;
  /**
   * Why the run stopped before reaching every subscriber, when the server turned the sender away (a refused login,
   * a server that cannot be reached, its first messages refused alike): what was not delivered is deferred or not
   * started, and the next send does it.
   */
  halted: string | null;
}

/** How many refusals alike, before anything was accepted, stop a send (see `refusedSender`). */
const SAME_REFUSALS = 5;

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSend(req: SendRequest, deps: SendDeps): Promise<SendSummary> {
  const summary: SendSummary = { subscribers: 0, sent: 0, skipped: 0, failed: 0, bounced: 0, deferred: 0, retried: 0, resumed: 0, planned: 0, stopped: false, halted: null };
  const log = new SendLog(deps.db);
  const sleep = deps.sleep ?? delay;
  const known = new Set(deps.topics.map((t) => t.slug));
  const audience = { schedule: req.schedule, known: deps.schedules };
  let total = activeCount(deps.db, audience);
  /** The end of every new digest's window: one instant for the whole run, so subscribers share plans. */
  const runNow = deps.now();
  /** Unfinished deliveries can only come from earlier runs: looked for per subscriber only if there are any. */
  const resumeAny = !req.dryRun && log.anyOpen();
  const fitted = new Map<string, Digest>();
  /** Issue row id per digest key: subscribers who get the same digest share one issue. */
  const issueIds = new Map<string, number>();
  /** Plans per (topics, window): most subscribers of a send share one. */
  const plans = new Map<string, Digest | null>();

  /** Dry run: each distinct digest that would go out, and to how many. */
  const dryRunDigests = new Map<string, { subject: string; articles: number; recipients: number }>();
  /** Subscribers of a send to all whose every topic is gone (no article names it any more), by those topics. */
  const stranded = new Map<string, number>();
  function topicsFor(sub: SubscriberRow): TopicDef[] {
    const wanted = req.topics === 'all' ? deps.topics.map((t) => t.slug) : req.topics;
    const topics = deps.topics.filter((t) => wanted.includes(t.slug) && known.has(t.slug) && wantsTopic(sub, t.slug));
    if (topics.length === 0 && req.topics === 'all' && !sub.topics.includes('*')) {
      const gone = [...sub.topics].sort().join(', ');
      stranded.set(gone, (stranded.get(gone) ?? 0) + 1);
    }
    return topics;
  }

  /** `resumed`: this run just completed an earlier delivery to `sub` (its row in memory predates that). */
  function plan(sub: SubscriberRow, now: Date, resumed: boolean): Digest | null {
    const topics = topicsFor(sub);
    if (topics.length === 0) return null;
    const since = req.since ?? (sub.last_digest_at ? new Date(sub.last_digest_at) : new Date(now.getTime() - deps.rules.windowHours * 3_600_000));
    const input = {
      topics: topics.map((topic) => ({ topic, articles: deps.articlesOf(topic.slug) })),
      since,
      now,
      site: deps.site,
      language: deps.language,
      timeZone: req.timeZone ?? deps.timeZone,
      archiveUrl: deps.archiveUrl,
      rules: deps.rules,
    };
    // The plan without exclusions is shared; a subscriber who already received one of its candidates
    // (an article that reached them through another schedule) gets a plan of their own.
    const shareKey = `${topics.map((t) => t.slug).join(',')}|${since.toISOString()}|${now.toISOString()}`;
    let every = plans.get(`all|${shareKey}`);
    if (every === undefined) {
      every = planDigest({ ...input, rules: { ...deps.rules, maxArticles: Number.MAX_SAFE_INTEGER } });
      plans.set(`all|${shareKey}`, every);
    }
    if (!every) return null;
    // Articles are recorded as received in the same transaction that sets last_digest_at (never cleared):
    // a subscriber without one, and nothing resumed just now, has received nothing: the query is left out.
    const received = sub.last_digest_at || resumed ? log.receivedAmong(sub.id, digestArticleIds(every)) : new Set<string>();
    let digest: Digest | null | undefined;
    if (received.size > 0) digest = planDigest({ ...input, exclude: received });
    else {
      digest = plans.get(shareKey);
      if (digest === undefined) plans.set(shareKey, (digest = planDigest(input)));
    }
    if (!digest) return null;
    const key = digestKey(digest);
    let fit = fitted.get(key);
    if (!fit) {
      fit = fitDigest(digest, deps.templates, deps.rules.maxHtmlBytes);
      for (const note of fit.notes) deps.warn?.(`digest ${key}: ${note}`);
      fitted.set(key, fit);
    }
    return fit;
  }

  /** Each issue's message is composed once; recipients get it with their own address, links and bodies. */
  const skeletons = new Map<string, Promise<IssueMessage>>();
  async function message(digest: Digest, sub: SubscriberRow, listSlug: string, messageId: string): Promise<SendMailOptions> {
    const k = `${digestKey(digest)}|${listSlug}`;
    let make = skeletons.get(k);
    if (!make) skeletons.set(k, (make = issueMessage(digest, deps.templates, deps.mail, deps.secret, runNow, listSlug)));
    return (await make)({ email: sub.email, name: sub.name }, messageId);
  }

  /**
   * The first refusals of a run, while nothing has been accepted yet. When the server refuses the first
   * `SAME_REFUSALS` deliveries of a run alike (`554 5.7.1 Relay access denied`, `553 sender not owned by user`:
   * an account that may not send, a wrong From), the fault is the sender's, not theirs: the send stops, and
   * those deliveries — and any refused alike after them — are deferred instead of failed.
   */
  const refusals: { id: number; email: string }[] = [];
  let refusalKey: string | undefined;
  let senderRefused: string | undefined;
  /** Whether this permanent refusal is the sender's fault (defer it); otherwise it counts towards the streak. */
  function refusedSender(d: DeliveryRow, sub: SubscriberRow, message: string): boolean {
    const key = message.replace(/<[^>]*>|\S+@\S+/g, '<>');
    if (senderRefused !== undefined) return key === senderRefused;
    if (summary.sent > 0 || summary.halted) return false;
    if (key !== refusalKey) refusals.length = 0;
    refusalKey = key;
    if (refusals.length + 1 < SAME_REFUSALS) {
      refusals.push({ id: d.id, email: sub.email });
      return false;
    }
    senderRefused = key;
    summary.halted = `the mail server refused the first ${SAME_REFUSALS} messages alike (${message}): a problem of the sender, not of the recipients`;
    for (const r of refusals) {
      log.mark(r.id, 'deferred', message, deps.now());
      deps.warn?.(`deferred ${r.email} after all: the server refuses the sender, not them`);
    }
    summary.failed -= refusals.length;
    summary.deferred += refusals.length;
    return true;
  }

  /** `marked`: the row was just created as `sending` for its first attempt. */
  async function deliver(d: DeliveryRow, digest: Digest, sub: SubscriberRow, periodEnd: string, marked = false): Promise<void> {
    const articleIds = digestArticleIds(digest);
    const listSlug = digest.topics.length === 1 ? digest.topics[0]!.slug : 'digest';
    if (deps.transport.alreadySent(d.message_id)) {
      await log.markSent(d, articleIds, periodEnd, deps.now());
      summary.sent++;
      return;
    }
    for (let attempt = marked ? 1 : d.attempts + 1; ; attempt++) {
      if (!marked || attempt > 1) log.markSending(d.id, deps.now());
      try {
        await deps.transport.send(await message(digest, sub, listSlug, d.message_id));
      } catch (err) {
        const f = classify(err);
        if (f.server && (f.server === 'login' || attempt >= deps.maxAttempts) && !summary.halted) {
          summary.halted = `${f.server === 'login' ? 'the mail server refused the login' : 'the mail server cannot be reached'} (${f.message})`;
        }
        if (!f.temporary && !f.bounce && refusedSender(d, sub, f.message)) {
          log.mark(d.id, 'deferred', f.message, deps.now());
          summary.deferred++;
          deps.warn?.(`deferred ${sub.email}: ${f.message} (the server refuses the sender)`);
          return;
        }
        if (!f.temporary) {
          log.mark(d.id, 'failed', f.message, deps.now());
          summary.failed++;
          if (f.bounce) {
            setStatus(deps.db, sub.email, 'bounced', deps.now());
            summary.bounced++;
          }
          deps.warn?.(`failed ${sub.email}: ${f.message}`);
          return;
        }
        if (attempt >= deps.maxAttempts || deps.shouldStop?.() || summary.halted) {
          log.mark(d.id, 'deferred', f.message, deps.now());
          summary.deferred++;
          deps.warn?.(`deferred ${sub.email} after ${attempt} attempt(s): ${f.message}`);
          return;
        }
        log.mark(d.id, 'pending', f.message, deps.now());
        summary.retried++;
        await sleep(backoff(attempt, deps.backoffMs));
        continue;
      }
      // Accepted. Failing to record that is the database's failure, not the mail's: it ends the run (the row
      // stays `sending` and is resumed with its Message-ID), never sends again now.
      await log.markSent(d, articleIds, periodEnd, deps.now());
      summary.sent++;
      return;
    }
  }

  /** `owedOnly`: a subscriber outside this run's audience, here only to complete what an earlier run owes them. */
  async function handle(sub: SubscriberRow, owedOnly = false): Promise<void> {
    summary.subscribers++;
    let resumed = false;
    if (!req.dryRun && resumeAny) {
      for (const open of log.openDeliveries(sub.id)) {
        resumed = true;
        const issue = log.issue(open.issue_id);
        // Issues stored before digests had a language get the site's.
        const stored = JSON.parse(issue.digest) as Digest;
        await deliver(open, { ...stored, language: stored.language ?? deps.language }, sub, issue.period_end);
        summary.resumed++;
      }
    }
    if (owedOnly) return;
    const now = runNow;
    const digest = plan(sub, now, resumed);
    if (!digest) {
      summary.skipped++;
      return;
    }
    if (req.dryRun) {
      summary.planned++;
      const k = digestKey(digest);
      const p = dryRunDigests.get(k) ?? { subject: digest.subject, articles: digest.articleCount, recipients: 0 };
      p.recipients++;
      dryRunDigests.set(k, p);
      return;
    }
    // The server turned the sender away meanwhile: this subscriber's digest is planned again by the next send.
    if (summary.halted) return;
    const key = digestKey(digest);
    let issueId = issueIds.get(key);
    if (issueId === undefined) {
      issueId = log.ensureIssue(
        { key, topics: digest.topics.map((t) => t.slug), periodStart: req.since ?? now, periodEnd: now, articleIds: digestArticleIds(digest), contentHash: hash(JSON.stringify(digest)), digest },
        now,
      ).id;
      issueIds.set(key, issueId);
    }
    const issue = { id: issueId, period_end: now.toISOString() };
    const messageId = messageIdFor(key, sub.email, deps.mail.from);
    const { row: d, created } = await log.startDelivery(issue.id, sub.id, messageId, now);
    if (!created && (d.status === 'sent' || d.status === 'failed')) {
      summary.skipped++;
      return;
    }
    await deliver(d, digest, sub, issue.period_end, created);
  }

  // This run's audience, then those outside it who are owed a digest from an earlier run (a weekly reader's
  // deferred digest must not wait for next week's run).
  const owed = resumeAny ? owedOutside(deps.db, audience) : [];
  total += owed.length;
  const queue = (function* () {
    for (const sub of activeSubscribers(deps.db, audience)) yield { sub, owedOnly: false };
    for (const sub of owed) yield { sub, owedOnly: true };
  })();
  let done = 0;
  const workers = Array.from({ length: Math.max(1, deps.concurrency) }, async () => {
    for (;;) {
      if (deps.shouldStop?.() || summary.halted) {
        summary.stopped = true;
        return;
      }
      const next = queue.next();
      if (next.done) return;
      await handle(next.value.sub, next.value.owedOnly);
      deps.onProgress?.(++done, total, summary);
    }
  });
  await Promise.all(workers);
  if (req.dryRun) summary.plannedDigests = [...dryRunDigests.values()].sort((a, b) => b.recipients - a.recipients || a.subject.localeCompare(b.subject));
  // Counted among "nothing new", but they will never get anything: the editor should know.
  for (const [gone, n] of stranded) {
    deps.warn?.(`${n} subscriber(s) follow only topics no article names any more (${gone}): they get no digest until they choose others or the topics come back`);
  }
  return summary;
}
