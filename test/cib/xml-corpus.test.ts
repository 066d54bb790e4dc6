// Every scheduler regression case imports, and export -> import gives an equal model.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cibToXml, parseCibXml } from '../../src/cib/xml.js';

const root = join(import.meta.dirname, '../../../shared/scheduler-cases');
const files = ['tier1', 'tier2'].flatMap((t) =>
  readdirSync(join(root, t))
    .filter((f) => f.endsWith('.xml'))
    .map((f) => join(t, f)),
);

describe('CIB XML corpus round-trip', () => {
  it('finds the corpus', () => {
    expect(files.length).toBeGreaterThan(300);
  });
  it.each(files)('%s', (f) => {
    const text = readFileSync(join(root, f), 'utf8');
    const cib = parseCibXml(text, f);
    expect(cib.configuration).toBeDefined();
    const again = parseCibXml(cibToXml(cib), f + ' (exported)');
    expect(again).toStrictEqual(cib);
    // Exporting twice gives the same text: the export is canonical.
    expect(cibToXml(again)).toBe(cibToXml(cib));
  });
});
