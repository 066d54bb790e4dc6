import { describe, expect, it } from 'vitest';
import { emptyCib, type Cib, type Primitive, type RawResource } from '../../src/cib/model.js';
import { checkStonithAgents } from '../../src/cli/crm-configure.js';
import { validateCib } from '../../src/cib/validate.js';

/**
 * crm writes resource templates as crmsh does (`rsc_template`, `primitive X
 * @T`) and belayd expands them (cib/template.ts), so the live cluster takes
 * a primitive made from a template like any other; a fence device made from
 * a template is checked for its (the template's) agent.
 */
function withResources(...rs: Array<Primitive | RawResource>): Cib {
  const c = emptyCib();
  c.configuration.resources.push(...rs);
  return c;
}
const template = (id: string, cls: string, type: string, provider?: string): RawResource => ({
  tag: 'template',
  id,
  raw: { tag: 'template', attrs: { id, class: cls, ...(provider ? { provider } : {}), type }, children: [] },
});
const fromTemplate = (id: string, tpl: string): Primitive => ({
  tag: 'primitive', id, class: '', type: '', extra: { template: tpl },
  instanceAttributes: [], metaAttributes: [], utilization: [], operations: [],
});

describe('resource templates on the live cluster', () => {
  it('accepts a new primitive made from a template', () => {
    const after = withResources(template('webtpl', 'ocf', 'Dummy', 'heartbeat'), fromTemplate('web', 'webtpl'));
    expect(() => checkStonithAgents({ cib: emptyCib() }, after)).not.toThrow();
    expect(validateCib(after)).toEqual([]);
  });
  it("checks a fence device made from a template for the template's agent", () => {
    const after = withResources(template('fence-tpl', 'stonith', 'fence_no_such_agent'), fromTemplate('f1', 'fence-tpl'));
    expect(() => checkStonithAgents({ cib: emptyCib() }, after)).toThrow(/stonith:fence_no_such_agent of "f1": no such fence agent/);
    // A CIB file may be written for other machines: accepted there, as crmsh does.
    expect(() => checkStonithAgents({ cib: emptyCib(), path: '/tmp/x.xml' }, after)).not.toThrow();
  });
  it('refuses a primitive naming a template that does not exist, as crmsh does', () => {
    expect(validateCib(withResources(fromTemplate('web', 'nope'))).map((p) => p.message)).toEqual(['primitive "web": nope: no such resource template']);
  });
});
