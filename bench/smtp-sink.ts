/**
 * A loopback SMTP server in its own process for the send benchmark: accepts everything, counts messages
 * per recipient and Message-ID, and reports the counts on SIGTERM / when asked on stdin.
 *
 *   node --import tsx bench/smtp-sink.ts   → prints "port <n>" once listening
 */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

const perRecipient = new Map<string, number>();
const messageIds = new Set<string>();
let total = 0;
let bytes = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  maxClients: 100,
  onData(stream, session, cb) {
    let head = '';
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
      if (head.length < 4096) head += c.toString('latin1');
    });
    stream.on('end', () => {
      total++;
      for (const r of session.envelope.rcptTo) perRecipient.set(r.address, (perRecipient.get(r.address) ?? 0) + 1);
      const id = /^Message-ID:\s*(\S+)/im.exec(head)?.[1];
      if (id) messageIds.add(id);
      cb();
    });
  },
});

server.listen(0, '127.0.0.1', () => {
  console.log(`port ${(server.server.address() as AddressInfo).port}`);
});

process.stdin.on('data', () => {
  let doubled = 0;
  for (const n of perRecipient.values()) if (n > 1) doubled++;
  console.log(JSON.stringify({ total, recipients: perRecipient.size, doubled, messageIds: messageIds.size, avgBytes: total ? Math.round(bytes / total) : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
