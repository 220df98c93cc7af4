/** `gazette status`: what the state database says — subscribers, deliveries owed, schedules — for the editor. */
import type { Context } from './context.js';
import { openState } from './mailer.js';
import { CONFIRM_MAX_AGE_SECONDS, openSignUps, scheduleCounts, subscriberCounts } from '../store/subscribers.js';
import { deliveryOverview } from '../store/deliveries.js';
import { lastRun } from '../store/schedule.js';
import { nextSlot } from '../schedule/due.js';

/** `{ active: 5, bounced: 1 }` in `order` → "5 active, 1 bounced" (zeros left out), or "none". */
export const countsText = (counts: Partial<Record<string, number>>, order: readonly string[]): string =>
  order.filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`).join(', ') || 'none';

export function statusCommand(ctx: Context): void {
  const db = openState(ctx);
  try {
    const now = ctx.now();
    ctx.log(`subscribers: ${countsText(subscriberCounts(db), ['active', 'pending', 'unsubscribed', 'bounced'])}`);
    const chosen = scheduleCounts(db);
    const names = ctx.config.digest.schedules.map((s) => s.name);
    if (names.length > 1 || Object.keys(chosen).some((k) => k !== '')) {
      const unknown = Object.keys(chosen).filter((k) => k !== '' && !names.includes(k));
      const parts = [...names.filter((n) => chosen[n]).map((n) => `${chosen[n]} ${n}`), ...(chosen[''] ? [`${chosen['']} every schedule`] : [])];
      const gone = unknown.map((k) => `${chosen[k]} ${k} (no such schedule now: they get every schedule)`);
      ctx.log(`active subscribers by schedule: ${[...parts, ...gone].join(', ') || 'none'}`);
    }
    const signUps = openSignUps(db);
    if (signUps.count > 0) {
      ctx.log(`awaiting confirmation: ${signUps.count} sign-up(s); a link unused for ${CONFIRM_MAX_AGE_SECONDS / 86_400} days expires and its sign-up is forgotten (the oldest: ${signUps.oldestExpires!.toISOString()})`);
    }
    const d = deliveryOverview(db);
    ctx.log(`deliveries: ${countsText(d.byStatus, ['sent', 'failed', 'deferred', 'pending', 'sending'])} (kept ${ctx.config.digest.keepHistoryDays > 0 ? `${ctx.config.digest.keepHistoryDays} days` : 'forever'})`);
    ctx.log(`last digest accepted: ${d.lastSentAt ?? 'never'}`);
    const owed = (d.byStatus.deferred ?? 0) + (d.byStatus.pending ?? 0) + (d.byStatus.sending ?? 0);
    if (owed > 0) {
      ctx.log(`owed: ${owed} deliveries${d.lastOwedError ? ` (last error: ${d.lastOwedError})` : ''}; the next send delivers them first (\`gazette send --all\`, or the next schedule)`);
    }
    for (const s of ctx.config.digest.schedules) {
      const last = lastRun(db, s.name);
      ctx.log(`schedule ${s.name} ("${s.cron}", ${s.timezone}): last run ${last?.toISOString() ?? 'never'}, next ${nextSlot(s.cron, s.timezone, now)?.toISOString() ?? 'never'}`);
    }
  } finally {
    db.close();
  }
}
