/** `gazette send`: digests to every active subscriber of the topic(s), exactly once. */
import type { Context } from './context.js';
import { loadAndSelect } from './context.js';
import { openState, openTransport, sendDeps } from './mailer.js';
import { runSend, type SendRequest, type SendSummary } from '../deliver/send.js';
import { acquireLock } from '../store/lock.js';
import { pruneHistoryDaily } from '../store/deliveries.js';
import { forgetUnconfirmed } from '../store/subscribers.js';
import type { DB } from '../store/db.js';
import { parseSince } from './digest.js';
import { DeliveryError, UsageError } from '../errors.js';

export interface SendOptions {
  topic?: string;
  all?: boolean;
  since?: string;
  dryRun?: boolean;
  /** Send as this schedule would (`SendRequest.schedule`). */
  schedule?: string;
}

export function formatSummary(s: SendSummary, dryRun = false): string {
  if (dryRun) return `dry run: ${s.planned} digest(s) would be sent, ${s.skipped} subscriber(s) have nothing new (of ${s.subscribers})`;
  const stop = s.halted ? ` — stopped: ${s.halted}` : s.stopped ? ' — stopped early by a signal' : '';
  return `sent ${s.sent}, skipped ${s.skipped} (nothing new), failed ${s.failed} (bounced ${s.bounced}), deferred ${s.deferred}, retried ${s.retried}, resumed ${s.resumed}${stop}`;
}

/**
 * After a send: forgets what finished more than `digest.keepHistoryDays` ago (at most once a day) and sign-ups
 * whose confirmation link expired unused (the sign-up form does too; a send also runs when nobody signs up), and says so.
 */
export function forgetOldHistory(ctx: Context, db: DB): void {
  const unconfirmed = forgetUnconfirmed(db, ctx.now());
  if (unconfirmed > 0) ctx.log(`subscribers: forgot ${unconfirmed} sign-up(s) never confirmed (their links expired)`);
  const pruned = pruneHistoryDaily(db, ctx.config.digest.keepHistoryDays, ctx.now());
  if (pruned && pruned.deliveries + pruned.issues > 0) {
    ctx.log(`history: forgot ${pruned.deliveries} deliveries (${pruned.received} articles received) and ${pruned.issues} issues finished before ${pruned.before.toISOString().slice(0, 10)} (digest.keepHistoryDays)`);
  }
}

/** A send the mail server turned away fails (exit 1; a schedule's slot stays due), saying that nothing is lost. */
export function haltError(s: SendSummary): DeliveryError {
  return new DeliveryError(`send stopped: ${s.halted}. Nothing is lost: once that is fixed, send again — deferred deliveries resume with their Message-IDs, and subscribers not reached yet get theirs`, { partial: s });
}

/** A dry run's digests, one line each (the 20 with most recipients): what the editor is about to send, to how many. */
export function plannedLines(s: SendSummary, most = 20): string[] {
  const all = s.plannedDigests ?? [];
  const lines = all.slice(0, most).map((p) => `  ${String(p.recipients).padStart(6)} × "${p.subject}" (${p.articles} article${p.articles === 1 ? '' : 's'})`);
  if (all.length > most) lines.push(`  … and ${all.length - most} other digests to ${all.slice(most).reduce((n, p) => n + p.recipients, 0)} subscribers`);
  return lines;
}

function progressBar(done: number, total: number, s: SendSummary): string {
  const width = 24;
  const filled = total ? Math.round((done / total) * width) : width;
  return `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}  sent ${s.sent}  skipped ${s.skipped}  failed ${s.failed}`;
}

export async function sendCommand(ctx: Context, opts: SendOptions, control: { shouldStop?: () => boolean } = {}): Promise<SendSummary> {
  if (!opts.topic === !opts.all) throw new UsageError('say which digests to send: --topic <slug> or --all');
  const since = parseSince(opts.since, ctx.config.site.timezone);
  const schedules = ctx.config.digest.schedules.map((s) => s.name);
  if (opts.schedule !== undefined && !schedules.includes(opts.schedule)) throw new UsageError(`--schedule: no schedule "${opts.schedule}"; schedules: ${schedules.join(', ')}`);
  const loaded = await loadAndSelect(ctx);
  if (opts.topic && !loaded.topics.some((t) => t.slug === opts.topic)) {
    throw new UsageError(`no topic "${opts.topic}"; topics: ${loaded.topics.map((t) => t.slug).join(', ') || '(none)'}`);
  }
  const db = openState(ctx);
  const lock = opts.dryRun ? undefined : acquireLock(db, 'send');
  const transport = await openTransport(ctx);
  try {
    const deps = await sendDeps(ctx, loaded, db, transport);
    const tty = process.stderr.isTTY;
    let beat = Date.now();
    const req: SendRequest = { topics: opts.all ? 'all' : [opts.topic!], since, dryRun: opts.dryRun, schedule: opts.schedule };
    ctx.log(`${opts.dryRun ? 'dry run: ' : ''}sending ${opts.all ? 'all topics' : opts.topic}${opts.schedule ? ` as schedule ${opts.schedule}` : ''} via ${transport.description}`);
    const summary = await runSend(req, {
      ...deps,
      shouldStop: control.shouldStop,
      onProgress: (done, total, s) => {
        if (Date.now() - beat > 5_000) {
          lock?.heartbeat();
          beat = Date.now();
        }
        if (tty) process.stderr.write(progressBar(done, total, s));
      },
    });
    if (tty) process.stderr.write('\n');
    loaded.load.save(); // what planning the digests parsed in full
    ctx.log(formatSummary(summary, opts.dryRun));
    for (const line of plannedLines(summary)) ctx.log(line);
    if (!opts.dryRun) forgetOldHistory(ctx, db);
    if (summary.halted) throw haltError(summary);
    return summary;
  } finally {
    transport.close();
    lock?.release();
    db.close();
  }
}
