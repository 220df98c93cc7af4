/**
 * WebSub (`feeds.hub`): every feed names the hub, and each build tells a real HTTP hub on loopback which feeds
 * changed — only those; a hub that refuses or is down costs a warning, never the build, and what it did not
 * take is told again by the next build.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveContext, type Context } from '../src/commands/context.js';
import { buildCommand } from '../src/commands/build.js';
import { startService } from '../src/commands/start.js';
import { readStatus, statusCommand } from '../src/commands/status.js';
import { parseConfig } from '../src/config/load.js';
import { publishToHub } from '../src/deliver/websub.js';
import { articleText, NOW, tempDir, writeFiles } from './helpers.js';
import { feedparse, feedparserMissing } from './feedcheck.js';

/** A hub on loopback: records each publish ping, answers with `status` (or never, when `hang`). */
async function startHub() {
  const pings: { url: string; mode: string; type: string }[] = [];
  const hub = { pings, status: 204, hang: false, url: '', close: async () => {} };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (hub.hang) return;
      const form = new URLSearchParams(body);
      pings.push({ url: form.get('hub.url') ?? '', mode: form.get('hub.mode') ?? '', type: req.headers['content-type'] ?? '' });
      res.statusCode = hub.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub`;
  hub.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return hub;
}

describe('publishToHub', () => {
  test('one form POST per feed; refusals and a hub that is down come back with their reasons', async () => {
    const hub = await startHub();
    try {
      const urls = ['https://n.example/all/rss.xml', 'https://n.example/topics/ai/atom.xml'];
      assert.deepEqual(await publishToHub(hub.url, urls), []);
      assert.deepEqual(hub.pings.map((p) => [p.mode, p.url, p.type]).sort(), urls.map((u) => ['publish', u, 'application/x-www-form-urlencoded']).sort());

      hub.status = 503;
      const refused = await publishToHub(hub.url, urls);
      assert.deepEqual(refused.map((f) => f.url), urls);
      assert.match(refused[0]!.reason, /^HTTP 503/);

      // No answer: the first round times out, the rest is not even tried.
      hub.hang = true;
      const many = Array.from({ length: 12 }, (_, i) => `https://n.example/topics/t${i}/rss.xml`);
      const down = await publishToHub(hub.url, many, { timeoutMs: 200, concurrency: 2 });
      assert.deepEqual(down.map((f) => f.url), many);
      assert.equal(down.filter((f) => /^no answer in 0.2 s$/.test(f.reason)).length, 2);
      assert.ok(down.slice(2).every((f) => /^not tried: the hub did not answer/.test(f.reason)), JSON.stringify(down));
    } finally {
      await hub.close();
    }
    // Nobody listening there.
    const free = http.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as AddressInfo).port;
    await new Promise((resolve) => free.close(resolve));
    const gone = await publishToHub(`http://127.0.0.1:${port}/hub`, ['https://n.example/all/rss.xml']);
    assert.match(gone[0]!.reason, /ECONNREFUSED/);
  });
});

describe('builds with feeds.hub', () => {
  // One hub for every build here; each test builds its own site.
  let hub: Awaited<ReturnType<typeof startHub>>;
  before(async () => (hub = await startHub()));
  after(() => hub.close());
  beforeEach(() => {
    hub.status = 204;
    hub.pings.length = 0;
  });

  const A = { webUrl: 'https://e.example/a', title: 'Rail cameras', topics: ['AI'], publishedDateTime: '2026-11-20T09:00:00Z' };
  const B = { webUrl: 'https://e.example/b', title: 'Shelf cameras', topics: ['Computer Vision'], publishedDateTime: '2026-11-19T09:00:00Z' };

  /** A content folder with articles a and b, and `build`, which builds it and returns the log. */
  function site(t: { after: (fn: () => void) => void }) {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const content = path.join(dir, 'content');
    const out = path.join(dir, 'out');
    writeFiles(content, { 'a.md': articleText(A), 'b.md': articleText(B) });
    const build = async (withHub = true): Promise<string[]> => {
      const lines: string[] = [];
      const base = await resolveContext({ content, out });
      const ctx: Context = {
        ...base,
        config: parseConfig({ site: { baseUrl: 'https://news.example/' }, paths: { cache: path.join(dir, 'cache') }, feeds: withHub ? { hub: hub.url } : {} }),
        now: () => NOW,
        log: (l) => lines.push(l),
        warn: (l) => lines.push(`warn: ${l}`),
      };
      await buildCommand(ctx, {});
      return lines;
    };
    /** What `gazette status` says of the hub: the JSON field, and the line. */
    const status = async () => {
      const lines: string[] = [];
      const base = await resolveContext({ content, out, db: path.join(dir, 'state.db') });
      const ctx: Context = { ...base, config: parseConfig({ paths: { cache: path.join(dir, 'cache') }, feeds: { hub: hub.url } }), now: () => NOW, log: (l) => lines.push(l), warn: (l) => lines.push(l) };
      statusCommand(ctx);
      return { websub: readStatus(ctx).websub, line: lines.find((l) => l.startsWith('websub:')) };
    };
    const pending = () => readdirSync(path.join(dir, 'cache')).filter((f) => f.startsWith('websub-'));
    const read = (rel: string) => readFileSync(path.join(out, rel), 'utf8');
    return { content, out, build, pending, read, status };
  }
  const feedUrls = (...dirs: string[]) => dirs.flatMap((d) => ['rss.xml', 'atom.xml', 'feed.json'].map((f) => `https://news.example/${d}/${f}`)).sort();
  const pinged = () => hub.pings.map((p) => p.url).sort();
  const upToDate = (lines: string[]) => lines.some((l) => /: up to date \(/.test(l));

  test('every feed names the hub; the first build tells it of all of them, one with nothing changed of none, an edit of its feeds', async (t) => {
    const s = site(t);
    const first = await s.build();
    assert.deepEqual(pinged(), feedUrls('all', 'topics/ai', 'topics/computer-vision'));
    assert.ok(first.includes(`websub: told ${hub.url} of 9 feeds changed`), first.join('\n'));
    assert.match(s.read('all/rss.xml'), new RegExp(`<atom:link href="${hub.url}" rel="hub"/>`));
    assert.match(s.read('all/atom.xml'), new RegExp(`<link rel="hub" href="${hub.url}"/>`));
    assert.deepEqual((JSON.parse(s.read('all/feed.json')) as { hubs: unknown }).hubs, [{ type: 'WebSub', url: hub.url }]);

    hub.pings.length = 0;
    assert.ok(upToDate(await s.build()));
    assert.deepEqual(hub.pings, []);

    writeFiles(s.content, { 'a.md': articleText({ ...A, title: 'Rail cameras, updated' }) });
    await s.build();
    assert.deepEqual(pinged(), feedUrls('all', 'topics/ai'));
  });

  test('feed readers see the hub: feedparser finds it among the XML feeds\' links', { skip: feedparserMissing() }, async (t) => {
    const s = site(t);
    await s.build();
    const report = feedparse([path.join(s.out, 'all', 'rss.xml'), path.join(s.out, 'topics', 'ai', 'atom.xml')]);
    for (const [file, r] of Object.entries(report)) {
      assert.equal(r.bozo, 0, `${file}: ${r.bozoException}`);
      assert.ok(r.links.some((l) => l.rel === 'hub' && l.href === hub.url), `${file}: ${JSON.stringify(r.links)}`);
    }
  });

  test('a hub that refuses costs a warning, not the build; the next build, up to date or not, tells it again', async (t) => {
    const s = site(t);
    await s.build();
    hub.status = 500;
    hub.pings.length = 0;
    writeFiles(s.content, { 'b.md': articleText({ ...B, title: 'Shelf cameras, updated' }) });
    const refused = await s.build();
    assert.ok(refused.some((l) => /^warn: websub: .* did not take 6 of 6 feeds \(https:\/\/news\.example\/all\/rss\.xml: HTTP 500 Internal Server Error\); readers see them at their next poll/.test(l)), refused.join('\n'));
    assert.ok(refused.some((l) => /^output: 6 files written/.test(l)), 'the build itself went through');
    assert.equal(s.pending().length, 1);
    assert.deepEqual(await s.status(), {
      websub: { hub: hub.url, untold: 6 },
      line: `websub: ${hub.url}: 6 changed feeds not yet told (it refused or did not answer; the next build tells it again)`,
    });

    hub.status = 204;
    hub.pings.length = 0;
    const retried = await s.build();
    assert.ok(upToDate(retried), retried.join('\n'));
    assert.ok(!retried.some((l) => l.startsWith('warn: websub')), 'the refusal is not repeated as one of the build\'s warnings');
    assert.ok(retried.includes(`websub: told ${hub.url} of 6 feeds changed (6 of them held over from an earlier build)`), retried.join('\n'));
    assert.deepEqual(pinged(), feedUrls('all', 'topics/computer-vision'));
    assert.deepEqual(s.pending(), []);
    assert.deepEqual((await s.status()).websub, { hub: hub.url, untold: 0 });
  });

  test('gazette start tells the hub after the builds it runs', async (t) => {
    const s = site(t);
    const base = await resolveContext({ content: s.content, out: s.out });
    const said: string[] = [];
    const svc = await startService(
      {
        ...base,
        config: parseConfig({ site: { baseUrl: 'https://news.example/' }, paths: { cache: path.join(s.out, '..', 'cache') }, feeds: { hub: hub.url } }),
        dbPath: path.join(s.out, '..', 'state.db'),
        now: () => NOW,
        log: (l) => said.push(l),
        warn: (l) => said.push(`warn: ${l}`),
      },
      { port: '0', host: '127.0.0.1', schedule: false },
    );
    try {
      assert.deepEqual(pinged(), feedUrls('all', 'topics/ai', 'topics/computer-vision'));
      assert.ok(said.includes(`websub: told ${hub.url} of 9 feeds changed`), said.join('\n'));
      // Discovery by HTTP headers too (WebSub §4): each feed's response names the hub and the feed's own URL.
      for (const rel of ['topics/ai/atom.xml', 'all/feed.json']) {
        const res = await fetch(new URL(rel, svc.url));
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('link'), `<${hub.url}>; rel="hub", <https://news.example/${rel}>; rel="self"`);
      }
      assert.equal((await fetch(svc.url)).headers.get('link'), null, 'the subscribe page is no topic');
    } finally {
      await svc.stop();
    }
  });

  test('feeds at a base URL only this machine reaches are not sent to a hub elsewhere: a warning says why', async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    writeFiles(path.join(dir, 'content'), { 'a.md': articleText(A) });
    const lines: string[] = [];
    const base = await resolveContext({ content: path.join(dir, 'content'), out: path.join(dir, 'out') });
    await buildCommand({
      ...base,
      // No site.baseUrl: feeds name http://127.0.0.1:8080/, which a hub on the internet cannot fetch.
      config: parseConfig({ paths: { cache: path.join(dir, 'cache') }, feeds: { hub: 'https://hub.example/' } }),
      now: () => NOW,
      log: (l) => lines.push(l),
      warn: (l) => lines.push(`warn: ${l}`),
    }, {});
    assert.ok(lines.includes('warn: websub: not telling https://hub.example/: the feeds are at http://127.0.0.1:8080/, an address only this machine reaches (set site.baseUrl to where readers get them)'), lines.join('\n'));
    assert.deepEqual(readdirSync(path.join(dir, 'cache')).filter((f) => f.startsWith('websub-')), [], 'nothing held over for a hub that could not use it');
  });

  test('without feeds.hub: no hub in the feeds, nobody told', async (t) => {
    const s = site(t);
    const lines = await s.build(false);
    assert.deepEqual(hub.pings, []);
    assert.ok(!lines.some((l) => l.includes('websub')));
    assert.doesNotMatch(s.read('all/rss.xml'), /rel="hub"/);
    assert.doesNotMatch(s.read('all/atom.xml'), /rel="hub"/);
    assert.ok(!('hubs' in (JSON.parse(s.read('all/feed.json')) as object)));
  });
});
