import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib, type Primitive } from '../../src/cib/model.js';
import { checkStonithAgents } from '../../src/cli/crm-configure.js';

/**
 * crm writes resource templates as crmsh does (`rsc_template`, `primitive X
 * @T`), but belayd does not expand them yet: on the live cluster a
 * primitive made from a template, which could never start, is refused with
 * a message that says why; a CIB file keeps it, as crmsh does.
 */
function withPrimitive(p: Primitive): Cib {
  const c = emptyCib();
  c.configuration.resources.push(p);
  return c;
}
const fromTemplate: Primitive = {
  tag: 'primitive', id: 'web', class: '', type: '', extra: { template: 'webtpl' },
  instanceAttributes: [], metaAttributes: [], utilization: [], operations: [],
};
const plain: Primitive = { ...fromTemplate, id: 'db', class: 'ocf', provider: 'heartbeat', type: 'Dummy', extra: undefined };

describe('resource templates on the live cluster', () => {
  it('refuses a new primitive made from a template, naming it and the template', () => {
    expect(() => checkStonithAgents({ cib: emptyCib() }, withPrimitive(fromTemplate))).toThrow(
      /primitive "web" is made from resource template "webtpl": the running cluster does not expand resource templates yet/,
    );
  });
  it('accepts it in a CIB file, as crmsh does, and accepts a plain primitive live', () => {
    expect(() => checkStonithAgents({ cib: emptyCib(), path: '/tmp/x.xml' }, withPrimitive(fromTemplate))).not.toThrow();
    expect(() => checkStonithAgents({ cib: emptyCib() }, withPrimitive(plain))).not.toThrow();
  });
});
