import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, loadConfig, loadSecrets } from '../src/config/load.js';
import { configSchema } from '../src/config/schema.js';
import { ROOT, tempDir, writeFiles } from './helpers.js';

describe('config', () => {
  test('built-in defaults', () => {
    const c = parseConfig({});
    assert.equal(c.selection.minQuality, 50);
    assert.equal(c.selection.itemsPerFeed, 50);
    assert.equal(c.site.language, 'en');
    assert.deepEqual(c.topics, []);
  });
  test('errors name the key', () => {
    assert.throws(() => parseConfig({ selection: { minQuality: 'high' } }), /selection\.minQuality/);
    assert.throws(() => parseConfig({ site: { baseUrl: 'ftp://x' } }), /site\.baseUrl/);
    assert.throws(() => parseConfig({ sitee: {} }), /sitee|Unrecognized/);
    assert.throws(() => parseConfig({ topics: [{ name: 'A', slug: '../x' }] }), /topics\.0\.slug/);
    assert.throws(() => parseConfig({ server: { trustProxy: 'the load balancer' } }), /server\.trustProxy/);
    assert.throws(() => parseConfig({ server: { trustProxy: ['10.0.0.0/8', '10.0.0.300'] } }), /server\.trustProxy/);
    assert.throws(() => parseConfig({ server: { trustProxy: true } }), /server\.trustProxy/);
    assert.throws(() => parseConfig({ site: { timezone: 'Mars/Olympus' } }), /site\.timezone/);
    assert.throws(() => parseConfig({ digest: { schedules: [{ name: 'x', cron: '0 7 * * *', timezone: 'Europe/Lndon' }] } }), /digest\.schedules\.0\.timezone/);
    // Each schedule keeps its own state (its last run) and its own readers: two of one name would share both.
    assert.throws(() => parseConfig({ digest: { schedules: [{ name: 'daily', cron: '0 7 * * *' }, { name: 'daily', cron: '0 8 * * 1' }] } }), /digest\.schedules: two schedules have the same name/);
    for (const ok of [false, 1, 'loopback', ['uniquelocal', '203.0.113.7', '2001:db8::/32']]) assert.deepEqual(parseConfig({ server: { trustProxy: ok } }).server.trustProxy, ok);
  });
  test('a key that is no setting is named with the one it most likely meant', () => {
    const said = (data: unknown) => {
      try {
        parseConfig(data, 'g.yaml');
      } catch (err) {
        return (err as Error).message.split('\n').slice(1);
      }
      assert.fail('accepted');
    };
    // A typo, another case, a plural, a shortened name: the setting beside it, by its name.
    assert.deepEqual(said({ site: { titel: 'x' } }), ['  site.titel: not a setting; did you mean title?', '  (every setting is in docs/config.md)']);
    assert.equal(said({ selection: { minquality: 60 } })[0], '  selection.minquality: not a setting; did you mean minQuality?');
    assert.equal(said({ site: { timeZone: 'UTC' } })[0], '  site.timeZone: not a setting; did you mean timezone?');
    assert.equal(said({ mail: { maxConnection: 2 } })[0], '  mail.maxConnection: not a setting; did you mean maxConnections?');
    assert.equal(said({ feeds: { rebuild: '* * * * *' } })[0], '  feeds.rebuild: not a setting; did you mean rebuildCron?');
    assert.equal(said({ digest: { schedules: [{ name: 'a', cron: '0 7 * * *', timzone: 'UTC' }] } })[0], '  digest.schedules.0.timzone: not a setting; did you mean timezone?');
    // In the wrong section, or one level off: the setting by its whole path.
    assert.equal(said({ schedule: [] })[0], '  schedule: not a setting; did you mean digest.schedules?');
    assert.equal(said({ baseUrl: 'https://x.example/' })[0], '  baseUrl: not a setting; did you mean site.baseUrl?');
    assert.equal(said({ site: { minQuality: 60 } })[0], '  site.minQuality: not a setting; did you mean selection.minQuality?');
    // Nothing near: no guess; every unknown key is named, other errors too.
    assert.deepEqual(said({ colour: 'red', site: { title: '' } }), ['  site.title: Too small: expected string to have >=1 characters', '  colour: not a setting', '  (every setting is in docs/config.md)']);
  });
  test('docs/config.md documents every key of the schema, under its section, and no other', () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'config.md'), 'utf8');
    const sections = new Map(doc.split(/^## /m).slice(1).map((part) => [part.slice(0, part.indexOf('\n')).replace(/`/g, '').trim(), part]));
    const documented = (section: string) => new Set([...(sections.get(section) ?? '').matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]!));
    const inner = (t: unknown): { shape?: Record<string, unknown> } => {
      let z = t as { shape?: Record<string, unknown>; unwrap?: () => unknown; _zod?: { def?: { innerType?: unknown } } };
      while (!z.shape && (z.unwrap || z._zod?.def?.innerType)) z = (z.unwrap ? z.unwrap() : z._zod!.def!.innerType) as typeof z;
      return z;
    };
    for (const [section, schema] of Object.entries(configSchema.shape)) {
      if (section === 'topics') continue; // a list, documented as one (\`{ name, slug?, description?, parent? }\`)
      const keys = Object.keys(inner(schema).shape ?? {});
      assert.ok(keys.length > 0, section);
      assert.deepEqual([...documented(section)].sort(), keys.sort(), `## \`${section}\` in docs/config.md`);
    }
    assert.match(sections.get('topics') ?? '', /\{ name, slug\?, description\?, parent\? \}/);
  });
  test("docs/config.md's Environment table names every variable Gazette reads, and no other", () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'config.md'), 'utf8');
    const env = doc.slice(doc.indexOf('## Environment'));
    const documented = [...env.matchAll(/^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)? \|/gm)].flatMap((m) => [m[1]!, m[2]].filter((v): v is string => !!v));
    // What the code reads: \`env.NAME\`, \`env['NAME']\` or a name passed to the secrets' \`pick\`, in src/ and bin/.
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const f = path.join(dir, e.name);
        if (e.isDirectory()) walk(f);
        else if (/\.(ts|cjs)$/.test(e.name)) {
          for (const m of readFileSync(f, 'utf8').matchAll(/\benv(?:\.([A-Z][A-Z_]+)|\[['"]([A-Z][A-Z_]+)['"]\])|\bpick\('([A-Z][A-Z_]+)'\)/g)) read.add(m[1] ?? m[2] ?? m[3]!);
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    walk(path.join(ROOT, 'bin'));
    assert.ok(read.has('SMTP_URL') && read.has('GAZETTE_NOW'), `found the variables the code reads: ${[...read].join(', ')}`);
    assert.deepEqual([...new Set(documented)].sort(), [...read].sort());
  });
  test('the example config in the repository is valid', async () => {
    const { config } = await loadConfig(path.join(ROOT, 'gazette.config.example.yaml'));
    assert.ok(config.topics.length > 0 && config.digest.schedules.length > 0);
  });
  test('a file is loaded; a missing one named on the command line is an error', async () => {
    const { dir, cleanup } = tempDir();
    after(cleanup);
    writeFiles(dir, { 'g.yaml': 'site:\n  title: My news\ntopics:\n  - name: Power Apps\n  - name: Portals\n    parent: Power Apps\n' });
    const { config } = await loadConfig(path.join(dir, 'g.yaml'));
    assert.equal(config.site.title, 'My news');
    assert.equal(config.topics[1]!.parent, 'Power Apps');
    await assert.rejects(loadConfig(path.join(dir, 'missing.yaml')), /cannot read config file/);
    writeFiles(dir, { 'bad.yaml': 'site: [unclosed' });
    await assert.rejects(loadConfig(path.join(dir, 'bad.yaml')), /not valid YAML/);
  });
  test('secrets come from the environment only', () => {
    assert.deepEqual(loadSecrets({ SMTP_URL: 'smtp://x', GAZETTE_SECRET: ' s ', GAZETTE_ADMIN_TOKEN: '' }), {
      smtpUrl: 'smtp://x', secret: 's', previousSecrets: [], adminToken: undefined, dkimKey: undefined,
    });
    // Secrets used before, in any list form an operator writes: commas, spaces, lines.
    assert.deepEqual(loadSecrets({ GAZETTE_SECRET: 'new', GAZETTE_SECRET_PREVIOUS: ' old1, old2\nold3 ' }).previousSecrets, ['old1', 'old2', 'old3']);
  });
});
