/**
 * An issue's two bodies (HTML and text) with each recipient's values as holes, so that a recipient's bodies
 * are the issue's fixed text with their own values put in: no Handlebars fill per recipient, and the
 * quoted-printable encoding of the fixed text done once per issue (only the values are encoded per message).
 *
 * Whether the templates use the recipient's values only as plain `{{recipient.x}}` text is not assumed but
 * checked, per issue: the bodies are rendered for a probe recipient whose values are markers and split at the
 * markers, then rendered for a second probe whose values need escaping, which must come out exactly as the
 * split bodies filled with those values. A template that does anything else with them (`{{#if}}` on a
 * value, a helper, `{{{ }}}`) fails the check, and its recipients get a Handlebars fill each, as before.
 * An empty name is its own case (`{{#if recipient.name}}` is what templates do with names); a value with a
 * line break or edge spaces (the text body's clean-up could treat it differently) is filled by Handlebars.
 * Pure.
 */
import { encode, wrap } from 'nodemailer/lib/qp';
import { hbs } from '../render/templates.js';
import { fillDigest, type Digest, type DigestTemplates, type Recipient } from '../render/digest.js';

type Field = keyof Recipient;
const FIELDS: Field[] = ['name', 'email', 'unsubscribeUrl', 'preferencesUrl'];

/** Marker values: letters, digits and `.@/:-` only, which Handlebars' escaping leaves as they are. */
const MARKERS: Recipient = {
  name: 'Gzprobe7name',
  email: 'gzprobe7mail@probe.invalid',
  unsubscribeUrl: 'https://probe.invalid/gzprobe7unsubscribe',
  preferencesUrl: 'https://probe.invalid/gzprobe7preferences',
};
/** Values that escaping changes, of other lengths than the markers. */
const CHECK: Recipient = {
  name: `Zoë O'Brien & <Co> "=" \``,
  email: 'zoe.o+check@probe.invalid',
  unsubscribeUrl: 'https://probe.invalid/unsubscribe?token=a.b_c&x=1',
  preferencesUrl: 'https://probe.invalid/preferences?token=d.e_f&y=2',
};

/** A body split at the recipient's values: `parts[i]`, value of `holes[i]`, `parts[i + 1]`, … */
interface Split {
  parts: string[];
  holes: Field[];
}

function split(body: string, markers: Partial<Recipient>): Split {
  const parts: string[] = [];
  const holes: Field[] = [];
  let pos = 0;
  for (;;) {
    let at = -1;
    let field: Field | undefined;
    for (const f of FIELDS) {
      const m = markers[f];
      if (!m) continue;
      const i = body.indexOf(m, pos);
      if (i >= 0 && (at < 0 || i < at)) (at = i), (field = f);
    }
    if (!field) break;
    parts.push(body.slice(pos, at));
    holes.push(field);
    pos = at + markers[field]!.length;
  }
  parts.push(body.slice(pos));
  return { parts, holes };
}

const fill = (s: Split, value: (f: Field) => string) => s.parts.reduce((out, p, i) => out + value(s.holes[i - 1]!) + p);

/** Text as it goes into a quoted-printable body: CRLF line breaks (text's canonical form in mail). */
const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
/**
 * Quoted-printable in lines of at most `max` characters, none of which starts with a dot: `=2E` instead (the
 * same text once decoded), so that SMTP has no dot to stuff and nodemailer's data stream passes the message on
 * as it is (src/deliver/data-stream.ts). Wrapped 2 shorter, which `=2E` may take back.
 */
const qp = (s: string, max: number) => wrap(encode(Buffer.from(crlf(s), 'utf8')), max - 2).replace(/^\./, '=2E').replace(/\r\n\./g, '\r\n=2E');
/** A piece followed by more: lines of at most 75, then a soft line break (so no line exceeds 76 with its `=`). */
const qpPiece = (s: string) => (s === '' ? '' : `${qp(s, 75)}=\r\n`);

/** A split body, quoted-printable: the fixed parts encoded once. */
interface Encoded {
  parts: string[];
  holes: Field[];
  /** Values go into this body HTML-escaped. */
  html: boolean;
}

function encodeSplit(s: Split, html: boolean): Encoded {
  return { parts: s.parts.map((p, i) => (i < s.holes.length ? qpPiece(p) : qp(p, 76))), holes: s.holes, html };
}

function fillEncoded(e: Encoded, r: Recipient): string {
  let out = e.parts[0]!;
  for (let i = 0; i < e.holes.length; i++) {
    const v = r[e.holes[i]!];
    out += qpPiece(e.html ? hbs.Utils.escapeExpression(v) : v) + e.parts[i + 1]!;
  }
  return out;
}

/** Both bodies of a recipient, quoted-printable (CRLF line breaks). */
export interface EncodedBodies {
  html: string;
  text: string;
}

/** Both bodies, filled by Handlebars and encoded whole: what every recipient got before, and the fallback. */
function encodeBodies(digest: Digest, recipient: Recipient, templates: DigestTemplates): EncodedBodies {
  const { html, text } = fillDigest(digest, recipient, templates);
  return { html: qp(html, 76), text: qp(text, 76) };
}

/** The issue's split bodies for one case (name or none), or null when the check fails. */
function plan(digest: Digest, templates: DigestTemplates, named: boolean): { html: Encoded; text: Encoded } | null {
  const markers = named ? MARKERS : { ...MARKERS, name: '' };
  const check = named ? CHECK : { ...CHECK, name: '' };
  const probe = fillDigest(digest, markers, templates);
  const html = split(probe.html, markers);
  const text = split(probe.text, markers);
  const want = fillDigest(digest, check, templates);
  if (fill(html, (f) => hbs.Utils.escapeExpression(check[f])) !== want.html || fill(text, (f) => check[f]) !== want.text) return null;
  return { html: encodeSplit(html, true), text: encodeSplit(text, false) };
}

/**
 * Per issue: a function from recipient to their two bodies, quoted-printable. The split for each case is
 * made (and checked) on first use.
 */
export function issueBodies(digest: Digest, templates: DigestTemplates): IssueBodies {
  const plans = new Map<boolean, ReturnType<typeof plan>>();
  const planFor = (named: boolean) => {
    if (!plans.has(named)) plans.set(named, plan(digest, templates, named));
    return plans.get(named)!;
  };
  const bodies = (r: Recipient): EncodedBodies => {
    const plain = FIELDS.every((f) => !/[\r\n]/.test(r[f]) && r[f] === r[f].trim()) && r.email !== '' && r.unsubscribeUrl !== '' && r.preferencesUrl !== '';
    const p = plain ? planFor(r.name !== '') : null;
    return p ? { html: fillEncoded(p.html, r), text: fillEncoded(p.text, r) } : encodeBodies(digest, r, templates);
  };
  return Object.assign(bodies, { split: (named: boolean) => planFor(named) !== null });
}

export interface IssueBodies {
  (r: Recipient): EncodedBodies;
  /** Whether recipients with (or without) a name get the split bodies (the templates passed the check). */
  split(named: boolean): boolean;
}
