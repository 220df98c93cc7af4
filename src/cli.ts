/** argv → command. The only place that sets process.exitCode. */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describeError, GazetteError, UsageError } from './errors.js';
import { packageRoot } from './code-version.js';
import { phaseReport } from './timing.js';
import type { GlobalOptions } from './commands/context.js';
import type { SendOptions } from './commands/send.js';

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

// Command modules are loaded when their command runs: `gazette build` never loads SMTP, SQLite or MJML.
const ctx = async (cmd: Command) => (await import('./commands/context.js')).resolveContext(globals(cmd));
const commands = {
  check: () => import('./commands/check.js'),
  build: () => import('./commands/build.js'),
  digest: () => import('./commands/digest.js'),
  send: () => import('./commands/send.js'),
  start: () => import('./commands/start.js'),
  subscribers: () => import('./commands/subscribers.js'),
  status: () => import('./commands/status.js'),
  backup: () => import('./commands/backup.js'),
};

export function makeProgram(): Command {
  const { version } = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const program = new Command('gazette')
    .description('Turns a folder of news articles into per-topic feeds and email digests, and delivers them.')
    .version(version, '-V, --version', 'print the version')
    .option('--config <path>', 'config file (default: ./gazette.config.yaml when present, else built-in defaults)')
    .option('--content <dir>', 'folder of article files (default: ./content)')
    .option('--out <dir>', 'output folder (default: ./output)')
    .option('--db <path>', 'state database (default: $GAZETTE_DB, else ./data/gazette.db)')
    .option('--verbose', 'show stack traces on failure')
    .showHelpAfterError('(run with --help for usage)')
    .allowExcessArguments(false);

  program
    .command('check')
    .description('load and validate the config and every article, print the report; writes nothing but the cache (paths.cache)')
    .option('--strict', 'fail (exit 1) when any article file is skipped')
    .action(async (opts: { strict?: boolean }, cmd: Command) => {
      await (await commands.check()).checkCommand(await ctx(cmd), opts);
    });

  program
    .command('build')
    .description('write the feeds, OPML, subscribe page and digest previews to the output folder')
    .option('--strict', 'parse every article in full (as check does) and fail (exit 1) when any file is skipped')
    .action(async (opts: { strict?: boolean }, cmd: Command) => {
      await (await commands.build()).buildCommand(await ctx(cmd), opts);
    });

  const digest = program.command('digest').description('email digests');
  digest
    .command('preview')
    .description('write a topic\'s digest as .html, .txt and .eml (for a sample recipient) under <out>/digests/<topic>/')
    .requiredOption('--topic <slug>', 'topic slug, e.g. computer-vision')
    .option('--since <date>', 'include articles after this date (default: the digest window, 24 hours)')
    .option('--to <emails>', 'also send it to these addresses (commas between them), as a subscriber would get it; nothing is recorded')
    .action(async (opts: { topic: string; since?: string; to?: string }, cmd: Command) => {
      await (await commands.digest()).digestPreviewCommand(await ctx(cmd), opts);
    });

  program
    .command('send')
    .description('send digests to active subscribers, exactly once each (SMTP when SMTP_URL is set, else the outbox folder)')
    .option('--topic <slug>', 'send this topic\'s digest')
    .option('--all', 'send every topic each subscriber follows, one digest per subscriber')
    .option('--since <date>', 'include articles after this date (default: since each subscriber\'s last digest; 24 hours for a first one)')
    .option('--schedule <name>', 'send as this schedule (digest.schedules) would: only to those who chose it or no schedule (default: every active subscriber)')
    .option('--dry-run', 'plan and report — each digest it would send, to how many — send nothing, record nothing')
    .action(async (opts: SendOptions, cmd: Command) => {
      await (await commands.send()).sendCommand(await ctx(cmd), opts);
    });

  program
    .command('serve')
    .description('serve the output folder, sign-up, unsubscribe and the manual-send API over HTTP (no schedules; SIGHUP: read the config file again)')
    .option('--port <port>', 'port (default: $PORT, else 8080)')
    .option('--host <host>', 'address to listen on (default: $HOST, else 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }, cmd: Command) => {
      await (await commands.start()).runUntilSignal(await ctx(cmd), { ...opts, schedule: false });
    });

  program
    .command('start')
    .description('the main job: build, then serve over HTTP and run the feed and digest schedules until stopped (SIGHUP: read the config file again)')
    .option('--port <port>', 'port (default: $PORT, else 8080)')
    .option('--host <host>', 'address to listen on (default: $HOST, else 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }, cmd: Command) => {
      await (await commands.start()).runUntilSignal(await ctx(cmd), { ...opts, schedule: true });
    });

  program
    .command('status')
    .description('what the state database says: subscribers, sign-ups awaiting confirmation, deliveries sent and owed, schedules (last and next run); and feeds the WebSub hub was not yet told of')
    .option('--json', 'print it as one JSON document (for monitoring: owed deliveries, when the last digest was accepted)')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      (await commands.status()).statusCommand(await ctx(cmd), opts);
    });

  program
    .command('backup <file>')
    .description('write a consistent copy of the state database (subscribers, send log) to a new file, safe while gazette start runs; checked before it reports')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      (await commands.backup()).backupCommand(await ctx(cmd), file);
    });

  const subs = program.command('subscribers').description('manage subscribers');
  subs
    .command('add <email>')
    .description('add (or update) an active subscriber; someone who unsubscribed only with --resubscribe')
    .option('--topics <slugs>', 'comma-separated topic slugs (default: every topic)')
    .option('--name <name>', 'display name')
    .option('--resubscribe', 'subscribe again an address that unsubscribed (when they asked you to)')
    .option('--schedule <name>', 'the one digest schedule (digest.schedules) they get, e.g. weekly; * for every one (default: as before, else every one)')
    .action(async (email: string, opts: { topics?: string; name?: string; resubscribe?: boolean; schedule?: string }, cmd: Command) => {
      (await commands.subscribers()).addSubscriber(await ctx(cmd), email, opts);
    });
  subs
    .command('unsubscribe <email>')
    .description('mark a subscriber unsubscribed, as their one-click link would (for requests that reach you by mail)')
    .action(async (email: string, _opts: unknown, cmd: Command) => {
      (await commands.subscribers()).unsubscribeCommand(await ctx(cmd), email);
    });
  subs
    .command('remove <email>')
    .description('delete a subscriber and their send history (an import or add can then subscribe them again: to honour an unsubscribe, use unsubscribe)')
    .action(async (email: string, _opts: unknown, cmd: Command) => {
      (await commands.subscribers()).removeSubscriberCommand(await ctx(cmd), email);
    });
  subs
    .command('show <email>')
    .description('one subscriber: status, when their record changed, topics, the last digest, the latest deliveries and their errors')
    .action(async (email: string, _opts: unknown, cmd: Command) => {
      (await commands.subscribers()).showCommand(await ctx(cmd), email);
    });
  subs
    .command('list')
    .description('list subscribers')
    .option('--status <status>', 'only pending, active, unsubscribed or bounced')
    .action(async (opts: { status?: string }, cmd: Command) => {
      (await commands.subscribers()).listCommand(await ctx(cmd), opts);
    });
  subs
    .command('import <file>')
    .description('import a CSV file (header row; columns email, name, topics, status, schedule — also as other services name them: "Email Address", "First Name", "Last Name"; separated by commas, semicolons or tabs); bad rows are reported by line; addresses that unsubscribed or bounced keep that status')
    .option('--status <status>', 'the status of rows without one (default active): import a list of those who unsubscribed elsewhere with --status unsubscribed')
    .action(async (file: string, opts: { status?: string }, cmd: Command) => {
      await (await commands.subscribers()).importCommand(await ctx(cmd), file, opts);
    });
  subs
    .command('export')
    .description('write every subscriber as CSV to standard output (cells a spreadsheet would run as formulas start with an apostrophe; import reads them back)')
    .action(async (_opts: unknown, cmd: Command) => {
      (await commands.subscribers()).exportCommand(await ctx(cmd));
    });

  for (const c of [program, digest, subs, ...subs.commands, ...program.commands]) c.exitOverride().configureOutput({ outputError: (s, write) => write(s) });
  return program;
}

/**
 * Commands that have finished everything they started once their action returns. The process ends right after
 * them instead of when the event loop drains: V8 runs a garbage collection as an idle task first, ~20 ms of a
 * warm `build`'s ~400 (BENCHMARKS.md).
 */
const ENDS_WITH_ACTION = new Set(['build', 'check']);
let endsWithAction = false;

export async function main(argv: string[]): Promise<number> {
  const program = makeProgram();
  program.hook('postAction', (_program, action) => {
    endsWithAction = ENDS_WITH_ACTION.has(action.name()) && action.parent === program;
  });
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    console.error(`gazette: ${describeError(err)}`);
    if (verbose && err instanceof Error) console.error(err.stack);
    else if (!(err instanceof GazetteError)) console.error('(run with --verbose for the stack trace)');
    return err instanceof UsageError ? 2 : 1;
  }
}

/** Run as the command (not imported, as tests do): process-wide handlers, then the command. */
if (process.argv[1] && /gazette(\.c?js)?$|cli\.ts$/.test(process.argv[1])) {
  // `gazette check | head` closes the pipe early: that is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }

  process.on('unhandledRejection', (err) => {
    console.error(`gazette: unhandled: ${describeError(err)}`);
    process.exitCode = 1;
  });

  // No top-level await: the bundle is CommonJS (so that V8 can cache its compiled code, see bin/run-bundle.cjs).
  void main(process.argv).then((code) => {
    process.exitCode = code;
    // For the benchmarks: peak memory of this process.
    if (process.env.GAZETTE_REPORT_RSS) console.error(`maxrss-kb ${process.resourceUsage().maxRSS}\n${phaseReport()}`);
    // (stdout and stderr are written synchronously to files and pipes on Linux: nothing is lost.)
    if (endsWithAction && process.platform === 'linux') process.exit(code);
  });
}
