/**
 * Digest + recipient → mail message, with every header the one-click unsubscribe rules ask for: whole
 * (buildMessage), or per issue as a skeleton each recipient is put into (issueMessage). Pure: no disk, no network.
 */
import { createHash } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import MimeNode from 'nodemailer/lib/mime-node';
import addressparser from 'nodemailer/lib/addressparser';
import { composeEml } from './transport.js';
import type { Digest, DigestTemplates, Recipient } from '../render/digest.js';
import { fillDigest } from '../render/digest.js';
import { signToken } from './tokens.js';
import { encode } from 'nodemailer/lib/qp';
import { issueBodies } from './bodies.js';

export interface MailSettings {
  from: string;
  replyTo?: string;
  /** Site base URL, ends with `/`. */
  baseUrl: string;
  siteTitle: string;
  /** A mailbox the editor reads for unsubscribe requests, offered beside the one-click link; none when unset. */
  unsubscribeMailto?: string;
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

/** The envelope sender (MAIL FROM): the address in `from`. */
function envelopeFrom(from: string): string {
  return addressparser(from, { flatten: true })[0]?.address || from;
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

const digestKeys = new WeakMap<Digest, string>();
/**
 * A stable id for a digest issue's content, used for Message-IDs and the send log. Remembered per digest
 * object: a send asks for it several times per message, and digests are not changed once planned.
 */
export function digestKey(d: Digest): string {
  let key = digestKeys.get(d);
  if (key === undefined) digestKeys.set(d, (key = hash(d.day, ...d.topics.flatMap((t) => [t.slug, ...t.articles.map((a) => a.id)])).slice(0, 24)));
  return key;
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
  const key = digestKey(digest);
  const messageId = messageIdFor(key, sub.email, settings.from);
  return mailOptions(digest, settings, date, listSlug, {
    to: sub.name ? { name: sub.name, address: sub.email } : sub.email,
    messageId,
    unsubscribeUrl: recipient.unsubscribeUrl,
    html,
    text,
    boundary: hash(messageId).slice(0, 24),
  });
}

interface Personal {
  to: SendMailOptions['to'];
  messageId: string;
  unsubscribeUrl: string;
  html: string;
  text: string;
  boundary: string;
}

function mailOptions(digest: Digest, settings: MailSettings, date: Date, listSlug: string, p: Personal): SendMailOptions {
  const domain = senderDomain(settings.from);
  const key = digestKey(digest);
  return {
    from: settings.from,
    replyTo: settings.replyTo,
    to: p.to,
    subject: digest.subject,
    date,
    messageId: p.messageId,
    text: p.text,
    html: p.html,
    baseBoundary: p.boundary,
    // Quoted-printable: HTML and text stay readable and ~20% smaller than in base64. For a send, issueMessage
    // encodes each issue's fixed text once (src/deliver/bodies.ts), so it costs no more CPU per message.
    textEncoding: 'quoted-printable',
    list: {
      id: { url: `${listSlug}.${domain}`, comment: `${settings.siteTitle}: ${digest.topicNames}` },
      unsubscribe: settings.unsubscribeMailto ? [[p.unsubscribeUrl, `mailto:${settings.unsubscribeMailto}?subject=unsubscribe`]] : p.unsubscribeUrl,
    },
    headers: {
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'X-Gazette-Issue': key,
    },
  };
}

/** Placeholders of the per-issue skeleton: ASCII that nodemailer leaves as it is (and never real data). */
const PH = {
  to: 'gazette-to@placeholder.invalid',
  messageId: '<gazette-message-id@placeholder.invalid>',
  unsubscribe: 'https://placeholder.invalid/gazette-unsubscribe',
  // Not ASCII, so that nodemailer encodes the parts as quoted-printable, as it does real digests.
  html: 'GAZETTE-HTML-BODY-\u00e9',
  text: 'GAZETTE-TEXT-BODY-\u00e9',
};

const PLAIN_NAME = /^[A-Za-z0-9]+(?: [A-Za-z0-9]+)*$/;
const PLAIN_ADDRESS = /^[A-Za-z0-9._+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+$/; // (nodemailer lowercases a domain)

/**
 * The To header as nodemailer writes it. Most are a plain name and address that nodemailer writes as they
 * are, on one line: those are written here (~0.07 ms a message less; test/send.test.ts compares both ways).
 */
export function toHeader(sub: Subscriber): string {
  if (PLAIN_ADDRESS.test(sub.email) && (sub.name === '' || PLAIN_NAME.test(sub.name))) {
    const line = sub.name ? `To: ${sub.name} <${sub.email}>` : `To: ${sub.email}`;
    if (line.length <= 70) return line; // (nodemailer folds longer ones)
  }
  return nodemailerToHeader(sub);
}

/** The To header as nodemailer writes it (name encoded or quoted as needed, folded), CRLF included. */
// One node, reused (building is synchronous): a new one costs random bytes for its boundary and Message-ID.
let headerNode: MimeNode | undefined;
export function nodemailerToHeader(sub: Subscriber): string {
  const node = (headerNode ??= new MimeNode('text/plain').setHeader('Message-ID', '<header@placeholder.invalid>').setHeader('Date', new Date(0)));
  node.setHeader('To', sub.name ? { name: sub.name, address: sub.email } : sub.email);
  const lines = node.buildHeaders().split('\r\n');
  const start = lines.findIndex((l) => l.startsWith('To:')); // a long address alone goes to the next line: "To:\r\n address"
  const out = [lines[start]!];
  for (let i = start + 1; i < lines.length && /^[ \t]/.test(lines[i]!); i++) out.push(lines[i]!);
  return out.join('\r\n');
}

/** One recipient's message of an issue: raw RFC 5322 (CRLF) from the issue's skeleton, with its envelope. */
export type IssueMessage = (sub: Subscriber, messageId: string) => SendMailOptions;

/**
 * Composes an issue's message once with nodemailer, with placeholders where recipients differ (To,
 * Message-ID, the unsubscribe link in List-Unsubscribe, the two bodies); each recipient's message is then
 * the skeleton with their values put in — the bodies from the issue's fixed text with the recipient's values
 * (src/deliver/bodies.ts), quoted-printable like nodemailer's. About 20× cheaper per message than composing
 * each one (see BENCHMARKS.md); the result parses to the same headers and bodies as buildMessage
 * (test/send.test.ts). Should the article text put a placeholder into the skeleton too (a title quoting one),
 * each message is composed whole instead.
 */
export async function issueMessage(digest: Digest, templates: DigestTemplates, settings: MailSettings, secret: string, date: Date, listSlug: string): Promise<IssueMessage> {
  const key = digestKey(digest);
  const sender = envelopeFrom(settings.from);
  const skeleton = await composeEml(
    mailOptions(digest, settings, date, listSlug, { to: PH.to, messageId: PH.messageId, unsubscribeUrl: PH.unsubscribe, html: PH.html, text: PH.text, boundary: hash(key).slice(0, 24) }),
  );
  const text = skeleton.toString('latin1');
  const marks: [string, keyof typeof PH][] = [
    [`To: ${PH.to}`, 'to'],
    [PH.messageId, 'messageId'],
    [PH.unsubscribe, 'unsubscribe'],
    [encode(PH.html), 'html'],
    [encode(PH.text), 'text'],
  ];
  const found = marks.map(([mark, name]) => ({ at: text.indexOf(mark), len: mark.length, name }));
  const whole: IssueMessage = (sub, messageId) => ({ ...buildMessage(digest, templates, sub, settings, secret, date, listSlug), messageId });
  if (found.some((f) => f.at < 0 || text.indexOf(marks.find((m) => m[1] === f.name)![0], f.at + 1) >= 0)) return whole;
  found.sort((a, b) => a.at - b.at);
  const parts: string[] = [];
  let pos = 0;
  for (const f of found) {
    parts.push(text.slice(pos, f.at));
    pos = f.at + f.len;
  }
  parts.push(text.slice(pos));
  const bodies = issueBodies(digest, templates);
  return (sub, messageId) => {
    const recipient = recipientFor(sub, settings.baseUrl, secret);
    const { html, text: plain } = bodies(recipient);
    const values: Record<keyof typeof PH, string> = { to: toHeader(sub), messageId, unsubscribe: recipient.unsubscribeUrl, html, text: plain };
    let out = parts[0]!;
    for (let i = 0; i < found.length; i++) out += values[found[i]!.name] + parts[i + 1]!;
    return { envelope: { from: sender, to: [sub.email] }, messageId, raw: Buffer.from(out, 'latin1') };
  };
}
