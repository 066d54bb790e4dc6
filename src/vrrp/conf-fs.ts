/** The disk-backed ConfigSource for the keepalived.conf parser (include globs expanded here). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { ConfigSource } from './keepalived-conf.js';

function globToRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = segment.slice(i + 1, end);
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expand a glob (wildcards in any path segment), sorted, files only. */
export function expandGlob(pattern: string): string[] {
  const abs = path.resolve(pattern);
  const parts = abs.split('/').filter(Boolean);
  let bases = ['/'];
  for (const part of parts) {
    const next: string[] = [];
    if (!/[*?[]/.test(part)) {
      for (const b of bases) next.push(path.join(b, part));
    } else {
      const re = globToRegExp(part);
      for (const b of bases) {
        let names: string[] = [];
        try {
          names = readdirSync(b);
        } catch {
          continue;
        }
        for (const n of names.sort()) if (!n.startsWith('.') && re.test(n)) next.push(path.join(b, n));
      }
    }
    bases = next;
  }
  return bases.filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

export const fsConfigSource: ConfigSource = {
  read: (p) => readFileSync(p, 'utf8'),
  glob: expandGlob,
  dirname: (p) => path.dirname(p),
  resolve: (dir, p) => path.resolve(dir, p),
};
