/**
 * `npm run bench`: Gazette beside the obvious implementation (bench/reference.mjs), in one run, on one
 * machine; prints a table and appends it to BENCHMARKS.md.
 *
 *   cold build at 1k, 20k and 100k articles × 30 topics (wall time, peak RSS), and the reference;
 *   warm rebuild with nothing changed, and with one article changed (20k);
 *   `gazette send` to 1k and 10k subscribers against a loopback SMTP server in its own process
 *   (messages per second, peak RSS, every message arrived exactly once).
 *
 * BENCH_SIZES=1000,20000 and BENCH_SENDS=1000 shorten it.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from './generate.js';
import { openDb } from '../src/store/db.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'gazette.js');
const WORK = path.join(tmpdir(), 'gazette-bench');
const list = (v: string) => v.split(',').filter(Boolean).map(Number);
const sizes = list(process.env.BENCH_SIZES ?? '1000,20000,100000');
const sends = list(process.env.BENCH_SENDS ?? '1000,10000');
const NOW = '2026-11-22T12:00:00Z';

interface Run {
  ms: number;
  rssMb: number;
  stdout: string;
  /** Gazette's own "phases: …" line (GAZETTE_REPORT_RSS). */
  phases?: string;
}

function timed(args: string[], env: Record<string, string> = {}): Run {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, GAZETTE_REPORT_RSS: '1', GAZETTE_NOW: NOW, ...env }, maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const rss = /maxrss-kb (\d+)/.exec(r.stderr)?.[1];
  return { ms, rssMb: rss ? Number(rss) / 1024 : NaN, stdout: r.stdout, phases: /^phases: .*$/m.exec(r.stderr)?.[0] };
}

/** The reference reports no RSS of its own: measured with /usr/bin/time when present. */
function timedReference(content: string, out: string): Run {
  const hasTime = existsSync('/usr/bin/time');
  const start = performance.now();
  const r = hasTime
    ? spawnSync('/usr/bin/time', ['-f', 'maxrss-kb %M', process.execPath, 'bench/reference.mjs', content, out], { cwd: ROOT, encoding: 'utf8' })
    : spawnSync(process.execPath, ['bench/reference.mjs', content, out], { cwd: ROOT, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`reference failed:\n${r.stderr}`);
  const rss = /maxrss-kb (\d+)/.exec(r.stderr)?.[1];
  return { ms, rssMb: rss ? Number(rss) / 1024 : NaN, stdout: r.stdout };
}

function corpus(n: number): string {
  const dir = path.join(ROOT, 'bench', 'corpus', String(n));
  const stamp = path.join(dir, '.complete');
  if (!existsSync(stamp)) {
    process.stderr.write(`generating ${n} articles…\n`);
    generate(n, 30, dir);
    writeFileSync(stamp, '');
  }
  return dir;
}

function config(name: string): string {
  const dir = path.join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'gazette.yaml');
  writeFileSync(file, `paths:\n  cache: ${JSON.stringify(path.join(dir, 'cache'))}\n  db: ${JSON.stringify(path.join(dir, 'state.db'))}\nmail:\n  from: Bench <digest@bench.example>\n  maxConnections: 8\n`);
  return file;
}

const rows: string[][] = [];
/** Where each Gazette build's time went, printed under the table. */
const phaseNotes: string[] = [];
const row = (...cells: (string | number)[]) => {
  const r = cells.map(String);
  rows.push(r);
  console.log(r.join('  |  '));
};
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (x: number) => (Number.isNaN(x) ? 'n/a' : `${Math.round(x)} MB`);

execFileSync('npm', ['run', '--silent', 'compile'], { cwd: ROOT, stdio: 'inherit' });
mkdirSync(WORK, { recursive: true });

for (const n of sizes) {
  const content = corpus(n);
  const cfg = config(`build-${n}`);
  const out = path.join(WORK, `build-${n}`, 'out');
  const refOut = path.join(WORK, `build-${n}`, 'ref');
  // Warm the OS file cache for both, so neither pays for the first disk read.
  timedReference(content, refOut);
  const ref = timedReference(content, refOut);
  const cold = timed([BIN, '--config', cfg, '--content', content, '--out', out, 'build']);
  row(`cold build, ${n.toLocaleString('en')} articles × 30 topics`, s(cold.ms), mb(cold.rssMb), s(ref.ms), mb(ref.rssMb), `${(cold.ms / ref.ms).toFixed(2)}×`);
  if (cold.phases) phaseNotes.push(`cold ${n.toLocaleString('en')}: ${cold.phases.slice(8)}`);
  if (n === 20000) {
    const warm = timed([BIN, '--config', cfg, '--content', content, '--out', out, 'build']);
    row(`warm rebuild, nothing changed (${n.toLocaleString('en')})`, s(warm.ms), mb(warm.rssMb), s(ref.ms), mb(ref.rssMb), `${(warm.ms / ref.ms).toFixed(2)}×`);
    if (warm.phases) phaseNotes.push(`warm ${n.toLocaleString('en')}, nothing changed: ${warm.phases.slice(8)}`);
    // Change one article that is in a feed (the newest published one), then rebuild.
    const all = JSON.parse(readFileSync(path.join(out, 'all', 'feed.json'), 'utf8')).items as { id: string }[];
    const target = findFileFor(content, all[0]!.id);
    const original = readFileSync(target, 'utf8');
    writeFileSync(target, original.replace(/^title: "(.*)"$/m, 'title: "$1 (updated)"'));
    try {
      const one = timed([BIN, '--config', cfg, '--content', content, '--out', out, 'build']);
      const changed = readFileSync(path.join(out, 'all', 'feed.json'), 'utf8').includes('(updated)');
      row(`warm rebuild, one article changed (${n.toLocaleString('en')})${changed ? '' : ' — CHANGE MISSING'}`, s(one.ms), mb(one.rssMb), s(ref.ms), mb(ref.rssMb), `${(one.ms / ref.ms).toFixed(2)}×`);
      if (one.phases) phaseNotes.push(`warm ${n.toLocaleString('en')}, one changed: ${one.phases.slice(8)}`);
    } finally {
      writeFileSync(target, original);
    }
  }
}

function findFileFor(dir: string, url: string): string {
  const needle = `webUrl: "${url}"`;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.md')) continue;
    const f = path.join(e.parentPath, e.name);
    const text = readFileSync(f, 'utf8');
    if (text.includes(needle) || text.includes(url.replace(/&/g, '&#038;'))) return f;
  }
  throw new Error(`no file for ${url}`);
}

/** The average size of the digests Gazette sent (as the sink received them): the ceiling sends messages this big. */
let digestBytes = 17_000;

async function sendBench(n: number): Promise<void> {
  const cfg = config(`send-${n}`);
  const dbFile = path.join(WORK, `send-${n}`, 'state.db');
  const db = openDb(dbFile);
  const ins = db.prepare("INSERT INTO subscribers (email, name, topics, status, created_at, updated_at) VALUES (?, ?, '*', 'active', ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(`reader${i}@bench.example`, `Reader ${i}`, NOW, NOW);
  })();
  db.close();
  const sink = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'smtp-sink.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => sink.stdout.once('data', (d) => resolve(/port (\d+)/.exec(String(d))![1]!)));
  try {
    const run = await new Promise<Run>((resolve, reject) => {
      const start = performance.now();
      const child = spawn(process.execPath, [BIN, '--config', cfg, '--content', path.join(ROOT, 'content'), '--out', path.join(WORK, `send-${n}`, 'out'), 'send', '--all', '--since', '2026-11-01'], {
        cwd: ROOT,
        env: { ...process.env, SMTP_URL: `smtp://127.0.0.1:${port}`, GAZETTE_SECRET: 'bench', GAZETTE_REPORT_RSS: '1', GAZETTE_NOW: NOW },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`send failed: ${err}`));
        const rss = /maxrss-kb (\d+)/.exec(err)?.[1];
        resolve({ ms: performance.now() - start, rssMb: rss ? Number(rss) / 1024 : NaN, stdout: out });
      });
    });
    sink.stdin.write('\n');
    const counts = JSON.parse(await new Promise<string>((resolve) => sink.stdout.once('data', (d) => resolve(String(d))))) as { total: number; recipients: number; doubled: number; avgBytes: number };
    digestBytes = counts.avgBytes;
    const ok = counts.total === n && counts.recipients === n && counts.doubled === 0;
    row(`send to ${n.toLocaleString('en')} subscribers (loopback SMTP)`, s(run.ms), mb(run.rssMb), `${Math.round(n / (run.ms / 1000))} msg/s`, ok ? `all ${n} arrived once` : `MISMATCH ${JSON.stringify(counts)}`, '');
  } finally {
    sink.kill('SIGTERM');
  }
}

/**
 * The ceiling for any sender here: nodemailer's SMTP pool pushing one prebuilt raw message, as big as the
 * digests Gazette just sent, to n recipients, to the same sink process. Gazette's rate is compared with this.
 */
async function ceiling(n: number): Promise<void> {
  const nodemailer = (await import('nodemailer')).default;
  const sink = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'smtp-sink.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => sink.stdout.once('data', (d) => resolve(/port (\d+)/.exec(String(d))![1]!)));
  try {
    const sentence = 'A paragraph of digest text with a link to an article. ';
    const build = async (times: number) =>
      (await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@bench.example', to: 'b@bench.example', subject: 'digest', html: `<p>${sentence.repeat(times)}</p>`, text: 'text' })).message as Buffer;
    // As big as Gazette's digests: measure one, then scale the body to size.
    const probe = await build(100);
    const raw = await build(Math.max(1, Math.round((100 * digestBytes) / probe.length)));
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: Number(port), pool: true, maxConnections: 8, maxMessages: Infinity });
    const start = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => t.sendMail({ envelope: { from: 'a@bench.example', to: [`r${i}@bench.example`] }, raw })));
    const ms = performance.now() - start;
    t.close();
    row(`ceiling: nodemailer pool → the same sink, ${n.toLocaleString('en')} prebuilt ${Math.round(raw.length / 1024)} KB messages`, s(ms), '', `${Math.round(n / (ms / 1000))} msg/s`, 'no rendering, no database', '');
  } finally {
    sink.kill('SIGTERM');
  }
}

for (const n of sends) await sendBench(n);
if (sends.length > 0) await ceiling(Math.max(...sends));

const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || 'unknown';
const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() ? ' (with uncommitted changes)' : '';
const header = `\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — commit ${commit}${dirty}\n\n${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}\n\n` +
  '| measurement | Gazette | peak RSS | reference | reference RSS | ratio |\n|---|---|---|---|---|---|\n';
const phases = phaseNotes.length ? `\nGazette's phases (wall time each: start = Node + imports):\n\n${phaseNotes.map((l) => `- ${l}`).join('\n')}\n` : '';
for (const l of phaseNotes) console.log(l);
appendFileSync(path.join(ROOT, 'BENCHMARKS.md'), header + rows.map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n' + phases);
console.log('\nappended to BENCHMARKS.md');
