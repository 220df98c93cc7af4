/**
 * A fast path for nodemailer's SMTP data stream. Every byte of every message goes through its `_transform`,
 * a JavaScript loop that looks at each byte to stuff dots at line starts and turn bare CR or LF into CRLF:
 * ~0.43 ms of the ~2.5 ms of CPU a digest cost to send (BENCHMARKS.md). Gazette's messages already have CRLF
 * line ends and no line that starts with a dot in nearly every chunk; such a chunk is found clean with a few
 * native `indexOf` calls and passed on as it is — exactly what the loop would have done. Any other chunk
 * (a dot or a bare line break anywhere, a string) goes through nodemailer's own code. The output is the same
 * byte for byte (test/send.test.ts runs both on chunked input full of such cases).
 */
import DataStream from 'nodemailer/lib/smtp-connection/data-stream';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

type Transform = (chunk: Buffer | string, encoding: BufferEncoding, done: () => void) => void;
interface DataStreamState {
  lastByte: number | false;
  inByteCount: number;
  outByteCount: number;
  push(chunk: Buffer): boolean;
}

/** Whether nodemailer's loop would leave `buf` as it is, after a chunk that ended with `last` (false: none). */
export function needsNoChange(buf: Buffer, last: number | false): boolean {
  const first = buf[0]!;
  if (last === CR ? first !== LF : first === LF || (first === DOT && (last === LF || last === false))) return false;
  for (let i = buf.indexOf(LF); i >= 0; i = buf.indexOf(LF, i + 1)) {
    if ((i > 0 && buf[i - 1] !== CR) || buf[i + 1] === DOT) return false; // (the first byte's before is `last`, above)
  }
  for (let i = buf.indexOf(CR); i >= 0 && i + 1 < buf.length; i = buf.indexOf(CR, i + 1)) {
    if (buf[i + 1] !== LF) return false;
  }
  return true;
}

const proto = DataStream.prototype as unknown as { _transform: Transform; gazetteFastPath?: true };
/** nodemailer's own `_transform`. */
export const nodemailerTransform: Transform = proto._transform;

if (!proto.gazetteFastPath) {
  proto.gazetteFastPath = true;
  proto._transform = function (this: DataStreamState, chunk, encoding, done) {
    if (typeof chunk === 'string' || chunk.length === 0 || !needsNoChange(chunk, this.lastByte)) {
      return nodemailerTransform.call(this, chunk, encoding, done);
    }
    this.inByteCount += chunk.length;
    this.outByteCount += chunk.length;
    this.push(chunk);
    this.lastByte = chunk[chunk.length - 1]!;
    done();
  };
}
