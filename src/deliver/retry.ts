/** What an SMTP failure means: retry later, give up, or give up and mark the address bounced. Pure. */
export interface Failure {
  temporary: boolean;
  /** The mailbox does not exist: the subscriber is marked bounced. */
  bounce: boolean;
  /**
   * The server turned the sender away, not this recipient: every other message would fail alike, so the send
   * stops. `login`: its login was refused or is required (retrying cannot help); `unreachable`: it could not be
   * reached (refused, unknown host, TLS), or the outbox folder cannot be written — retried like any temporary
   * failure first. Such a delivery is never `failed`: it is deferred, and the next send delivers it.
   */
  server: 'login' | 'unreachable' | null;
  message: string;
}

const NETWORK = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EDNS', 'EPROTOCOL', 'ETLS', 'ESTREAM']);
/**
 * A server that cannot be reached at all (a reset or a timeout mid-message is not one), or an outbox folder that
 * cannot be written (full, read-only, not ours). nodemailer reports the system's code as `originalCode`, and
 * `command: 'CONN'` for anything that failed before the server's greeting was taken.
 */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EDNS', 'ETLS', 'ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM']);
/** 530 authentication required, 534 mechanism too weak, 535 credentials invalid, 538 encryption required (RFC 4954). */
const LOGIN_CODES = new Set([530, 534, 535, 538]);

export function classify(err: unknown): Failure {
  const given = (err ?? {}) as { responseCode?: number; code?: string; originalCode?: string; command?: string; response?: string; message?: string; cause?: unknown };
  // (Error's own `message` and `cause` are not enumerable: taken one by one.)
  const e = { responseCode: given.responseCode, code: given.code, originalCode: given.originalCode, command: given.command, response: given.response, message: given.message };
  // An error that wraps a system call's (the outbox's write) is classified by that call's code.
  for (let c = given.cause as { code?: unknown; cause?: unknown } | undefined; !e.code && c; c = c.cause as typeof c) if (typeof c.code === 'string') e.code = c.code;
  const message = (e.response ?? e.message ?? String(err)).toString().replace(/\s+/g, ' ').slice(0, 300);
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH' || (code !== undefined && LOGIN_CODES.has(code))) return { temporary: true, bounce: false, server: 'login', message };
  if (e.command === 'CONN' || (e.code && UNREACHABLE.has(e.code)) || (e.originalCode && UNREACHABLE.has(e.originalCode))) return { temporary: true, bounce: false, server: 'unreachable', message };
  if (code !== undefined && code >= 500 && code < 600) {
    const enhanced = /\b5\.(\d)\.\d+\b/.exec(message);
    const mailbox = [550, 551, 553].includes(code) && (!enhanced || enhanced[1] === '1');
    return { temporary: false, bounce: mailbox, server: null, message };
  }
  if (code !== undefined && code >= 400 && code < 500) return { temporary: true, bounce: false, server: null, message };
  if (e.code && NETWORK.has(e.code)) return { temporary: true, bounce: false, server: null, message };
  // Anything unexplained (a bug, a full disk) is retried: giving up silently would lose a digest.
  return { temporary: true, bounce: false, server: null, message };
}

/** Exponential backoff with a cap: base, 4×base, 16×base … */
export function backoff(attempt: number, baseMs: number, capMs = 60_000): number {
  return Math.min(capMs, baseMs * 4 ** Math.max(0, attempt - 1));
}
