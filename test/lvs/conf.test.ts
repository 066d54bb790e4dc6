/**
 * The LVS half of keepalived.conf: the seeds' virtual_server blocks and
 * keepalived's own doc/samples files. Every keyword inside a virtual_server,
 * virtual_server_group, real_server or checker block is either applied to
 * the model or named in a warning (file:line:keyword); none is silently
 * ignored. Refusals are ConfigErrors naming file, line and the keyword.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseKeepalivedConf, parseStatements, type ConfigSource, type Stmt } from '../../src/vrrp/keepalived-conf.js';
import { fsConfigSource } from '../../src/vrrp/conf-fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const samples = path.join(here, 'fixtures', 'keepalived-samples');
const vrrpFixtures = path.join(here, '..', 'vrrp', 'fixtures');

/** Keywords the parser turns into the model, by block. Anything else must be warned about. */
const APPLIED: Record<string, Set<string>> = {
  virtual_server: new Set(['delay_loop', 'lb_algo', 'lvs_sched', 'lb_kind', 'lvs_method', 'protocol', 'persistence_timeout', 'quorum', 'hysteresis', 'quorum_up', 'quorum_down', 'inhibit_on_failure', 'alpha', 'omega', 'ha_suspend', 'sorry_server', 'sorry_server_inhibit', 'virtualhost', 'weight', 'retry', 'delay_before_retry', 'warmup', 'connect_timeout', 'real_server']),
  real_server: new Set(['weight', 'inhibit_on_failure', 'notify_up', 'notify_down', 'alpha', 'retry', 'delay_before_retry', 'warmup', 'connect_timeout', 'delay_loop', 'virtualhost', 'TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK']),
  TCP_CHECK: new Set(['retry', 'delay_before_retry', 'warmup', 'delay_loop', 'alpha', 'connect_ip', 'connect_port', 'bindto', 'bind_port', 'connect_timeout']),
  HTTP_GET: new Set(['retry', 'delay_before_retry', 'warmup', 'delay_loop', 'alpha', 'connect_ip', 'connect_port', 'bindto', 'bind_port', 'connect_timeout', 'url', 'virtualhost', 'enable_sni']),
  MISC_CHECK: new Set(['retry', 'delay_before_retry', 'warmup', 'delay_loop', 'alpha', 'misc_path', 'misc_timeout', 'misc_dynamic', 'user']),
  url: new Set(['path', 'digest', 'status_code', 'virtualhost']),
};
APPLIED.SSL_GET = APPLIED.HTTP_GET!;

/** Every statement inside LVS blocks with the block kind it sits in. */
function lvsStatements(stmts: Stmt[], inside: string | null, out: { kind: string; st: Stmt }[]): void {
  for (const s of stmts) {
    if (inside) out.push({ kind: inside, st: s });
    const next = s.keyword === 'virtual_server' || s.keyword === 'virtual_server_group' || s.keyword === 'real_server' || s.keyword === 'url' || APPLIED[s.keyword] ? s.keyword : inside ? '(inner)' : null;
    if (s.block && (next || inside)) lvsStatements(s.block, next ?? inside, out);
  }
}

function everyKeywordAccountedFor(file: string): { applied: number; warned: number } {
  const cfg = parseKeepalivedConf(file, fsConfigSource, { configIds: ['test'] });
  const all: { kind: string; st: Stmt }[] = [];
  lvsStatements(parseStatements(file, fsConfigSource, [], { configIds: ['test'] }), null, all);
  let applied = 0;
  let warned = 0;
  for (const { kind, st } of all) {
    if (kind === 'virtual_server_group' || kind === '(inner)') continue; // group entries are addresses; inner = inside an unrun checker
    if (APPLIED[kind]?.has(st.keyword)) {
      applied++;
      continue;
    }
    const w = cfg.warnings.find((x) => x.file === st.file && x.line === st.line && x.message.includes(st.keyword));
    expect(w, `${path.basename(file)}:${st.line}: '${st.keyword}' in ${kind} is neither applied nor warned about`).toBeDefined();
    warned++;
  }
  return { applied, warned };
}

describe("keepalived's doc/samples with virtual_server blocks", () => {
  const files = readdirSync(samples).filter((f) => f.startsWith('keepalived.conf'));
  it('has the 16 sample files of keepalived 2.2.7', () => expect(files.length).toBe(16));

  it.each(files)('%s: every LVS keyword is applied or warned about by file:line', (f) => {
    const r = everyKeywordAccountedFor(path.join(samples, f));
    expect(r.applied).toBeGreaterThan(0);
  });

  it('SMTP_CHECK / UDP_CHECK / PING_CHECK are named as not run, with their line', () => {
    const cfg = parseKeepalivedConf(path.join(samples, 'keepalived.conf.UDP_CHECK'), fsConfigSource);
    expect(cfg.warnings.map((w) => `${w.line}: ${w.message}`)).toEqual([expect.stringMatching(/^23: UDP_CHECK is not run by belay/)]);
    expect(cfg.virtualServers[0]!.protocol).toBe('UDP');
    expect(cfg.virtualServers[0]!.realServers[0]!.checks).toEqual([]);
  });

  it('quorum sample: alpha, omega, quorum 7, hysteresis 2, quorum scripts, wrr NAT, persistence 900', () => {
    const cfg = parseKeepalivedConf(path.join(samples, 'keepalived.conf.quorum'), fsConfigSource);
    const vs = cfg.virtualServers[0]!;
    expect(vs).toMatchObject({ match: { kind: 'addr', ip: '10.0.1.1', port: 80 }, lbAlgo: 'wrr', lbKind: 'NAT', persistenceTimeoutS: 900, alpha: true, omega: true, quorum: 7, hysteresis: 2, quorumUp: '/usr/local/sbin/quorum-up.sh', quorumDown: '/usr/local/sbin/quorum-down.sh', delayLoopMs: 6000 });
    expect(vs.realServers).toHaveLength(10);
    expect(vs.realServers[0]!.checks[0]).toMatchObject({ kind: 'TCP_CHECK', connectPort: 80, connectTimeoutMs: 3000, retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: 6000, warmupMs: 6000, alpha: true });
  });

  it('virtual_server_group: address ranges expanded, fwmarks kept, the group referenced', () => {
    const cfg = parseKeepalivedConf(path.join(samples, 'keepalived.conf.virtual_server_group'), fsConfigSource);
    const g = cfg.virtualServerGroups[0]!;
    expect(g.name).toBe('VSG_1');
    expect(g.entries.filter((e) => e.kind === 'addr')).toHaveLength(3 + 8);
    expect(g.entries.filter((e) => e.kind === 'fwmark')).toEqual([{ kind: 'fwmark', fwmark: 1 }, { kind: 'fwmark', fwmark: 2 }]);
    expect(cfg.virtualServers[0]!.match).toEqual({ kind: 'group', name: 'VSG_1' });
    const http = cfg.virtualServers[0]!.realServers[0]!.checks[0]!;
    expect(http).toMatchObject({ kind: 'HTTP_GET', retry: 3, delayBeforeRetryMs: 3000, urls: [{ path: '/testurl3/test.jsp', digest: '640205b7b0fc66c1ea91c463fac6334d', statusCodes: [] }] });
  });

  it('misc_check sample: misc_path and misc_timeout; MISC_CHECK retry defaults to 0', () => {
    const cfg = parseKeepalivedConf(path.join(samples, 'keepalived.conf.misc_check'), fsConfigSource);
    const c = cfg.virtualServers[0]!.realServers[0]!.checks[0]!;
    expect(c.kind).toBe('MISC_CHECK');
    expect(c).toMatchObject({ retry: 0 });
  });
});

describe("the seeds' virtual_server blocks", () => {
  it('seed 002: wrr DR, TCP_CHECK connect_timeout 3, nb_get_retry 3 (unknown in TCP_CHECK, ignored as keepalived 2.2.7 does), delay_before_retry 3, delay_loop 6', () => {
    const file = path.join(vrrpFixtures, 'seed002-lvs1.conf');
    const cfg = parseKeepalivedConf(file, fsConfigSource);
    const vs = cfg.virtualServers[0]!;
    expect(vs).toMatchObject({ match: { kind: 'addr', ip: '192.168.4.15', port: 80 }, protocol: 'TCP', lbAlgo: 'wrr', lbKind: 'DR', delayLoopMs: 6000 });
    expect(vs.persistenceTimeoutS).toBeUndefined(); // commented out in the post
    expect(vs.realServers.map((r) => [r.ip, r.port, r.weight])).toEqual([
      ['192.168.4.100', 80, 1],
      ['192.168.4.200', 80, 2],
    ]);
    expect(vs.realServers[1]!.checks).toEqual([
      { kind: 'TCP_CHECK', file, line: 39, connectTimeoutMs: 3000, retry: 1, delayBeforeRetryMs: 3000, delayLoopMs: 6000, warmupMs: 6000, alpha: false },
    ]);
    expect(cfg.warnings.some((w) => w.line === 41 && /Unknown keyword 'nb_get_retry' in TCP_CHECK/.test(w.message))).toBe(true);
  });

  it('seed 000: rr DR, HTTP_GET url / status 200; nat_mask and the mistyped persistence_timeout50 are named', () => {
    const cfg = parseKeepalivedConf(path.join(vrrpFixtures, 'seed000-nginx-keepalived.conf'), fsConfigSource);
    const vs = cfg.virtualServers[0]!;
    expect(vs).toMatchObject({ lbAlgo: 'rr', lbKind: 'DR', delayLoopMs: 6000 });
    expect(vs.realServers[0]!.checks[0]).toMatchObject({ kind: 'HTTP_GET', urls: [{ path: '/', statusCodes: [200] }], connectTimeoutMs: 3000, retry: 3, delayBeforeRetryMs: 3000 });
    expect(cfg.warnings.find((w) => w.line === 28)?.message).toMatch(/unknown keyword 'nat_mask'/);
    expect(cfg.warnings.find((w) => w.line === 29)?.message).toMatch(/unknown keyword 'persistence_timeout50'/);
  });
});

function mem(text: string): ConfigSource {
  return { read: () => text, glob: () => [], dirname: () => '/', resolve: (_d, p) => p };
}

describe('refusals and defaults', () => {
  const vsConf = (body: string) => `virtual_server 10.0.0.1 80 {\n${body}\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n`;

  it.each([
    ['lb_kind TUN', /k\.conf:2: virtual_server 10\.0\.0\.1 80: lb_kind TUN \(IP-in-IP tunnelling\) is not supported by belay/],
    ['lb_algo fancy', /k\.conf:2: .*lb_algo 'fancy' is not an LVS scheduler/],
    ['protocol SCTP', /k\.conf:2: .*protocol SCTP is not supported/],
    ['delay_loop soon', /k\.conf:2: 'delay_loop' wants a time in seconds, got 'soon'/],
  ])('%s is refused with a named error', (line, re) => {
    expect(() => parseKeepalivedConf('k.conf', mem(vsConf(`  ${line}`)))).toThrow(ConfigError);
    expect(() => parseKeepalivedConf('k.conf', mem(vsConf(`  ${line}`)))).toThrow(re);
  });

  it("keepalived 2.2.7's defaults: wlc NAT TCP, delay_loop 60, connect_timeout 5, retry 1, delay_before_retry 1, warmup = delay_loop, weight 1", () => {
    const cfg = parseKeepalivedConf('k.conf', mem(vsConf('')));
    const vs = cfg.virtualServers[0]!;
    expect(vs).toMatchObject({ lbAlgo: 'wlc', lbKind: 'NAT', protocol: 'TCP', delayLoopMs: 60000, quorum: 1, hysteresis: 0, inhibitOnFailure: false });
    expect(vs.realServers[0]).toMatchObject({ weight: 1 });
    expect(vs.realServers[0]!.checks[0]).toEqual({ kind: 'TCP_CHECK', file: 'k.conf', line: 4, connectTimeoutMs: 5000, retry: 1, delayBeforeRetryMs: 1000, delayLoopMs: 60000, warmupMs: 60000, alpha: false });
    expect(cfg.warnings).toEqual([]);
  });

  it('settings flow virtual_server → real_server → checker, the nearest winning', () => {
    const text = `virtual_server fwmark 7 {\n retry 4\n delay_loop 10\n inhibit_on_failure\n weight 3\n real_server 10.0.0.2 80 {\n  delay_before_retry 2\n  connect_timeout 9\n  TCP_CHECK {\n   connect_timeout 1\n  }\n  MISC_CHECK {\n   misc_path "/bin/check a b"\n   misc_dynamic\n  }\n }\n}\n`;
    const cfg = parseKeepalivedConf('k.conf', mem(text));
    const rs = cfg.virtualServers[0]!.realServers[0]!;
    expect(cfg.virtualServers[0]!.match).toEqual({ kind: 'fwmark', fwmark: 7 });
    expect(rs).toMatchObject({ weight: 3, inhibitOnFailure: true });
    expect(rs.checks[0]).toMatchObject({ kind: 'TCP_CHECK', retry: 4, delayBeforeRetryMs: 2000, connectTimeoutMs: 1000, delayLoopMs: 10000 });
    expect(rs.checks[1]).toMatchObject({ kind: 'MISC_CHECK', path: '/bin/check a b', dynamic: true, retry: 4, timeoutMs: 10000 });
  });

  it('an unknown keyword in a checker is a warning with its line, the rest still applies', () => {
    const cfg = parseKeepalivedConf('k.conf', mem(vsConf('  lb_algo rr').replace('TCP_CHECK {', 'TCP_CHECK {\n      frobnicate 3')));
    expect(cfg.warnings).toEqual([{ file: 'k.conf', line: 5, message: "unknown keyword 'frobnicate' in TCP_CHECK (ignored, as keepalived does)" }]);
    expect(cfg.virtualServers[0]!.lbAlgo).toBe('rr');
  });

  it('extra words after a keyword are named, not dropped silently', () => {
    const cfg = parseKeepalivedConf('k.conf', mem(vsConf('  delay_loop 6 7')));
    expect(cfg.warnings).toEqual([{ file: 'k.conf', line: 2, message: "'delay_loop': extra words ignored: 7" }]);
    expect(cfg.virtualServers[0]!.delayLoopMs).toBe(6000);
  });

  it('virtual_server group NAME needs its virtual_server_group', () => {
    expect(() => parseKeepalivedConf('k.conf', mem('virtual_server group G {\n}\n'))).toThrow(/k\.conf:1: .*no virtual_server_group named 'G'/);
  });
});
