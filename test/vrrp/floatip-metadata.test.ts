/**
 * The FloatIP agent's meta-data documents every parameter belayd's VRRP
 * backing reads (src/daemon/vip-manager.ts), with its default, and `crm ra
 * info` shows them; a misspelt vrrp_* parameter is refused by name.
 * `npm run build` first (crm ra info runs the built launcher).
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLOATIP_VRRP_PARAMS, VipManager } from '../../src/daemon/vip-manager.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGENT = path.join(ROOT, 'agents', 'resource.d', 'belay', 'FloatIP');

interface Param {
  name: string;
  longdesc: string;
  shortdesc: string;
  type: string;
  default: string | undefined;
}

function parameters(xml: string): Map<string, Param> {
  const out = new Map<string, Param>();
  for (const m of xml.matchAll(/<parameter name="([^"]+)"[^>]*>([\s\S]*?)<\/parameter>/g)) {
    const body = m[2]!;
    const content = /<content type="([^"]+)"(?: default="([^"]*)")?/.exec(body);
    out.set(m[1]!, {
      name: m[1]!,
      longdesc: /<longdesc lang="en">([\s\S]*?)<\/longdesc>/.exec(body)?.[1]?.trim() ?? '',
      shortdesc: /<shortdesc lang="en">([\s\S]*?)<\/shortdesc>/.exec(body)?.[1]?.trim() ?? '',
      type: content?.[1] ?? '',
      default: content?.[2],
    });
  }
  return out;
}

describe('FloatIP meta-data and the VRRP parameters belayd reads', () => {
  it('lists every one with a description and a default', async () => {
    const r = await execa('sh', [AGENT, 'meta-data'], { reject: false });
    expect(r.exitCode).toBe(0);
    const params = parameters(String(r.stdout));
    for (const name of FLOATIP_VRRP_PARAMS) {
      const p = params.get(name);
      expect(p, `parameter ${name} in the meta-data`).toBeDefined();
      expect(p!.longdesc.length, `${name} longdesc`).toBeGreaterThan(40);
      expect(p!.shortdesc.length, `${name} shortdesc`).toBeGreaterThan(5);
      expect(p!.default, `${name} has a default attribute`).toBeDefined();
    }
    // The defaults the code uses.
    expect(params.get('advert_int')!.default).toBe('1');
    expect(params.get('priority')).toMatchObject({ type: 'integer', default: '254' });
    expect(params.get('vrrp_version')!.default).toBe('3');
    expect(params.get('vrrp_multicast')).toMatchObject({ type: 'boolean', default: 'no' });
    expect(String(r.stdout)).not.toMatch(/Reserved for belayd|a later belay release/);
  });

  it('crm ra info ocf:belay:FloatIP shows them', async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli', 'crm.js'))) throw new Error('run `npm run build` first: dist/cli/crm.js is missing');
    const r = await execa(path.join(ROOT, 'bin', 'crm'), ['ra', 'info', 'ocf:belay:FloatIP'], { reject: false, cwd: ROOT });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    for (const name of FLOATIP_VRRP_PARAMS) expect(String(r.stdout)).toMatch(new RegExp(`^${name}\\*? \\(`, 'm'));
    expect(String(r.stdout)).toMatch(/^priority \(integer, \[254\]\): VRRP priority of the holder/m);
    expect(String(r.stdout)).toMatch(/^vrrp_auth_pass \(string\): VRRPv2 auth_type PASS password/m);
  });

  it('belayd refuses a misspelt vrrp_* parameter and a priority out of range, naming them; the shell agent checks version and multicast', async () => {
    const vm = new VipManager({ name: 'n1', address: '198.18.0.11' }, [], () => {});
    const base = { ip: '198.18.0.100', vrid: '51' };
    expect(await vm.operate('r', 'validate-all', { ...base, vrrp_multicast: 'yes', vrrp_version: '2', vrrp_auth_pass: 'x', priority: '200' })).toEqual({ rc: 0 });
    const typo = await vm.operate('r', 'validate-all', { ...base, vrrp_multicst: 'yes' });
    expect(typo.rc).toBe(6);
    expect(typo.reason).toMatch(/unknown FloatIP parameter 'vrrp_multicst'/);
    const prio = await vm.operate('r', 'validate-all', { ...base, priority: '255' });
    expect(prio).toMatchObject({ rc: 6, reason: expect.stringMatching(/priority must be 1\.\.254/) });
    const env = { OCF_RESKEY_ip: '198.18.0.5', OCF_RESKEY_nic: 'lo', OCF_RESKEY_vrid: '5' };
    const bad = await execa('sh', [AGENT, 'validate-all'], { reject: false, env: { ...env, OCF_RESKEY_vrrp_version: '4' } });
    expect(bad.exitCode).toBe(6);
    expect(String(bad.stderr)).toMatch(/vrrp_version '4' must be 2 or 3/);
    const bad2 = await execa('sh', [AGENT, 'validate-all'], { reject: false, env: { ...env, OCF_RESKEY_vrrp_multicast: 'maybe' } });
    expect(bad2.exitCode).toBe(6);
    const ok = await execa('sh', [AGENT, 'validate-all'], { reject: false, env: { ...env, OCF_RESKEY_vrrp_version: '2', OCF_RESKEY_vrrp_multicast: 'yes' } });
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
  });
});
