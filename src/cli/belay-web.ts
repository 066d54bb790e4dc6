/**
 * `belay web-passwd USER`: add or change a web console user in the
 * password file beside cluster.yaml (web-users), with an scrypt hash. The
 * password is read from standard input (one line), never from the command
 * line where `ps` would show it.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_CLUSTER_FILE } from '../daemon/config.js';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { hashPassword } from '../web/auth.js';

async function readLine(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password (input is shown; pipe it in to hide it): ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.replace(/\r$/, '');
}

export function registerWebCommands(program: Command): void {
  program
    .command('web-passwd')
    .description('add or change a web console user (password from stdin) in web-users beside the cluster file')
    .argument('<user>', 'user name (root, or a member of admin_group)')
    .option('-f, --file <path>', 'the password file', join(dirname(DEFAULT_CLUSTER_FILE), 'web-users'))
    .option('--delete', 'remove the user instead')
    .action(async (user: string, o: { file: string; delete?: boolean }) => {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/.test(user)) throw Object.assign(new Error(`bad user name '${user}'`), { exitCode: 2 });
      const lines = existsSync(o.file) ? readFileSync(o.file, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith(`${user}:`)) : [];
      if (!o.delete) {
        const password = await readLine();
        if (password.length < 8) throw Object.assign(new Error('the password must have at least 8 characters'), { exitCode: 2 });
        lines.push(`${user}:${hashPassword(password)}`);
      }
      atomicWriteFileSync(o.file, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
      process.stdout.write(`${o.delete ? 'removed' : 'set'} ${user} in ${o.file}\n`);
    });
}
