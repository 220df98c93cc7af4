import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { dueSlot, latestSlot, validateSchedule } from '../src/schedule/due.js';
import { Scheduler } from '../src/schedule/scheduler.js';
import { JobQueue } from '../src/schedule/queue.js';
import { haltError } from '../src/commands/send.js';
import { openDb } from '../src/store/db.js';
import { lastRun, recordRun } from '../src/store/schedule.js';
import type { ScheduleConfig } from '../src/config/schema.js';
import { tempDir } from './helpers.js';

const d = (s: string) => new Date(s);

function harness(schedules: ScheduleConfig[]) {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const db = openDb(path.join(dir, 's.db'));
  after(() => db.close());
  let clock = d('2026-01-01T00:00:00Z');
  const sends: { name: string; at: string }[] = [];
  const queue = new JobQueue(() => clock);
  const scheduler = new Scheduler({
    db, schedules, rebuildCron: '*/15 * * * *', queue, now: () => clock, log: () => {},
    rebuild: async () => {},
    send: async (s) => { sends.push({ name: s.name, at: clock.toISOString() }); },
  });
  return {
    db, sends,
    async at(t: Date) {
      clock = t;
      scheduler.check(t);
      await queue.idle();
    },
  };
}

describe('schedules with an injected clock', () => {
  test('latest slot honours the zone', () => {
    assert.equal(latestSlot('0 7 * * *', 'Europe/Berlin', d('2026-01-10T12:00:00Z'))?.toISOString(), '2026-01-10T06:00:00.000Z');
    assert.equal(latestSlot('0 7 * * *', 'Europe/Berlin', d('2026-07-10T12:00:00Z'))?.toISOString(), '2026-07-10T05:00:00.000Z');
    assert.equal(latestSlot('0 7 * * *', 'UTC', d('2026-07-10T07:00:00Z'))?.toISOString(), '2026-07-10T07:00:00.000Z', 'a slot at now counts');
    assert.throws(() => validateSchedule('x', '0 7 * * *', 'Mars/Olympus'), /unknown time zone/);
    assert.throws(() => validateSchedule('x', 'every day', 'UTC'), /not a cron expression/);
  });

  test('a schedule that never ran is not due: it starts counting from its first start', () => {
    const r = dueSlot('0 7 * * *', 'UTC', null, d('2026-07-10T12:00:00Z'));
    assert.equal(r.run, null);
    assert.equal(r.baseline?.toISOString(), '2026-07-10T07:00:00.000Z');
  });

  test('the daily digest fires once per day at 07:00 in its zone, across the spring DST change', async () => {
    const h = harness([{ name: 'daily', cron: '0 7 * * *', timezone: 'Europe/Berlin', topics: 'all' }]);
    // Wake up every 10 minutes from 26 to 31 March 2026 (clocks go forward on the 29th), and twice at each minute.
    for (let t = d('2026-03-26T00:00:00Z').getTime(); t < d('2026-03-31T23:59:00Z').getTime(); t += 10 * 60_000) {
      await h.at(new Date(t));
      await h.at(new Date(t + 1000));
    }
    assert.deepEqual(h.sends.map((s) => s.at), [
      '2026-03-26T06:00:00.000Z', '2026-03-27T06:00:00.000Z', '2026-03-28T06:00:00.000Z', // CET: 07:00 = 06:00Z
      '2026-03-29T05:00:00.000Z', '2026-03-30T05:00:00.000Z', '2026-03-31T05:00:00.000Z', // CEST: 07:00 = 05:00Z
    ]);
  });

  test('and across the autumn DST change in New York', async () => {
    const h = harness([{ name: 'daily', cron: '0 7 * * *', timezone: 'America/New_York', topics: 'all' }]);
    for (let t = d('2026-10-31T00:00:00Z').getTime(); t < d('2026-11-03T00:00:00Z').getTime(); t += 15 * 60_000) await h.at(new Date(t));
    assert.deepEqual(h.sends.map((s) => s.at), ['2026-10-31T11:00:00.000Z', '2026-11-01T12:00:00.000Z', '2026-11-02T12:00:00.000Z']);
  });

  test('a run missed during downtime is caught up exactly once, not once per missed slot', async () => {
    const h = harness([{ name: 'daily', cron: '0 7 * * *', timezone: 'UTC', topics: 'all' }]);
    recordRun(h.db, 'daily', d('2026-05-01T07:00:00Z'));
    // Down from 1 May 08:00 to 4 May 12:00: three slots missed.
    await h.at(d('2026-05-04T12:00:00Z'));
    await h.at(d('2026-05-04T12:00:30Z'));
    await h.at(d('2026-05-04T18:00:00Z'));
    assert.deepEqual(h.sends.map((s) => s.at), ['2026-05-04T12:00:00.000Z']);
    assert.equal(lastRun(h.db, 'daily')?.toISOString(), '2026-05-04T07:00:00.000Z');
    await h.at(d('2026-05-05T07:00:00Z'));
    assert.equal(h.sends.length, 2);
  });

  test('a weekly schedule on Mondays', async () => {
    const h = harness([{ name: 'weekly', cron: '0 8 * * 1', timezone: 'Europe/London', topics: ['ai'] }]);
    for (let t = d('2026-06-01T00:00:00Z').getTime(); t < d('2026-06-22T00:00:00Z').getTime(); t += 30 * 60_000) await h.at(new Date(t));
    assert.deepEqual(h.sends.map((s) => s.at), ['2026-06-01T07:00:00.000Z', '2026-06-08T07:00:00.000Z', '2026-06-15T07:00:00.000Z']);
  });

  test('a send that fails leaves the slot due; the next wake-up retries it once', async () => {
    const { dir, cleanup } = tempDir();
    after(cleanup);
    const db = openDb(path.join(dir, 's.db'));
    after(() => db.close());
    recordRun(db, 'daily', d('2026-05-01T07:00:00Z'));
    let fail = true;
    let calls = 0;
    const queue = new JobQueue();
    const s = new Scheduler({ db, schedules: [{ name: 'daily', cron: '0 7 * * *', timezone: 'UTC', topics: 'all' }], rebuildCron: '0 * * * *', queue, now: () => d('2026-05-02T07:00:00Z'), log: () => {}, rebuild: async () => {},
      send: async () => { calls++; if (fail) throw new Error('smtp down'); } });
    s.check(d('2026-05-02T07:00:00Z'));
    s.check(d('2026-05-02T07:00:01Z'));
    await queue.idle();
    assert.equal(calls, 1, 'no overlapping run while one is queued');
    assert.equal(lastRun(db, 'daily')?.toISOString(), '2026-05-01T07:00:00.000Z');
    fail = false;
    s.check(d('2026-05-02T07:15:00Z'));
    await queue.idle();
    assert.equal(calls, 2);
    assert.equal(lastRun(db, 'daily')?.toISOString(), '2026-05-02T07:00:00.000Z');
  });
});

test("a job that fails part-way keeps what it did: a stopped send's counts beside its error", async () => {
  const queue = new JobQueue();
  const summary = { subscribers: 40, sent: 12, skipped: 3, failed: 0, bounced: 0, deferred: 8, retried: 0, resumed: 0, planned: 0, stopped: true, halted: 'the mail server refused the login (535 5.7.8)' };
  const stopped = queue.enqueue('manual send all', async () => {
    throw haltError(summary);
  });
  const broken = queue.enqueue('rebuild', async () => {
    throw new Error('disk full');
  });
  await queue.idle();
  assert.equal(stopped.status, 'failed');
  assert.match(stopped.error!, /^send stopped: the mail server refused the login .*Nothing is lost/);
  assert.deepEqual(stopped.result, summary);
  assert.equal(broken.status, 'failed');
  assert.equal(broken.result, undefined);
});
