/**
 * `crm resource ...` on a CIB file: stop/start set the target-role meta
 * attribute (Stopped / Started), as crmsh does; the scheduler acts on it.
 */
import { findResource, setResourceMeta } from '../cib/edit.js';
import { CibError } from '../cib/errors.js';
import { commitCib, loadCib } from './crm-cibfile.js';

const HELP = `usage: crm resource COMMAND ...
  stop NAME...      set target-role=Stopped
  start NAME...     set target-role=Started
  meta NAME set ATTR VALUE | meta NAME delete ATTR
`;

export async function runResource(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case 'stop':
    case 'start': {
      if (rest.length === 0) throw new CibError(`crm resource ${cmd}: name a resource`);
      const handle = await loadCib();
      const cib = handle.cib;
      let next = cib;
      for (const id of rest) next = setResourceMeta(next, id, 'target-role', cmd === 'stop' ? 'Stopped' : 'Started');
      await commitCib(handle, next);
      return 0;
    }
    case 'meta': {
      const [id, op, attr, value] = rest;
      if (!id || (op !== 'set' && op !== 'delete' && op !== 'show') || !attr || (op === 'set' && value === undefined)) {
        throw new CibError('usage: crm resource meta NAME set ATTR VALUE | delete ATTR | show ATTR');
      }
      const handle = await loadCib();
      const cib = handle.cib;
      if (op === 'show') {
        const f = findResource(cib, id);
        if (!f) throw new CibError(`resource "${id}" does not exist`);
        const sets = 'metaAttributes' in f.res ? f.res.metaAttributes : [];
        const p = sets.flatMap((s) => s.nvpairs).find((x) => x.name === attr);
        if (!p) throw new CibError(`resource "${id}" has no meta attribute "${attr}"`);
        process.stdout.write(`${p.value ?? ''}\n`);
        return 0;
      }
      await commitCib(handle, setResourceMeta(cib, id, attr, op === 'set' ? value : undefined));
      return 0;
    }
    case undefined:
    case 'help':
      process.stdout.write(HELP);
      return cmd === undefined ? 1 : 0;
    default:
      throw new CibError(`crm resource: unknown command "${cmd}" (known: stop, start, meta)`);
  }
}
