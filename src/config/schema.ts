/** gazette.config.yaml: one schema, the type derived from it. Documented in docs/config.md. */
import { z } from 'zod';
import proxyaddr from 'proxy-addr';
import { isTimeZone } from '../content/text.js';

const httpUrl = z
  .string()
  .url()
  .refine((s) => /^https?:\/\//i.test(s), 'must be an http(s) URL');

export const topicConfigSchema = z.strictObject({
  name: z.string().min(1),
  slug: z
    .string()
    .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lowercase letters, digits and single dashes only')
    .optional(),
  description: z.string().optional(),
  /** Name or slug of the parent topic: an article in the child also appears in the parent's feed. */
  parent: z.string().optional(),
});

export const scheduleSchema = z.strictObject({
  /** A name for logs and state, e.g. "daily". */
  name: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes only'),
  /** node-cron expression (5 or 6 fields). */
  cron: z.string().min(1),
  timezone: z.string().default('UTC').refine(isTimeZone, 'an IANA time zone such as Europe/London'),
  /** Topic slugs this schedule sends, or "all". */
  topics: z.union([z.literal('all'), z.array(z.string())]).default('all'),
  /** How readers choosing among several schedules see it ("Every morning"); default: the name, capitalized. */
  title: z.string().min(1).max(80).optional(),
});

/**
 * The schedules as readers choose among them: each name with its title, else the name capitalized
 * ("weekly-mondays" → "Weekly mondays").
 */
export const readerSchedules = (list: readonly { name: string; title?: string }[]): { name: string; title: string }[] =>
  list.map((s) => ({ name: s.name, title: s.title ?? `${s.name[0]!.toUpperCase()}${s.name.slice(1).replace(/-/g, ' ')}` }));

export const configSchema = z.strictObject({
  site: z
    .strictObject({
      title: z.string().min(1).default('Gazette'),
      description: z.string().default('The best new articles, per topic.'),
      /** Where the output folder is served. Unset: http://127.0.0.1:8080/, or where `serve`/`start` actually listen. */
      baseUrl: httpUrl.optional(),
      language: z.string().regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, 'a language tag such as en or en-US').default('en'),
      /** The time zone digests are dated in (a schedule's own zone for the digests it sends). */
      timezone: z.string().default('UTC').refine(isTimeZone, 'an IANA time zone such as Europe/London'),
      postalAddress: z.string().default('Gazette, 1 Example Street, Springfield'),
      /** Shown as the feeds' author and the digest's sender name. */
      author: z.string().default('Gazette'),
      /** An image file (the site's logo): copied into the output folder as icon.<ext>, named by the feeds and pages. */
      icon: z
        .string()
        .regex(/\.(?:png|jpe?g|gif|svg|ico|webp)$/i, 'an image file: .png, .jpg, .gif, .svg, .ico or .webp')
        .optional(),
    })
    .prefault({}),
  paths: z
    .strictObject({
      content: z.string().default('content'),
      output: z.string().default('output'),
      db: z.string().default('data/gazette.db'),
      templates: z.string().default('templates'),
      /** Parsed articles are kept here between builds; only changed files are parsed again. */
      cache: z.string().default('data/cache'),
    })
    .prefault({}),
  /** Topics with descriptions and parents. When empty, topics are discovered from the articles. */
  topics: z.array(topicConfigSchema).default([]),
  selection: z
    .strictObject({
      minQuality: z.number().min(0).default(50),
      /** Quality assumed for articles whose file has no `quality` ("exclude" leaves them out). */
      missingQuality: z.union([z.number().min(0), z.literal('exclude')]).default(50),
      itemsPerFeed: z.number().int().positive().default(50),
      /** Only articles newer than this many days go into feeds (0 = no limit). */
      maxAgeDays: z.number().min(0).default(0),
    })
    .prefault({}),
  digest: z
    .strictObject({
      /** First digest of a subscriber covers this many hours back. */
      windowHours: z.number().positive().default(24),
      /** Finished deliveries, and which articles they carried, are forgotten after this many days (0: never). */
      keepHistoryDays: z.number().min(0).default(180),
      maxArticles: z.number().int().positive().default(10),
      maxRelated: z.number().int().min(0).default(5),
      /** Gmail clips HTML above 102 KB; related lists are trimmed to stay under this. */
      maxHtmlBytes: z.number().int().positive().default(90_000),
      schedules: z
        .array(scheduleSchema)
        .refine((list) => new Set(list.map((s) => s.name)).size === list.length, 'two schedules have the same name (each keeps its own state and its own readers)')
        .default([{ name: 'daily', cron: '0 7 * * *', timezone: 'UTC', topics: 'all' }]),
    })
    .prefault({}),
  feeds: z
    .strictObject({
      /** Cron expression for rebuilding feeds while `gazette start` runs. */
      rebuildCron: z.string().default('*/15 * * * *'),
      /**
       * A WebSub hub (https://www.w3.org/TR/websub/): named in every feed, and told after each build which feeds
       * changed, so that readers subscribed through it get new articles at once rather than at their next poll.
       */
      hub: httpUrl.optional(),
    })
    .prefault({}),
  mail: z
    .strictObject({
      from: z.string().default('Gazette <digest@example.com>'),
      replyTo: z.string().optional(),
      /**
       * A mailbox someone reads, offered as a second way to unsubscribe (`List-Unsubscribe: <mailto:…>`). Unset:
       * only the one-click https link — Gazette cannot read mail, and a mailto nobody acts on (Apple Mail uses it)
       * would leave readers subscribed who asked to leave.
       */
      unsubscribeMailto: z.email().optional(),
      /** Outbox folder used when no SMTP_URL is set (default: <output folder>/outbox). */
      outbox: z.string().optional(),
      maxConnections: z.number().int().positive().default(5),
      /** Messages per second across the pool (0 = unlimited). */
      rateLimit: z.number().min(0).default(0),
      maxAttempts: z.number().int().positive().default(4),
      dkim: z
        .strictObject({
          domainName: z.string(),
          keySelector: z.string(),
          /** Path to a PEM private key; or set GAZETTE_DKIM_KEY. */
          privateKeyFile: z.string().optional(),
        })
        .optional(),
    })
    .prefault({}),
  server: z
    .strictObject({
      /**
       * Reverse proxies in front of `serve`/`start` whose X-Forwarded-For is believed: `false` (none: the header
       * is ignored, anyone could write it), a number of proxy hops, or addresses (`loopback`, `uniquelocal`,
       * `linklocal`, IPs, CIDR ranges). Decides the client address the sign-up rate limit counts.
       */
      trustProxy: z
        .union([z.literal(false), z.number().int().min(0), z.string(), z.array(z.string())])
        .default(false)
        .refine((v) => (typeof v === 'string' || Array.isArray(v) ? trustsAddresses(v) : true), 'not an address, CIDR range or one of loopback, linklocal, uniquelocal'),
    })
    .prefault({}),
});

/** Whether proxy-addr takes these as trusted proxies (it throws on anything else). */
function trustsAddresses(v: string | string[]): boolean {
  try {
    proxyaddr.compile(v);
    return true;
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof configSchema>;
export type TopicConfig = z.infer<typeof topicConfigSchema>;
export type ScheduleConfig = z.infer<typeof scheduleSchema>;

/** Secrets never live in the file. */
export interface Secrets {
  smtpUrl?: string;
  secret?: string;
  /** Secrets used before GAZETTE_SECRET (GAZETTE_SECRET_PREVIOUS): links they signed are still accepted. */
  previousSecrets: string[];
  adminToken?: string;
  dkimKey?: string;
}
