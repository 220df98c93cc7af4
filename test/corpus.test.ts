import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadContent } from '../src/content/load.js';
import { CORPUS } from './helpers.js';

const real = path.join(CORPUS, 'real');
const skip = existsSync(real) ? false : `the shared corpus is absent (looked for ${real}); these tests need ../shared/corpus`;
if (skip) console.log(`# SKIP corpus tests: ${skip}`);

test('the whole real corpus loads: every file accounted for, none skipped', { skip }, async () => {
  const r = await loadContent(real);
  assert.equal(r.files, 732);
  assert.equal(r.articles.length, 732, r.issues.map((i) => `${i.file}: ${i.reason}`).join('\n'));
  assert.equal(r.issues.length, 0);
  assert.equal(r.articles.filter((a) => a.published).length, 453);
  assert.ok(r.articles.some((a) => (a.quality ?? 0) > 100), 'qualities above 100 survive');
  const video = r.articles.find((a) => a.file === '2019-08-19-microsoft-power-apps-2019-release-wave-2-overview.md')!;
  assert.equal(video.type, 'video');
  assert.equal(video.url, 'https://youtube.com/watch?v=WJk-Y8LQlfE');
  assert.equal(video.date.toISOString(), '2019-08-19T21:00:10.000Z');
  assert.deepEqual(video.topics, [{ name: 'Power Apps', slug: 'power-apps' }]);
  const noQuality = r.articles.find((a) => a.file === '2020-11-16-nvidia-launches-a100-80gb-gpu-for-supercomputers.md')!;
  assert.equal(noQuality.quality, undefined);
  assert.equal(noQuality.published, true);
  for (const a of r.articles) {
    assert.match(a.url, /^https?:\/\//);
    for (const rel of a.related) assert.match(rel.url, /^https?:\/\//);
    assert.equal(new Set(a.related.map((x) => x.url)).size, a.related.length);
  }
});

test('the seed articles load with their related lists', { skip: existsSync(path.join(CORPUS, 'seeds')) ? false : skip || 'seeds absent' }, async () => {
  const r = await loadContent(path.join(CORPUS, 'seeds'));
  assert.equal(r.articles.length, 5);
  const first = r.articles.find((a) => a.file.startsWith('000_'))!;
  assert.equal(first.provider.name, 'GeekWire');
  assert.equal(first.related.length, 3);
});
