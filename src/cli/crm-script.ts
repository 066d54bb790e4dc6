/**
 * `crm -f FILE` and `crm < FILE`: crm commands read line by line, as crmsh's
 * interactive shell takes them. A line naming a level (`configure`) enters
 * it, `up`/`end`/`cd ..` leave it; within a level the words are that level's
 * command. As in crmsh, configuration edits accumulate in memory and reach
 * the CIB at `commit` (also when the configure level is left, and at the end
 * of the input). Messages carry the input line number (`ERROR: 7: ...`), and
 * with -R (crmsh's regression mode) each line is echoed as `.INP: LINE`.
 */
import { readFileSync } from 'node:fs';
import { CibError } from '../cib/errors.js';
import { tokenize } from '../crmsh/tokenize.js';
import { currentSession, loadStoredCib, setSession, storeCib, writeSortElements } from './crm-cibfile.js';

const LEVELS = new Set(['configure', 'cib', 'resource', 'node', 'ra', 'status', 'options', 'cluster', 'history', 'site', 'assist', 'maintenance', 'corosync', 'script']);

export interface ScriptOptions {
  /** crmsh's -R: echo every input line as `.INP: LINE`. */
  regression?: boolean;
}

/** Input lines with their numbers; a trailing backslash joins the next line. */
export function scriptLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const start = i + 1;
    let cur = raw[i]!;
    while (cur.endsWith('\\') && i + 1 < raw.length) cur = cur.slice(0, -1) + raw[++i]!;
    out.push({ line: start, text: cur });
  }
  return out;
}

export async function runScript(file: string, opts: ScriptOptions = {}): Promise<number> {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`ERROR: cannot read ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  const { runLevel } = await import('./crm.js');
  let level: string | undefined;
  let failed = false;
  let lineNo = 0;
  // Messages of the commands this script runs carry the line number.
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const s = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const numbered = s.replace(/^(ERROR|WARNING|INFO): /gm, (_m, kind: string) => `${kind}: ${lineNo}: `);
    return (write as (c: string, ...r: unknown[]) => boolean)(numbered, ...rest);
  }) as typeof process.stderr.write;
  const fail = (msg: string) => {
    failed = true;
    process.stderr.write(`ERROR: ${msg}\n`);
  };
  const commit = async () => {
    const s = currentSession();
    if (!s) return;
    const stored = await loadStoredCib();
    if (JSON.stringify(stored.cib.configuration) !== JSON.stringify(s.cib.configuration)) await storeCib(stored, s.cib);
    setSession(undefined);
  };
  const begin = async () => {
    if (currentSession()) return;
    const handle = await loadStoredCib();
    setSession({ handle, cib: handle.cib });
  };
  try {
    for (const { line, text: l } of scriptLines(text)) {
      lineNo = line;
      const trimmed = l.trim();
      if (trimmed === '') continue;
      // crmsh echoes comment lines too.
      if (opts.regression) process.stdout.write(`.INP: ${trimmed}\n`);
      if (trimmed.startsWith('#')) continue;
      let words: string[];
      try {
        words = tokenize(trimmed).flatMap((st) => st.tokens.map((t) => t.text));
      } catch (e) {
        if (e instanceof CibError) {
          fail(e.message);
          continue;
        }
        throw e;
      }
      if (words.length === 0) continue;
      const [w0, ...rest] = words as [string, ...string[]];
      if (w0 === 'quit' || w0 === 'exit' || w0 === 'bye') break;
      if (w0 === 'up' || w0 === 'end' || w0 === 'back' || (w0 === 'cd' && (rest[0] === '..' || rest.length === 0))) {
        if (level === 'configure') await commit();
        level = undefined;
        continue;
      }
      if (w0 === 'cd' && rest[0] && LEVELS.has(rest[0])) {
        level = rest[0];
        continue;
      }
      try {
        if (level === undefined) {
          if (LEVELS.has(w0) && rest.length === 0 && w0 !== 'status') {
            level = w0;
            continue;
          }
          if (w0 === 'configure') {
            await begin();
            await configureLine(rest, commit, runLevel, fail);
            continue;
          }
          if (!LEVELS.has(w0) && w0 !== 'help') {
            fail(`${w0}: No such command`);
            continue;
          }
          await commit();
          if ((await runLevel(w0, rest)) !== 0) failed = true;
          continue;
        }
        if (level === 'configure') {
          await begin();
          await configureLine(words, commit, runLevel, fail);
          continue;
        }
        if (level === 'options') {
          // crmsh user options; belay keeps them for this run (crmsh stores them in ~/.config/crm).
          if (w0 === 'sort_elements' || w0 === 'sort-elements') {
            writeSortElements(!['false', 'no', 'off', '0'].includes((rest[0] ?? '').toLowerCase()));
            continue;
          }
        }
        if ((await runLevel(level, words)) !== 0) failed = true;
      } catch (e) {
        if (e instanceof CibError) fail(e.message);
        else throw e;
      }
    }
    await commit();
  } catch (e) {
    if (e instanceof CibError) fail(e.message);
    else throw e;
  } finally {
    setSession(undefined);
    process.stderr.write = write;
  }
  return failed ? 1 : 0;

  async function configureLine(
    words: string[],
    doCommit: () => Promise<void>,
    run: (level: string | undefined, rest: string[]) => Promise<number>,
    onFail: (msg: string) => void,
  ): Promise<void> {
    const [cmd, ...args] = words;
    switch (cmd) {
      case undefined:
        return;
      case 'commit':
        await doCommit();
        return;
      case '_regtest':
      case '_test':
      case '_objects':
      case 'refresh':
        return;
      default:
        if ((await run('configure', words)) !== 0) failed = true;
        void onFail;
    }
  }
}
