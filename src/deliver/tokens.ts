/**
 * Signed tokens for unsubscribe, preference and confirmation links: HMAC-SHA256 over the purpose and the
 * address, keyed by GAZETTE_SECRET. Nobody can make one for an address without the secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenPurpose = 'unsubscribe' | 'preferences' | 'confirm';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');

function mac(secret: string, purpose: TokenPurpose, email: string, issued: number): Buffer {
  return createHmac('sha256', secret).update(`gazette/v1\n${purpose}\n${email}\n${issued}`).digest();
}

/** `issued` (seconds) lets confirmation tokens expire; links in digests do not expire. */
export function signToken(secret: string, purpose: TokenPurpose, email: string, issued = 0): string {
  return `${b64(email)}.${issued.toString(36)}.${b64(mac(secret, purpose, email, issued)).slice(0, 32)}`;
}

export interface VerifiedToken {
  email: string;
  issued: number;
}

/**
 * The address a token was made for, or null when it is malformed, forged or for another purpose. `secret` may be
 * a list: the current secret and those used before it, so that links in mail already sent survive a new secret.
 */
export function verifyToken(secret: string | readonly string[], purpose: TokenPurpose, token: unknown, opts: { maxAgeSeconds?: number; nowSeconds?: number } = {}): VerifiedToken | null {
  if (typeof token !== 'string' || token.length > 1024) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [e, i, sig] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(e) || !/^[0-9a-z]+$/.test(i) || !/^[A-Za-z0-9_-]{32}$/.test(sig)) return null;
  const email = Buffer.from(e, 'base64url').toString('utf8');
  const issued = parseInt(i, 36);
  const given = Buffer.from(sig);
  const signedBy = (key: string) => timingSafeEqual(Buffer.from(b64(mac(key, purpose, email, issued)).slice(0, 32)), given);
  if (!(typeof secret === 'string' ? [secret] : secret).some(signedBy)) return null;
  if (opts.maxAgeSeconds !== undefined && (opts.nowSeconds ?? Date.now() / 1000) - issued > opts.maxAgeSeconds) return null;
  return { email, issued };
}
