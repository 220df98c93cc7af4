/** Cron wiring: node-cron wakes us at each slot; `dueSlot` and the state database decide what runs. */
import cron, { type ScheduledTask } from 'node-cron';
import type { DB } from '../store/db.js';
import type { ScheduleConfig } from '../config/schema.js';
import { lastRun, recordRun } from '../store/schedule.js';
import { dueSlot, nextSlot } from './due.js';
import type { Job, JobQueue } from './queue.js';

export interface SchedulerDeps {
  db: DB;
  schedules: readonly ScheduleConfig[];
  rebuildCron: string;
  queue: JobQueue;
  now: () => Date;
  log: (line: string) => void;
  rebuild: () => Promise<unknown>;
  send: (schedule: ScheduleConfig) => Promise<unknown>;
}

export class Scheduler {
  private tasks: ScheduledTask[] = [];
  /** Schedules with a run queued or running: a second wake-up meanwhile adds nothing. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: SchedulerDeps) {}

  /** Queues every digest schedule that is due at `now` (at most one run each); returns the jobs queued. */
  check(now = this.deps.now()): Job[] {
    const jobs: Job[] = [];
    for (const s of this.deps.schedules) {
      if (this.inFlight.has(s.name)) continue;
      const { run, baseline } = dueSlot(s.cron, s.timezone, lastRun(this.deps.db, s.name), now);
      if (baseline) recordRun(this.deps.db, s.name, baseline);
      if (!run) continue;
      this.inFlight.add(s.name);
      jobs.push(
        this.deps.queue.enqueue(`digest ${s.name} (slot ${run.toISOString()})`, async () => {
          try {
            const result = await this.deps.send(s);
            // Recorded only once the send finished: a crash mid-send leaves the slot due, and the resumed
            // send delivers only what is still owed.
            recordRun(this.deps.db, s.name, run);
            return result;
          } finally {
            this.inFlight.delete(s.name);
          }
        }),
      );
    }
    return jobs;
  }

  start(): void {
    const now = this.deps.now();
    for (const s of this.deps.schedules) {
      this.tasks.push(cron.schedule(s.cron, () => void this.check(), { timezone: s.timezone, name: `digest-${s.name}`, noOverlap: true }));
      this.deps.log(`schedule ${s.name}: "${s.cron}" (${s.timezone}), next run ${nextSlot(s.cron, s.timezone, now)?.toISOString() ?? 'never'}`);
    }
    this.tasks.push(cron.schedule(this.deps.rebuildCron, () => void this.deps.queue.enqueue('rebuild', this.deps.rebuild), { name: 'rebuild', noOverlap: true }));
    this.deps.log(`schedule rebuild: "${this.deps.rebuildCron}", next run ${nextSlot(this.deps.rebuildCron, 'UTC', now)?.toISOString() ?? 'never'}`);
    this.check(now);
  }

  async stop(): Promise<void> {
    await Promise.all(this.tasks.map((t) => t.destroy()));
    this.tasks = [];
  }
}
