/**
 * `npm run bench`: Gazette beside the obvious implementation (bench/reference.mjs), in one run, on one
 * machine; prints a table and appends it to BENCHMARKS.md.
 *
 *   cold build at 1k, 20k and 100k articles × 30 topics (wall time, peak RSS), and the reference;
 *   warm rebuild with nothing changed, and with one article changed (20k);
 *   `gazette send` to 1k and 10k subscribers against a loopback SMTP server in its own process
 *   (messages per second, peak RSS, every message arrived exactly once).
 *
 * BENCH_SIZES=1000,20000 and BENCH_SENDS=1000 shorten it; the 20k rows are medians of BENCH_REPEAT (3) runs.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from './generate.js';
import { openDb } from '../src/store/db.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'gazette.cjs');
const WORK = path.join(tmpdir(), 'gazette-bench');
const list = (v: string) => v.split(',').filter(Boolean).map(Number);
const sizes = list(process.env.BENCH_SIZES ?? '1000,20000,100000');
const sends = list(process.env.BENCH_SENDS ?? '1000,10000');
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const NOW = '2026-11-22T12:00:00Z';

/**
 * Every process the bench starts (Gazette, the reference, the sink) runs without NODE_EXTRA_CA_CERTS: some
 * machines set it for their own TLS proxies, and Node 20 then reads and parses that certificate file at every
 * start (~85 ms here) — for TLS that no run here uses. What it costs is measured and printed with the results.
 */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_EXTRA_CA_CERTS;

/** The median time of `node -e 0`, with `env`'s additions. */
function nodeStartMs(env: Record<string, string> = {}): number {
  const times = Array.from({ length: 7 }, () => {
    const start = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { env: { ...process.env, ...env } });
    return performance.now() - start;
  });
  return [...times].sort((a, b) => a - b)[3]!;
}

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

/** Reads every file once, so the runs that follow read from the page cache, not the disk. */
function warmFiles(dir: string): void {
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) if (e.isFile()) readFileSync(path.join(e.parentPath, e.name));
}

/** The middle item by `key` (the upper middle of an even count). */
const middle = <T>(xs: readonly T[], key: (x: T) => number) => [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;
const median = (xs: number[]) => middle(xs, (x) => x);
/** The run whose time is the median (its phases and RSS are reported). */
const medianRun = (runs: Run[]) => middle(runs, (r) => r.ms);
/** "0.63× (0.60–0.65)": the median and, over several runs, the range. */
const spread = (xs: number[], unit = '') => `${median(xs).toFixed(2)}${unit}${xs.length > 1 ? ` (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})` : ''}`;
const ratio = (xs: number[]) => spread(xs, '×');

// The first run of a command after `npm run compile` compiles the bundle and leaves V8's code cache for every
// later run (bin/run-bundle.cjs): done here once, unmeasured, on the sample content, so that no measured build
// — the first one is the 1k cold build — pays what an installation pays once.
{
  const cfg = config('code-cache');
  timed([BIN, '--config', cfg, '--content', path.join(ROOT, 'content'), '--out', path.join(WORK, 'code-cache', 'out'), 'build']);
}

for (const n of sizes) {
  const content = corpus(n);
  const N = n.toLocaleString('en');
  // 20k is the size the targets are about: its rows are medians of REPEAT runs, each Gazette run right after a reference run.
  const repeat = n === 20000 ? REPEAT : 1;
  const of = repeat > 1 ? ` (median of ${repeat})` : '';
  const refOut = path.join(WORK, `ref-${n}`);
  warmFiles(content);
  const refs: Run[] = [];
  const colds: Run[] = [];
  let cfg = '';
  let out = '';
  for (let i = 0; i < repeat; i++) {
    refs.push(timedReference(content, refOut));
    cfg = config(`build-${n}`); // a new cache and output folder: a cold build
    out = path.join(WORK, `build-${n}`, 'out');
    colds.push(timed([BIN, '--config', cfg, '--content', content, '--out', out, 'build']));
  }
  const ref = medianRun(refs);
  const cold = medianRun(colds);
  row(`cold build, ${N} articles × 30 topics${of}`, s(cold.ms), mb(cold.rssMb), s(ref.ms), mb(ref.rssMb), ratio(colds.map((c, i) => c.ms / refs[i]!.ms)));
  if (cold.phases) phaseNotes.push(`cold ${N}: ${cold.phases.slice(8)}`);
  if (n !== 20000) continue;

  const warms = Array.from({ length: repeat }, () => timed([BIN, '--config', cfg, '--content', content, '--out', out, 'build']));
  const warm = medianRun(warms);
  row(`warm rebuild, nothing changed (${N})${of}`, s(warm.ms), mb(warm.rssMb), s(ref.ms), mb(ref.rssMb), ratio(warms.map((w) => w.ms / ref.ms)));
  if (warm.phases) phaseNotes.push(`warm ${N}, nothing changed: ${warm.phases.slice(8)}`);

  // Change one article that is in a feed (the newest published one), then rebuild; a new change each time.
  const all = JSON.parse(readFileSync(path.join(out, 'all', 'feed.json'), 'utf8')).items as { id: string }[];
  const target = findFileFor(content, all[0]!.id);
  const original = readFileSync(target, 'utf8');
  const ones: Run[] = [];
  let missing = false;
  try {
    for (let i = 1; i <= repeat; i++) {
      writeFileSync(target, original.replace(/^title: "(.*)"$/m, `title: "$1 (updated ${i})"`));
      ones.push(timed([BIN, '--config', cfg, '--content', content, '--out', out, 'build']));
      missing ||= !readFileSync(path.join(out, 'all', 'feed.json'), 'utf8').includes(`(updated ${i})`);
    }
  } finally {
    writeFileSync(target, original);
  }
  const one = medianRun(ones);
  row(`warm rebuild, one article changed (${N})${of}${missing ? ' — CHANGE MISSING' : ''}`, s(one.ms), mb(one.rssMb), s(ref.ms), mb(ref.rssMb), ratio(ones.map((o) => o.ms / ref.ms)));
  if (one.phases) phaseNotes.push(`warm ${N}, one changed: ${one.phases.slice(8)}`);
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

/** Gazette's check of the SMTP data stream, taken from nodemailer's prototype once it is in place. */
let fastTransform: unknown;

/** The average size of the digests Gazette sent (as the sink received them): the ceiling sends messages this big. */
let digestBytes = 17_000;

interface SendResult {
  run: Run;
  /** Every message arrived, once: or what the sink counted instead. */
  check: string;
}

async function sendBench(n: number): Promise<SendResult> {
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
    return { run, check: ok ? `all ${n} arrived once` : `MISMATCH ${JSON.stringify(counts)}` };
  } finally {
    sink.kill('SIGTERM');
  }
}

/**
 * The ceiling for any sender here: nodemailer's SMTP pool pushing one prebuilt raw message, as big as the
 * digests Gazette just sent, to n recipients, to the same sink process. Gazette's rate is compared with this.
 * `fastPath`: with Gazette's check of the SMTP data stream (src/deliver/data-stream.ts) in place of nodemailer's
 * byte loop, as Gazette sends — what nodemailer and the sink carry here at best, with nothing else to do.
 */
async function ceiling(n: number, fastPath = false): Promise<{ ms: number; kb: number }> {
  const nodemailer = (await import('nodemailer')).default;
  const dataStream = (await import('nodemailer/lib/smtp-connection/data-stream')).default.prototype as { _transform: unknown };
  const { nodemailerTransform } = await import('../src/deliver/data-stream.js'); // (importing it puts the fast path in)
  fastTransform ??= dataStream._transform;
  dataStream._transform = fastPath ? fastTransform : nodemailerTransform;
  const sink = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'smtp-sink.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => sink.stdout.once('data', (d) => resolve(/port (\d+)/.exec(String(d))![1]!)));
  try {
    const sentence = 'A paragraph of digest text with a link to an article. ';
    const build = async (times: number) =>
      (await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@bench.example', to: 'b@bench.example', subject: 'digest', html: `<p>${sentence.repeat(times)}</p>`, text: 'text' })).message as Buffer;
    // As big as Gazette's digests: measure one, then scale the body to size.
    const probe = await build(100);
    let times = Math.max(1, Math.round((100 * digestBytes) / probe.length));
    let raw = await build(times);
    // The headers do not grow with the body: one more step makes the size match within a few hundred bytes.
    times = Math.max(1, Math.round(times + ((digestBytes - raw.length) * 100) / (probe.length - (await build(0)).length)));
    raw = await build(times);
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: Number(port), pool: true, maxConnections: 8, maxMessages: Infinity });
    const start = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => t.sendMail({ envelope: { from: 'a@bench.example', to: [`r${i}@bench.example`] }, raw })));
    const ms = performance.now() - start;
    t.close();
    return { ms, kb: Math.round(raw.length / 1024) };
  } finally {
    sink.kill('SIGTERM');
  }
}

// The largest send is measured REPEAT times, each right before the ceiling: its rate is also a share of the ceiling's.
const biggest = Math.max(...sends);
for (const n of sends) {
  const N = n.toLocaleString('en');
  const rate = (ms: number) => n / (ms / 1000);
  const repeat = n === biggest ? REPEAT : 1;
  const of = repeat > 1 ? ` (median of ${repeat})` : '';
  const results: SendResult[] = [];
  const ceilings: { ms: number; kb: number }[] = [];
  const fastCeilings: { ms: number; kb: number }[] = [];
  for (let i = 0; i < repeat; i++) {
    results.push(await sendBench(n));
    if (n === biggest) {
      ceilings.push(await ceiling(n));
      fastCeilings.push(await ceiling(n, true));
    }
  }
  const mid = middle(results, (r) => r.run.ms);
  const bad = results.find((r) => !r.check.startsWith('all '));
  const share = ceilings.length ? `${spread(results.map((r, i) => rate(r.run.ms) / rate(ceilings[i]!.ms)))} of the ceiling` : '';
  row(`send to ${N} subscribers (loopback SMTP)${of}`, s(mid.run.ms), mb(mid.run.rssMb), `${Math.round(rate(mid.run.ms))} msg/s`, (bad ?? mid).check, share);
  if (ceilings.length) {
    const c = ceilings.map((x) => x.ms);
    row(`ceiling: nodemailer pool → the same sink, ${N} prebuilt ${ceilings[0]!.kb} KB messages${of}`, s(median(c)), '', `${Math.round(rate(median(c)))} msg/s`, 'no rendering, no database', '');
    const f = fastCeilings.map((x) => x.ms);
    row(`ceiling with Gazette's data-stream check instead of nodemailer's byte loop${of}`, s(median(f)), '', `${Math.round(rate(median(f)))} msg/s`, 'no rendering, no database', `Gazette: ${spread(results.map((r, i) => rate(r.run.ms) / rate(fastCeilings[i]!.ms)))} of it`);
  }
}

const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || 'unknown';
// BENCHMARKS.md itself does not count: an earlier run of the same code appended to it.
const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!BENCHMARKS.md'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() ? ' (with uncommitted changes)' : '';
const bare = nodeStartMs();
const extra = EXTRA_CA ? ` (this machine sets it: \`node -e 0\` takes ${Math.round(nodeStartMs({ NODE_EXTRA_CA_CERTS: EXTRA_CA }))} ms with it)` : '';
const machine = `${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}; \`node -e 0\` takes ${Math.round(bare)} ms; every run without NODE_EXTRA_CA_CERTS${extra}`;
console.log(machine);
const header = `\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — commit ${commit}${dirty}\n\n${machine}\n\n` +
  '| measurement | Gazette | peak RSS | reference | reference RSS | ratio |\n|---|---|---|---|---|---|\n';
const phases = phaseNotes.length ? `\nGazette's phases (wall time each: start = Node + imports):\n\n${phaseNotes.map((l) => `- ${l}`).join('\n')}\n` : '';
for (const l of phaseNotes) console.log(l);
appendFileSync(path.join(ROOT, 'BENCHMARKS.md'), header + rows.map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n' + phases);
console.log('\nappended to BENCHMARKS.md');
