/**
 * Group commit: writes that must be committed before their caller goes on, gathered over one turn of the event
 * loop and committed in one transaction at its end. A send has several deliveries in flight; their `sending`
 * and `sent` records used to cost a commit each (in WAL mode, a write of every page the statement touched:
 * ~0.1 ms each here, a fifth of a message's CPU). Each caller still waits for its own record to be committed,
 * so what a crash can leave behind is what it was: only the wait is shared.
 */
import type { DB } from './db.js';

interface Queued {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  #queue: Queued[] = [];
  readonly #tx;
  /** Transactions committed and writes in them (for tests and profiling). */
  readonly stats = { commits: 0, writes: 0 };

  constructor(db: DB) {
    this.#tx = db.transaction((batch: Queued[]) => batch.map((q) => q.write()));
  }

  /** Runs `write` in the next group transaction; resolves with its result once that transaction is committed. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#queue.push({ write, resolve: resolve as (v: unknown) => void, reject }) === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    let results: unknown[];
    try {
      results = this.#commit(batch);
    } catch {
      // One failing write must not fail the others: each is tried again in a transaction of its own.
      for (const q of batch) {
        try {
          q.resolve(this.#commit([q])[0]);
        } catch (err) {
          q.reject(err);
        }
      }
      return;
    }
    batch.forEach((q, i) => q.resolve(results[i]));
  }

  #commit(batch: Queued[]): unknown[] {
    const results = this.#tx(batch);
    this.stats.commits++;
    this.stats.writes += batch.length;
    return results;
  }
}
