/**
 * The front matter of the plain shape real articles have, read without the YAML library: block mappings and
 * block sequences by indentation, one-line scalars (plain, double- or single-quoted). Anything else — a
 * comment, a tab, a flow collection, an anchor or alias, a tag, a block or multi-line scalar, a quoted or
 * unusual key, a compact sequence, a character js-yaml would refuse — answers `undefined`, and the text goes
 * to js-yaml as before. Whatever it answers is what js-yaml (core schema, duplicate keys allowed) gives for the
 * same text: test/plain-yaml.test.ts compares the two on every real article and on generated documents.
 * Plain scalars are resolved by js-yaml's own core-schema types (null, bool, int, float), in js-yaml's order.
 *
 * Why: js-yaml and gray-matter were ~60% of the full parse of an article, which a cold 20k build does for
 * every article a feed shows (~820): 6 + 6 alternating cold 20k builds, select phase median 429 → 338 ms. Pure.
 */
import yaml from 'js-yaml';

interface ImplicitType {
  resolve(data: string): boolean;
  construct(data: string): unknown;
}
/** The core schema's implicit types, as js-yaml's loader tries them on a plain scalar. */
const IMPLICIT = (yaml.CORE_SCHEMA as unknown as { compiledImplicit: readonly ImplicitType[] }).compiledImplicit;

/**
 * Characters js-yaml refuses or reads its own way (its non-printable set, its line breaks, a byte-order mark)
 * and ones this reader leaves to it (tabs, CR). Lone surrogates are found by `isWellFormed`.
 */
const LEAVE = /[\t\r\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]/;

/** The plain scalars starting with a letter that the core schema reads as something other than text. */
const WORDS = new Map<string, null | boolean>([
  ['null', null], ['Null', null], ['NULL', null],
  ['true', true], ['True', true], ['TRUE', true], ['false', false], ['False', false], ['FALSE', false],
]);

/** js-yaml's one-character escapes in double-quoted scalars. */
const ESCAPES = new Map(Object.entries({
  '0': '\x00', a: '\x07', b: '\x08', t: '\x09', n: '\x0A', v: '\x0B', f: '\x0C', r: '\x0D', e: '\x1B', ' ': ' ',
  '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xA0', L: '\u2028', P: '\u2029',
}));

/** No lone surrogate. (`String#isWellFormed` is in Node 20; TypeScript declares it from ES2024 on.) */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

const MAX_DEPTH = 50;

/** Thrown (one object, never seen outside) when the text leaves the plain shape. */
const LEAVE_IT = new Error('not plain');

const SPACE = 32;
const LF = 10;
const DASH = 45;
const COLON = 58;

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isKeyStart(c: number): boolean {
  return isLetter(c) || c === 95;
}
function isKeyChar(c: number): boolean {
  return isKeyStart(c) || (c >= 48 && c <= 57);
}

class Reader {
  /** Start of the next line to read. */
  pos = 0;
  depth = 0;
  constructor(private readonly t: string) {}

  /** Skips blank lines; the indent of the next line, or -1 at the end. */
  peek(): number {
    const t = this.t;
    for (;;) {
      let p = this.pos;
      while (t.charCodeAt(p) === SPACE) p++;
      if (p >= t.length) {
        this.pos = t.length;
        return -1;
      }
      const c = t.charCodeAt(p);
      if (c === LF) {
        this.pos = p + 1;
        continue;
      }
      if (c === 35 /* # */) throw LEAVE_IT;
      return p - this.pos;
    }
  }

  eol(p: number): number {
    const e = this.t.indexOf('\n', p);
    return e < 0 ? this.t.length : e;
  }

  /** Where the key starting at `p` ends (its colon), or -1 when the line does not start with `key:` + blank. */
  keyEnd(p: number): number {
    const t = this.t;
    if (!isKeyStart(t.charCodeAt(p))) return -1;
    let j = p + 1;
    while (isKeyChar(t.charCodeAt(j))) j++;
    if (t.charCodeAt(j) !== COLON) return -1;
    const after = t.charCodeAt(j + 1);
    return after === SPACE || after === LF || j + 1 >= t.length ? j : -1;
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) throw LEAVE_IT;
  }

  /** A block mapping whose keys are at `indent`; `first`: its first key's position on the current line. */
  mapping(indent: number, first = -1): Record<string, unknown> {
    this.enter();
    const out: Record<string, unknown> = {};
    for (let k = first; ; k = -1) {
      if (k < 0) {
        const ind = this.peek();
        if (ind < indent) break;
        if (ind > indent) throw LEAVE_IT;
        k = this.pos + ind;
      }
      const colon = this.keyEnd(k);
      if (colon < 0) throw LEAVE_IT;
      const key = this.t.slice(k, colon);
      // A key the core schema reads as null or a boolean (named by its text in js-yaml's result), and the one
      // js-yaml defines as an own property: left to it.
      if (WORDS.has(key) || key === '__proto__') throw LEAVE_IT;
      out[key] = this.value(colon + 1, indent);
    }
    this.depth--;
    return out;
  }

  /** A block sequence whose dashes are at `indent`. */
  sequence(indent: number): unknown[] {
    this.enter();
    const t = this.t;
    const out: unknown[] = [];
    for (;;) {
      const ind = this.peek();
      if (ind < indent) break;
      if (ind > indent) throw LEAVE_IT;
      const dash = this.pos + ind;
      const p = dash + 2;
      // "- " and then something: not "-" alone, not "-x", not "-  x", not "- - x".
      if (t.charCodeAt(dash) !== DASH || t.charCodeAt(dash + 1) !== SPACE || p >= t.length) throw LEAVE_IT;
      const c = t.charCodeAt(p);
      if (c === SPACE || c === LF) throw LEAVE_IT;
      if (this.keyEnd(p) >= 0) out.push(this.mapping(indent + 2, p));
      else out.push(this.inline(p));
    }
    this.depth--;
    return out;
  }

  /** A mapping value: what follows the key's colon at `p`, for a key at `indent`. */
  value(p: number, indent: number): unknown {
    const t = this.t;
    while (t.charCodeAt(p) === SPACE) p++;
    if (p < t.length && t.charCodeAt(p) !== LF) return this.inline(p);
    // Nothing on the line: a nested block, or null.
    this.pos = p + 1;
    const ind = this.peek();
    if (ind < indent || (ind === indent && t.charCodeAt(this.pos + ind) !== DASH)) return null;
    if (ind === indent) throw LEAVE_IT; // a sequence at its key's indent
    const q = this.pos + ind;
    const next = t.charCodeAt(q + 1);
    if (t.charCodeAt(q) === DASH && (next === SPACE || next === LF || q + 1 >= t.length)) return this.sequence(ind);
    return this.mapping(ind);
  }

  /**
   * A scalar starting at `p` and ending its line. (A next line that would continue it is deeper than the block
   * it is in, which the block refuses.)
   */
  inline(p: number): unknown {
    const t = this.t;
    const end = this.eol(p);
    const c = t[p]!;
    let v: unknown;
    if (c === '"') v = this.doubleQuoted(p + 1, end);
    else if (c === "'") v = this.singleQuoted(p + 1, end);
    else v = this.plain(p, end);
    this.pos = end + 1;
    return v;
  }

  /** The text after a closing quote at `q` must be blanks only. */
  closed(q: number, end: number): void {
    for (let i = q + 1; i < end; i++) if (this.t.charCodeAt(i) !== SPACE) throw LEAVE_IT;
  }

  doubleQuoted(p: number, end: number): string {
    const t = this.t;
    const close = t.indexOf('"', p);
    const slash = t.indexOf('\\', p);
    if (close >= 0 && close < end && (slash < 0 || slash > close)) {
      this.closed(close, end);
      return t.slice(p, close);
    }
    let out = '';
    let from = p;
    for (let i = p; i < end; i++) {
      const c = t.charCodeAt(i);
      if (c === 34 /* " */) {
        this.closed(i, end);
        return out + t.slice(from, i);
      }
      if (c !== 92 /* \ */) continue;
      out += t.slice(from, i);
      if (++i >= end) throw LEAVE_IT; // an escaped line break folds lines: js-yaml's
      const e = t[i]!;
      if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = t.slice(i + 1, i + 1 + n);
        if (hex.length !== n || !/^[0-9A-Fa-f]+$/.test(hex)) throw LEAVE_IT;
        out += String.fromCharCode(parseInt(hex, 16));
        i += n;
      } else {
        const s = ESCAPES.get(e);
        if (s === undefined) throw LEAVE_IT; // \U and unknown escapes: js-yaml's
        out += s;
      }
      from = i + 1;
    }
    throw LEAVE_IT; // not closed on its line
  }

  singleQuoted(p: number, end: number): string {
    const t = this.t;
    let out = '';
    let from = p;
    for (let i = t.indexOf("'", p); i >= 0 && i < end; i = t.indexOf("'", i + 1)) {
      out += t.slice(from, i);
      if (t[i + 1] === "'") {
        out += "'";
        from = ++i + 1;
        continue;
      }
      this.closed(i, end);
      return out;
    }
    throw LEAVE_IT;
  }

  plain(p: number, end: number): unknown {
    const t = this.t;
    const c = t[p]!;
    // What js-yaml does not start a plain scalar with (or reads as an indicator).
    if ('[]{},#&*!|>%@`'.includes(c)) throw LEAVE_IT;
    if ((c === '-' || c === '?' || c === ':') && (p + 1 >= end || t.charCodeAt(p + 1) === SPACE)) throw LEAVE_IT;
    let last = end;
    while (last > p && t.charCodeAt(last - 1) === SPACE) last--;
    const s = t.slice(p, last);
    // A colon before a blank (or at the end) makes a mapping; a blank before # starts a comment.
    if (s.includes(': ') || s.endsWith(':') || s.includes(' #')) throw LEAVE_IT;
    // Starting with a letter, only the words above are not text (numbers start with a digit, a sign or a dot).
    if (isLetter(c.charCodeAt(0))) {
      const w = WORDS.get(s);
      return w === undefined ? s : w;
    }
    for (const type of IMPLICIT) if (type.resolve(s)) return type.construct(s);
    return s;
  }
}

/**
 * The YAML between a front matter's `---` lines (as gray-matter hands it to its engine) → its data, when the
 * text has the plain shape; `undefined` when it does not, or is empty (js-yaml's answer then stands).
 */
export function parsePlainYaml(text: string): Record<string, unknown> | undefined {
  if (LEAVE.test(text) || !isWellFormed(text)) return undefined;
  const r = new Reader(text);
  try {
    if (r.peek() !== 0) return undefined; // empty, or indented as a whole
    const data = r.mapping(0);
    return r.peek() < 0 ? data : undefined;
  } catch (err) {
    if (err === LEAVE_IT) return undefined;
    throw err;
  }
}
