/**
 * A strict, single-pass XML scanner for CIB documents: elements, attributes
 * (either quote), the predefined entities and character references, comments,
 * CDATA, processing instructions, the XML declaration and a DOCTYPE without
 * entity declarations (skipped). It builds a small element tree directly from
 * the string, with no per-token event objects, because a CIB's status holds
 * hundreds of thousands of <lrm_rsc_op> elements (issue 3).
 *
 * Well-formedness is checked as saxes (the parser it replaces) did: names,
 * quoting, whitespace between attributes, duplicate attributes, matching close
 * tags, one root, no text outside it, no "]]>" in text, no "--" in comments,
 * no characters XML forbids. Attribute values are normalised as XML says
 * (tab, newline, carriage return -> space); text has CR LF -> LF.
 *
 * Errors are CibErrors "malformed XML: ..." with the file, line and column of
 * the offending character. Positions are kept as string offsets while
 * scanning and turned into line:column only when an error is reported.
 */
import { CibError } from './errors.js';

export class XEl {
  // Both are set on few elements only, so they are not fields of every one.
  /** Set by an onClose hook that already imported this element. */
  declare done?: unknown;
  private declare attrObj?: Record<string, string>;
  /** Texts of the comments directly inside this element, in order. */
  declare comments?: string[];

  constructor(
    readonly tag: string,
    /** Attributes in document order, flat: name, value, name, value, ... */
    readonly a: string[],
    public children: XEl[],
    public text: string,
    /** Offset of the element's "<" in the source text. */
    readonly pos: number,
  ) {}

  /** The attributes as an object (made on first use; the hot paths read `a`). */
  get attrs(): Record<string, string> {
    if (this.attrObj === undefined) {
      const o: Record<string, string> = {};
      const a = this.a;
      for (let i = 0; i < a.length; i += 2) {
        if (a[i] === '__proto__') Object.defineProperty(o, '__proto__', { value: a[i + 1], enumerable: true, writable: true, configurable: true });
        else o[a[i]!] = a[i + 1]!;
      }
      this.attrObj = o;
    }
    return this.attrObj;
  }
}

/** Called when an element closes; `stack` holds its ancestors, root first. */
export type CloseHook = (el: XEl, stack: readonly XEl[]) => void;

/** 1-based line and column of a string offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// Character classes for ASCII: 1 = name start char, 2 = name char only.
const NAME = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_:]/.test(ch)) NAME[c] = 1;
  else if (/[0-9.-]/.test(ch)) NAME[c] = 2;
}
const NAME_START_HI = /[\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uD800-\uDFFF\uF900-\uFDCF\uFDF0-\uFFFD]/;
const NAME_HI = /[\u00B7\u0300-\u036F\u203F\u2040]/;
// Characters XML 1.0 forbids anywhere (surrogates arrive paired from UTF-8 input).
const FORBIDDEN = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;
// Characters that need attention inside an attribute value: 1 = & < \t \n \r, 2 = forbidden.
const ATTR_SPECIAL = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) ATTR_SPECIAL[c] = 2;
for (const c of [0x26, 0x3c, 0x09, 0x0a, 0x0d]) ATTR_SPECIAL[c] = 1;
/** Shared by every element without children until its first child arrives. */
const NO_CHILDREN: XEl[] = [];
const NO_ATTRS: string[] = [];

function isNameStart(c: number): boolean {
  return c < 128 ? NAME[c] === 1 : NAME_START_HI.test(String.fromCharCode(c));
}
function isNameChar(c: number): boolean {
  return c < 128 ? NAME[c] !== 0 : NAME_START_HI.test(String.fromCharCode(c)) || NAME_HI.test(String.fromCharCode(c));
}
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

class Scanner {
  private readonly s: string;
  private readonly n: number;
  private readonly stack: XEl[] = [];
  /** Attributes of the tag being scanned; copied to an exact-size array at its end. */
  private readonly scratch: string[] = [];
  /** The hash of the name nameEnd() scanned last. */
  private nameHash = 0;
  // Recently seen names and short values, so that the thousands of equal
  // ones (lrm_rsc_op, operation="monitor", rc-code="7") are one string each
  // instead of a fresh copy: less garbage while scanning, less memory after.
  private readonly names: Array<string | undefined> = new Array(1024);
  private readonly values: Array<string | undefined> = new Array(4096);
  private root: XEl | undefined;

  constructor(
    text: string,
    private readonly file: string | undefined,
    private readonly onClose: CloseHook | undefined,
    knownNames: readonly string[],
  ) {
    this.s = text;
    this.n = text.length;
    // Seeding the table with the caller's (internalised) literals makes
    // its comparisons against those literals pointer comparisons.
    for (const k of knownNames) {
      let h = 0;
      for (let j = 0; j < k.length; j++) h = (h * 31 + k.charCodeAt(j)) | 0;
      this.names[(h ^ (h >>> 11)) & (this.names.length - 1)] = k;
    }
  }

  fail(offset: number, msg: string): never {
    throw new CibError(`malformed XML: ${msg}`, { file: this.file, ...positionOf(this.s, Math.min(offset, this.n)) });
  }

  /** Fail on a character XML forbids in [a, b) (names and attribute values are checked as scanned). */
  checkChars(a: number, b: number): void {
    // On the slice, not from a with lastIndex: that would scan to the end of the document each time.
    const bad = FORBIDDEN.exec(this.s.slice(a, b));
    if (bad) this.fail(a + bad.index, `the character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`);
  }

  parse(): XEl {
    const s = this.s;
    let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
    if (s.startsWith('<?xml', i) && (isSpace(s.charCodeAt(i + 5)) || s.charCodeAt(i + 5) === 0x3f)) i = this.declaration(i);
    const n = this.n;
    const stack = this.stack;
    while (i < n) {
      const lt = s.indexOf('<', i);
      const end = lt === -1 ? n : lt;
      if (end > i) this.text(i, end);
      if (lt === -1) break;
      const c = s.charCodeAt(lt + 1);
      if (c === 0x2f) i = this.closeTag(lt);
      else if (c === 0x21) i = this.bang(lt);
      else if (c === 0x3f) i = this.pi(lt);
      else i = this.openTag(lt);
    }
    if (stack.length > 0) {
      const open = stack[stack.length - 1]!;
      this.fail(n, `unexpected end of the document: <${open.tag}> (line ${positionOf(s, open.pos).line}) is not closed`);
    }
    if (!this.root) this.fail(n, 'the document has no root element');
    return this.root;
  }

  /** `<?xml version="1.0" ...?>` at the very start. */
  private declaration(at: number): number {
    const end = this.s.indexOf('?>', at + 5);
    if (end === -1) this.fail(at, 'the XML declaration is not closed with "?>"');
    this.checkChars(at, end);
    const body = this.s.slice(at + 5, end);
    const attrRe = /\s+([A-Za-z]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
    let k = 0;
    const seen: string[] = [];
    while (k < body.length && /\S/.test(body.slice(k))) {
      attrRe.lastIndex = k;
      const m = attrRe.exec(body);
      if (!m) this.fail(at + 5 + k, 'malformed XML declaration');
      seen.push(m[1]!);
      const v = m[2] ?? m[3] ?? '';
      if (m[1] === 'version' && !/^1\.[0-9]+$/.test(v)) this.fail(at + 5 + k, `XML version "${v}" is not 1.x`);
      if (m[1] !== 'version' && m[1] !== 'encoding' && m[1] !== 'standalone') this.fail(at + 5 + k, `unknown "${m[1]}" in the XML declaration`);
      k = attrRe.lastIndex;
    }
    if (seen[0] !== 'version') this.fail(at, 'the XML declaration must start with a version');
    return end + 2;
  }

  /** Character data between markup, [a, b). */
  private text(a: number, b: number): void {
    const s = this.s;
    const top = this.stack[this.stack.length - 1];
    if (top === undefined || top.text === '') {
      // Leading whitespace is dropped (the importer trims text anyway).
      let k = a;
      while (k < b && isSpace(s.charCodeAt(k))) k++;
      if (k === b) return;
      if (top === undefined) this.fail(k, 'text outside the root element');
    }
    this.checkChars(a, b);
    const chunk = s.slice(a, b);
    const bad = chunk.indexOf(']]>');
    if (bad !== -1) this.fail(a + bad, 'the string "]]>" is not allowed in text');
    top!.text += chunk.indexOf('&') === -1 && chunk.indexOf('\r') === -1 ? chunk : this.decode(a, b, false);
  }

  /** Decode entities in [a, b); in attribute values also normalise whitespace. */
  private decode(a: number, b: number, attr: boolean): string {
    const s = this.s;
    let out = '';
    let from = a;
    for (let k = a; k < b; k++) {
      const c = s.charCodeAt(k);
      if (c === 0x26) {
        const semi = s.indexOf(';', k + 1);
        if (semi === -1 || semi >= b || semi - k > 12) this.fail(k, `"&" not followed by an entity reference ending in ";" (write &amp; for a literal &)`);
        const name = s.slice(k + 1, semi);
        let rep: string | undefined;
        if (name.charCodeAt(0) === 0x23) {
          const hex = name.charCodeAt(1) === 0x78;
          const digits = name.slice(hex ? 2 : 1);
          const cp = (hex ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits) ? Number.parseInt(digits, hex ? 16 : 10) : NaN;
          if (!isXmlChar(cp)) this.fail(k, `malformed or forbidden character reference "&${name};"`);
          rep = String.fromCodePoint(cp);
        } else {
          rep = PREDEFINED[name];
          if (rep === undefined || !Object.hasOwn(PREDEFINED, name)) this.fail(k, `undefined entity "&${name};"`);
        }
        out += s.slice(from, k) + rep;
        k = semi;
        from = semi + 1;
      } else if (c === 0x0d) {
        // CR LF and a lone CR are one line end (XML 2.11).
        out += s.slice(from, k) + (attr ? ' ' : '\n');
        if (s.charCodeAt(k + 1) === 0x0a && k + 1 < b) k++;
        from = k + 1;
      } else if (attr && (c === 0x0a || c === 0x09)) {
        out += s.slice(from, k) + ' ';
        from = k + 1;
      } else if (attr && c === 0x3c) {
        this.fail(k, '"<" is not allowed in an attribute value (write &lt;)');
      }
    }
    return out + s.slice(from, b);
  }

  /**
   * s.slice(a, b), reusing an equal string from the table when there is one.
   * h is the hash (h * 31 + c) of the characters, computed by the caller's scan.
   */
  private intern(table: Array<string | undefined>, a: number, b: number, h: number): string {
    const s = this.s;
    const len = b - a;
    const slot = (h ^ (h >>> 11)) & (table.length - 1);
    const c = table[slot];
    if (c !== undefined && c.length === len) {
      let j = 0;
      while (j < len && c.charCodeAt(j) === s.charCodeAt(a + j)) j++;
      if (j === len) return c;
    }
    const v = s.slice(a, b);
    table[slot] = v;
    return v;
  }

  /** Scan a name starting at k; returns its end (k when there is none). */
  private nameEnd(k: number): number {
    const s = this.s;
    let c = s.charCodeAt(k);
    if (!isNameStart(c)) return k;
    let h = c;
    k++;
    for (;;) {
      c = s.charCodeAt(k);
      if (c < 128 ? NAME[c] === 0 : !isNameChar(c)) break;
      h = (h * 31 + c) | 0;
      k++;
    }
    this.nameHash = h;
    return k;
  }

  private skipSpace(k: number): number {
    const s = this.s;
    while (isSpace(s.charCodeAt(k))) k++;
    return k;
  }

  private openTag(lt: number): number {
    const s = this.s;
    const stack = this.stack;
    if (stack.length === 0 && this.root) this.fail(lt, 'a second root element (a document has exactly one)');
    const ne = this.nameEnd(lt + 1);
    if (ne === lt + 1) this.fail(lt + 1, lt + 1 >= this.n ? 'unexpected end of the document after "<"' : `"<" not followed by an element name`);
    const tag = this.intern(this.names, lt + 1, ne, this.nameHash);
    const attrs = this.scratch;
    let na = 0;
    let k = ne;
    let c = s.charCodeAt(k);
    let selfClosing = false;
    for (;;) {
      const spaced = isSpace(c);
      if (spaced) {
        k = this.skipSpace(k);
        c = s.charCodeAt(k);
      }
      if (c === 0x3e) {
        k++;
        break;
      }
      if (c === 0x2f) {
        if (s.charCodeAt(k + 1) !== 0x3e) this.fail(k, `"/" in <${tag}> not followed by ">"`);
        k += 2;
        selfClosing = true;
        break;
      }
      if (k >= this.n) this.fail(k, `unexpected end of the document inside <${tag}>`);
      // An attribute: name = "value"
      const ae = this.nameEnd(k);
      if (ae === k) this.fail(k, `disallowed character "${s[k]}" in <${tag}>`);
      if (!spaced) this.fail(k, `no whitespace before the attribute "${s.slice(k, ae)}" in <${tag}>`);
      const nameAt = k;
      const name = this.intern(this.names, k, ae, this.nameHash);
      k = this.skipSpace(ae);
      if (s.charCodeAt(k) !== 0x3d) this.fail(k, `the attribute "${name}" in <${tag}> has no value`);
      k = this.skipSpace(k + 1);
      const q = s.charCodeAt(k);
      if (q !== 0x22 && q !== 0x27) this.fail(k, `the value of the attribute "${name}" in <${tag}> is not quoted`);
      const vStart = k + 1;
      let special = false;
      let v = vStart;
      let h = 0;
      for (;;) {
        const d = s.charCodeAt(v);
        if (d === q) break;
        h = (h * 31 + d) | 0;
        if (d < 128) {
          const sp = ATTR_SPECIAL[d]!;
          if (sp !== 0) {
            if (sp === 2) this.checkChars(v, v + 1);
            special = true;
          }
        } else if (d !== d) this.fail(vStart - 1, `the value of the attribute "${name}" in <${tag}> is not closed`);
        else if (d >= 0xfffe) this.checkChars(v, v + 1);
        v++;
      }
      const value = special ? this.decode(vStart, v, true) : v - vStart <= 12 ? (v === vStart ? '' : this.intern(this.values, vStart, v, h)) : s.slice(vStart, v);
      for (let j = 0; j < na; j += 2) if (attrs[j] === name) this.fail(nameAt, `duplicate attribute "${name}" in <${tag}>`);
      attrs[na++] = name;
      attrs[na++] = value;
      k = v + 1;
      c = s.charCodeAt(k);
    }
    const el = new XEl(tag, na === 0 ? NO_ATTRS : attrs.slice(0, na), NO_CHILDREN, '', lt);
    const parent = stack[stack.length - 1];
    if (parent) {
      if (parent.children === NO_CHILDREN) parent.children = [el];
      else parent.children.push(el);
    }
    else this.root = el;
    if (selfClosing) this.onClose?.(el, stack);
    else stack.push(el);
    return k;
  }

  private closeTag(lt: number): number {
    const s = this.s;
    const ne = this.nameEnd(lt + 2);
    if (ne === lt + 2) this.fail(lt + 2, 'a close tag "</" without an element name');
    const k = this.skipSpace(ne);
    if (s.charCodeAt(k) !== 0x3e) this.fail(k, `disallowed character in the close tag </${s.slice(lt + 2, ne)}>`);
    const stack = this.stack;
    const top = stack[stack.length - 1];
    const len = ne - lt - 2;
    if (top === undefined) this.fail(lt, `close tag </${s.slice(lt + 2, ne)}> without an open element`);
    if (top.tag.length !== len || !s.startsWith(top.tag, lt + 2)) {
      this.fail(lt, `close tag </${s.slice(lt + 2, ne)}> does not match <${top.tag}> (line ${positionOf(s, top.pos).line})`);
    }
    stack.pop();
    this.onClose?.(top, stack);
    return k + 1;
  }

  /** `<!--`, `<![CDATA[` or `<!DOCTYPE`. */
  private bang(lt: number): number {
    const s = this.s;
    if (s.startsWith('<!--', lt)) {
      const dd = s.indexOf('--', lt + 4);
      if (dd === -1) this.fail(lt, 'a comment that is never closed with "-->"');
      if (s.charCodeAt(dd + 2) !== 0x3e) this.fail(dd, '"--" inside a comment');
      this.checkChars(lt, dd);
      const top = this.stack[this.stack.length - 1];
      if (top) (top.comments ??= []).push(s.slice(lt + 4, dd));
      return dd + 3;
    }
    if (s.startsWith('<![CDATA[', lt)) {
      const top = this.stack[this.stack.length - 1];
      if (!top) this.fail(lt, 'CDATA outside the root element');
      const end = s.indexOf(']]>', lt + 9);
      if (end === -1) this.fail(lt, 'a CDATA section that is never closed with "]]>"');
      this.checkChars(lt, end);
      const raw = s.slice(lt + 9, end);
      top.text += raw.indexOf('\r') === -1 ? raw : raw.replace(/\r\n?/g, '\n');
      return end + 3;
    }
    if (s.startsWith('<!DOCTYPE', lt)) {
      if (this.root) this.fail(lt, 'a DOCTYPE after the root element');
      // Skip it; an internal subset is skipped as a whole (its entities are not supported).
      let k = lt + 9;
      let depth = 0;
      for (; k < this.n; k++) {
        const c = s.charCodeAt(k);
        if (c === 0x5b) depth++;
        else if (c === 0x5d) depth--;
        else if (c === 0x3e && depth <= 0) return k + 1;
        else if (c === 0x22 || c === 0x27) {
          const e = s.indexOf(s[k]!, k + 1);
          if (e === -1) break;
          k = e;
        }
      }
      this.fail(lt, 'a DOCTYPE that is never closed');
    }
    this.fail(lt, `unknown markup "${s.slice(lt, lt + 9)}"`);
  }

  /** A processing instruction `<?target ...?>` (ignored). */
  private pi(lt: number): number {
    const s = this.s;
    const ne = this.nameEnd(lt + 2);
    if (ne === lt + 2) this.fail(lt + 2, 'a processing instruction without a target');
    const target = s.slice(lt + 2, ne);
    if (target.toLowerCase() === 'xml') this.fail(lt, 'the XML declaration must be at the very start of the document');
    const end = s.indexOf('?>', ne);
    if (end === -1) this.fail(lt, `the processing instruction <?${target} is never closed with "?>"`);
    if (end > ne && !isSpace(s.charCodeAt(ne))) this.fail(ne, `disallowed character in the processing instruction name "${target}"`);
    this.checkChars(lt, end);
    return end + 2;
  }
}

/**
 * Parse XML text into an element tree; throws CibError with the position.
 * onClose sees each element as it closes (the importer uses it to turn a
 * finished <node_state> into the model at once and drop its subtree).
 * knownNames: the tag and attribute names the caller compares against.
 */
export function parseXmlElements(text: string, file: string | undefined, onClose?: CloseHook, knownNames: readonly string[] = []): XEl {
  return new Scanner(text, file, onClose, knownNames).parse();
}
