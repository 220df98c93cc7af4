/** A config's mail settings, without loading the mail code (nodemailer) for it. Pure. */
import type { Config } from '../config/schema.js';
import type { MailSettings } from './message.js';
import { siteFrom } from '../render/feeds.js';

/** `mail.*`, and the site's title and base URL. */
export function mailSettings(config: Config): MailSettings {
  const site = siteFrom(config);
  return { from: config.mail.from, replyTo: config.mail.replyTo, unsubscribeMailto: config.mail.unsubscribeMailto, baseUrl: site.baseUrl, siteTitle: site.title };
}
