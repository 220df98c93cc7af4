/** Mail transports: an outbox folder of .eml files by default, pooled SMTP when SMTP_URL is set. */
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeIfChanged } from '../output/write.js';
import { DeliveryError } from '../errors.js';
import './data-stream.js'; // nodemailer's SMTP data stream, with a fast path for chunks it leaves as they are

/** Builds the complete RFC 5322 message (CRLF line ends), exactly as a transport would send it. */
export async function composeEml(mail: SendMailOptions): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await t.sendMail(mail);
  return info.message as Buffer;
}

export interface MailTransport {
  readonly kind: 'outbox' | 'smtp';
  readonly description: string;
  send(mail: SendMailOptions): Promise<void>;
  /** True when the message certainly went out before (outbox only: the file exists). */
  alreadySent(messageId: string): boolean;
  close(): void;
}

const fileFor = (dir: string, messageId: string) => path.join(dir, `${messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9.@_-]/g, '_')}.eml`);

/** Every message becomes one .eml file, written atomically: a file that exists was sent, exactly once. */
export function outboxTransport(dir: string): MailTransport {
  return {
    kind: 'outbox',
    description: `outbox ${dir}`,
    async send(mail) {
      writeIfChanged(fileFor(dir, String(mail.messageId)), await composeEml(mail));
    },
    alreadySent: (messageId) => existsSync(fileFor(dir, messageId)),
    close() {},
  };
}

export interface SmtpOptions {
  url: string;
  maxConnections: number;
  /** Messages per second (0 = unlimited). */
  rateLimit: number;
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  /** Socket timeouts in ms (tests shorten them). */
  timeoutMs?: number;
}

/** Headers DKIM signs: nodemailer's defaults plus List-Unsubscribe-Post, which RFC 8058 requires signed. */
export const DKIM_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:' +
  'Content-ID:Content-Description:List-Id:List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:' +
  'List-Post:List-Owner:List-Archive';

export function smtpTransport(opts: SmtpOptions): MailTransport {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch (err) {
    throw new DeliveryError('SMTP_URL is not a URL (smtp://user:pass@host:587 or smtps://…)', { cause: err });
  }
  if (!['smtp:', 'smtps:'].includes(url.protocol)) throw new DeliveryError(`SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}//`);
  const t: Transporter = nodemailer.createTransport({
    url: opts.url,
    pool: true,
    maxConnections: opts.maxConnections,
    maxMessages: 1000,
    ...(opts.rateLimit > 0 ? { rateDelta: 1000, rateLimit: opts.rateLimit } : {}),
    connectionTimeout: opts.timeoutMs ?? 30_000,
    greetingTimeout: opts.timeoutMs ?? 30_000,
    socketTimeout: (opts.timeoutMs ?? 30_000) * 2,
    ...(opts.dkim ? { dkim: { ...opts.dkim, headerFieldNames: DKIM_HEADERS } } : {}),
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    kind: 'smtp',
    description: `SMTP ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`,
    async send(mail) {
      await t.sendMail(mail);
    },
    alreadySent: () => false,
    close: () => t.close(),
  };
}

export async function readDkimKey(file: string | undefined, envKey: string | undefined): Promise<string | undefined> {
  if (envKey) return envKey.includes('BEGIN') ? envKey : Buffer.from(envKey, 'base64').toString('utf8');
  if (!file) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new DeliveryError(`cannot read the DKIM key ${file}`, { cause: err });
  }
}
