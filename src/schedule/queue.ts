/** One job at a time: rebuilds, scheduled digests and manual sends never overlap. */
import { GazetteError } from '../errors.js';
export interface Job {
  id: number;
  name: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  queuedAt: string;
  finishedAt?: string;
  /** What the job returned; for a failed one, what it had done when it failed (when its error says: `partial`). */
  result?: unknown;
  error?: string;
}

export class JobQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private stopped = false;

  constructor(
    private readonly now: () => Date = () => new Date(),
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Queues `fn`; returns the job record at once (its status follows the run). */
  enqueue(name: string, fn: () => Promise<unknown>): Job {
    const job: Job = { id: this.nextId++, name, status: 'queued', queuedAt: this.now().toISOString() };
    this.jobs.set(job.id, job);
    if (this.jobs.size > 200) this.jobs.delete(Math.min(...this.jobs.keys()));
    this.tail = this.tail.then(async () => {
      if (this.stopped) {
        job.status = 'failed';
        job.error = 'shutting down';
        return;
      }
      job.status = 'running';
      const started = Date.now();
      try {
        job.result = await fn();
        job.status = 'done';
        this.log(`${name}: done in ${Date.now() - started} ms`);
      } catch (err) {
        job.status = 'failed';
        job.error = err instanceof Error ? err.message : String(err);
        if (err instanceof GazetteError && err.partial !== undefined) job.result = err.partial;
        this.log(`${name}: failed: ${job.error}`);
      } finally {
        job.finishedAt = this.now().toISOString();
      }
    });
    return job;
  }

  get(id: number): Job | undefined {
    return this.jobs.get(id);
  }

  /** Resolves when everything queued so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }

  /** Jobs not yet started are dropped; the running one finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.tail;
  }
}
