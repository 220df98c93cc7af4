import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { simpleParser } from 'mailparser';
import { gunzipSync } from 'node:zlib';
import { loadAndSelect, resolveContext, type Context } from '../src/commands/context.js';
import { buildSite } from '../src/commands/site.js';
import { startService, type Service } from '../src/commands/start.js';
import { statusCommand } from '../src/commands/status.js';
import { StaticFiles } from '../src/server/static.js';
import { ROUTES } from '../src/server/app.js';
import { parseConfig } from '../src/config/load.js';
import { openDb } from '../src/store/db.js';
import { getSubscriber, setStatus, upsertSubscriber } from '../src/store/subscribers.js';
import { recordRun } from '../src/store/schedule.js';
import { signToken } from '../src/deliver/tokens.js';
import { NOW, ROOT, tempDir } from './helpers.js';
import { startSmtp, runCliAsync, type TestSmtp } from './smtp.js';
import { chromiumMissing, launch } from './browser.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'feeds');

/** Why a test that runs curl cannot run here, or undefined (.ci/run installs it). */
const curlMissing = () => (spawnSync('curl', ['--version']).status === 0 ? undefined : 'curl is not installed (apt-get install curl)');
const ADMIN = 'admin-token-for-tests';
const SECRET = 'server-test-secret';

interface Res { status: number; headers: http.IncomingHttpHeaders; body: Buffer; text: string }

/** A raw request (no URL normalization, so `..` reaches the server as sent). */
function request(base: string, method: string, rawPath: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: rawPath, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

async function service(dir: string, smtp?: TestSmtp, more: Record<string, unknown> = {}, opts: { now?: Date; schedule?: boolean; previousSecrets?: string[]; log?: (line: string) => void } = {}): Promise<{ svc: Service; ctx: Context }> {
  const base = await resolveContext({});
  const ctx: Context = {
    ...base,
    config: parseConfig({ site: { title: 'Test Gazette', baseUrl: 'https://news.example.com/' }, mail: { from: 'Test Gazette <digest@news.example.com>' }, paths: { cache: path.join(dir, 'cache') }, ...more }),
    contentDir: path.join(dir, 'content'),
    outDir: path.join(dir, 'out'),
    dbPath: path.join(dir, 'state.db'),
    secrets: { secret: SECRET, previousSecrets: opts.previousSecrets ?? [], adminToken: ADMIN, smtpUrl: smtp?.url },
    now: () => opts.now ?? NOW,
    log: opts.log ?? (() => {}),
    warn: () => {},
  };
  const svc = await startService(ctx, { port: '0', host: '127.0.0.1', schedule: opts.schedule ?? false });
  return { svc, ctx };
}

/** A service of the test's own on the fixtures, with a real SMTP server and a clock the test moves; stopped after `run`. */
async function ownService(
  opts: { more?: Record<string, unknown>; previousSecrets?: string[] },
  run: (s: { svc: Service; ctx: Context; smtp: TestSmtp; clock: { now: Date }; db: ReturnType<typeof openDb>; said: string[] }) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = tempDir();
  copyFixtures(dir);
  const smtp = await startSmtp();
  // (`service` reads the clock's `now` at every call.)
  /** The service's log. */
  const said: string[] = [];
  const clock: { now: Date; previousSecrets?: string[]; log: (line: string) => void } = { now: NOW, previousSecrets: opts.previousSecrets, log: (line) => said.push(line) };
  const { svc, ctx } = await service(dir, smtp, opts.more, clock);
  const db = openDb(ctx.dbPath);
  try {
    await run({ svc, ctx, smtp, clock, db, said });
  } finally {
    db.close();
    await svc.stop();
    await smtp.close();
    cleanup();
  }
}

function copyFixtures(dir: string): void {
  mkdirSync(path.join(dir, 'content'), { recursive: true });
  for (const f of readdirSync(FIXTURES)) writeFileSync(path.join(dir, 'content', f), readFileSync(path.join(FIXTURES, f)));
}

async function waitJob(base: string, id: number): Promise<{ status: string; result?: Record<string, number> }> {
  for (let i = 0; i < 200; i++) {
    const r = await request(base, 'GET', `/api/jobs/${id}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const job = JSON.parse(r.text) as { status: string; result?: Record<string, number> };
    if (job.status === 'done' || job.status === 'failed') return job;
    await new Promise((r2) => setTimeout(r2, 50));
  }
  throw new Error('job did not finish');
}

describe('gazette serve: files', () => {
  const { dir, cleanup } = tempDir();
  let svc: Service;
  let base: string;
  before(async () => {
    copyFixtures(dir);
    mkdirSync(path.join(dir, 'secret-outside'), { recursive: true });
    writeFileSync(path.join(dir, 'secret-outside', 'x.txt'), 'TOP SECRET');
    ({ svc } = await service(dir));
    base = svc.url;
    symlinkSync(path.join(dir, 'secret-outside'), path.join(dir, 'out', 'escape'));
  });
  after(async () => { await svc.stop(); cleanup(); });

  test('feeds, OPML and pages with the right types and caching headers', async () => {
    const types: [string, RegExp][] = [
      ['/topics/ai/rss.xml', /^application\/rss\+xml/], ['/topics/ai/atom.xml', /^application\/atom\+xml/],
      ['/topics/ai/feed.json', /^application\/feed\+json/], ['/feeds.opml', /^text\/x-opml/], ['/', /^text\/html/], ['/digests/', /^text\/html/],
    ];
    for (const [p, type] of types) {
      const r = await request(base, 'GET', p);
      assert.equal(r.status, 200, p);
      assert.match(String(r.headers['content-type']), type, p);
      assert.match(String(r.headers.etag), /^"/);
      assert.ok(r.headers['last-modified']);
      assert.match(String(r.headers['cache-control']), /max-age=\d+/);
    }
  });

  test('conditional GET: If-None-Match and If-Modified-Since answer 304', async () => {
    const first = await request(base, 'GET', '/topics/computer-vision/rss.xml');
    const etag = String(first.headers.etag);
    const r1 = await request(base, 'GET', '/topics/computer-vision/rss.xml', { headers: { 'if-none-match': etag } });
    assert.equal(r1.status, 304);
    assert.equal(r1.body.length, 0);
    const r2 = await request(base, 'GET', '/topics/computer-vision/rss.xml', { headers: { 'if-modified-since': String(first.headers['last-modified']) } });
    assert.equal(r2.status, 304);
    const r3 = await request(base, 'GET', '/topics/computer-vision/rss.xml', { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(r3.status, 200);
  });

  test('gzip when asked for, with its own ETag', async () => {
    const plain = await request(base, 'GET', '/topics/computer-vision/rss.xml');
    const gz = await request(base, 'GET', '/topics/computer-vision/rss.xml', { headers: { 'accept-encoding': 'gzip, deflate' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.notEqual(gz.headers.etag, plain.headers.etag);
    assert.equal(gunzipSync(gz.body).toString('utf8'), plain.text);
    const again = await request(base, 'GET', '/topics/computer-vision/rss.xml', { headers: { 'accept-encoding': 'gzip', 'if-none-match': String(gz.headers.etag) } });
    assert.equal(again.status, 304);
  });

  test('nothing outside the output folder, however the path is written', async () => {
    for (const p of ['/../secret-outside/x.txt', '/%2e%2e/secret-outside/x.txt', '/topics/%2e%2e/%2e%2e/secret-outside/x.txt', '/..%2fsecret-outside%2fx.txt',
      '/%2E%2E%5Csecret-outside%5Cx.txt', '/escape/x.txt', '/index.html%00.txt', '/.%2e/.%2e/etc/passwd', '/%']) {
      const r = await request(base, 'GET', p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.text, /TOP SECRET|root:/, p);
    }
    // A bare `/..` is normalized to `/` by URL parsing: it serves the subscribe page, nothing outside.
    const up = await request(base, 'GET', '/..');
    assert.doesNotMatch(up.text, /TOP SECRET|root:/);
  });

  test('unknown paths 404, wrong methods 405', async () => {
    assert.equal((await request(base, 'GET', '/nope.xml')).status, 404);
    assert.equal((await request(base, 'DELETE', '/topics/ai/rss.xml')).status, 405);
    assert.equal((await request(base, 'GET', '/subscribe')).status, 405);
  });
  test("the README's HTTP table lists every route with the methods it answers, and nothing else", async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## HTTP'), readme.indexOf('\n## ', readme.indexOf('## HTTP') + 1));
    const documented = new Map<string, Set<string>>();
    for (const m of table.matchAll(/^\| `([A-Z/]+) ([^`?]+)[^`]*` \|/gm)) {
      const methods = documented.get(m[2]!) ?? new Set<string>();
      for (const method of m[1]!.split('/')) methods.add(method);
      documented.set(m[2]!, methods);
    }
    // The output folder's files (`/…`, `/`, `/digests/`) answer GET and HEAD; every other route is in ROUTES.
    for (const files of ['/…', '/', '/digests/']) {
      assert.deepEqual([...documented.get(files) ?? []], ['GET'], `README's row for ${files}`);
      documented.delete(files);
    }
    const routes = Object.entries(ROUTES).map(([p, methods]) => [p, methods.filter((m) => m !== 'HEAD').sort()] as const);
    assert.deepEqual([...documented].map(([p, methods]) => [p, [...methods].sort()]).sort(), routes.sort());
    // And the server answers each with those methods: another one is a 405 that names them.
    for (const [p, methods] of Object.entries(ROUTES)) {
      const r = await request(base, 'PUT', p.replace('<id>', '1'));
      assert.equal(r.status, 405, p);
      assert.equal(r.headers.allow, methods.join(', '), p);
    }
    const health = await request(base, 'GET', '/healthz');
    assert.deepEqual([health.status, JSON.parse(health.text)], [200, { ok: true }]);
  });
});

test('served files are kept in memory up to a byte limit, least recently used out first, and never stale', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const body = (i: number, v = 0) => `<p>file ${i} v${v}</p>\n${'x'.repeat(10_000)}`;
  for (let i = 0; i < 20; i++) writeFileSync(path.join(dir, `f${i}.html`), body(i));
  const files = new StaticFiles(dir, 50_000);
  const server = http.createServer((req, res) => void files.serve(req, res, req.url!).then((ok) => ok || res.writeHead(404).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const get = async (p: string, gzip = false) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} });
    return res.text();
  };
  let most = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 20; i++) {
      assert.equal(await get(`/f${i}.html`, i % 2 === 0), body(i));
      most = Math.max(most, files.cachedBytes);
    }
  }
  assert.ok(most <= 50_000 && files.cachedBytes > 0, `at most the limit: ${most}`);
  // A file changed on disk is read again, cached or not.
  writeFileSync(path.join(dir, 'f19.html'), body(19, 1));
  writeFileSync(path.join(dir, 'f0.html'), body(0, 1));
  assert.equal(await get('/f19.html'), body(19, 1));
  assert.equal(await get('/f0.html', true), body(0, 1));
  assert.ok(files.cachedBytes <= 50_000);
});

describe('gazette serve: subscribers and the manual send', () => {
  const { dir, cleanup } = tempDir();
  let smtp: TestSmtp;
  let svc: Service;
  let base: string;
  let ctx: Context;
  before(async () => {
    copyFixtures(dir);
    smtp = await startSmtp();
    ({ svc, ctx } = await service(dir, smtp));
    base = svc.url;
  });
  after(async () => { await svc.stop(); await smtp.close(); cleanup(); });

  const form = (body: Record<string, string | string[]>) =>
    new URLSearchParams(Object.entries(body).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))).toString();
  const post = (p: string, body: string, headers: Record<string, string> = {}) =>
    request(base, 'POST', p, { body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });

  test('the full loop: subscribe → confirm → digest delivered → one-click unsubscribe → no further mail', async () => {
    smtp.received.length = 0;
    const r = await post('/subscribe', form({ email: 'Loop@Example.com', name: 'Loop', topics: ['computer-vision'] }));
    assert.equal(r.status, 200);
    assert.match(r.text, /Check your inbox/);
    assert.equal(smtp.received.length, 1);
    const confirmMail = smtp.received[0]!.mail;
    assert.equal(smtp.received[0]!.to, 'loop@example.com');
    const link = /https:\/\/news\.example\.com\/(confirm\?token=\S+)/.exec(confirmMail.text!)![1]!;
    assert.match(confirmMail.text!, /asked to receive the Test Gazette digest at loop@example\.com, with these topics: Computer Vision\./, 'it says what they signed up for');
    const db = openDb(ctx.dbPath);
    assert.equal(getSubscriber(db, 'loop@example.com')!.status, 'pending');
    // Opening the link only asks (mail scanners open every link); the button confirms.
    const asks = await request(base, 'GET', `/${link}`);
    assert.equal(asks.status, 200, asks.text);
    assert.match(asks.text, /<form method="post" action="confirm\?token[^"]+">[^]*<button type="submit">Confirm<\/button>/);
    assert.equal(getSubscriber(db, 'loop@example.com')!.status, 'pending', 'a GET never confirms');
    const c = await post(`/${link}`, '');
    assert.equal(c.status, 200, c.text);
    assert.match(c.text, /You are subscribed/);
    assert.equal(getSubscriber(db, 'loop@example.com')!.status, 'active');
    assert.deepEqual(getSubscriber(db, 'loop@example.com')!.topics, ['computer-vision']);

    const job = await post('/api/send', JSON.stringify({ topic: 'computer-vision', since: '2026-11-01' }), { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' });
    assert.equal(job.status, 202, job.text);
    const done = await waitJob(base, JSON.parse(job.text).job);
    assert.equal(done.status, 'done');
    assert.equal(done.result?.sent, 1);
    assert.equal(smtp.received.length, 2);
    const digest = smtp.received[1]!.mail;
    const unsub = /<https:\/\/news\.example\.com\/(unsubscribe\?token=[^>]+)>/.exec(digest.headerLines.find((h) => h.key === 'list-unsubscribe')!.line.replace(/\r?\n\s+/g, ' '))![1]!;

    const page = await request(base, 'GET', `/${unsub}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<form method="post"/);
    assert.equal(getSubscriber(db, 'loop@example.com')!.status, 'active', 'GET only asks');
    const one = await post(`/${unsub}`, 'List-Unsubscribe=One-Click', { origin: 'https://mail.provider.example' });
    assert.equal(one.status, 200);
    assert.equal(one.headers.location, undefined, 'no redirect');
    assert.equal(getSubscriber(db, 'loop@example.com')!.status, 'unsubscribed');

    const again = await post('/api/send', JSON.stringify({ all: true, since: '2026-01-01' }), { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' });
    await waitJob(base, JSON.parse(again.text).job);
    assert.equal(smtp.received.length, 2, 'no further mail');
    db.close();
  });

  test('a manual send delivers exactly once, however often it is triggered', async () => {
    const db = openDb(ctx.dbPath);
    upsertSubscriber(db, { email: 'twice@example.com', status: 'active' }, NOW);
    db.close();
    smtp.received.length = 0;
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const a = await post('/api/send', JSON.stringify({ all: true, since: '2026-11-01' }), headers);
    const b = await post('/api/send', JSON.stringify({ all: true, since: '2026-11-01' }), headers);
    await waitJob(base, JSON.parse(a.text).job);
    await waitJob(base, JSON.parse(b.text).job);
    assert.equal(smtp.received.filter((m) => m.to === 'twice@example.com').length, 1);
  });

  test('the API needs the admin token', async () => {
    const body = JSON.stringify({ all: true });
    assert.equal((await post('/api/send', body, { 'content-type': 'application/json' })).status, 401);
    assert.equal((await post('/api/send', body, { 'content-type': 'application/json', authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post('/api/send', '{"topic": "nope"}', { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` })).status, 404);
    assert.equal((await post('/api/send', '{}', { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` })).status, 400);
    for (const since of ['2026-02-30', 'last week']) {
      const r = await post('/api/send', JSON.stringify({ all: true, since }), { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` });
      assert.equal(r.status, 400, since);
      assert.equal(JSON.parse(r.text).error, '"since" must be a date, e.g. 2026-11-01');
    }
    assert.equal((await request(base, 'GET', '/api/jobs/1')).status, 401);
  });

  test('POST /api/test mails a topic\'s digest to the editor as a subscriber would get it, and records nothing', async () => {
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    smtp.received.length = 0;
    const r = await post('/api/test', JSON.stringify({ topic: 'computer-vision', to: 'Editor@Example.com', since: '2026-11-01' }), headers);
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(JSON.parse(r.text).queued, { topic: 'computer-vision', to: ['editor@example.com'] });
    const done = await waitJob(base, JSON.parse(r.text).job);
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.deepEqual(smtp.received.map((m) => m.to), ['editor@example.com']);
    const mail = smtp.received[0]!.mail;
    assert.equal(mail.headers.get('x-gazette-test'), 'a test of this digest, not recorded');
    assert.match(mail.html as string, /Related coverage/);
    const db = openDb(ctx.dbPath);
    assert.equal(getSubscriber(db, 'editor@example.com'), undefined);
    assert.equal((db.prepare("SELECT COUNT(*) AS n FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'editor@example.com'").get() as { n: number }).n, 0);
    db.close();
    // Nothing new in the default window: the job fails and says why.
    const empty = await post('/api/test', JSON.stringify({ topic: 'computer-vision', to: 'editor@example.com' }), headers);
    const failed = (await waitJob(base, JSON.parse(empty.text).job)) as { status: string; error?: string };
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /nothing new in "computer-vision" since/);
    assert.equal((await post('/api/test', JSON.stringify({ topic: 'computer-vision', to: 'x@example.com' }), { 'content-type': 'application/json' })).status, 401);
    assert.equal((await post('/api/test', JSON.stringify({ topic: 'computer-vision', to: 'a@example.com, nope' }), headers)).status, 400);
    assert.equal((await post('/api/test', JSON.stringify({ topic: 'computer-vision' }), headers)).status, 400);
    assert.equal((await post('/api/test', JSON.stringify({ topic: 'no-such-topic', to: 'a@example.com' }), headers)).status, 404);
    assert.equal(smtp.received.length, 1);
  });

  test('re-subscribing is idempotent and never reveals whether an address is on the list', async () => {
    const db = openDb(ctx.dbPath);
    upsertSubscriber(db, { email: 'known@example.com', status: 'active' }, NOW);
    db.close();
    smtp.received.length = 0;
    const known = await post('/subscribe', form({ email: 'known@example.com' }));
    const unknown = await post('/subscribe', form({ email: 'fresh@example.com' }));
    assert.equal(known.status, unknown.status);
    assert.equal(known.text.replace('known@example.com', 'X'), unknown.text.replace('fresh@example.com', 'X'));
    assert.deepEqual(smtp.received.map((m) => m.to), ['fresh@example.com'], 'an active subscriber gets no mail');
    assert.match(smtp.received[0]!.mail.text!, /digest at fresh@example\.com, with every topic\./);
    await post('/subscribe', form({ email: 'fresh@example.com' }));
    assert.equal(smtp.received.length, 1, 'a pending address is not mailed again within 10 minutes');
  });

  test('one-click unsubscribe takes the POST in every form mail apps send it: multipart (as RFC 8058 prefers), urlencoded, plain text, empty', async () => {
    const db = openDb(ctx.dbPath);
    const boundary = '----gazette7MA4YWxkTrZu0gW';
    const forms: [string, string, Record<string, string>][] = [
      ['multipart', `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`, { 'content-type': `multipart/form-data; boundary=${boundary}` }],
      ['urlencoded', 'List-Unsubscribe=One-Click', {}],
      ['text', 'List-Unsubscribe=One-Click', { 'content-type': 'text/plain' }],
      ['empty', '', { 'content-type': '' }],
    ];
    for (const [kind, body, headers] of forms) {
      const email = `oneclick-${kind}@example.com`;
      upsertSubscriber(db, { email, status: 'active' }, NOW);
      const r = await post(`/unsubscribe?token=${signToken(SECRET, 'unsubscribe', email)}`, body, { origin: 'https://mail.provider.example', ...headers });
      assert.equal(r.status, 200, `${kind}: ${r.text}`);
      assert.equal(r.headers.location, undefined);
      assert.equal(getSubscriber(db, email)!.status, 'unsubscribed', kind);
    }
    db.close();
  });

  test('preferences: untick every topic and the digest stops; tick some and it comes again', async () => {
    const db = openDb(ctx.dbPath);
    upsertSubscriber(db, { email: 'prefs@example.com', topics: ['computer-vision'], status: 'active' }, NOW);
    const link = `/preferences?token=${signToken(SECRET, 'preferences', 'prefs@example.com')}`;
    const ticked = (html: string) => [...html.matchAll(/value="([^"]+)" checked/g)].map((m) => m[1]);
    const slugs = (html: string) => [...html.matchAll(/name="topics" value="([^"]+)"/g)].map((m) => m[1]!);
    const shown = await request(base, 'GET', link);
    assert.equal(shown.status, 200);
    assert.deepEqual(ticked(shown.text), ['computer-vision']);
    const other = slugs(shown.text).find((s) => s !== 'computer-vision')!;
    assert.ok(other && slugs(shown.text).length > 2);

    // Nothing ticked: unsubscribed — not every topic, which is what an empty sign-up form means.
    const none = await post(link, '');
    assert.equal(none.status, 200);
    assert.match(none.text, /You chose no topic, so prefs@example\.com will not receive the digest any more/);
    assert.equal(getSubscriber(db, 'prefs@example.com')!.status, 'unsubscribed');
    assert.deepEqual(ticked(none.text), [], 'an unsubscribed reader sees no box ticked');
    assert.deepEqual(ticked((await request(base, 'GET', link)).text), []);
    assert.match((await request(base, 'GET', link)).text, /is unsubscribed\. Tick the topics you want/);

    const back = await post(link, form({ topics: [other] }));
    assert.match(back.text, /Saved: prefs@example\.com will receive the digest again/);
    assert.equal(getSubscriber(db, 'prefs@example.com')!.status, 'active');
    assert.deepEqual(getSubscriber(db, 'prefs@example.com')!.topics, [other]);
    // Every topic ticked: every topic, new ones too.
    await post(link, form({ topics: slugs(shown.text) }));
    assert.deepEqual(getSubscriber(db, 'prefs@example.com')!.topics, ['*']);
    assert.equal((await post(link, '', { origin: 'https://evil.example' })).status, 403);
    assert.equal(getSubscriber(db, 'prefs@example.com')!.status, 'active');
    db.close();
  });

  test('a confirmation mail the server could not send is an error to retry at once, not a 10-minute silence', async () => {
    smtp.received.length = 0;
    smtp.rcptScript.set('retry@example.com', [451]);
    const first = await post('/subscribe', form({ email: 'retry@example.com' }));
    assert.equal(first.status, 503, first.text);
    assert.match(first.text, /could not send the confirmation email just now/);
    assert.equal(smtp.received.length, 0);
    const again = await post('/subscribe', form({ email: 'retry@example.com' }));
    assert.equal(again.status, 200);
    assert.deepEqual(smtp.received.map((m) => m.to), ['retry@example.com'], 'the retry sends the confirmation');
  });

  test('limits: bad email, cross-site posts, forged tokens, large bodies, rate limit', async () => {
    assert.equal((await post('/subscribe', form({ email: 'not an email' }))).status, 400);
    assert.equal((await post('/subscribe', form({ email: 'x@example.com' }), { origin: 'https://evil.example' })).status, 403);
    assert.equal((await post('/subscribe', form({ email: 'x@example.com' }), { 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await request(base, 'GET', '/unsubscribe?token=abc.0.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')).status, 400);
    assert.equal((await post('/unsubscribe?token=forged', 'List-Unsubscribe=One-Click')).status, 400);
    assert.equal((await request(base, 'GET', '/confirm?token=nope')).status, 400);
    assert.equal((await post('/subscribe', `email=${'a'.repeat(20_000)}`)).status, 413);
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await post('/subscribe', form({ email: `flood${i}@example.com` }))).status;
    assert.equal(last, 429);
  });
});

test('the sign-up rate limit counts the forwarded client address only behind a trusted proxy', async () => {
  const flood = async (base: string, forwardedFor: (i: number) => string) => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await request(base, 'POST', '/subscribe', { body: `email=p${i}%40example.com`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor(i) } });
      statuses.push(r.status);
    }
    return statuses;
  };
  for (const [trustProxy, many, one] of [
    [false, 429, 429], // the header is anyone's to write: one client, the socket's address
    ['loopback', 200, 429], // the proxy on 127.0.0.1 forwards each reader's address
    [1, 200, 429],
  ] as const) {
    const { dir, cleanup } = tempDir();
    copyFixtures(dir);
    const { svc } = await service(dir, undefined, { server: { trustProxy } });
    try {
      assert.equal((await flood(svc.url, (i) => `203.0.113.${i}`)).at(-1), many, `${trustProxy}: twelve readers`);
      assert.equal((await flood(svc.url, () => '198.51.100.1')).at(-1), one, `${trustProxy}: one reader twelve times`);
    } finally {
      await svc.stop();
      cleanup();
    }
  }
});

test('sign-ups never confirmed are forgotten once their link expires; an unconfirmed sign-up never undoes an unsubscribe', () => ownService({}, async ({ svc, ctx, smtp, clock, db }) => {
  const signUp = (email: string) =>
    request(svc.url, 'POST', '/subscribe', { body: new URLSearchParams({ email, topics: 'computer-vision' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const linkTo = (email: string) => /https:\/\/news\.example\.com\/(confirm\?token=\S+)/.exec(smtp.received.filter((m) => m.to === email).at(-1)!.mail.text!)![1]!;
  const confirm = (link: string) => request(svc.url, 'POST', `/${link}`, { body: '' });
  upsertSubscriber(db, { email: 'left@example.com', status: 'active' }, NOW);
  const before = `confirm?token=${signToken(SECRET, 'confirm', 'left@example.com', Math.floor(NOW.getTime() / 1000))}`;
  setStatus(db, 'left@example.com', 'unsubscribed', NOW);
  upsertSubscriber(db, { email: 'imported@example.com', status: 'pending' }, NOW);
  upsertSubscriber(db, { email: 'imported2@example.com', status: 'pending' }, NOW);

  // Anyone can type a reader's address into the form: until the link is used, they stay unsubscribed (an import
  // or `subscribers add` would have taken "pending" for an address that never said no).
  clock.now = new Date(NOW.getTime() + 60_000);
  assert.equal((await signUp('left@example.com')).status, 200);
  assert.equal(smtp.received.filter((m) => m.to === 'left@example.com').length, 1);
  assert.equal(getSubscriber(db, 'left@example.com')!.status, 'unsubscribed');
  assert.equal((await confirm(before)).status, 400, 'a link from before the unsubscribe subscribes nobody');
  assert.equal(getSubscriber(db, 'left@example.com')!.status, 'unsubscribed');

  assert.equal((await signUp('never@example.com')).status, 200);
  assert.equal(getSubscriber(db, 'never@example.com')!.status, 'pending');
  assert.equal((await signUp('imported2@example.com')).status, 200);
  const expired = linkTo('left@example.com');
  // The editor sees them waiting, and until when.
  const said: string[] = [];
  statusCommand({ ...ctx, log: (line) => said.push(line) });
  assert.ok(said.includes('subscribers: 3 pending, 1 unsubscribed'), said.join('\n')); // (two imported as pending)
  assert.ok(said.includes('awaiting confirmation: 3 sign-up(s); a link unused for 7 days expires and its sign-up is forgotten (the oldest: 2026-11-29T12:01:00.000Z)'), said.join('\n'));

  // A week and a minute after they were sent the links have expired: the next sign-up forgets the one never confirmed.
  clock.now = new Date(NOW.getTime() + 7 * 86_400_000 + 120_000);
  assert.equal((await signUp('later@example.com')).status, 200);
  assert.equal(getSubscriber(db, 'never@example.com'), undefined, 'a sign-up never confirmed is forgotten');
  assert.equal(getSubscriber(db, 'imported@example.com')!.status, 'pending', 'an address the editor imported as pending stays');
  assert.equal(getSubscriber(db, 'imported2@example.com')!.status, 'pending', 'also when someone typed it into the form');
  assert.equal(getSubscriber(db, 'left@example.com')!.status, 'unsubscribed');
  assert.equal(getSubscriber(db, 'later@example.com')!.status, 'pending');
  assert.equal((await confirm(expired)).status, 400);

  // The reader asks again and confirms: subscribed, with the topics of the request.
  assert.equal((await signUp('left@example.com')).status, 200);
  assert.equal((await confirm(linkTo('left@example.com'))).status, 200);
  assert.equal(getSubscriber(db, 'left@example.com')!.status, 'active');
  assert.deepEqual(getSubscriber(db, 'left@example.com')!.topics, ['computer-vision']);
  assert.equal(getSubscriber(db, 'left@example.com')!.confirm_requested_at, null);
}));

test('readers choose a digest schedule when signing up and on their preferences page; a send as one reaches only its readers', () => ownService({
  more: { digest: { schedules: [{ name: 'daily', cron: '0 7 * * *' }, { name: 'weekly', cron: '0 8 * * 1', title: 'Weekly, on Mondays' }] } },
}, async ({ svc, smtp, db, said }) => {
  const post = (p: string, body: Record<string, string>) => request(svc.url, 'POST', p, { body: new URLSearchParams(body).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const radios = (html: string) => [...html.matchAll(/<input type="radio" name="schedule" value="([^"]+)"( checked)?> ([^<]+)</g)].map((m) => `${m[1]}${m[2] ? '*' : ''} ${m[3]!.trim()}`);
  // The subscribe page offers both, the first chosen.
  const home = await request(svc.url, 'GET', '/');
  assert.deepEqual(radios(home.text), ['daily* Daily', 'weekly Weekly, on Mondays']);
  // Signing up for weekly: kept with the request, and after the confirmation.
  assert.equal((await post('/subscribe', { email: 'week@example.com', schedule: 'weekly' })).status, 200);
  assert.equal(getSubscriber(db, 'week@example.com')!.schedule, 'weekly');
  assert.match(smtp.received.at(-1)!.mail.text!, /at week@example\.com, with every topic \(Weekly, on Mondays\)\./);
  const link = /https:\/\/news\.example\.com\/(confirm\?token=\S+)/.exec(smtp.received.at(-1)!.mail.text!)![1]!;
  assert.equal((await request(svc.url, 'POST', `/${link}`, { body: '' })).status, 200);
  assert.deepEqual([getSubscriber(db, 'week@example.com')!.status, getSubscriber(db, 'week@example.com')!.schedule], ['active', 'weekly']);
  // A form without a choice (or with one that is no schedule) means every schedule, as before there was a choice.
  await post('/subscribe', { email: 'plain@example.com', schedule: 'hourly' });
  assert.equal(getSubscriber(db, 'plain@example.com')!.schedule, null);

  // The preferences page shows the choice and changes it; "All of them" shows for one who never chose.
  const prefs = (email: string) => `/preferences?token=${signToken(SECRET, 'preferences', email)}`;
  assert.deepEqual(radios((await request(svc.url, 'GET', prefs('week@example.com'))).text), ['daily Daily', 'weekly* Weekly, on Mondays']);
  const saved = await post(prefs('week@example.com'), { topics: 'computer-vision', schedule: 'daily' });
  assert.deepEqual(radios(saved.text), ['daily* Daily', 'weekly Weekly, on Mondays']);
  assert.equal(getSubscriber(db, 'week@example.com')!.schedule, 'daily');
  upsertSubscriber(db, { email: 'every@example.com', status: 'active' }, NOW);
  assert.deepEqual(radios((await request(svc.url, 'GET', prefs('every@example.com'))).text), ['daily Daily', 'weekly Weekly, on Mondays', '** All of them']); // (value *, checked)
  await post(prefs('every@example.com'), { topics: 'ai', schedule: '*' });
  assert.equal(getSubscriber(db, 'every@example.com')!.schedule, null, 'saving as shown changes nothing');
  await post(prefs('every@example.com'), { topics: 'ai' }); // a page of the editor's own without the choice
  assert.equal(getSubscriber(db, 'every@example.com')!.schedule, null);

  // A send by hand as "weekly" reaches those who chose it or none; an unknown schedule is a 404.
  const api = (body: unknown) => request(svc.url, 'POST', '/api/send', { body: JSON.stringify(body), headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' } });
  assert.equal((await api({ all: true, schedule: 'monthly' })).status, 404);
  upsertSubscriber(db, { email: 'week2@example.com', status: 'active', schedule: 'weekly' }, NOW);
  smtp.received.length = 0;
  const queued = JSON.parse((await api({ all: true, schedule: 'weekly', since: '2026-11-01' })).text) as { job: number };
  assert.equal((await waitJob(svc.url, queued.job)).status, 'done');
  assert.deepEqual(smtp.received.map((m) => m.to).sort(), ['every@example.com', 'week2@example.com']);
  assert.ok(said.some((l) => /^send all \(weekly: 2 subscribers\): sent 2, /.test(l)), said.join('\n'));
}));

test('one address gets at most 3 confirmation mails a day, 10 minutes apart, however many clients sign it up', () => ownService({ more: { server: { trustProxy: 'loopback' } } }, async ({ svc, smtp, clock }) => {
  const mails: number[] = [];
  // Each sign-up from another client address (a botnet), so the limit per client never applies.
  for (const [i, minutes] of [0, 5, 11, 22, 33, 60, 23 * 60, 24 * 60 + 23].entries()) {
    clock.now = new Date(NOW.getTime() + minutes * 60_000);
    const r = await request(svc.url, 'POST', '/subscribe', { body: 'email=victim%40example.com', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `203.0.113.${i}` } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /Check your inbox/, 'the same answer either way');
    mails.push(smtp.received.length);
  }
  // Mails after each sign-up: the 1st, the one 11 and 22 minutes on, then none until a day after the last.
  assert.deepEqual(mails, [1, 1, 2, 3, 3, 3, 3, 4]);
}));

test('links signed with a secret used before GAZETTE_SECRET (GAZETTE_SECRET_PREVIOUS) still unsubscribe: mail already sent keeps working; a link for an address not on the list says so', () => ownService({ previousSecrets: ['secret-of-2025', 'secret-of-2024'] }, async ({ svc, db }) => {
  for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) upsertSubscriber(db, { email, status: 'active' }, NOW);
  const unsubscribe = (key: string, email: string) =>
    request(svc.url, 'POST', `/unsubscribe?token=${signToken(key, 'unsubscribe', email)}`, { body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal((await unsubscribe('secret-of-2024', 'a@example.com')).status, 200);
  assert.equal(getSubscriber(db, 'a@example.com')!.status, 'unsubscribed');
  assert.equal((await unsubscribe(SECRET, 'b@example.com')).status, 200);
  assert.equal(getSubscriber(db, 'b@example.com')!.status, 'unsubscribed');
  assert.equal((await unsubscribe('a-secret-never-used', 'c@example.com')).status, 400);
  assert.equal(getSubscriber(db, 'c@example.com')!.status, 'active');
  const prefs = await request(svc.url, 'GET', `/preferences?token=${signToken('secret-of-2025', 'preferences', 'c@example.com')}`);
  assert.equal(prefs.status, 200, prefs.text);
  // A genuine link for an address not on the list (the editor removed it; a test digest's): said so, not "not valid".
  for (const method of ['GET', 'POST']) {
    const body = method === 'POST' ? { body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {};
    const gone = await request(svc.url, method, `/unsubscribe?token=${signToken(SECRET, 'unsubscribe', 'removed@example.com')}`, body);
    assert.equal(gone.status, 200, gone.text);
    assert.match(gone.text, /removed@example\.com is not on the list: it does not receive the Test Gazette digest/);
  }
  const prefsGone = await request(svc.url, 'GET', `/preferences?token=${signToken(SECRET, 'preferences', 'removed@example.com')}`);
  assert.equal(prefsGone.status, 200);
  assert.match(prefsGone.text, /removed@example\.com is not on the list\. To receive the Test Gazette digest, sign up/);
  assert.equal(getSubscriber(db, 'removed@example.com'), undefined);
}));

test('the feed of a topic a build removed answers 410 Gone; others 404; a topic back is served again', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  copyFixtures(dir);
  // A fixture article moved to a topic of its own.
  const space = () => writeFileSync(path.join(dir, 'content', 'space.md'), readFileSync(path.join(FIXTURES, readdirSync(FIXTURES)[0]!), 'utf8').replace(/^topics:\n(?:\s+- .*\n)+/m, 'topics:\n  - Space\n').replace(/^webUrl: .*$/m, 'webUrl: https://space.example.com/a'));
  space();
  const { svc, ctx } = await service(dir);
  try {
    assert.equal((await request(svc.url, 'GET', '/topics/space/rss.xml')).status, 200);
    rmSync(path.join(dir, 'content', 'space.md'));
    await buildSite(ctx, await loadAndSelect(ctx));
    for (const f of ['rss.xml', 'atom.xml', 'feed.json']) {
      const r = await request(svc.url, 'GET', `/topics/space/${f}`);
      assert.equal(r.status, 410, f);
      assert.match(r.text, /This feed is gone/);
    }
    assert.equal((await request(svc.url, 'GET', '/topics/never/rss.xml')).status, 404);
    space();
    await buildSite(ctx, await loadAndSelect(ctx));
    assert.equal((await request(svc.url, 'GET', '/topics/space/rss.xml')).status, 200);
  } finally {
    await svc.stop();
  }
});

test("a scheduled digest is dated in its schedule's time zone", async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  copyFixtures(dir);
  const smtp = await startSmtp();
  after(() => smtp.close());
  // 22:30 UTC on the 22nd is 07:30 on the 23rd in Tokyo: the 07:00 Tokyo slot has just passed.
  const now = new Date('2026-11-22T22:30:00Z');
  const db = openDb(path.join(dir, 'state.db'));
  upsertSubscriber(db, { email: 'tokyo@example.com', status: 'active' }, now);
  upsertSubscriber(db, { email: 'weekly@example.com', status: 'active', schedule: 'weekly' }, now); // not this schedule's reader
  db.prepare('UPDATE subscribers SET last_digest_at = ?').run('2026-11-01T00:00:00.000Z');
  recordRun(db, 'tokyo', new Date('2026-11-21T22:00:00Z')); // the day before's slot
  recordRun(db, 'weekly', new Date('2026-11-22T22:00:00Z'));
  db.close();
  const schedules = [{ name: 'tokyo', cron: '0 7 * * *', timezone: 'Asia/Tokyo', topics: 'all' }, { name: 'weekly', cron: '0 8 * * 1', timezone: 'Asia/Tokyo', topics: 'all' }];
  const { svc } = await service(dir, smtp, { digest: { schedules } }, { now, schedule: true });
  try {
    for (let i = 0; i < 400 && smtp.received.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200)); // (a second message, had it been sent, would have come by now)
    assert.deepEqual(smtp.received.map((m) => m.to), ['tokyo@example.com']);
    const mail = smtp.received[0]!.mail;
    assert.match(String(mail.html), /November 23, 2026/);
    assert.doesNotMatch(`${mail.html}${mail.text}`, /November 22, 2026/);
  } finally {
    await svc.stop();
  }
});

test('a browser fills in the sign-up form on the subscribe page', { skip: chromiumMissing() }, async () => {
  const { dir, cleanup } = tempDir();
  copyFixtures(dir);
  const smtp = await startSmtp();
  const { svc } = await service(dir, smtp);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
    await page.goto(svc.url);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), true, 'no horizontal scroll at 375px');
    await page.fill('input[name=email]', 'browser@example.com');
    await page.fill('input[name=name]', 'Browser User');
    await page.check('input[name=topics][value=ai]');
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    await page.waitForSelector('h1');
    assert.match(await page.textContent('h1') ?? '', /Check your inbox/);
    mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-artifacts', 'signup-done.png') });
    assert.equal(smtp.received.length, 1);
    assert.equal(smtp.received[0]!.to, 'browser@example.com');
  } finally {
    await browser.close();
    await svc.stop();
    await smtp.close();
    cleanup();
  }
});

test('gazette start: a second scheduler on the same database refuses; SIGTERM stops cleanly', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  copyFixtures(dir);
  const args = ['--content', path.join(dir, 'content'), '--out', path.join(dir, 'out'), '--db', path.join(dir, 's.db'), 'start', '--port', '0'];
  const first = runCliAsync(args, { cwd: dir, env: { GAZETTE_NOW: NOW.toISOString() } }); // cwd: the default data/ goes there
  let out = '';
  first.child.stdout.on('data', (c) => (out += c));
  for (let i = 0; i < 200 && !/next run/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(out, /serving .* at http:\/\/127\.0\.0\.1:\d+\//);
  assert.match(out, /schedule daily: "0 7 \* \* \*" \(UTC\), next run/);
  const second = await runCliAsync(args, { cwd: dir }).done;
  assert.equal(second.code, 1);
  assert.match(second.stderr, /holds the "scheduler" lock/);
  first.child.kill('SIGTERM');
  const r = await first.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /stopped/);
  // A service's log is read later: every line says when (here the pinned clock).
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.ok(lines.length >= 5 && lines.every((l) => l.startsWith(`${NOW.toISOString()} `)), r.stdout);
});

test('gazette start: SIGHUP reads the config again between jobs; a broken file leaves it running as it was', async () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  copyFixtures(dir);
  const cfg = path.join(dir, 'gazette.yaml');
  writeFileSync(cfg, 'site:\n  title: First Title\n');
  const args = ['--config', cfg, '--content', path.join(dir, 'content'), '--out', path.join(dir, 'out'), '--db', path.join(dir, 's.db'), 'start', '--port', '0'];
  const run = runCliAsync(args, { cwd: dir, env: { GAZETTE_NOW: NOW.toISOString() } });
  let out = '';
  run.child.stdout.on('data', (c) => (out += c));
  run.child.stderr.on('data', (c) => (out += c));
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 400 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(out, re);
  };
  try {
    await waitFor(/schedule rebuild: .*next run/);
    const url = /serving \S+ at (http:\/\/\S+)/.exec(out)![1]!;
    assert.match((await request(url, 'GET', '/')).text, /<title>First Title: subscribe<\/title>/);
    // A new title, a second schedule (so readers get a choice), and a new output folder, which needs a restart.
    writeFileSync(cfg, 'site:\n  title: Second Title\npaths:\n  output: elsewhere\n  cache: cache2\ndigest:\n  schedules:\n    - { name: daily, cron: "0 7 * * *" }\n    - { name: weekly, cron: "0 8 * * 1" }\n');
    run.child.kill('SIGHUP');
    await waitFor(/reload: \S+gazette\.yaml applied; changed but read only at start: paths \(restart to apply them\)/);
    assert.match(out, /schedule weekly: "0 8 \* \* 1" \(UTC\), next run/);
    assert.ok(!existsSync(path.join(dir, 'cache2')), 'a folder read at start is not half-applied: the rebuild kept the old cache');
    const home = (await request(url, 'GET', '/')).text;
    assert.match(home, /<title>Second Title: subscribe<\/title>/);
    assert.match(home, /name="schedule" value="weekly"/);
    // A file that does not load: said, and nothing changes.
    writeFileSync(cfg, 'site:\n  title: [unclosed\n');
    run.child.kill('SIGHUP');
    await waitFor(/reload: nothing changed, still running with the config as it was: config file \S+ is not valid YAML/);
    writeFileSync(cfg, 'site:\n  titel: Typo\n');
    run.child.kill('SIGHUP');
    await waitFor(/reload: nothing changed, still running with the config as it was: \S+gazette\.yaml is invalid:[\s\S]*site\.titel: not a setting; did you mean title\?/);
    assert.match((await request(url, 'GET', '/')).text, /<title>Second Title: subscribe<\/title>/);
  } finally {
    run.child.kill('SIGTERM');
  }
  const r = await run.done;
  assert.equal(r.code, 0, out);
});

test('the admin page sends a topic with the token, and refuses without it; it sends a test to the editor first', { skip: chromiumMissing() }, async () => {
  const { dir, cleanup } = tempDir();
  copyFixtures(dir);
  const smtp = await startSmtp();
  const { svc, ctx } = await service(dir, smtp);
  const db = openDb(ctx.dbPath);
  upsertSubscriber(db, { email: 'admin-page@example.com', status: 'active' }, NOW);
  db.close();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${svc.url}admin`);
    await page.fill('#token', 'wrong');
    await page.click('button[data-topic="computer-vision"]');
    await page.waitForFunction(() => /error 401/.test(document.getElementById('status')!.textContent ?? ''));
    // The default window is 24 hours: these fixtures are older, so nothing new goes out, and the job says so.
    await page.fill('#token', ADMIN);
    await page.click('button[data-topic="computer-vision"]');
    await page.waitForFunction(() => /"status": "done"/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    const status = await page.textContent('#status');
    assert.match(status ?? '', /"skipped": 1/);
    // With a date the older articles go out: first a test to the editor, then the send.
    await page.fill('#since', '2026-11-01');
    await page.fill('#test-to', 'editor@example.com');
    await page.click('button[data-test="computer-vision"]');
    // This job's own "done" (the status still shows the last job's until the page has polled the new one).
    await page.waitForFunction(() => /"name": "test digest computer-vision",\s*"status": "done"/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.match((await page.textContent('#status')) ?? '', /"to": \[\s*"editor@example.com"\s*\]/);
    assert.deepEqual(smtp.received.map((m) => m.to), ['editor@example.com']);
    await page.click('button[data-topic="computer-vision"]');
    await page.waitForFunction(() => /"sent": 1/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.deepEqual(smtp.received.map((m) => m.to), ['editor@example.com', 'admin-page@example.com']);
    assert.deepEqual(errors.filter((e) => !/401/.test(e)), [], 'no script errors (CSP allows the page script)');
  } finally {
    await browser.close();
    await svc.stop();
    await smtp.close();
    cleanup();
  }
});

test("the admin page sends as a schedule would: only to that schedule's readers", { skip: chromiumMissing() }, () => ownService({
  more: { digest: { schedules: [{ name: 'daily', cron: '0 7 * * *' }, { name: 'weekly', cron: '0 8 * * 1', title: 'Weekly' }] } },
}, async ({ svc, smtp, db }) => {
  for (const [email, schedule] of [['d@example.com', 'daily'], ['w@example.com', 'weekly'], ['any@example.com', null]] as const) upsertSubscriber(db, { email, status: 'active', schedule }, NOW);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${svc.url}admin`);
    assert.deepEqual(await page.$$eval('#schedule option', (os) => os.map((o) => `${(o as HTMLOptionElement).value}: ${o.textContent}`)), [
      ': Every active subscriber', 'daily: Those who chose Daily (or no schedule)', 'weekly: Those who chose Weekly (or no schedule)',
    ]);
    await page.fill('#token', ADMIN);
    await page.fill('#since', '2026-11-01');
    await page.selectOption('#schedule', 'weekly');
    smtp.received.length = 0;
    await page.click('button[data-all="1"]');
    await page.waitForFunction(() => /"status": "done"/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    assert.deepEqual(smtp.received.map((m) => m.to).sort(), ['any@example.com', 'w@example.com']);
  } finally {
    await browser.close();
  }
}));

/** The README's quick start, run as it is written there: its commands are part of the product. */
test("the README's quick start works as written: npm start, then its curl commands", { skip: curlMissing() }, async () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('Try it while it runs:');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
  assert.ok(start > 0 && block, "README.md has the quick start's commands");
  const { dir, cleanup } = tempDir();
  after(cleanup);
  // `npm start` is `gazette start` in the repository, on its sample articles (copied: it writes beside them).
  mkdirSync(path.join(dir, 'content'));
  for (const f of readdirSync(path.join(ROOT, 'content'))) writeFileSync(path.join(dir, 'content', f), readFileSync(path.join(ROOT, 'content', f)));
  assert.match(readFileSync(path.join(ROOT, 'package.json'), 'utf8'), /"start": "node bin\/gazette\.cjs start"/);
  const env: Record<string, string> = { ...(process.env as Record<string, string>), GAZETTE_NOW: NOW.toISOString() };
  for (const k of ['SMTP_URL', 'GAZETTE_SECRET', 'GAZETTE_SECRET_PREVIOUS', 'GAZETTE_ADMIN_TOKEN', 'GAZETTE_DB', 'PORT', 'HOST']) delete env[k];
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'gazette.cjs'), 'start', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += c));
  child.stderr.on('data', (c) => (log += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const waitFor = async (re: RegExp): Promise<RegExpExecArray> => {
    for (let i = 0; i < 400; i++) {
      const m = re.exec(log);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the log never said ${re}:\n${log}`);
  };
  try {
    const url = (await waitFor(/serving \S+ at (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!;
    const token = (await waitFor(/admin token \(set GAZETTE_ADMIN_TOKEN to choose your own\): (\S+)/))[1]!;
    /** A command of the README, on the port this test's server got, with the token it printed. */
    const sh = (command: string) => {
      const r = spawnSync('bash', ['-c', command.replaceAll('http://127.0.0.1:8080/', url)], { cwd: dir, env: { ...env, TOKEN: token }, encoding: 'utf8' });
      assert.equal(r.status, 0, `${command}: ${r.stderr}`);
      return r.stdout;
    };
    const commands = block.replace(/\\\n\s*/g, '').split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
    const subscribe = commands.find((c) => c.startsWith('curl') && c.includes('/subscribe'));
    const send = commands.find((c) => c.startsWith('curl') && c.includes('/api/send'));
    assert.ok(subscribe && send, block);
    assert.match(sh(subscribe), /Check your inbox/);
    // "the log prints the confirmation link (...): open it in a browser and press Confirm (or: curl -X POST '<the link>')"
    const link = (await waitFor(/confirmation sent to you@example\.com \((\S+)\)/))[1]!;
    const confirm = /\(or: (curl -X POST '<the link>')\)/.exec(block)?.[1];
    assert.ok(confirm, "the README says how to confirm with curl");
    assert.match(sh(confirm.replace('<the link>', link)), /subscribed|confirmed|active/i);
    const queued = JSON.parse(sh(send)) as { job: number; status: string };
    assert.ok(queued.job > 0, JSON.stringify(queued));
    await waitFor(/send all: /);
    const outbox = path.join(dir, 'output', 'outbox');
    assert.ok(commands.includes('ls output/outbox/'));
    const emls = readdirSync(outbox).filter((f) => f.endsWith('.eml')).map((f) => readFileSync(path.join(outbox, f)));
    const raw = emls.find((b) => /^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m.test(b.toString('latin1')));
    assert.ok(raw && emls.length === 2, `the confirmation and a digest in output/outbox/: ${emls.length} file(s)`);
    const digest = await simpleParser(raw);
    assert.equal((digest.to as { text: string }).text, 'you@example.com');
    assert.match(digest.text ?? '', /Computer Vision/);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
  }
});
