import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseConfig, loadConfig, loadSecrets } from '../src/config/load.js';
import { tempDir, writeFiles } from './helpers.js';

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
      smtpUrl: 'smtp://x', secret: 's', adminToken: undefined, dkimKey: undefined,
    });
  });
});
