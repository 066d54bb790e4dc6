// Bad CIB XML: a CibError naming the file, the line and the element or token.
import { describe, expect, it } from 'vitest';
import { CibError } from '../../src/cib/errors.js';
import { cibToXml, parseCibXml } from '../../src/cib/xml.js';
import { emptyCib } from '../../src/cib/model.js';

function errorOf(text: string): CibError {
  try {
    parseCibXml(text, 'bad.xml');
  } catch (e) {
    expect(e).toBeInstanceOf(CibError);
    return e as CibError;
  }
  throw new Error('expected a CibError');
}

const wrap = (resources: string) =>
  `<cib epoch="1" num_updates="0" admin_epoch="0">\n  <configuration>\n    <crm_config/>\n    <nodes/>\n    <resources>\n${resources}\n    </resources>\n    <constraints/>\n  </configuration>\n</cib>\n`;

describe('CIB XML errors', () => {
  it('malformed XML names file and line', () => {
    const e = errorOf('<cib epoch="1">\n  <configuration>\n  </configurashun>\n</cib>');
    expect(e.file).toBe('bad.xml');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^bad\.xml:3:\d+: malformed XML/);
  });
  it('a primitive without type names the id and the attribute', () => {
    const e = errorOf(wrap('      <primitive id="ip" class="ocf" provider="heartbeat"/>'));
    expect(e.line).toBe(6);
    expect(e.message).toContain('<primitive id="ip">');
    expect(e.message).toContain('"type"');
  });
  it('a primitive without id', () => {
    const e = errorOf(wrap('      <primitive class="ocf" provider="heartbeat" type="IPaddr2"/>'));
    expect(e.message).toContain('"id"');
  });
  it('an unknown resource element', () => {
    const e = errorOf(wrap('      <primitiv id="x"/>'));
    expect(e.message).toContain('<primitiv>');
    expect(e.line).toBe(6);
  });
  it('the wrong root element', () => {
    expect(errorOf('<configuration/>').message).toContain('expected <cib>');
  });
  it('a bad epoch', () => {
    expect(errorOf('<cib epoch="x"><configuration/></cib>').message).toContain('epoch="x"');
  });
  it('an empty file', () => {
    expect(errorOf('').message).toContain('bad.xml');
  });
});

describe('CIB XML export', () => {
  it('escapes attribute values so they round-trip', () => {
    const cib = emptyCib();
    cib.configuration.crmConfig.push({
      id: 'opts',
      rules: [],
      nvpairs: [{ id: 'opts-x', name: 'x', value: 'a "b" <c> & d\n\te' }],
    });
    expect(parseCibXml(cibToXml(cib))).toStrictEqual(cib);
  });
  it('writes an empty CIB like cibadmin --empty', () => {
    expect(cibToXml(emptyCib())).toBe(
      [
        '<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="0" num_updates="0" admin_epoch="0">',
        '  <configuration>',
        '    <crm_config/>',
        '    <nodes/>',
        '    <resources/>',
        '    <constraints/>',
        '  </configuration>',
        '  <status/>',
        '</cib>',
        '',
      ].join('\n'),
    );
  });
});
