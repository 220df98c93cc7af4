/** `gazette serve` (HTTP) and `gazette start` (build, HTTP, schedules): the long-running main job. */
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Context, Loaded } from './context.js';
import { loadAndSelect } from './context.js';
import { buildSite, goneFeedsFile, notifyHub, readGoneFeeds } from './site.js';
import { openState, openTransport, sendDeps, tokenSecret } from './mailer.js';
import { forgetOldHistory, formatSummary, haltError } from './send.js';
import { runSend, type SendRequest } from '../deliver/send.js';
import { acquireLock } from '../store/lock.js';
import { setting, type DB } from '../store/db.js';
import { createApp, type AppDeps } from '../server/app.js';
import { loadTemplate } from '../render/templates.js';
import { siteFrom } from '../render/feeds.js';
import { JobQueue } from '../schedule/queue.js';
import { Scheduler } from '../schedule/scheduler.js';
import { validateSchedule } from '../schedule/due.js';
import { parseSince, previewDigest, previewSince, sendTestDigest } from './digest.js';
import { loadDigestTemplates } from '../render/templates.js';
import { GazetteError, UsageError, describeError } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { readerSchedules, type Config } from '../config/schema.js';

export interface ServiceOptions {
  port?: string;
  host?: string;
  schedule: boolean;
}

/** GAZETTE_ADMIN_TOKEN, or one made on first start and kept in the database (printed at start). */
function adminToken(ctx: Context, db: DB): { token: string; generated: boolean } {
  if (ctx.secrets.adminToken) return { token: ctx.secrets.adminToken, generated: false };
  return { token: setting(db, 'admin-token', () => randomBytes(24).toString('base64url')), generated: true };
}

export interface Service {
  url: string;
  queue: JobQueue;
  readonly scheduler?: Scheduler;
  /**
   * Reads the config file again (SIGHUP) and applies it between jobs: site, topics, selection, digest and its
   * schedules, feeds, mail headers. A file that does not load is said, and the service goes on as it was. What
   * was read once at start — paths, the mail transport's settings, server.trustProxy — is named as needing a restart.
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `next` with the settings a running service read once at start (its folders and templates, the mail transport,
 * the server) as they were, and the names of those `next` would change: a reload says so instead of half-applying them.
 */
function keepReadAtStart(next: Config, running: Config): { config: Config; changed: string[] } {
  const kept: Config = {
    ...next,
    paths: running.paths,
    server: running.server,
    mail: { ...next.mail, outbox: running.mail.outbox, maxConnections: running.mail.maxConnections, rateLimit: running.mail.rateLimit, dkim: running.mail.dkim },
  };
  const changed = (['paths', 'server'] as const).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(running[k])) as string[];
  for (const k of ['outbox', 'maxConnections', 'rateLimit', 'dkim'] as const) if (JSON.stringify(next.mail[k]) !== JSON.stringify(running.mail[k])) changed.push(`mail.${k}`);
  return { config: kept, changed };
}

/** The port to listen on: `--port`, else PORT, else 8080; a usage error unless a whole number from 0 (any free one) to 65535. */
export function listenPort(flag: string | undefined, env: string | undefined): number {
  const [value, from] = flag !== undefined ? [flag, '--port'] : env !== undefined && env !== '' ? [env, 'PORT'] : ['8080', ''];
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (!(port <= 65535)) throw new UsageError(`${from}: not a port number (0 to 65535): "${value}"`);
  return port;
}

export async function startService(ctx: Context, opts: ServiceOptions): Promise<Service> {
  for (const s of ctx.config.digest.schedules) validateSchedule(s.name, s.cron, s.timezone);
  const port = listenPort(opts.port, process.env.PORT);
  const db = openState(ctx);
  const lock = opts.schedule ? acquireLock(db, 'scheduler') : undefined;
  let stopping = false;
  try {
    const transport = await openTransport(ctx);
    const secret = tokenSecret(ctx, db);
    const admin = adminToken(ctx, db);
    const queue = new JobQueue(ctx.now, ctx.log);
    // Filled in once the server listens, so links point where it really is when no base URL is configured.
    const site: AppDeps['site'] = { title: '', baseUrl: '', language: '', postalAddress: ctx.config.site.postalAddress, from: ctx.config.mail.from, icon: null };

    let loaded: Loaded | undefined;
    const rebuild = async () => {
      loaded = await loadAndSelect(ctx);
      const stats = await buildSite(ctx, loaded);
      lock?.heartbeat();
      await notifyHub(ctx, stats.changed);
      return stats;
    };

    const send = async (req: SendRequest) => {
      await rebuild();
      const sendLock = acquireLock(db, 'send');
      try {
        const summary = await runSend(req, { ...(await sendDeps(ctx, loaded!, db, transport)), shouldStop: () => stopping });
        loaded!.load.save(); // what planning the digests parsed in full
        // A schedule's run reaches its readers only: say how many, so that "sent 0" is not taken for a fault.
        const audience = req.schedule ? ` (${req.schedule}: ${summary.subscribers} subscriber${summary.subscribers === 1 ? '' : 's'})` : '';
        ctx.log(`send ${req.topics === 'all' ? 'all' : req.topics.join(',')}${audience}: ${formatSummary(summary)}`);
        forgetOldHistory(ctx, db);
        if (summary.halted) throw haltError(summary);
        return summary;
      } finally {
        sendLock.release();
      }
    };

    /** A topic's digest to a few addresses, as `digest preview --to` sends it: nothing recorded. */
    const test = async (slug: string, to: string[], since: Date | undefined) => {
      await rebuild();
      const templates = await loadDigestTemplates(ctx.config.paths.templates, ctx.config.paths.cache);
      const digest = previewDigest(ctx, loaded!, slug, previewSince(ctx, since), templates);
      await sendTestDigest(ctx, digest, slug, templates, to, transport, secret);
      ctx.log(`test digest ${slug}: sent to ${to.join(', ')} (nothing recorded)`);
      return { topic: slug, to, articles: digest.articleCount };
    };

    const app = createApp({
      outDir: ctx.outDir,
      db,
      transport,
      secret,
      previousSecrets: ctx.secrets.previousSecrets,
      adminToken: admin.token,
      site,
      topics: () => loaded?.topics ?? [],
      templates: {
        page: await loadTemplate(ctx.config.paths.templates, 'page.hbs'),
        confirmText: await loadTemplate(ctx.config.paths.templates, 'confirm.txt.hbs', { noEscape: true }),
        admin: await loadTemplate(ctx.config.paths.templates, 'admin.hbs'),
      },
      enqueueSend: (req) =>
        queue.enqueue(`manual send ${req.topic ?? 'all'}${req.schedule ? ` as ${req.schedule}` : ''}`, () => send({ topics: req.all ? 'all' : [req.topic!], since: parseSince(req.since, ctx.config.site.timezone), schedule: req.schedule })),
      schedules: () => readerSchedules(ctx.config.digest.schedules),
      enqueueTest: (req) => queue.enqueue(`test digest ${req.topic}`, () => test(req.topic, req.to, parseSince(req.since, ctx.config.site.timezone))),
      job: (id) => queue.get(id),
      now: ctx.now,
      log: ctx.log,
      trustProxy: ctx.config.server.trustProxy,
      goneFeeds: () => readGoneFeeds(goneFeedsFile(ctx)),
    });

    const host = opts.host ?? process.env.HOST ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      app.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new GazetteError(`${host}:${port} is already in use (another gazette start or serve?): stop it, or choose another with --port`, { cause: err }));
        else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new UsageError(`--host: ${host} is no address of this machine`, { cause: err }));
        else reject(err);
      });
      app.listen(port, host, () => resolve());
    });
    const addr = app.address() as AddressInfo;
    const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}/`;
    if (!ctx.config.site.baseUrl) ctx.config = { ...ctx.config, site: { ...ctx.config.site, baseUrl: url } };
    Object.assign(site, siteFrom(ctx.config));
    await rebuild();
    const known = new Set(loaded!.topics.map((t) => t.slug));
    for (const s of ctx.config.digest.schedules) {
      if (s.topics === 'all') continue;
      const unknown = s.topics.filter((slug) => !known.has(slug));
      if (unknown.length) ctx.warn(`schedule ${s.name}: no topic ${unknown.map((u) => `"${u}"`).join(', ')} in the content (topics: ${[...known].join(', ') || 'none'})`);
    }
    ctx.log(`serving ${ctx.outDir} at ${url} (mail via ${transport.description})`);
    if (admin.generated) ctx.log(`admin token (set GAZETTE_ADMIN_TOKEN to choose your own): ${admin.token}`);

    const newScheduler = () =>
      new Scheduler({
        db,
        schedules: ctx.config.digest.schedules,
        rebuildCron: ctx.config.feeds.rebuildCron,
        queue,
        now: ctx.now,
        log: ctx.log,
        rebuild,
        // Its digests are dated in its own time zone: a 07:00 Tokyo issue is the Tokyo day's.
        // Those who chose another schedule do not get this one's digests.
        send: (s) => send({ topics: s.topics === 'all' ? 'all' : s.topics, timeZone: s.timezone, schedule: s.name }),
      });
    let scheduler: Scheduler | undefined;
    if (opts.schedule) {
      scheduler = newScheduler();
      scheduler.start();
    }

    const reload = async () => {
      const file = ctx.configSource === 'built-in defaults' ? undefined : ctx.configSource;
      let next: Config;
      let source: string;
      try {
        ({ config: next, source } = await loadConfig(file));
        for (const s of next.digest.schedules) validateSchedule(s.name, s.cron, s.timezone);
      } catch (err) {
        ctx.warn(`reload: nothing changed, still running with the config as it was: ${describeError(err)}`);
        return;
      }
      const { config: applied, changed: restart } = keepReadAtStart(next, ctx.config);
      next = applied;
      // Where the server listens stays the base URL when none is configured.
      if (!next.site.baseUrl) next = { ...next, site: { ...next.site, baseUrl: url } };
      ctx.config = next;
      ctx.configSource = source;
      const nextSite = siteFrom(next);
      // (`hub` set even when gone: a reload that removes feeds.hub must take it out of the feeds' Link headers.)
      Object.assign(site, nextSite, { hub: nextSite.hub, postalAddress: next.site.postalAddress, from: next.mail.from });
      if (scheduler) {
        await scheduler.stop();
        scheduler = newScheduler();
        scheduler.start();
      }
      await rebuild();
      ctx.log(`reload: ${source} applied${restart.length ? `; changed but read only at start: ${restart.join(', ')} (restart to apply them)` : ''}`);
    };

    let stopped: Promise<void> | undefined;
    return {
      url,
      queue,
      get scheduler() {
        return scheduler;
      },
      // Between jobs: never in the middle of a send or a build.
      reload: async () => {
        queue.enqueue('reload config', reload);
        await queue.idle();
      },
      stop: () =>
        (stopped ??= (async () => {
          stopping = true;
          await scheduler?.stop();
          await new Promise<void>((resolve) => {
            app.close(() => resolve());
            app.closeIdleConnections();
          });
          await queue.stop();
          transport.close();
          lock?.release();
          db.close();
        })()),
    };
  } catch (err) {
    lock?.release();
    db.close();
    throw err;
  }
}

/** A line of a service's log, read later: it says when (by the context's clock). */
const stamped = (ctx: Context, write: (line: string) => void) => (line: string) => write(`${ctx.now().toISOString()} ${line}`);

/** Runs until SIGINT/SIGTERM, then lets the delivery batch in flight finish and exits cleanly. Log lines carry the time. */
export async function runUntilSignal(base: Context, opts: ServiceOptions): Promise<void> {
  const ctx: Context = { ...base, log: stamped(base, base.log), warn: stamped(base, base.warn) };
  const service = await startService(ctx, opts);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      ctx.log(`${sig}: finishing the work in flight, then stopping`);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('SIGHUP', onHangUp);
      service.stop().then(resolve, (err) => {
        ctx.warn(`error while stopping: ${err instanceof Error ? err.message : String(err)}`);
        resolve();
      });
    };
    // `kill -HUP` (systemctl reload): the config file again, without dropping the server or a send.
    const onHangUp = () => {
      ctx.log('SIGHUP: reading the config again');
      void service.reload();
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('SIGHUP', onHangUp);
  });
  ctx.log('stopped');
}
