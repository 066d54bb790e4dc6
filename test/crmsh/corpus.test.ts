// crmsh printer and parser agree: for every scheduler-case CIB, show -> parse -> show gives the same text.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyCib } from '../../src/cib/model.js';
import { parseCibXml } from '../../src/cib/xml.js';
import { applyItems } from '../../src/crmsh/apply.js';
import { parseStatement } from '../../src/crmsh/parse.js';
import { showConfiguration } from '../../src/crmsh/show.js';
import { tokenize } from '../../src/crmsh/tokenize.js';

const root = join(import.meta.dirname, '../../../shared/scheduler-cases');
const files = ['tier1', 'tier2'].flatMap((t) =>
  readdirSync(join(root, t))
    .filter((f) => f.endsWith('.xml'))
    .map((f) => join(t, f)),
);

describe('crm configure show -> parse -> show over the corpus', () => {
  it('finds the corpus', () => expect(files.length).toBeGreaterThan(300));
  it.each(files)('%s', (f) => {
    const cib = parseCibXml(readFileSync(join(root, f), 'utf8'), f);
    const text = showConfiguration(cib);
    const items = tokenize(text, f + '.crm').map((st) => parseStatement(st));
    const rebuilt = applyItems(emptyCib(), items, 'update');
    expect(showConfiguration(rebuilt)).toBe(text);
    // Same objects, same ids.
    // crmsh's show sorts objects by id, so loading it back may reorder them.
    expect(rebuilt.configuration.resources.map((r) => r.id).sort()).toEqual(cib.configuration.resources.map((r) => r.id).sort());
    expect(rebuilt.configuration.constraints.map((c) => c.id).sort()).toEqual(cib.configuration.constraints.map((c) => c.id).sort());
  });
});
