/** When each schedule last ran (the slot it ran for). */
import type { DB } from './db.js';

export function lastRun(db: DB, name: string): Date | null {
  const r = db.prepare('SELECT last_run_at FROM schedule_runs WHERE name = ?').get(name) as { last_run_at: string } | undefined;
  return r ? new Date(r.last_run_at) : null;
}

export function recordRun(db: DB, name: string, slot: Date): void {
  db.prepare('INSERT INTO schedule_runs (name, last_run_at) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET last_run_at = excluded.last_run_at').run(name, slot.toISOString());
}
