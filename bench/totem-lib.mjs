// Shared by the totem benches: temp cluster on loopback (127.0.0.1..N), child processes, JSON-line I/O.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = dirname(dirname(fileURLToPath(import.meta.url)));

export function tempCluster(n, { cipher = 'aes256', port = 22000 + (process.pid % 20000) } = {}) {
  const dir = mkdtempSync(join(tmpdir(), `belay-totem-bench-${process.pid}-`));
  const keyFile = join(dir, 'authkey');
  writeFileSync(keyFile, randomBytes(128), { mode: 0o600 });
  const nodes = Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `n${i + 1}`, address: `127.0.0.${i + 1}`, port }));
  const yaml = [
    'cluster_name: bench',
    'nodes:',
    ...nodes.flatMap((x) => [`  - name: ${x.name}`, `    id: ${x.id}`, `    address: ${x.address}`]),
    'totem:',
    `  port: ${port}`,
    `  crypto_cipher: ${cipher}`,
    `key_file: ${keyFile}`,
    `state_dir: ${join(dir, 'state')}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'cluster.yaml'), yaml);
  return { dir, keyFile, nodes, port, cipher, clusterFile: join(dir, 'cluster.yaml'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A child process speaking JSON lines on stdout. */
export class Child {
  constructor(name, cmd, args) {
    this.name = name;
    this.events = [];
    this.waiters = [];
    this.stderr = '';
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push({ ...JSON.parse(line), at: Date.now() });
        } catch {
          // not JSON
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.proc.stderr.on('data', (d) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
  }
  write(obj) {
    this.proc.stdin.write(typeof obj === 'string' ? obj + '\n' : JSON.stringify(obj) + '\n');
  }
  async waitFor(pred, ms, what) {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (Date.now() > end || this.proc.exitCode !== null) throw new Error(`${this.name}: no ${what} within ${ms} ms (exit ${this.proc.exitCode}) ${this.stderr}`);
      await new Promise((r) => {
        const t = setTimeout(r, 20);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  kill(sig = 'SIGTERM') {
    if (this.proc.exitCode === null && this.proc.pid) {
      try {
        process.kill(this.proc.pid, sig);
      } catch {
        // gone
      }
    }
  }
  exited() {
    return this.proc.exitCode !== null || this.proc.signalCode !== null
      ? Promise.resolve()
      : new Promise((r) => this.proc.once('exit', () => r()));
  }
}

export const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
