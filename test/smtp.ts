/** A real SMTP server (smtp-server) on 127.0.0.1 for tests, with scripted answers, and a proxy that can cut connections. */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import net from 'node:net';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './helpers.js';

export interface Received {
  to: string;
  raw: Buffer;
  mail: ParsedMail;
  messageId: string;
}

export interface TestSmtp {
  port: number;
  url: string;
  received: Received[];
  /** Answers to RCPT TO per address: each call takes the next; when empty, accept. */
  rcptScript: Map<string, number[]>;
  /** Delay before answering DATA, in ms. */
  dataDelayMs: number;
  /** The text of a scripted 5xx answer to RCPT TO (`<address>` is replaced); default an unknown mailbox's. */
  refusal?: string;
  onMessage?: (r: Received) => void;
  close(): Promise<void>;
}

/** `password`: the server requires a login (AUTH PLAIN/LOGIN over plain text, as on loopback) with this password. */
export async function startSmtp(opts: { password?: string } = {}): Promise<TestSmtp> {
  const state: TestSmtp = {
    port: 0, url: '', received: [], rcptScript: new Map(), dataDelayMs: 0,
    close: async () => {},
  };
  const server = new SMTPServer({
    authOptional: opts.password === undefined,
    disabledCommands: opts.password === undefined ? ['STARTTLS', 'AUTH'] : ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, cb) {
      if (auth.password === opts.password) return cb(null, { user: auth.username });
      const err = new Error('5.7.8 Authentication credentials invalid') as Error & { responseCode: number };
      err.responseCode = 535;
      cb(err);
    },
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session: SMTPServerSession, cb) {
      const script = state.rcptScript.get(address.address.toLowerCase());
      const code = script?.shift();
      if (code && code >= 400) {
        const err = new Error(code >= 500 ? (state.refusal ?? '5.1.1 No such user here').replace('<address>', `<${address.address}>`) : '4.7.1 Try again later') as Error & { responseCode: number };
        err.responseCode = code;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const mail = await simpleParser(raw);
        if (state.dataDelayMs) await new Promise((r) => setTimeout(r, state.dataDelayMs));
        const r: Received = { to: session.envelope.rcptTo.map((x) => x.address.toLowerCase()).join(','), raw, mail, messageId: mail.messageId ?? '' };
        state.received.push(r);
        state.onMessage?.(r);
        cb();
      });
    },
  });
  // A client killed mid-transaction (the SIGKILL test) resets its connection: smtp-server reports that as
  // an 'error' event, which is expected here and must not become an uncaught exception of the test file.
  server.on('error', (err: Error & { code?: string }) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.server.address() as net.AddressInfo).port;
  state.url = `smtp://127.0.0.1:${state.port}`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

/** A TCP proxy in front of a server that cuts the connection when a client sends its Nth DATA (counted across connections). */
export async function startCuttingProxy(targetPort: number, cutAtData: Set<number>): Promise<{ url: string; close(): Promise<void>; cuts: number }> {
  let dataSeen = 0;
  const result = { url: '', cuts: 0, close: async () => {} };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (/^DATA\r?$/im.test(chunk.toString('latin1'))) {
        dataSeen++;
        if (cutAtData.has(dataSeen)) {
          result.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (c) => client.write(c));
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  result.url = `smtp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  result.close = () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); });
  return result;
}

/** Runs the CLI asynchronously (the SMTP server in this process must keep answering). */
export function runCliAsync(args: string[], opts: { cwd: string; env?: Record<string, string> }) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'gazette.cjs'), ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}
