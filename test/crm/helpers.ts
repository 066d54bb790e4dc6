// Run the built bin/crm launcher on a CIB file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const CRM = join(ROOT, 'bin/crm');

export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist/cli/crm.js'))) throw new Error('belay is not built: run `npm run build` first');
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function crm(cibFile: string | undefined, ...args: string[]): Run {
  const env = { ...process.env };
  delete env.CIB_file;
  if (cibFile !== undefined) env.CIB_file = cibFile;
  const r = spawnSync(process.execPath, [CRM, ...args], { env, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `belay-crm-${process.pid}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
