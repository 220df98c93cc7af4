/**
 * HTTP: the output folder, subscribe with double opt-in, one-click unsubscribe (RFC 8058), preferences,
 * and the editor's manual send. Thin: every decision lives in store/, deliver/ and the job queue.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DB } from '../store/db.js';
import { addressList, CONFIRM_MAX_AGE_SECONDS, forgetUnconfirmed, getSubscriber, mayRequestConfirmation, normalizeEmail, requestConfirmation, setStatus, upsertSubscriber, withdrawConfirmation, type SubscriberRow } from '../store/subscribers.js';
import { signToken, verifyToken } from '../deliver/tokens.js';
import type { MailTransport } from '../deliver/transport.js';
import type { Template } from '../render/templates.js';
import type { ScheduleChoice } from '../render/pages.js';
import { FEED_FILE } from '../render/feeds.js';
import type { TopicDef } from '../select/topics.js';
import type { Job } from '../schedule/queue.js';
import { StaticFiles } from './static.js';
import { describeError } from '../errors.js';
import { sinceInstant } from '../content/text.js';
import proxyaddr from 'proxy-addr';

export interface PageView {
  site: { title: string; language: string };
  title: string;
  paragraphs: string[];
  home: string;
  form: {
    action: string;
    button: string;
    hidden: { name: string; value: string }[];
    topics: { slug: string; name: string; checked: boolean }[] | null;
    /** The digest schedules to choose from (radio buttons named `schedule`), when there are several; else null. */
    schedules?: ScheduleChoice[] | null;
  } | null;
}

export interface AppDeps {
  outDir: string;
  db: DB;
  transport: MailTransport;
  /** Signs new links (confirmation); with `previousSecrets`, verifies links of every kind. */
  secret: string;
  /** Secrets used before `secret`: links in mail already sent, signed with them, still work. */
  previousSecrets?: readonly string[];
  adminToken: string;
  /** `hub`: the WebSub hub (`feeds.hub`), named in a Link header of every feed served. */
  site: { title: string; baseUrl: string; language: string; postalAddress: string; from: string; hub?: string; icon?: string | null };
  topics: () => readonly TopicDef[];
  templates: { page: Template<PageView>; confirmText: Template<Record<string, unknown>>; admin: Template<Record<string, unknown>> };
  enqueueSend: (req: { topic?: string; all?: boolean; since?: string; schedule?: string }) => Job;
  /** The digest schedules (`digest.schedules`, as a reload leaves them): with several, readers choose one when they sign up and on their preferences page. */
  schedules?: () => readonly { name: string; title: string }[];
  /** A topic's digest to a few addresses for the editor to look at (`digest preview --to`): nothing recorded. */
  enqueueTest: (req: { topic: string; to: string[]; since?: string }) => Job;
  job: (id: number) => Job | undefined;
  now: () => Date;
  log: (line: string) => void;
  /** Sign-ups allowed per client address per 10 minutes. */
  subscribeRateLimit?: number;
  /** Feed folders (`topics/<slug>`) the builds removed: their feed files answer 410 Gone, which tells feed readers to stop asking. */
  goneFeeds?: () => readonly string[];
  /** `server.trustProxy`: which proxies' X-Forwarded-For tells the client address (default: none). */
  trustProxy?: false | number | string | string[];
}

/**
 * Every route besides the output folder's files (GET and HEAD), with the methods it answers; another method gets
 * 405 with these in `Allow`. The README's HTTP table lists each (test/server.test.ts holds them to it).
 */
export const ROUTES = {
  '/subscribe': ['POST'],
  '/confirm': ['GET', 'POST'],
  '/unsubscribe': ['GET', 'POST'],
  '/preferences': ['GET', 'POST'],
  '/api/send': ['POST'],
  '/api/test': ['POST'],
  '/api/jobs/<id>': ['GET'],
  '/healthz': ['GET', 'HEAD'],
  '/admin': ['GET'],
} as const satisfies Record<string, readonly string[]>;

const MAX_BODY = 16 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw new HttpError(413, 'Request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/** proxy-addr's trust function for a number of hops or a list of proxy addresses. */
function trustFn(v: number | string | string[]): (addr: string, i: number) => boolean {
  return typeof v === 'number' ? (_addr, i) => i < v : proxyaddr.compile(v);
}

export function createApp(deps: AppDeps): http.Server {
  const files = new StaticFiles(deps.outDir);
  const keys = [deps.secret, ...(deps.previousSecrets ?? [])];
  const hits = new Map<string, { count: number; since: number }>();
  const limit = deps.subscribeRateLimit ?? 10;

  function page(res: ServerResponse, status: number, view: Omit<PageView, 'site' | 'home'>): void {
    const html = deps.templates.page({ ...view, form: view.form && { schedules: null, ...view.form }, site: deps.site, home: deps.site.baseUrl });
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.end(html);
  }

  function json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  /** Forms are posted from our own pages only: a cross-site POST is refused (no cookies are used either). */
  function sameOrigin(req: IncomingMessage): boolean {
    if (req.headers['sec-fetch-site'] === 'cross-site') return false;
    const origin = req.headers.origin;
    if (!origin || origin === 'null') return origin !== 'null';
    const own = [new URL(deps.site.baseUrl).origin, `http://${req.headers.host}`, `https://${req.headers.host}`];
    return own.includes(origin);
  }

  const trust = deps.trustProxy === undefined || deps.trustProxy === false ? null : trustFn(deps.trustProxy);
  /** The client's address: the socket's, or behind trusted proxies the one they forwarded. */
  const clientAddress = (req: IncomingMessage) => (trust ? proxyaddr(req, trust) : req.socket.remoteAddress) ?? '?';

  function rateLimited(req: IncomingMessage): boolean {
    const key = clientAddress(req);
    const t = Date.now();
    const h = hits.get(key);
    if (!h || t - h.since > 600_000) {
      hits.set(key, { count: 1, since: t });
      if (hits.size > 10_000) hits.clear();
      return false;
    }
    h.count++;
    return h.count > limit;
  }

  const checkedTopics = (sub: Pick<SubscriberRow, 'topics'> | null) =>
    deps.topics().map((t) => ({ slug: t.slug, name: t.name, checked: !!sub && (sub.topics.includes('*') || sub.topics.includes(t.slug)) }));

  /** The topics ticked in a form: every one of them is `*` (new topics too); none is every topic on the sign-up form, none on the preferences page. */
  function chosenTopics(form: URLSearchParams, { noneMeansAll = true } = {}): string[] {
    const known = new Set(deps.topics().map((t) => t.slug));
    const picked = form.getAll('topics').filter((s) => known.has(s));
    if (picked.length === 0) return noneMeansAll ? ['*'] : [];
    return picked.length === known.size ? ['*'] : [...new Set(picked)].sort();
  }

  const schedules = () => deps.schedules?.() ?? [];
  /** A form's choice of schedule: a configured name, or null (none offered, none chosen, or '*': every schedule). */
  function chosenSchedule(form: URLSearchParams): string | null {
    const value = form.get('schedule');
    const list = schedules();
    return list.length > 1 && list.some((s) => s.name === value) ? value : null;
  }
  /** The schedules to choose from, `current` chosen; null when there is no choice to make. */
  function scheduleChoices(current: string | null, { everyOption = false } = {}): ScheduleChoice[] | null {
    const list = schedules();
    if (list.length < 2) return null;
    const known = list.some((s) => s.name === current);
    const choices = list.map((s) => ({ name: s.name, title: s.title, checked: s.name === current }));
    // Someone who never chose gets every schedule's digests: shown as such, so that saving as shown changes nothing.
    return everyOption && !known ? [...choices, { name: '*', title: 'All of them', checked: true }] : choices;
  }

  async function subscribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!sameOrigin(req)) throw new HttpError(403, 'Cross-site form posts are refused');
    if (rateLimited(req)) throw new HttpError(429, 'Too many sign-ups from this address; try again later');
    const form = new URLSearchParams(await readBody(req));
    const email = normalizeEmail(form.get('email') ?? '');
    if (!email) {
      return page(res, 400, { title: 'Check the address', paragraphs: ['That does not look like an email address. Go back and try again.'], form: null });
    }
    const name = (form.get('name') ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 100);
    const now = deps.now();
    const forgotten = forgetUnconfirmed(deps.db, now);
    if (forgotten > 0) deps.log(`subscribe: forgot ${forgotten} sign-up(s) never confirmed (their links expired)`);
    const existing = getSubscriber(deps.db, email);
    // Active subscribers are left as they are; anyone else gets (another) confirmation, a few a day at most.
    if (!existing || (existing.status !== 'active' && mayRequestConfirmation(existing, now))) {
      const chosen = chosenTopics(form);
      const schedule = chosenSchedule(form);
      const before = requestConfirmation(deps.db, { email, name, topics: chosen, schedule }, now);
      const token = signToken(deps.secret, 'confirm', email, Math.floor(now.getTime() / 1000));
      const confirmUrl = new URL(`confirm?token=${token}`, deps.site.baseUrl).href;
      // What they signed up for, by name ([] = every topic, new ones too).
      const topics = chosen.includes('*') ? [] : deps.topics().filter((t) => chosen.includes(t.slug)).map((t) => t.name);
      const text = deps.templates.confirmText({ name, email, confirmUrl, site: deps.site, topics, schedule: schedules().find((s) => s.name === schedule)?.title ?? null });
      try {
        await deps.transport.send({
          from: deps.site.from,
          to: email,
          subject: `Confirm your subscription to ${deps.site.title}`,
          text,
          messageId: `<confirm.${createHash('sha256').update(`${email}${now.getTime()}`).digest('hex').slice(0, 24)}@${/@([^>\s]+)>?\s*$/.exec(deps.site.from)?.[1] ?? 'localhost'}>`,
        });
      } catch (err) {
        // No mail went out: the limit on confirmation mails must not keep the reader from trying again.
        withdrawConfirmation(deps.db, email, before);
        deps.log(`subscribe: the confirmation to ${email} could not be sent: ${describeError(err)}`);
        throw new HttpError(503, 'We could not send the confirmation email just now. Please try again in a few minutes.');
      }
      // With the outbox there is no mail server to read the link from: the log shows it.
      deps.log(`subscribe: confirmation sent to ${email}${deps.transport.kind === 'outbox' ? ` (${confirmUrl})` : ''}`);
    }
    // The same answer whether or not the address was known: the list is never revealed.
    page(res, 200, { title: 'Check your inbox', paragraphs: [`If ${email} is not subscribed yet, a confirmation link is on its way. Open it to start receiving the digest.`], form: null });
  }

  /**
   * Opening the confirmation link shows a button; pressing it (a POST) confirms. Mail security scanners (Microsoft
   * Safe Links and the like) open every link in a message: had a GET confirmed, anyone could subscribe an address
   * behind one, and double opt-in would prove nothing.
   */
  function confirm(req: IncomingMessage, res: ServerResponse, token: string | null): void {
    const t = verifyToken(keys, 'confirm', token, { maxAgeSeconds: CONFIRM_MAX_AGE_SECONDS, nowSeconds: deps.now().getTime() / 1000 });
    const found = t && getSubscriber(deps.db, t.email);
    // An address that unsubscribed or bounced is subscribed again only by the link of its open sign-up request, never
    // by one from before it unsubscribed. (A pending address may use any of its links, as before requests were recorded.)
    const open = found?.confirm_requested_at ? Math.floor(Date.parse(found.confirm_requested_at) / 1000) : Infinity;
    const sub = found && (found.status === 'active' || found.status === 'pending' || t.issued >= open) ? found : null;
    if (!t || !sub) throw new HttpError(400, 'This confirmation link is not valid or has expired. Sign up again to get a new one.');
    if (req.method === 'GET' && sub.status !== 'active') {
      return page(res, 200, {
        title: 'Confirm your subscription',
        paragraphs: [`Press Confirm to receive the ${deps.site.title} digest at ${sub.email}.`],
        form: { action: `confirm?token=${encodeURIComponent(token!)}`, button: 'Confirm', hidden: [], topics: null },
      });
    }
    if (sub.status !== 'active') {
      upsertSubscriber(deps.db, { email: sub.email, status: 'active' }, deps.now());
      deps.log(`confirm: ${sub.email} is active`);
    }
    page(res, 200, { title: 'You are subscribed', paragraphs: [`${sub.email} will receive the ${deps.site.title} digest.`], form: null });
  }

  async function unsubscribe(req: IncomingMessage, res: ServerResponse, token: string | null): Promise<void> {
    const t = verifyToken(keys, 'unsubscribe', token);
    if (!t) throw new HttpError(400, 'This unsubscribe link is not valid.');
    const sub = getSubscriber(deps.db, t.email);
    // A genuine link for an address not on the list (removed by the editor, or a test digest's): nothing to do,
    // and the reader should hear that it gets no digest, not that the link is broken.
    if (!sub) {
      if (req.method === 'POST') await readBody(req);
      return page(res, 200, { title: 'Not subscribed', paragraphs: [`${t.email} is not on the list: it does not receive the ${deps.site.title} digest.`], form: null });
    }
    if (req.method === 'GET') {
      return page(res, 200, {
        title: 'Unsubscribe',
        paragraphs: [`Stop sending the ${deps.site.title} digest to ${sub.email}?`],
        form: { action: `unsubscribe?token=${encodeURIComponent(token!)}`, button: 'Unsubscribe', hidden: [{ name: 'List-Unsubscribe', value: 'One-Click' }], topics: null },
      });
    }
    // RFC 8058: a POST unsubscribes at once; no redirect, no login. Its body should be List-Unsubscribe=One-Click,
    // which the RFC asks to be sent as multipart/form-data and allows urlencoded; mail apps also send it as plain
    // text or send none. A POST is never made by a link scanner (they GET), and the signed token names the reader:
    // any POST to the link unsubscribes, whatever its body — refusing one would leave a reader subscribed who asked to leave.
    await readBody(req);
    if (sub.status !== 'unsubscribed') setStatus(deps.db, sub.email, 'unsubscribed', deps.now());
    deps.log(`unsubscribe: ${sub.email}`);
    page(res, 200, { title: 'Unsubscribed', paragraphs: [`${sub.email} will not receive the digest any more.`], form: null });
  }

  /**
   * The subscriber's own page for choosing topics. Saving with no topic ticked unsubscribes (it never means
   * "every topic", as an empty sign-up form does); saving with topics ticked after an unsubscribe subscribes again
   * — the signed link is theirs. An unsubscribed reader sees no box ticked, so saving as shown changes nothing.
   */
  async function preferences(req: IncomingMessage, res: ServerResponse, token: string | null): Promise<void> {
    const t = verifyToken(keys, 'preferences', token);
    if (!t) throw new HttpError(400, 'This preferences link is not valid.');
    const sub = getSubscriber(deps.db, t.email);
    if (!sub) {
      if (req.method === 'POST') await readBody(req);
      return page(res, 200, { title: 'Not subscribed', paragraphs: [`${t.email} is not on the list. To receive the ${deps.site.title} digest, sign up on the home page.`], form: null });
    }
    let said: string | undefined;
    if (req.method === 'POST') {
      if (!sameOrigin(req)) throw new HttpError(403, 'Cross-site form posts are refused');
      const form = new URLSearchParams(await readBody(req));
      const topics = chosenTopics(form, { noneMeansAll: false });
      if (topics.length === 0) {
        if (sub.status !== 'unsubscribed') setStatus(deps.db, sub.email, 'unsubscribed', deps.now());
        deps.log(`preferences: ${sub.email} chose no topic: unsubscribed`);
        said = `You chose no topic, so ${sub.email} will not receive the digest any more.`;
      } else {
        const schedule = form.has('schedule') ? chosenSchedule(form) : undefined;
        upsertSubscriber(deps.db, { email: sub.email, topics, schedule, status: sub.status === 'unsubscribed' ? 'active' : sub.status }, deps.now());
        said = sub.status === 'unsubscribed' ? `Saved: ${sub.email} will receive the digest again.` : 'Saved.';
      }
    }
    const current = getSubscriber(deps.db, sub.email)!;
    const off = current.status === 'unsubscribed';
    page(res, 200, {
      title: 'Your digest',
      paragraphs: [
        ...(said ? [said] : []),
        off ? `${current.email} is unsubscribed. Tick the topics you want and save to receive the digest again.` : `Choose the topics ${current.email} receives. Untick them all to unsubscribe.`,
      ],
      form: { action: `preferences?token=${encodeURIComponent(token!)}`, button: 'Save', hidden: [], topics: checkedTopics(off ? null : current), schedules: scheduleChoices(current.schedule, { everyOption: true }) },
    });
  }

  function authorized(req: IncomingMessage): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    return !!m && timingSafeEqual(sha(m[1]!), sha(deps.adminToken));
  }

  /** The JSON body of an editor's API call (null: answered already, 401), with its topic and "since" checked. */
  async function apiBody(req: IncomingMessage, res: ServerResponse): Promise<{ topic?: string; since?: string; body: Record<string, unknown> } | null> {
    if (!authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="gazette"');
      json(res, 401, { error: 'a valid Authorization: Bearer <GAZETTE_ADMIN_TOKEN> header is required' });
      return null;
    }
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) throw new HttpError(415, 'Send JSON: Content-Type: application/json');
    let body: Record<string, unknown>;
    try {
      body = (JSON.parse(await readBody(req)) ?? {}) as Record<string, unknown>;
    } catch {
      throw new HttpError(400, 'The body is not valid JSON');
    }
    const topic = typeof body.topic === 'string' ? body.topic : undefined;
    if (topic && !deps.topics().some((t) => t.slug === topic)) throw new HttpError(404, `No topic "${topic}"`);
    const since = typeof body.since === 'string' && body.since !== '' ? body.since : undefined;
    if (since !== undefined && Number.isNaN(sinceInstant(since, 'UTC'))) throw new HttpError(400, '"since" must be a date, e.g. 2026-11-01');
    return { topic, since, body };
  }

  async function apiSend(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = await apiBody(req, res);
    if (!call) return;
    const { topic, since } = call;
    const all = call.body.all === true;
    if (!topic === !all) throw new HttpError(400, 'Send {"topic": "<slug>"} or {"all": true}');
    const schedule = typeof call.body.schedule === 'string' && call.body.schedule !== '' ? call.body.schedule : undefined;
    if (schedule !== undefined && !schedules().some((s) => s.name === schedule)) throw new HttpError(404, `No schedule "${schedule}"`);
    const job = deps.enqueueSend(topic ? { topic, since, schedule } : { all: true, since, schedule });
    json(res, 202, { queued: { ...(topic ? { topic } : { all: true }), ...(schedule ? { schedule } : {}) }, job: job.id, status: `/api/jobs/${job.id}` });
  }

  /** `{"topic": "<slug>", "to": "editor@example.com"}`: that digest to those addresses, as `digest preview --to` sends it. */
  async function apiTest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = await apiBody(req, res);
    if (!call) return;
    const { topic, since } = call;
    const raw = Array.isArray(call.body.to) ? call.body.to.join(',') : call.body.to;
    if (!topic || typeof raw !== 'string') throw new HttpError(400, 'Send {"topic": "<slug>", "to": "<address>[,<address>…]"}');
    const list = addressList(raw);
    if ('bad' in list) throw new HttpError(400, `"to": not a valid email address: "${list.bad}"`);
    const { addresses } = list;
    if (addresses.length === 0 || addresses.length > 10) throw new HttpError(400, '"to": one to ten addresses');
    const job = deps.enqueueTest({ topic, to: addresses, since });
    json(res, 202, { queued: { topic, to: addresses }, job: job.id, status: `/api/jobs/${job.id}` });
  }

  /** The editor's page: token, "since" date and test address fields, "Send test" and "Send now" per topic; it holds no secret itself. */
  function admin(res: ServerResponse): void {
    const nonce = randomBytes(16).toString('base64');
    const list = schedules();
    const html = deps.templates.admin({ site: deps.site, topics: deps.topics().map((t) => ({ slug: t.slug, name: t.name })), schedules: list.length > 1 ? list : null, nonce });
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.end(html);
  }

  const handlers: Record<Exclude<keyof typeof ROUTES, '/api/jobs/<id>'>, (req: IncomingMessage, res: ServerResponse, token: string | null) => Promise<void> | void> = {
    '/subscribe': (req, res) => subscribe(req, res),
    '/confirm': confirm,
    '/unsubscribe': unsubscribe,
    '/preferences': preferences,
    '/api/send': (req, res) => apiSend(req, res),
    '/api/test': (req, res) => apiTest(req, res),
    '/healthz': (_req, res) => json(res, 200, { ok: true }),
    '/admin': (_req, res) => admin(res),
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    const method = req.method ?? 'GET';
    const token = url.searchParams.get('token');
    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) {
        res.setHeader('Allow', methods.join(', '));
        throw new HttpError(405, 'Method not allowed');
      }
    };
    const handle = handlers[p as keyof typeof handlers];
    if (handle) {
      allow(...ROUTES[p as keyof typeof handlers]);
      return handle(req, res, token);
    }
    const jobMatch = /^\/api\/jobs\/(\d+)$/.exec(p);
    if (jobMatch) {
      allow(...ROUTES['/api/jobs/<id>']);
      if (!authorized(req)) return json(res, 401, { error: 'unauthorized' });
      const job = deps.job(Number(jobMatch[1]));
      return job ? json(res, 200, job) : json(res, 404, { error: 'no such job' });
    }
    allow('GET', 'HEAD');
    const feedDir = FEED_FILE.exec(p.slice(1))?.[1];
    // WebSub discovery: a feed's response names its hub and its own URL (what the hub knows it by).
    const hub = deps.site.hub && feedDir ? { Link: `<${deps.site.hub}>; rel="hub", <${new URL(p.slice(1), deps.site.baseUrl).href}>; rel="self"` } : undefined;
    if (await files.serve(req, res, p, hub)) return;
    if (feedDir && deps.goneFeeds?.().includes(feedDir)) throw new HttpError(410, 'This feed is gone: no article names its topic any more. Unsubscribe from it.');
    throw new HttpError(404, 'Not found');
  }

  return http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : 'Something went wrong on our side.';
      if (!(err instanceof HttpError)) deps.log(`http: ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}`);
      if (res.headersSent) return res.destroy();
      if (String(req.url).startsWith('/api/')) return json(res, status, { error: message });
      page(res, status, { title: status === 404 ? 'Not found' : status === 410 ? 'Gone' : 'Sorry', paragraphs: [message], form: null });
    });
  });
}
