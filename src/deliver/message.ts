/** Digest + recipient → nodemailer message: every header the one-click unsubscribe rules ask for. Pure. */
import { createHash } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import type { Digest, DigestTemplates, Recipient } from '../render/digest.js';
import { fillDigest } from '../render/digest.js';
import { signToken } from './tokens.js';

export interface MailSettings {
  from: string;
  replyTo?: string;
  /** Site base URL, ends with `/`. */
  baseUrl: string;
  siteTitle: string;
}

export interface Subscriber {
  email: string;
  name: string;
}

export function recipientFor(sub: Subscriber, baseUrl: string, secret: string): Recipient {
  return {
    name: sub.name,
    email: sub.email,
    unsubscribeUrl: new URL(`unsubscribe?token=${signToken(secret, 'unsubscribe', sub.email)}`, baseUrl).href,
    preferencesUrl: new URL(`preferences?token=${signToken(secret, 'preferences', sub.email)}`, baseUrl).href,
  };
}

/** The domain mail is sent from: the part after @ in `from`. */
export function senderDomain(from: string): string {
  return /@([^>\s]+)>?\s*$/.exec(from)?.[1]?.toLowerCase() ?? 'localhost';
}

export function hash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/** A stable id for a digest issue's content, used for Message-IDs and the send log. */
export function digestKey(d: Digest): string {
  return hash(d.day, ...d.topics.flatMap((t) => [t.slug, ...t.articles.map((a) => a.id)])).slice(0, 24);
}

/** The Message-ID of an issue sent to one address: the same on every resend, so receivers can drop a duplicate. */
export function messageIdFor(issueKey: string, email: string, from: string): string {
  return `<${issueKey}.${hash(issueKey, email).slice(0, 24)}@${senderDomain(from)}>`;
}

export function buildMessage(
  digest: Digest,
  templates: DigestTemplates,
  sub: Subscriber,
  settings: MailSettings,
  secret: string,
  date: Date,
  listSlug: string,
): SendMailOptions {
  const recipient = recipientFor(sub, settings.baseUrl, secret);
  const { html, text } = fillDigest(digest, recipient, templates);
  const domain = senderDomain(settings.from);
  const key = digestKey(digest);
  const messageId = messageIdFor(key, sub.email, settings.from);
  const mailtoUnsub = `mailto:unsubscribe@${domain}?subject=unsubscribe`;
  return {
    from: settings.from,
    replyTo: settings.replyTo,
    to: sub.name ? { name: sub.name, address: sub.email } : sub.email,
    subject: digest.subject,
    date,
    messageId,
    text,
    html,
    baseBoundary: hash(messageId).slice(0, 24),
    // base64 is encoded natively and keeps lines short; quoted-printable costs 3× more CPU per message.
    textEncoding: 'base64',
    list: {
      id: { url: `${listSlug}.${domain}`, comment: `${settings.siteTitle}: ${digest.topicNames}` },
      unsubscribe: [[recipient.unsubscribeUrl, mailtoUnsub]],
    },
    headers: {
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'X-Gazette-Issue': key,
    },
  };
}
