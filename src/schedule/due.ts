/**
 * When a schedule is due, as a pure function of (cron, time zone, last run, now). node-cron only wakes the
 * process; this decides, from the state database, so a restart neither repeats nor loses a run:
 * a run missed while the process was down happens once when it comes back, not once per missed slot.
 */
import { CronExpressionParser } from 'cron-parser';
import { ConfigError } from '../errors.js';
import { isTimeZone } from '../content/text.js';

/** The latest slot of `cron` in `tz` at or before `now`, or null when there is none in the past year. */
export function latestSlot(cron: string, tz: string, now: Date): Date | null {
  try {
    // cron-parser's prev() is strictly before currentDate: step 1 ms past now so a slot at `now` counts.
    const e = CronExpressionParser.parse(cron, { currentDate: new Date(now.getTime() + 1), tz });
    const d = e.prev().toDate();
    return now.getTime() - d.getTime() > 366 * 86_400_000 ? null : d;
  } catch {
    return null;
  }
}

export function nextSlot(cron: string, tz: string, now: Date): Date | null {
  try {
    return CronExpressionParser.parse(cron, { currentDate: now, tz }).next().toDate();
  } catch {
    return null;
  }
}

export function validateSchedule(name: string, cron: string, tz: string): void {
  if (!isTimeZone(tz)) throw new ConfigError(`digest.schedules ${name}: unknown time zone "${tz}"`);
  try {
    CronExpressionParser.parse(cron, { tz });
  } catch (err) {
    throw new ConfigError(`digest.schedules ${name}: not a cron expression: "${cron}"`, { cause: err });
  }
}

/**
 * The slot to run now, or null. A schedule that never ran is not due: it starts counting from its first
 * start (a new install sends nothing it was not asked for); the caller records `baseline` for it.
 */
export function dueSlot(cron: string, tz: string, lastRun: Date | null, now: Date): { run: Date | null; baseline: Date | null } {
  const slot = latestSlot(cron, tz, now);
  if (!slot) return { run: null, baseline: null };
  if (!lastRun) return { run: null, baseline: slot };
  return { run: slot > lastRun ? slot : null, baseline: null };
}
