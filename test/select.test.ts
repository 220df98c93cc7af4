import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { select, topicArticles, type SelectionRules } from '../src/select/select.js';
import { effectiveTopics, resolveTopics } from '../src/select/topics.js';
import { makeArticle, NOW } from './helpers.js';

const rules: SelectionRules = { minQuality: 50, missingQuality: 50, itemsPerFeed: 50, maxAgeDays: 0 };
const d = (s: string) => new Date(s);

describe('select', () => {
  test('filters unpublished, low quality and future articles; counts each', () => {
    const arts = [
      makeArticle({ title: 'ok' }),
      makeArticle({ published: false }),
      makeArticle({ quality: 49 }),
      makeArticle({ quality: 50, title: 'edge' }),
      makeArticle({ date: d('2026-11-22T12:00:01Z') }),
    ];
    const s = select(arts, resolveTopics([], arts), rules, NOW);
    assert.deepEqual(s.all.map((a) => a.title).sort(), ['edge', 'ok']);
    assert.equal(s.stats.unpublished, 1);
    assert.equal(s.stats.belowQuality, 1);
    assert.equal(s.stats.future, 1);
  });
  test('a future article appears once its time has come', () => {
    const a = makeArticle({ date: d('2026-11-23T00:00:00Z') });
    assert.equal(select([a], [], rules, NOW).all.length, 0);
    assert.equal(select([a], [], rules, d('2026-11-23T00:00:00Z')).all.length, 1);
  });
  test('missing quality: counts as missingQuality, or excluded', () => {
    const a = makeArticle({ quality: undefined });
    assert.equal(select([a], [], rules, NOW).all.length, 1);
    assert.equal(select([a], [], { ...rules, missingQuality: 40 }, NOW).all.length, 0);
    assert.equal(select([a], [], { ...rules, missingQuality: 'exclude' }, NOW).all.length, 0);
  });
  test('one item per canonical URL: the newest version wins', () => {
    const old = makeArticle({ url: 'https://e.com/x', id: 'https://e.com/x', title: 'old', date: d('2026-11-01T00:00:00Z') });
    const neu = makeArticle({ url: 'https://e.com/x', id: 'https://e.com/x', title: 'new', date: d('2026-11-02T00:00:00Z') });
    for (const order of [[old, neu], [neu, old]]) {
      const s = select(order, [], rules, NOW);
      assert.deepEqual(s.all.map((a) => a.title), ['new']);
      assert.equal(s.stats.duplicates, 1);
    }
  });
  test('ranked newest first, then quality, then URL; capped per feed', () => {
    const a = makeArticle({ title: 'a', date: d('2026-11-20T00:00:00Z') });
    const b = makeArticle({ title: 'b', date: d('2026-11-21T00:00:00Z'), quality: 60 });
    const c = makeArticle({ title: 'c', date: d('2026-11-21T00:00:00Z'), quality: 90 });
    const s = select([a, b, c], resolveTopics([], [a]), { ...rules, itemsPerFeed: 2 }, NOW);
    assert.deepEqual(s.all.map((x) => x.title), ['c', 'b']);
    assert.deepEqual(s.topics[0]!.articles.map((x) => x.title), ['c', 'b']);
    assert.equal(s.eligible.length, 3);
  });
  test('maxAgeDays and since narrow the window', () => {
    const a = makeArticle({ date: d('2026-11-01T00:00:00Z') });
    const b = makeArticle({ date: d('2026-11-21T00:00:00Z') });
    assert.equal(select([a, b], [], { ...rules, maxAgeDays: 7 }, NOW).all.length, 1);
    assert.equal(select([a, b], [], { ...rules, since: d('2026-10-01') }, NOW).all.length, 2);
    assert.equal(select([a, b], [], { ...rules, since: d('2026-11-10') }, NOW).stats.tooOld, 1);
  });
  test('a child topic feeds its configured parent', () => {
    const portal = makeArticle({ topics: [{ name: 'Portals', slug: 'portals' }] });
    const apps = makeArticle({ topics: [{ name: 'Power Apps', slug: 'power-apps' }] });
    const topics = resolveTopics([{ name: 'Power Apps' }, { name: 'Portals', parent: 'Power Apps' }], [portal, apps]);
    const s = select([portal, apps], topics, rules, NOW);
    const bySlug = Object.fromEntries(s.topics.map((t) => [t.topic.slug, t.articles.length]));
    assert.deepEqual(bySlug, { 'power-apps': 2, portals: 1 });
  });
  test('a configured topic with a slug of its own gets the articles that name it', () => {
    const ai = makeArticle({ topics: [{ name: 'AI', slug: 'ai' }] });
    const portal = makeArticle({ topics: [{ name: 'Portals', slug: 'portals' }] });
    const topics = resolveTopics([{ name: 'AI', slug: 'artificial-intelligence' }, { name: 'Power Apps', slug: 'pa' }, { name: 'portals', slug: 'power-pages', parent: 'pa' }], [ai, portal]);
    const s = select([ai, portal], topics, rules, NOW);
    assert.deepEqual(Object.fromEntries(s.topics.map((t) => [t.topic.slug, t.articles.length])), { 'artificial-intelligence': 1, pa: 1, 'power-pages': 1 });
    assert.deepEqual(topicArticles(s, topics, 'artificial-intelligence'), [ai]);
    // An article's topic is matched by slug first ("PA" is Power Apps here), then by name.
    const named = makeArticle({ topics: [{ name: 'PA', slug: 'pa' }] });
    assert.deepEqual(topicArticles(select([named], topics, rules, NOW), topics, 'pa'), [named]);
  });
  test('topics are discovered from content when none are configured', () => {
    const a = makeArticle({ topics: [{ name: 'B', slug: 'b' }, { name: 'A', slug: 'a' }] });
    assert.deepEqual(resolveTopics([], [a]).map((t) => t.slug), ['a', 'b']);
  });
  test('configured topics: unknown parent and loops are config errors', () => {
    assert.throws(() => resolveTopics([{ name: 'X', parent: 'Nope' }], []), /not a configured topic/);
    assert.throws(() => resolveTopics([{ name: 'X', parent: 'Y' }, { name: 'Y', parent: 'X' }], []), /loops/);
  });
  test('each feed holds the first itemsPerFeed eligible articles of its topic, in rank order (random corpora)', () => {
    let seed = 11;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const configured = [{ name: 'A' }, { name: 'B' }, { name: 'C', parent: 'A' }, { name: 'D', parent: 'C' }, { name: 'E' }];
    for (let round = 0; round < 200; round++) {
      const n = Math.floor(rnd() * 120);
      const arts = Array.from({ length: n }, () =>
        makeArticle({
          url: `https://example.org/r/${Math.floor(rnd() * n)}`,
          date: new Date(NOW.getTime() - Math.floor(rnd() * 1e9)),
          quality: Math.floor(rnd() * 100),
          published: rnd() > 0.1,
          topics: ['A', 'B', 'C', 'D', 'E', 'Unconfigured'].filter(() => rnd() < 0.3).map((name) => ({ name, slug: name.toLowerCase() })),
        }),
      );
      const topics = resolveTopics(configured, arts);
      const r = { ...rules, itemsPerFeed: 1 + Math.floor(rnd() * 12) };
      const s = select(arts, topics, r, NOW);
      const bySlug = new Map(topics.map((t) => [t.slug, t]));
      for (const t of s.topics) {
        const expected = s.eligible.filter((a) => effectiveTopics(a, bySlug).has(t.topic.slug)).slice(0, r.itemsPerFeed);
        assert.deepEqual(t.articles.map((a) => a.file), expected.map((a) => a.file), `round ${round}, topic ${t.topic.slug}`);
      }
      assert.deepEqual(s.all.map((a) => a.file), s.eligible.slice(0, r.itemsPerFeed).map((a) => a.file));
    }
  });
});
