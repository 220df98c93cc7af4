/** Wiring shared by send, serve and start: the state database, the transport, the token secret. */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Context, Loaded } from './context.js';
import { openDb, setting, type DB } from '../store/db.js';
import { outboxTransport, readDkimKey, smtpTransport, type MailTransport } from '../deliver/transport.js';
import { loadDigestTemplates } from '../render/templates.js';
import { absolute, siteFrom } from '../render/feeds.js';
import { topicArticles } from '../select/select.js';
import type { SendDeps } from '../deliver/send.js';
import { mailSettings } from '../deliver/settings.js';
import { DeliveryError } from '../errors.js';

export function openState(ctx: Context): DB {
  return openDb(ctx.dbPath);
}

/**
 * The secret that signs unsubscribe and confirmation links: GAZETTE_SECRET, or — only while mail goes to
 * the outbox — a random one kept in the database, so local links work with no setup.
 */
export function tokenSecret(ctx: Context, db: DB): string {
  if (ctx.secrets.secret) return ctx.secrets.secret;
  if (ctx.secrets.smtpUrl) throw new DeliveryError('GAZETTE_SECRET is not set: refusing to send over SMTP with unsigned or guessable unsubscribe links');
  return setting(db, 'local-token-secret', () => randomBytes(32).toString('base64url'));
}

export async function openTransport(ctx: Context): Promise<MailTransport> {
  const m = ctx.config.mail;
  if (!ctx.secrets.smtpUrl) return outboxTransport(m.outbox ?? path.join(ctx.outDir, 'outbox'));
  const dkimKey = m.dkim ? await readDkimKey(m.dkim.privateKeyFile, ctx.secrets.dkimKey) : undefined;
  if (m.dkim && !dkimKey) throw new DeliveryError('mail.dkim is configured but no key: set mail.dkim.privateKeyFile or GAZETTE_DKIM_KEY');
  return smtpTransport({
    url: ctx.secrets.smtpUrl,
    maxConnections: m.maxConnections,
    rateLimit: m.rateLimit,
    dkim: m.dkim && dkimKey ? { domainName: m.dkim.domainName, keySelector: m.dkim.keySelector, privateKey: dkimKey } : undefined,
  });
}

/** Everything runSend needs, apart from the request. */
export async function sendDeps(ctx: Context, loaded: Loaded, db: DB, transport: MailTransport): Promise<SendDeps> {
  const site = siteFrom(ctx.config);
  const templates = await loadDigestTemplates(ctx.config.paths.templates, ctx.config.paths.cache);
  const cache = new Map<string, ReturnType<typeof topicArticles>>();
  return {
    db,
    transport,
    templates,
    topics: loaded.topics,
    articlesOf: (slug) => {
      let list = cache.get(slug);
      if (!list) cache.set(slug, (list = topicArticles(loaded.selection, loaded.topics, slug)));
      return list;
    },
    mail: mailSettings(ctx.config),
    site: { title: site.title, baseUrl: site.baseUrl, postalAddress: ctx.config.site.postalAddress },
    language: site.language,
    timeZone: ctx.config.site.timezone,
    schedules: ctx.config.digest.schedules.map((s) => s.name),
    archiveUrl: absolute(site, 'digests/'),
    rules: ctx.config.digest,
    secret: tokenSecret(ctx, db),
    maxAttempts: ctx.config.mail.maxAttempts,
    concurrency: transport.kind === 'smtp' ? ctx.config.mail.maxConnections * 2 : 4,
    backoffMs: Number(process.env.GAZETTE_BACKOFF_MS ?? 2000),
    now: ctx.now,
    warn: ctx.warn,
  };
}
