import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseKeepalivedConf, splitCommand, toRouterSpec, type ConfigSource } from '../../src/vrrp/keepalived-conf.js';
import { fsConfigSource } from '../../src/vrrp/conf-fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures');

interface Expect {
  routerId: string;
  notificationEmail: string[];
  smtpServer: string;
  instances: Record<string, unknown>[];
  scripts: Record<string, unknown>[];
  unsupported: Record<string, unknown>[];
  warnings: { line: number; match: string }[];
}

const cases = readdirSync(fixtures).filter((f) => f.endsWith('.conf'));

describe('keepalived.conf from the seeds', () => {
  it('has fixtures for every seed config', () => {
    expect(cases.length).toBe(5);
  });

  it.each(cases)('%s parses to what the post means', (file) => {
    const exp = JSON.parse(readFileSync(path.join(fixtures, file.replace(/\.conf$/, '.expect.json')), 'utf8')) as Expect;
    const cfg = parseKeepalivedConf(path.join(fixtures, file), fsConfigSource);
    expect(cfg.globalDefs.routerId).toBe(exp.routerId);
    expect(cfg.globalDefs.notificationEmail).toEqual(exp.notificationEmail);
    expect(cfg.globalDefs.smtpServer).toBe(exp.smtpServer);
    expect(cfg.instances.length).toBe(exp.instances.length);
    exp.instances.forEach((ei, k) => expect(cfg.instances[k]).toMatchObject(ei));
    expect(cfg.scripts.length).toBe(exp.scripts.length);
    exp.scripts.forEach((es, k) => expect(cfg.scripts[k]).toMatchObject(es));
    // LVS blocks, summarised as the expectations were written (src/lvs parses them; test/lvs checks them).
    const vsArgs = (m: (typeof cfg.virtualServers)[number]['match']) => (m.kind === 'addr' ? [m.ip, String(m.port)] : m.kind === 'fwmark' ? ['fwmark', String(m.fwmark)] : ['group', m.name]);
    expect(cfg.virtualServers.map((v) => ({ keyword: 'virtual_server', args: vsArgs(v.match), line: v.line, realServers: v.realServers.length }))).toEqual(exp.unsupported);
    for (const w of exp.warnings) {
      expect(cfg.warnings.some((x) => x.line === w.line && x.message.includes(w.match)), `warning at line ${w.line} ~ ${w.match}`).toBe(true);
    }
    if (exp.warnings.length === 0) expect(cfg.warnings).toEqual([]);
    // Every seed config resolves to an engine spec once eth0 has an address.
    const r = toRouterSpec(cfg, { interfaceAddress: () => '198.18.0.11' });
    expect(r.spec.instances.length).toBe(exp.instances.length);
    for (const i of r.spec.instances) {
      expect(i.version).toBe(2);
      expect(i.authPass).toBe((exp.instances[0] as { authPass: string }).authPass);
    }
  });
});

function memSource(files: Record<string, string>): ConfigSource {
  return {
    read: (p) => {
      const t = files[p];
      if (t === undefined) throw new Error('ENOENT');
      return t;
    },
    glob: (pat) => {
      const re = new RegExp(`^${pat.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
      return Object.keys(files).filter((f) => re.test(f)).sort();
    },
    dirname: (p) => path.posix.dirname(p),
    resolve: (d, p) => path.posix.resolve(d, p),
  };
}

describe('grammar and errors', () => {
  const inst = (body: string) => `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n${body}\n virtual_ipaddress {\n  198.18.0.100/24 dev eth0 label eth0:1\n }\n}\n`;

  it('reports errors with file and line', () => {
    const bad = memSource({ '/k.conf': inst(' priority 300') });
    expect(() => parseKeepalivedConf('/k.conf', bad)).toThrowError(/\/k\.conf:4: 'priority' 300 is out of range 1\.\.255/);
    const noVrid = memSource({ '/k.conf': 'vrrp_instance X {\n interface eth0\n}\n' });
    expect(() => parseKeepalivedConf('/k.conf', noVrid)).toThrowError(ConfigError);
    const stray = memSource({ '/k.conf': '}\n' });
    expect(() => parseKeepalivedConf('/k.conf', stray)).toThrowError(/\/k\.conf:1: unexpected '}'/);
    const unknownScript = memSource({ '/k.conf': inst(' track_script {\n  nope\n }') });
    expect(() => parseKeepalivedConf('/k.conf', unknownScript)).toThrowError(/unknown vrrp_script 'nope'/);
  });

  it('warns about unknown keywords with their line, and goes on', () => {
    const cfg = parseKeepalivedConf('/k.conf', memSource({ '/k.conf': `global_defs {\n  frobnicate 1\n}\n${inst(' wibble yes')}` }));
    expect(cfg.warnings.map((w) => [w.line, w.message])).toEqual([
      [2, "unknown keyword 'frobnicate' in global_defs"],
      [7, "unknown keyword 'wibble' in vrrp_instance VI_1"],
    ]);
    expect(cfg.instances[0]!.vips[0]).toEqual({ address: '198.18.0.100', prefix: 24, family: 4, dev: 'eth0', label: 'eth0:1' });
  });

  it('virtual_ipaddress preferred_lft: seconds or forever, reaching the address as ip addr add does; a bad value names file and line', () => {
    const v6 = (opt: string) => `vrrp_instance V6 {\n interface eth0\n virtual_router_id 61\n virtual_ipaddress {\n  fd00::100/64 dev eth0 ${opt}\n }\n}\n`;
    expect(parseKeepalivedConf('/k.conf', memSource({ '/k.conf': v6('preferred_lft 0') })).instances[0]!.vips[0]).toEqual({ address: 'fd00::100', prefix: 64, family: 6, dev: 'eth0', preferredLft: '0' });
    expect(parseKeepalivedConf('/k.conf', memSource({ '/k.conf': v6('preferred_lft forever') })).instances[0]!.vips[0]!.preferredLft).toBe('forever');
    expect(() => parseKeepalivedConf('/k.conf', memSource({ '/k.conf': v6('preferred_lft soon') }))).toThrowError(/\/k\.conf:5: virtual_ipaddress: preferred_lft needs seconds or 'forever' \(got 'soon'\)/);
  });

  it('keepalived\'s LVS globals are named with what belay does instead, not as unknown keywords', () => {
    const cfg = parseKeepalivedConf('/k.conf', memSource({ '/k.conf': 'global_defs {\n  lvs_sync_daemon eth0 VI_1\n  lvs_timeouts tcp 900 tcpfin 30 udp 300\n  lvs_flush\n}\n' }));
    expect(cfg.warnings.map((w) => [w.line, w.message.split(':')[0]])).toEqual([
      [2, 'lvs_sync_daemon is not applied'],
      [3, 'lvs_timeouts is not applied'],
      [4, 'lvs_flush'],
    ]);
    expect(cfg.warnings[0]!.message).toContain('no connection sync between directors');
    expect(cfg.warnings.some((w) => /unknown keyword/.test(w.message))).toBe(false);
  });

  it('include with a glob, relative to the including file; errors name the included file', () => {
    const src = memSource({
      '/etc/k/keepalived.conf': '! main\ninclude conf.d/*.conf\n',
      '/etc/k/conf.d/a.conf': 'vrrp_script chk {\n script "killall -0 nginx"\n interval 2\n weight -20\n}\n',
      '/etc/k/conf.d/b.conf': `# b\n${inst(' priority 150\n nopreempt\n track_script {\n  chk weight -30\n }\n notify "/usr/local/bin/notify.sh"\n notify_master "/bin/echo master now"')}`,
    });
    const cfg = parseKeepalivedConf('/etc/k/keepalived.conf', src);
    expect(cfg.instances[0]).toMatchObject({ priority: 150, preempt: false, trackScripts: [{ name: 'chk', weight: -30 }], notify: ['/usr/local/bin/notify.sh'], notifyMaster: ['/bin/echo master now'] });
    const r = toRouterSpec(cfg, { interfaceAddress: () => '198.18.0.11' });
    expect(r.spec.instances[0]!.trackScripts).toEqual([{ script: 'chk', weight: -30 }]);
    expect(r.spec.scripts[0]!.argv).toEqual(['killall', '-0', 'nginx']);
    const bad = memSource({ '/etc/k/keepalived.conf': 'include x.conf\n', '/etc/k/x.conf': 'vrrp_instance {\n' });
    expect(() => parseKeepalivedConf('/etc/k/keepalived.conf', bad)).toThrowError(/\/etc\/k\/x\.conf:1/);
  });

  it('include globs on disk', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'belay-conf-'));
    try {
      mkdirSync(path.join(dir, 'conf.d'));
      writeFileSync(path.join(dir, 'keepalived.conf'), 'include conf.d/*.conf\n');
      writeFileSync(path.join(dir, 'conf.d', '10-a.conf'), inst(' priority 120'));
      writeFileSync(path.join(dir, 'conf.d', 'skip.txt'), 'garbage {');
      const cfg = parseKeepalivedConf(path.join(dir, 'keepalived.conf'), fsConfigSource);
      expect(cfg.instances.map((i) => i.priority)).toEqual([120]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unicast, VRRPv3, sync groups, track_interface, garp settings', () => {
    const src = memSource({
      '/k.conf': `global_defs {\n vrrp_version 3\n}\n${inst(' advert_int 0.1\n unicast_src_ip 198.18.0.11\n unicast_peer {\n  198.18.0.12\n  198.18.0.13\n }\n track_interface {\n  eth1 weight -10\n  eth2\n }\n garp_master_delay 2\n garp_master_repeat 3\n garp_master_refresh 60')}vrrp_sync_group G {\n group {\n  VI_1\n }\n notify_fault "/bin/true"\n}\n`,
    });
    const cfg = parseKeepalivedConf('/k.conf', src);
    const r = toRouterSpec(cfg, { interfaceAddress: () => undefined });
    const i = r.spec.instances[0]!;
    expect(i).toMatchObject({ version: 3, advertIntCs: 10, primaryAddress: '198.18.0.11', peers: ['198.18.0.12', '198.18.0.13'], garpMasterDelayMs: 2000, garpMasterRepeat: 3, garpMasterRefreshMs: 60000 });
    expect(i.trackInterfaces).toEqual([{ name: 'eth1', weight: -10 }, { name: 'eth2', weight: 0 }]);
    expect(r.spec.syncGroups).toEqual([{ name: 'G', members: ['VI_1'] }]);
    expect(r.groupNotify.get('G')!.fault).toEqual(['/bin/true']);
  });

  it('VRRPv2 rounds a sub-second advert_int up and says so; an interface without address is an error', () => {
    const cfg = parseKeepalivedConf('/k.conf', memSource({ '/k.conf': inst(' advert_int 0.5') }));
    const r = toRouterSpec(cfg, { interfaceAddress: () => '198.18.0.11' });
    expect(r.spec.instances[0]!.advertIntCs).toBe(100);
    expect(cfg.warnings.some((w) => /whole seconds/.test(w.message))).toBe(true);
    expect(() => toRouterSpec(cfg, { interfaceAddress: () => undefined })).toThrowError(/interface eth0 has no IPv4 address/);
  });

  it('splits commands like keepalived, shell syntax goes through /bin/sh', () => {
    expect(splitCommand(`/etc/keepalived/notify.sh -n master -a "10.0.0.1 x"`)).toEqual(['/etc/keepalived/notify.sh', '-n', 'master', '-a', '10.0.0.1 x']);
    const cfg = parseKeepalivedConf('/k.conf', memSource({ '/k.conf': `vrrp_script p {\n script "</dev/tcp/127.0.0.1/80"\n}\n${inst(' track_script {\n  p\n }')}` }));
    const r = toRouterSpec(cfg, { interfaceAddress: () => '198.18.0.11' });
    expect(r.spec.scripts[0]!.argv).toEqual(['/bin/sh', '-c', '</dev/tcp/127.0.0.1/80']);
  });
});

describe('keepalived.conf coverage: @ID lines, $NAME parameters, AH, vrrp_strict, source addresses, checksum options', () => {
  const host = { interfaceAddress: () => '198.18.0.11', localAddresses: () => ['127.0.0.1', '198.18.0.11'] };
  const file = (text: string) => memSource({ '/k.conf': text });

  it('@ID lines apply only to the matching config id, @^ID lines to the others', () => {
    const text = [
      'vrrp_instance VI_1 {',
      ' interface eth0',
      ' virtual_router_id 51',
      '@lb1 priority 150',
      '@lb2 priority 100',
      '@^lb1 state BACKUP',
      '@lb1 state MASTER',
      ' virtual_ipaddress {',
      '  198.18.0.100/24',
      ' }',
      '}',
    ].join('\n');
    const a = parseKeepalivedConf('/k.conf', file(text), { configIds: ['lb1'] }).instances[0]!;
    expect([a.priority, a.state]).toEqual([150, 'MASTER']);
    const b = parseKeepalivedConf('/k.conf', file(text), { configIds: ['lb2'] }).instances[0]!;
    expect([b.priority, b.state]).toEqual([100, 'BACKUP']);
    // Neither: keepalived's defaults.
    const c = parseKeepalivedConf('/k.conf', file(text), { configIds: ['other'] }).instances[0]!;
    expect([c.priority, c.state]).toEqual([100, 'BACKUP']);
  });

  it('$NAME=value defines a parameter; $NAME and ${NAME} are replaced, undefined names (shell $1) are left alone; a trailing backslash continues it', () => {
    const text = [
      '$IF=eth0',
      '$VIPS=198.18.0.100/24 \\',
      '  198.18.0.101/24',
      'vrrp_script chk {',
      '  script "/bin/sh -c \'test -f /tmp/$1\'"',
      '}',
      'vrrp_instance VI_1 {',
      ' interface $IF',
      ' virtual_router_id 51',
      ' virtual_ipaddress {',
      '  ${VIPS}',
      ' }',
      ' track_script {',
      '  chk',
      ' }',
      '}',
    ].join('\n');
    const cfg = parseKeepalivedConf('/k.conf', file(text));
    expect(cfg.instances[0]!.interface).toBe('eth0');
    expect(cfg.instances[0]!.vips.map((v) => v.address)).toEqual(['198.18.0.100', '198.18.0.101']);
    expect(cfg.scripts[0]!.script).toContain('/tmp/$1');
  });

  const inst = (body: string, global = '') =>
    `${global ? `global_defs {\n${global}\n}\n` : ''}vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n${body}\n virtual_ipaddress {\n  198.18.0.100/24\n }\n}\n`;

  it('auth_type AH is refused with a named error', () => {
    const cfg = parseKeepalivedConf('/k.conf', file(inst(' authentication {\n  auth_type AH\n  auth_pass x\n }')));
    expect(() => toRouterSpec(cfg, host)).toThrowError(/auth_type AH \(IPsec Authentication Header\) is not supported/);
  });

  it('vrrp_strict: authentication ignored and state MASTER demoted as keepalived does; what differs (no firewall rules) is said', () => {
    const cfg = parseKeepalivedConf('/k.conf', file(inst(' state MASTER\n priority 150\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }', '  vrrp_strict')));
    const r = toRouterSpec(cfg, host);
    const i = r.spec.instances[0]!;
    expect(i.authPass).toBeUndefined();
    expect(i.initialState).toBe('BACKUP');
    expect(i.strict).toBe(true);
    const msgs = cfg.warnings.map((w) => w.message).join('\n');
    expect(msgs).toMatch(/strict mode does not support authentication/);
    expect(msgs).toMatch(/state MASTER must match being address owner/);
    expect(msgs).toMatch(/installs no firewall rules/);
  });

  it('an mcast_src_ip / unicast_src_ip that is not a local address is reported (the same check serves -t and start-up)', () => {
    const cfg = parseKeepalivedConf('/k.conf', file(inst(' mcast_src_ip 198.18.0.77')));
    const r = toRouterSpec(cfg, host);
    expect(r.spec.instances[0]!.primaryAddress).toBe('198.18.0.77');
    expect(cfg.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/mcast_src_ip 198\.18\.0\.77 is not an address of this host/));
    const ok = parseKeepalivedConf('/k.conf', file(inst(' mcast_src_ip 198.18.0.11')));
    toRouterSpec(ok, host);
    expect(ok.warnings.map((w) => w.message).join()).not.toMatch(/not an address of this host/);
  });

  it('v3_checksum_as_v2, old_unicast_checksum reach the engine', () => {
    const cfg = parseKeepalivedConf('/k.conf', file(inst(' version 3\n v3_checksum_as_v2\n old_unicast_checksum never')));
    const r = toRouterSpec(cfg, host);
    expect(r.spec.instances[0]).toMatchObject({ v3ChecksumAsV2: true, oldUnicastChecksum: 'never' });
  });

  it('unicast_ttl is per instance; unicast_peer min_ttl / max_ttl give the accepted range per peer', () => {
    const text =
      inst(' unicast_ttl 64\n unicast_peer {\n  198.18.0.12 min_ttl 250 max_ttl 255\n  198.18.0.13\n }').replace('VI_1', 'VI_U') +
      inst(' virtual_router_id 52\n unicast_ttl 30').replace('VI_1', 'VI_M');
    const cfg = parseKeepalivedConf('/k.conf', file(text));
    const r = toRouterSpec(cfg, host);
    const [u, m] = r.spec.instances;
    expect(u).toMatchObject({ name: 'VI_U', unicastTtl: 64, peers: ['198.18.0.12', '198.18.0.13'], peerTtl: { '198.18.0.12': { min: 250, max: 255 } } });
    // Multicast: keepalived resets unicast_ttl with an error line; belay warns and keeps TTL 255.
    expect(m!.unicastTtl).toBeUndefined();
    expect(cfg.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/VI_M: cannot use unicast_ttl without unicast peers/));
    expect(() => parseKeepalivedConf('/k.conf', file(inst(' unicast_peer {\n  198.18.0.12 min_ttl 300\n }')))).toThrowError(/k\.conf:\d+: unicast_peer 198\.18\.0\.12: min_ttl needs a value 0\.\.255, got '300'/);
    expect(() => parseKeepalivedConf('/k.conf', file(inst(' unicast_peer {\n  198.18.0.12 min_ttl 200 max_ttl 100\n }')))).toThrowError(/min_ttl 200 is above max_ttl 100/);
    expect(() => parseKeepalivedConf('/k.conf', file(inst(' unicast_ttl 256')))).toThrowError(/unicast_ttl/);
  });
});

describe('track_file, track_process, notify_fifo', () => {
  it('parse into the engine spec, weights from the instance or the definition', () => {
    const text = [
      'global_defs {',
      '  notify_fifo /run/k.fifo',
      '  notify_fifo_script /usr/local/bin/fifo-reader',
      '}',
      'track_file tf {',
      '  file /run/prio',
      '  weight -5 reverse',
      '  init_file 0 overwrite',
      '}',
      'track_process nginx_up {',
      '  process nginx',
      '  weight 10',
      '  quorum 2',
      '}',
      'vrrp_instance VI_1 {',
      ' interface eth0',
      ' virtual_router_id 51',
      ' virtual_ipaddress {',
      '  198.18.0.100/24',
      ' }',
      ' track_file {',
      '  tf weight 3',
      ' }',
      ' track_process {',
      '  nginx_up',
      ' }',
      '}',
    ].join('\n');
    const cfg = parseKeepalivedConf('/k.conf', memSource({ '/k.conf': text }));
    expect(cfg.warnings).toEqual([]);
    const r = toRouterSpec(cfg, { interfaceAddress: () => '198.18.0.11' });
    expect(r.spec.trackFiles).toEqual([{ name: 'tf', path: '/run/prio', init: { value: 0, overwrite: true } }]);
    expect(r.spec.trackProcesses).toEqual([{ name: 'nginx_up', process: 'nginx', quorum: 2 }]);
    expect(r.spec.notifyFifo).toEqual({ path: '/run/k.fifo', script: '/usr/local/bin/fifo-reader' });
    expect(r.spec.instances[0]!.trackFiles).toEqual([{ name: 'tf', weight: 3, reverse: false }]);
    expect(r.spec.instances[0]!.trackProcesses).toEqual([{ name: 'nginx_up', weight: 10, quorum: 2 }]);
    const bad = text.replace('  tf weight 3', '  nope');
    expect(() => parseKeepalivedConf('/k.conf', memSource({ '/k.conf': bad }))).toThrowError(/unknown track_file 'nope'/);
  });

  it('track_process: quorum_max, delay / fork_delay / terminate_delay, param_match, full_command, weight reverse', () => {
    const text = [
      'vrrp_track_process hap {',
      '  process /usr/sbin/haproxy -Ws -f',
      '  param_match partial',
      '  weight -20 reverse',
      '  quorum 1',
      '  quorum_max 2',
      '  delay 0.5',
      '  terminate_delay 2',
      '  full_command',
      '}',
      'vrrp_instance VI_1 {',
      ' interface eth0',
      ' virtual_router_id 51',
      ' virtual_ipaddress {',
      '  198.18.0.100/24',
      ' }',
      ' track_process {',
      '  hap',
      ' }',
      '}',
    ].join('\n');
    const cfg = parseKeepalivedConf('/k.conf', memSource({ '/k.conf': text }));
    expect(cfg.warnings).toEqual([]);
    const r = toRouterSpec(cfg, { interfaceAddress: () => '198.18.0.11' });
    expect(r.spec.trackProcesses).toEqual([
      { name: 'hap', process: '/usr/sbin/haproxy', params: ['-Ws', '-f'], paramMatch: 'partial', fullCommand: true, quorum: 1, quorumMax: 2, forkDelayMs: 500, terminateDelayMs: 2000 },
    ]);
    expect(r.spec.instances[0]!.trackProcesses).toEqual([{ name: 'hap', weight: -20, quorum: 1, quorumMax: 2, reverse: true }]);
    expect(() => parseKeepalivedConf('/k.conf', memSource({ '/k.conf': text.replace('quorum_max 2', 'quorum_max 0').replace('quorum 1', 'quorum 3') }))).toThrowError(
      /k\.conf:\d+: track_process hap: quorum_max 0 is below quorum 3/,
    );
    expect(() => parseKeepalivedConf('/k.conf', memSource({ '/k.conf': text.replace('param_match partial', 'param_match most') }))).toThrowError(/param_match must be initial or partial, got 'most'/);
  });
});
