/** `belay keepalived` as a user runs it (needs `npm run build`). */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const belay = (args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin', 'belay'), 'keepalived', ...args], { encoding: 'utf8' });

describe('belay keepalived', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'belay-kacli-'));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('-t checks a file: warnings with their line, how the virtual server is balanced, exit 0', () => {
    const f = write('ok.conf', 'global_defs {\n  router_id t1\n  bogus_option 3\n}\nvrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 9\n  unicast_src_ip 127.0.0.1\n  virtual_ipaddress {\n    127.0.0.9\n  }\n}\nvirtual_server 127.0.0.9 80 {\n  real_server 127.0.0.2 80 {\n  }\n}\n');
    const r = belay(['-t', '-f', f]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`WARNING - ${f}:3: unknown keyword 'bogus_option' in global_defs`);
    expect(r.stdout).toContain(`LVS: ${f}:13: virtual_server TCP 127.0.0.9:80: lb_algo wlc - wlc (connection counting) falls back to wrr`);
    expect(r.stdout).toContain('is valid: 1 vrrp_instance, 0 vrrp_script, 1 virtual_server');
  });

  it('a bad file: the error names file and line, exit 1', () => {
    const f = write('bad.conf', 'vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 300\n}\n');
    const r = belay(['-t', '-f', f]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${f}:3: 'virtual_router_id' 300 is out of range 1..255`);
  });

  it('--status without a running daemon says where it looked, exit 1', () => {
    const r = belay(['--status', '--status-file', path.join(dir, 'none.json')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*none\.json.*is belay keepalived running/);
  });

  it('cleans up', () => {
    rmSync(dir, { recursive: true, force: true });
  });
});
