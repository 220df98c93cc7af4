/** What an SMTP failure means: retry later, give up, or give up and mark the address bounced. Pure. */
export interface Failure {
  temporary: boolean;
  /** The mailbox does not exist: the subscriber is marked bounced. */
  bounce: boolean;
  message: string;
}

const NETWORK = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EDNS', 'EPROTOCOL', 'ETLS', 'ESTREAM']);

export function classify(err: unknown): Failure {
  const e = (err ?? {}) as { responseCode?: number; code?: string; response?: string; message?: string };
  const message = (e.response ?? e.message ?? String(err)).toString().replace(/\s+/g, ' ').slice(0, 300);
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (code !== undefined && code >= 500 && code < 600) {
    const enhanced = /\b5\.(\d)\.\d+\b/.exec(message);
    const mailbox = [550, 551, 553].includes(code) && (!enhanced || enhanced[1] === '1');
    return { temporary: false, bounce: mailbox, message };
  }
  if (code !== undefined && code >= 400 && code < 500) return { temporary: true, bounce: false, message };
  if (e.code && NETWORK.has(e.code)) return { temporary: true, bounce: false, message };
  // Anything unexplained (a bug, a full disk) is retried: giving up silently would lose a digest.
  return { temporary: true, bounce: false, message };
}

/** Exponential backoff with a cap: base, 4×base, 16×base … */
export function backoff(attempt: number, baseMs: number, capMs = 60_000): number {
  return Math.min(capMs, baseMs * 4 ** Math.max(0, attempt - 1));
}
