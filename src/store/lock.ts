/** A named lock in the state database, so two processes never send from the same database at once. */
import { hostname } from 'node:os';
import type { DB } from './db.js';
import { StoreError } from '../errors.js';

export class LockHeld extends StoreError {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Lock {
  release(): void;
  heartbeat(): void;
}

/**
 * Takes lock `name`, or throws LockHeld naming the holder. A lock left by a dead process on this host,
 * or whose heartbeat is older than `staleMs`, is taken over.
 */
export function acquireLock(db: DB, name: string, opts: { staleMs?: number; now?: () => Date } = {}): Lock {
  const now = opts.now ?? (() => new Date());
  const staleMs = opts.staleMs ?? 10 * 60_000;
  const owner = `${hostname()}:${process.pid}`;
  db.transaction(() => {
    const held = db.prepare('SELECT * FROM locks WHERE name = ?').get(name) as { owner: string; pid: number; heartbeat_at: string } | undefined;
    if (held && held.owner !== owner) {
      const sameHost = held.owner.startsWith(`${hostname()}:`);
      const stale = now().getTime() - Date.parse(held.heartbeat_at) > staleMs;
      if (!(sameHost && !alive(held.pid)) && !stale) {
        throw new LockHeld(`another Gazette process (${held.owner}) holds the "${name}" lock on this database; refusing to run alongside it`);
      }
    }
    db.prepare('INSERT INTO locks (name, owner, pid, heartbeat_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, heartbeat_at = excluded.heartbeat_at')
      .run(name, owner, process.pid, now().toISOString());
  }).immediate();
  return {
    heartbeat: () => void db.prepare('UPDATE locks SET heartbeat_at = ? WHERE name = ? AND owner = ?').run(now().toISOString(), name, owner),
    release: () => void db.prepare('DELETE FROM locks WHERE name = ? AND owner = ?').run(name, owner),
  };
}
