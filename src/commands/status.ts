/** `gazette status`: what the state database says — subscribers, deliveries owed, schedules — for the editor. */
import { readHubPending, type Context } from './context.js';
import { openState } from './mailer.js';
import { CONFIRM_MAX_AGE_SECONDS, openSignUps, scheduleCounts, subscriberCounts } from '../store/subscribers.js';
import { deliveryOverview } from '../store/deliveries.js';
import { lastRun } from '../store/schedule.js';
import { nextSlot } from '../schedule/due.js';

/** `{ active: 5, bounced: 1 }` in `order` → "5 active, 1 bounced" (zeros left out), or "none". */
export const countsText = (counts: Partial<Record<string, number>>, order: readonly string[]): string =>
  order.filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`).join(', ') || 'none';

/** Everything `status` says, as data (`--json` prints it as it is). Times are ISO 8601 UTC; null: never. */
export interface Status {
  subscribers: Partial<Record<'active' | 'pending' | 'unsubscribed' | 'bounced', number>>;
  /** Active subscribers by the schedule they chose ("" for none: every schedule); null with one schedule and no choices. */
  bySchedule: Record<string, number> | null;
  /** Chosen schedules no longer configured (their readers get every schedule). */
  unknownSchedules: string[];
  awaitingConfirmation: { count: number; oldestExpires: string | null };
  deliveries: Partial<Record<'sent' | 'failed' | 'deferred' | 'pending' | 'sending', number>>;
  historyKeptDays: number | null;
  lastDigestAcceptedAt: string | null;
  owed: { count: number; lastError: string | null };
  schedules: { name: string; cron: string; timezone: string; lastRun: string | null; nextRun: string | null }[];
  /** The WebSub hub (`feeds.hub`) and how many changed feeds it has not yet taken (the next build tells it again); null without one. */
  websub: { hub: string; untold: number } | null;
}

export function readStatus(ctx: Context): Status {
  const db = openState(ctx);
  try {
    const now = ctx.now();
    const chosen = scheduleCounts(db);
    const names = ctx.config.digest.schedules.map((s) => s.name);
    const signUps = openSignUps(db);
    const d = deliveryOverview(db);
    return {
      subscribers: subscriberCounts(db),
      bySchedule: names.length > 1 || Object.keys(chosen).some((k) => k !== '') ? chosen : null,
      unknownSchedules: Object.keys(chosen).filter((k) => k !== '' && !names.includes(k)),
      awaitingConfirmation: { count: signUps.count, oldestExpires: signUps.oldestExpires?.toISOString() ?? null },
      deliveries: d.byStatus,
      historyKeptDays: ctx.config.digest.keepHistoryDays > 0 ? ctx.config.digest.keepHistoryDays : null,
      lastDigestAcceptedAt: d.lastSentAt ?? null,
      owed: { count: (d.byStatus.deferred ?? 0) + (d.byStatus.pending ?? 0) + (d.byStatus.sending ?? 0), lastError: d.lastOwedError ?? null },
      schedules: ctx.config.digest.schedules.map((s) => ({
        name: s.name,
        cron: s.cron,
        timezone: s.timezone,
        lastRun: lastRun(db, s.name)?.toISOString() ?? null,
        nextRun: nextSlot(s.cron, s.timezone, now)?.toISOString() ?? null,
      })),
      websub: ctx.config.feeds.hub ? { hub: ctx.config.feeds.hub, untold: readHubPending(ctx).length } : null,
    };
  } finally {
    db.close();
  }
}

/** The status as lines for the editor, or (`json`) as one JSON document for a monitoring script. */
export function statusCommand(ctx: Context, opts: { json?: boolean } = {}): void {
  const s = readStatus(ctx);
  if (opts.json) return ctx.log(JSON.stringify(s, null, 2));
  ctx.log(`subscribers: ${countsText(s.subscribers, ['active', 'pending', 'unsubscribed', 'bounced'])}`);
  if (s.bySchedule) {
    const chosen = s.bySchedule;
    const parts = [...s.schedules.filter((x) => chosen[x.name]).map((x) => `${chosen[x.name]} ${x.name}`), ...(chosen[''] ? [`${chosen['']} every schedule`] : [])];
    const gone = s.unknownSchedules.map((k) => `${chosen[k]} ${k} (no such schedule now: they get every schedule)`);
    ctx.log(`active subscribers by schedule: ${[...parts, ...gone].join(', ') || 'none'}`);
  }
  if (s.awaitingConfirmation.count > 0) {
    ctx.log(`awaiting confirmation: ${s.awaitingConfirmation.count} sign-up(s); a link unused for ${CONFIRM_MAX_AGE_SECONDS / 86_400} days expires and its sign-up is forgotten (the oldest: ${s.awaitingConfirmation.oldestExpires})`);
  }
  ctx.log(`deliveries: ${countsText(s.deliveries, ['sent', 'failed', 'deferred', 'pending', 'sending'])} (kept ${s.historyKeptDays ? `${s.historyKeptDays} days` : 'forever'})`);
  ctx.log(`last digest accepted: ${s.lastDigestAcceptedAt ?? 'never'}`);
  if (s.owed.count > 0) {
    ctx.log(`owed: ${s.owed.count} deliveries${s.owed.lastError ? ` (last error: ${s.owed.lastError})` : ''}; the next send delivers them first (\`gazette send --all\`, or the next schedule)`);
  }
  for (const x of s.schedules) ctx.log(`schedule ${x.name} ("${x.cron}", ${x.timezone}): last run ${x.lastRun ?? 'never'}, next ${x.nextRun ?? 'never'}`);
  if (s.websub) {
    const n = s.websub.untold;
    ctx.log(`websub: ${s.websub.hub}: ${n ? `${n} changed feed${n === 1 ? '' : 's'} not yet told (it refused or did not answer; the next build tells it again)` : 'told of every changed feed'}`);
  }
}
