// The CIB XML scanner (src/cib/xml-parse.ts): strict well-formedness errors
// with file:line:column, and the same trees as saxes (the parser it
// replaced, still a dependency of the executor) on well-formed input.
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { CibError } from '../../src/cib/errors.js';
import { parseXmlElements, type XEl } from '../../src/cib/xml-parse.js';
import { parseCibXml, parseXmlTree } from '../../src/cib/xml.js';

function errorOf(text: string): CibError {
  try {
    parseXmlElements(text, 'bad.xml');
  } catch (e) {
    expect(e).toBeInstanceOf(CibError);
    return e as CibError;
  }
  throw new Error(`expected a CibError for ${JSON.stringify(text)}`);
}

// [what, document, line, column, message pattern]
const MALFORMED: Array<[string, string, number, number, RegExp]> = [
  ['mismatched close tag', '<a>\n  <b>\n  </c>\n</a>', 3, 3, /close tag <\/c> does not match <b> \(line 2\)/],
  ['element never closed', '<a>\n  <b>\n</b>', 3, 5, /<a> \(line 1\) is not closed/],
  ['duplicate attribute', '<a x="1"\n   x="2"/>', 2, 4, /duplicate attribute "x" in <a>/],
  ['unquoted attribute value', '<a x=1/>', 1, 6, /value of the attribute "x" in <a> is not quoted/],
  ['attribute without value', '<a x/>', 1, 5, /the attribute "x" in <a> has no value/],
  ['no whitespace between attributes', '<a x="1"y="2"/>', 1, 9, /no whitespace before the attribute "y"/],
  ['"<" in an attribute value', '<a x="1<2"/>', 1, 8, /"<" is not allowed in an attribute value/],
  ['attribute value not closed', '<a x="1/>', 1, 6, /attribute "x" in <a> is not closed/],
  ['undefined entity in text', '<a>&nbsp;</a>', 1, 4, /undefined entity "&nbsp;"/],
  ['undefined entity in an attribute', '<a\n x="&foo;"/>', 2, 5, /undefined entity "&foo;"/],
  ['a bare "&"', '<a>fish & chips</a>', 1, 9, /"&" not followed by an entity reference/],
  ['character reference to NUL', '<a x="&#0;"/>', 1, 7, /forbidden character reference "&#0;"/],
  ['character reference to a surrogate', '<a>&#xD800;</a>', 1, 4, /character reference "&#xD800;"/],
  ['malformed character reference', '<a>&#12a;</a>', 1, 4, /character reference "&#12a;"/],
  ['text before the root', 'hello <a/>', 1, 1, /text outside the root element/],
  ['text after the root', '<a/>\n  x', 2, 3, /text outside the root element/],
  ['a second root', '<a/><b/>', 1, 5, /a second root element/],
  ['"]]>" in text', '<a>x ]]> y</a>', 1, 6, /"\]\]>" is not allowed in text/],
  ['"--" in a comment', '<a><!-- a -- b --></a>', 1, 11, /"--" inside a comment/],
  ['comment never closed', '<a><!-- a </a>', 1, 4, /comment that is never closed/],
  ['CDATA never closed', '<a><![CDATA[ x </a>', 1, 4, /CDATA section that is never closed/],
  ['XML declaration not at the start', '\n<?xml version="1.0"?><a/>', 2, 1, /XML declaration must be at the very start/],
  ['XML declaration without version', '<?xml encoding="UTF-8"?><a/>', 1, 1, /must start with a version/],
  ['control character in text', '<a>x\u0001</a>', 1, 5, /U\+0001 is not allowed/],
  ['control character in an attribute value', '<a\n x="\u0002"/>', 2, 5, /U\+0002 is not allowed/],
  ['close tag without an open element', '</a>', 1, 1, /close tag <\/a> without an open element/],
  ['"<" without a name', '<a>< b/></a>', 1, 5, /"<" not followed by an element name/],
  ['"/" not followed by ">"', '<a/ >', 1, 3, /"\/" in <a> not followed by ">"/],
  ['disallowed character in a tag', '<a #x="1"/>', 1, 4, /disallowed character "#" in <a>/],
  ['DOCTYPE after the root', '<a/><!DOCTYPE a>', 1, 5, /DOCTYPE after the root/],
  ['unknown markup', '<a><!FOO></a>', 1, 4, /unknown markup/],
  ['empty document', '', 1, 1, /no root element/],
  ['only whitespace and a comment', '  \n<!-- x -->\n', 3, 1, /no root element/],
  ['end inside a tag', '<a x="1"', 1, 9, /unexpected end of the document inside <a>/],
];

describe('CIB XML scanner: malformed XML', () => {
  it.each(MALFORMED)('%s', (_what, text, line, column, pattern) => {
    const e = errorOf(text);
    expect(e.file).toBe('bad.xml');
    expect([e.line, e.column]).toEqual([line, column]);
    expect(e.detail).toMatch(/^malformed XML: /);
    expect(e.detail).toMatch(pattern);
    expect(e.message.startsWith(`bad.xml:${line}:${column}: malformed XML: `)).toBe(true);
  });

  it('saxes rejects every one of them too', () => {
    for (const [what, text] of MALFORMED) {
      expect(saxesTree(text), what).toBeInstanceOf(Error);
    }
  });

  it('a malformed document reports the XML error, not an import error before it', () => {
    // The first node_state is imported while scanning (its lrm_resource lacks
    // its id); the XML error after it still wins.
    const bad = '<node_state id="1" uname="n1"><lrm><lrm_resources><lrm_resource type="Dummy"/></lrm_resources></lrm></node_state>';
    const text = `<cib><configuration/><status>${bad}<node_state id="2"></status></cib>`;
    expect(() => parseCibXml(text, 'c.xml')).toThrow(/malformed XML: close tag <\/status> does not match <node_state>/);
    expect(() => parseCibXml(`<cib><configuration/><status>${bad}</status></cib>`, 'c.xml')).toThrow(/<lrm_resource> lacks the required attribute "id"/);
  });

  it('reads a node_state without id, as Pacemaker does (which then ignores the entry)', () => {
    const cib = parseCibXml('<cib><configuration/><status><node_state uname="n1" in_ccm="false"/></status></cib>', 'c.xml');
    expect(cib.status).toHaveLength(1);
    expect(cib.status![0]!.id).toBeUndefined();
    expect(cib.status![0]!.uname).toBe('n1');
  });

  it('import errors inside the status come in document order', () => {
    const text = [
      '<cib><configuration/><status>',
      '<node_state id="1"><lrm><lrm_resources><lrm_resource id="r"><lrm_rsc_op id="x"/></lrm_resource></lrm_resources></lrm></node_state>',
      '<node_state/>',
      '</status></cib>',
    ].join('\n');
    expect(() => parseCibXml(text, 'c.xml')).toThrow(/^c\.xml:2:61: <lrm_rsc_op id="x"> lacks the required attribute "operation"/);
  });
});

// ---------------------------------------------------------------------------
// Differential check against saxes on well-formed documents.

interface Plain {
  tag: string;
  attrs: Record<string, string>;
  text: string;
  children: Plain[];
}

function plain(el: XEl): Plain {
  return { tag: el.tag, attrs: { ...el.attrs }, text: el.text.trim(), children: el.children.map(plain) };
}

function saxesTree(text: string): Plain | Error {
  const p = new SaxesParser({ xmlns: false });
  const stack: Plain[] = [];
  let root: Plain | undefined;
  let err: Error | undefined;
  p.on('error', (e) => (err ??= e));
  p.on('opentag', (n) => {
    const el: Plain = { tag: n.name, attrs: { ...(n.attributes as Record<string, string>) }, text: '', children: [] };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else root = el;
    stack.push(el);
  });
  p.on('closetag', () => {
    const el = stack.pop()!;
    el.text = el.text.trim();
  });
  const onText = (t: string) => {
    if (stack.length) stack[stack.length - 1]!.text += t;
  };
  p.on('text', onText);
  p.on('cdata', onText);
  try {
    p.write(text).close();
  } catch (e) {
    err ??= e as Error;
  }
  return err ?? root ?? new Error('no root');
}

const WELL_FORMED: Array<[string, string]> = [
  ['entities in attributes and text', `<a x="&amp;&lt;&gt;&quot;&apos;" y='&#65;&#x42;&#x1F600;'>&lt;tag&gt; &amp; &#169;</a>`],
  ['both quote kinds, quotes inside', `<a x='say "hi"' y="it's"/>`],
  ['whitespace in attribute values becomes spaces', '<a x="1\n2\t3\r\n4\r5" y="&#10;&#9;&#13;"/>'],
  ['CR LF in text', '<a>line1\r\nline2\rline3</a>'],
  ['CDATA', '<a><![CDATA[<not> & a tag ]] ]>]]> tail</a>'],
  ['declaration, comments, PI, DOCTYPE', '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE cib [ <!ELEMENT cib ANY> ]>\n<!-- c -->\n<?pi data?>\n<cib><!-- inner --><?x y?><a/></cib>\n<!-- after -->\n'],
  ['byte order mark', '\uFEFF<a/>'],
  ['spaces around = and before >', '<a  x = "1"   y\n=\n"2"  ></a  >'],
  ['names with - . _ : and digits', '<ns:a-b.c_1 x-y.z:w_2="v"/>'],
  ['non-ASCII names and values', '<ressource nœud="é" 名前="値">ü</ressource>'],
  ['mixed text around children', '<a>  one <b/> two <c>three</c> four  </a>'],
  ['empty attribute values', `<a x="" y=''/>`],
  ['__proto__ as an attribute name', '<a __proto__="p" constructor="c"/>'],
  ['deep nesting', '<a>' + '<b>'.repeat(200) + '</b>'.repeat(200) + '</a>'],
];

describe('CIB XML scanner: the same trees as saxes', () => {
  it.each(WELL_FORMED)('%s', (_what, text) => {
    const expected = saxesTree(text);
    expect(expected).not.toBeInstanceOf(Error);
    expect(plain(parseXmlElements(text, 'ok.xml'))).toStrictEqual(expected);
  });

  it('the text of raw elements is trimmed as before', () => {
    const raw = parseXmlTree('<acls><acl_target id="x">  a &amp; b\n  </acl_target></acls>');
    expect(raw.children[0]!.text).toBe('a & b');
  });
});
