'use strict';
// Runs a CommonJS bundle of dist/bundle/ with V8's code cache, as Node's own loader would run it but for the
// cache (Node 20 has no compile cache of its own; `module.enableCompileCache` came in Node 22).
//
// The first run of a command compiles as usual and, when it exits, saves what V8 compiled by then — the
// functions that command used, not only the top level — to dist/bundle/v8-cache/. Later runs of the same
// command load that instead of parsing and compiling ~2.6 MB of JavaScript: ~90 ms less before any work, and
// less lazy compiling during it (BENCHMARKS.md). Each command has its own cache, keyed also by the bundle's
// size and mtime and by Node's version: V8 checks only the source's length, not its text, so a cache must
// never outlive its bundle (`npm run compile` deletes the folder, and the key changes with any rebuild).
// A cache V8 rejects is written again; a folder that cannot be written only means no cache.
//
// The content worker runs through this file too: a worker whose workerData names a bundle runs it.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');
const { isMainThread, workerData, threadId } = require('node:worker_threads');

function cacheFile(bundle, key) {
  const st = fs.statSync(bundle);
  const name = `${path.basename(bundle, '.cjs')}-${key}-${process.version}-${process.arch}-${st.size}-${Math.trunc(st.mtimeMs)}.bin`;
  return path.join(path.dirname(bundle), 'v8-cache', name);
}

function save(file, script) {
  try {
    const data = script.createCachedData(); // ~11 ms for a build's ~1 MB
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}-${threadId}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch {
    // No cache: the next run compiles again.
  }
}

/** Runs `bundle` (a CommonJS file) with the code cache kept under `key`. */
function runBundle(bundle, key) {
  const source = fs.readFileSync(bundle, 'utf8');
  let file;
  let cachedData;
  try {
    file = cacheFile(bundle, key);
    cachedData = fs.readFileSync(file);
  } catch {
    // None yet.
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
  if (file && (cachedData === undefined || script.cachedDataRejected)) process.once('exit', () => save(file, script));
  if (process.env.GAZETTE_DEBUG_CODE_CACHE) process.stderr.write(`code cache ${key}: ${cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
  const module = { exports: {}, filename: bundle, id: bundle };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle));
}

module.exports = { runBundle };

if (!isMainThread && workerData && typeof workerData.gazetteBundle === 'string') runBundle(workerData.gazetteBundle, 'worker');
