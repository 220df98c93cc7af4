/** Mail transports: an outbox folder of .eml files by default, SMTP when SMTP_URL is set. */
import nodemailer, { type SendMailOptions } from 'nodemailer';

/** Builds the complete RFC 5322 message (CRLF line ends), exactly as a transport would send it. */
export async function composeEml(mail: SendMailOptions): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await t.sendMail(mail);
  return info.message as Buffer;
}
