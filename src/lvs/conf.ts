/**
 * keepalived.conf's LVS blocks → the model of model.ts: `virtual_server`,
 * `virtual_server_group`, `real_server`, and the checkers (TCP_CHECK,
 * HTTP_GET, SSL_GET, MISC_CHECK) as spec.ts's CheckSpec with keepalived
 * 2.2.7's defaults filled in (check_data.c / check_api.c):
 *   connect_timeout 5 s, delay_loop 60 s, retry 1 (MISC_CHECK 0),
 *   delay_before_retry 1 s (HTTP_GET/SSL_GET 3 s), warmup = delay_loop,
 *   misc_timeout = the virtual server's delay_loop; a checker's setting
 *   falls back to its real server's, then to its virtual server's.
 * Unknown keywords are warnings naming file, line and keyword, as keepalived
 * reports them; keywords belay reads but does not apply say so, one by one.
 */
import { familyOf } from '../vrrp/addr.js';
import { ConfigError, type Stmt } from '../vrrp/keepalived-conf.js';
import type { CheckSpec, HttpUrlSpec } from './check/spec.js';
import { LB_ALGOS, type LbAlgo, type LbKind, type RealServerConf, type SorryServerConf, type VirtualServerConf, type VirtualServerGroupConf, type VsgEntry, type VsMatch } from './model.js';

const S = 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5 * S;
const DEFAULT_DELAY_LOOP_MS = 60 * S;
/** IPVS_SVC_PERSISTENT_TIMEOUT: `persistence_timeout` written without a value. */
const DEFAULT_PERSISTENCE_S = 360;

type Warn = (s: { file: string; line: number }, message: string) => void;

/** Timing settings a checker inherits from its real server, then its virtual server (UINT_MAX in keepalived = unset). */
interface Inherit {
  connectTimeoutMs?: number;
  retry?: number;
  delayBeforeRetryMs?: number;
  delayLoopMs?: number;
  warmupMs?: number;
  alpha?: boolean;
  virtualhost?: string;
}

function word(st: Stmt, i = 0): string {
  const a = st.args[i];
  if (!a) throw new ConfigError(st.file, st.line, `'${st.keyword}' needs a value`);
  return a.text;
}

function uint(st: Stmt, min: number, max: number, i = 0): number {
  const t = word(st, i);
  if (!/^\d+$/.test(t)) throw new ConfigError(st.file, st.line, `'${st.keyword}' wants a whole number, got '${t}'`);
  const n = Number(t);
  if (n < min || n > max) throw new ConfigError(st.file, st.line, `'${st.keyword}' ${n} is out of range ${min}..${max}`);
  return n;
}

/** keepalived's read_timer: seconds, fractions allowed; returned in ms. */
function timer(st: Stmt, minS = 0): number {
  const t = word(st);
  if (!/^\d+(\.\d+)?$/.test(t)) throw new ConfigError(st.file, st.line, `'${st.keyword}' wants a time in seconds, got '${t}'`);
  const n = Number(t);
  if (n < minS) throw new ConfigError(st.file, st.line, `'${st.keyword}' ${t} is below ${minS}`);
  return Math.round(n * S);
}

/** `alpha` / `inhibit_on_failure` and the like: no word = true, else true/false/on/off/yes/no. */
function flag(st: Stmt): boolean {
  const t = st.args[0]?.text;
  if (t === undefined) return true;
  if (/^(true|on|yes)$/i.test(t)) return true;
  if (/^(false|off|no)$/i.test(t)) return false;
  throw new ConfigError(st.file, st.line, `'${st.keyword}' wants true or false, got '${t}'`);
}

function ipv(st: Stmt, i = 0): string {
  const t = word(st, i);
  if (familyOf(t) === null) throw new ConfigError(st.file, st.line, `'${st.keyword}': '${t}' is not an IP address`);
  return t;
}

function port(st: Stmt, i: number): number {
  const t = st.args[i]?.text;
  if (t === undefined) return 0;
  if (!/^\d+$/.test(t) || Number(t) > 65535) throw new ConfigError(st.file, st.line, `'${st.keyword}': '${t}' is not a port`);
  return Number(t);
}

/** A script line, possibly quoted; keepalived's trailing user/group words are not applied. */
function script(st: Stmt, warn: Warn): string {
  const first = st.args[0];
  if (!first) throw new ConfigError(st.file, st.line, `'${st.keyword}' needs a script`);
  if (first.quoted && st.args.length > 1) warn(st, `'${st.keyword}': user/group '${st.args.slice(1).map((a) => a.text).join(' ')}' not applied (scripts run as belay's user)`);
  return first.quoted ? first.text : st.args.map((a) => a.text).join(' ');
}

function block(st: Stmt): Stmt[] {
  if (st.block === null) throw new ConfigError(st.file, st.line, `'${st.keyword}' needs a { } block`);
  return st.block;
}

function unknown(s: Stmt, where: string, warn: Warn): void {
  warn(s, `unknown keyword '${s.keyword}' in ${where} (ignored, as keepalived does)`);
}

function notApplied(s: Stmt, why: string, warn: Warn): void {
  warn(s, `'${s.keyword}' is read but not applied by belay: ${why}`);
}

/** How many words each keyword takes; more are named in a warning, never dropped silently. */
const ARITY: Record<string, number> = {
  delay_loop: 1, lb_algo: 1, lvs_sched: 1, lb_kind: 1, lvs_method: 1, protocol: 1, persistence_timeout: 1, persistence_granularity: 1,
  quorum: 1, hysteresis: 1, inhibit_on_failure: 1, alpha: 1, omega: 0, ha_suspend: 0, sorry_server: 2, sorry_server_inhibit: 1,
  virtualhost: 1, weight: 1, retry: 1, nb_get_retry: 1, delay_before_retry: 1, warmup: 1, connect_timeout: 1, real_server: 2,
  connect_ip: 1, connect_port: 1, bindto: 1, bind_port: 1, enable_sni: 1, misc_timeout: 1, misc_dynamic: 0, user: 2,
  url: 0, path: 1, digest: 1, TCP_CHECK: 0, HTTP_GET: 0, SSL_GET: 0, MISC_CHECK: 0,
};

function arity(s: Stmt, warn: Warn): void {
  const n = ARITY[s.keyword];
  if (n !== undefined && s.args.length > n) warn(s, `'${s.keyword}': extra words ignored: ${s.args.slice(n).map((a) => a.text).join(' ')}`);
}

/** Checker kinds keepalived has and belay does not run. */
const UNRUN_CHECKERS = new Set(['SMTP_CHECK', 'UDP_CHECK', 'PING_CHECK', 'DNS_CHECK', 'BFD_CHECK', 'FILE_CHECK']);

export function parseVirtualServer(st: Stmt, warn: Warn): VirtualServerConf {
  let match: VsMatch;
  const a0 = word(st);
  if (a0 === 'fwmark') match = { kind: 'fwmark', fwmark: uint(st, 1, 0xffffffff, 1) };
  else if (a0 === 'group') match = { kind: 'group', name: word(st, 1) };
  else {
    const ip = ipv(st);
    match = { kind: 'addr', ip, port: port(st, 1) };
  }
  const where = `virtual_server ${st.args.map((a) => a.text).join(' ')}`;
  const vs: VirtualServerConf = {
    match,
    protocol: 'TCP',
    lbAlgo: 'wlc', // ipvsadm's default scheduler, as keepalived leaves it
    lbKind: 'NAT',
    delayLoopMs: DEFAULT_DELAY_LOOP_MS,
    alpha: false,
    omega: false,
    quorum: 1,
    hysteresis: 0,
    inhibitOnFailure: false,
    haSuspend: false,
    realServers: [],
    file: st.file,
    line: st.line,
  };
  const inherit: Inherit = {};
  let defaultWeight = 1;
  let connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
  const rsStmts: Stmt[] = [];
  for (const s of block(st)) {
    arity(s, warn);
    switch (s.keyword) {
      case 'delay_loop':
        vs.delayLoopMs = timer(s, 0.000001);
        break;
      case 'lb_algo':
      case 'lvs_sched': {
        const algo = word(s);
        if (!(LB_ALGOS as readonly string[]).includes(algo)) {
          throw new ConfigError(s.file, s.line, `${where}: ${s.keyword} '${algo}' is not an LVS scheduler (${LB_ALGOS.join(' ')})`);
        }
        vs.lbAlgo = algo as LbAlgo;
        break;
      }
      case 'lb_kind':
      case 'lvs_method': {
        const k = word(s).toUpperCase();
        if (k === 'TUN') throw new ConfigError(s.file, s.line, `${where}: ${s.keyword} TUN (IP-in-IP tunnelling) is not supported by belay; use NAT or DR`);
        if (k !== 'NAT' && k !== 'DR') throw new ConfigError(s.file, s.line, `${where}: ${s.keyword} '${word(s)}' is not NAT, DR or TUN`);
        vs.lbKind = k as LbKind;
        break;
      }
      case 'protocol': {
        const p = word(s).toUpperCase();
        if (p === 'SCTP') throw new ConfigError(s.file, s.line, `${where}: protocol SCTP is not supported by belay; use TCP or UDP`);
        if (p !== 'TCP' && p !== 'UDP') throw new ConfigError(s.file, s.line, `${where}: protocol '${word(s)}' is not TCP or UDP`);
        vs.protocol = p;
        break;
      }
      case 'persistence_timeout':
        vs.persistenceTimeoutS = s.args.length ? uint(s, 1, 0x7fffffff) : DEFAULT_PERSISTENCE_S;
        break;
      case 'persistence_granularity':
        vs.persistenceGranularity = word(s);
        notApplied(s, 'persistence is kept per client address (/32)', warn);
        break;
      case 'quorum':
        vs.quorum = uint(s, 1, 0xffffffff);
        break;
      case 'hysteresis':
        vs.hysteresis = uint(s, 0, 0xffffffff);
        break;
      case 'quorum_up':
        vs.quorumUp = script(s, warn);
        break;
      case 'quorum_down':
        vs.quorumDown = script(s, warn);
        break;
      case 'inhibit_on_failure':
        vs.inhibitOnFailure = flag(s);
        break;
      case 'alpha':
        vs.alpha = true;
        break;
      case 'omega':
        vs.omega = true;
        break;
      case 'ha_suspend':
        vs.haSuspend = true;
        break;
      case 'sorry_server':
        vs.sorryServer = { ip: ipv(s), port: port(s, 1), inhibit: vs.sorryServer?.inhibit ?? false };
        break;
      case 'sorry_server_inhibit':
        if (vs.sorryServer) vs.sorryServer.inhibit = flag(s);
        else warn(s, `sorry_server_inhibit before sorry_server: ignored`);
        break;
      case 'virtualhost':
        vs.virtualhost = word(s);
        inherit.virtualhost = vs.virtualhost;
        break;
      case 'weight':
        defaultWeight = uint(s, 0, 65535);
        break;
      case 'retry':
        inherit.retry = uint(s, 1, 0xffffffff);
        break;
      case 'delay_before_retry':
        inherit.delayBeforeRetryMs = timer(s);
        break;
      case 'warmup':
        inherit.warmupMs = timer(s);
        break;
      case 'connect_timeout':
        connectTimeoutMs = timer(s, 0.000001);
        break;
      case 'real_server':
        rsStmts.push(s);
        break;
      case 'ip_family':
      case 'smtp_alert':
      case 'snmp_name':
        warn(s, `'${s.keyword}' accepted and ignored`);
        break;
      case 'hashed':
      case 'ops':
      case 'flag-1':
      case 'flag-2':
      case 'flag-3':
      case 'sh-port':
      case 'sh-fallback':
      case 'mh-port':
      case 'mh-fallback':
        notApplied(s, 'an IPVS scheduler flag; the ipvsadm backend writes it, the nftables backend has no equivalent', warn);
        break;
      case 'persistence_engine':
        notApplied(s, 'IPVS persistence engines (sip) have no nftables equivalent', warn);
        break;
      case 'sorry_server_lvs_method':
        notApplied(s, 'the sorry server uses the virtual server lb_kind', warn);
        break;
      default:
        unknown(s, where, warn);
    }
  }
  if (vs.persistenceGranularity === undefined) delete vs.persistenceGranularity;
  // Real servers last: their defaults come from the whole virtual_server block, wherever written.
  const vsInherit: Required<Pick<Inherit, 'connectTimeoutMs' | 'delayLoopMs' | 'alpha'>> & Inherit = { ...inherit, connectTimeoutMs, delayLoopMs: vs.delayLoopMs, alpha: vs.alpha };
  for (const s of rsStmts) vs.realServers.push(parseRealServer(s, vs, vsInherit, defaultWeight, warn));
  if (vs.realServers.length === 0 && !vs.sorryServer) warn(st, `${where} has no real_server`);
  return vs;
}

function parseRealServer(st: Stmt, vs: VirtualServerConf, up: Inherit & { connectTimeoutMs: number; delayLoopMs: number; alpha: boolean }, defaultWeight: number, warn: Warn): RealServerConf {
  const rs: RealServerConf = { ip: ipv(st), port: port(st, 1), weight: defaultWeight, inhibitOnFailure: vs.inhibitOnFailure, checks: [], file: st.file, line: st.line };
  if (vs.match.kind === 'addr' && rs.port === 0) rs.port = vs.match.port;
  const where = `real_server ${rs.ip} ${rs.port}`;
  const mine: Inherit = {};
  const checkStmts: Stmt[] = [];
  for (const s of st.block ?? []) {
    arity(s, warn);
    switch (s.keyword) {
      case 'weight':
        rs.weight = uint(s, 0, 65535);
        break;
      case 'inhibit_on_failure':
        rs.inhibitOnFailure = flag(s);
        break;
      case 'notify_up':
        rs.notifyUp = script(s, warn);
        break;
      case 'notify_down':
        rs.notifyDown = script(s, warn);
        break;
      case 'alpha':
        mine.alpha = flag(s);
        break;
      case 'retry':
        mine.retry = uint(s, 1, 0xffffffff);
        break;
      case 'delay_before_retry':
        mine.delayBeforeRetryMs = timer(s);
        break;
      case 'warmup':
        mine.warmupMs = timer(s);
        break;
      case 'connect_timeout':
        mine.connectTimeoutMs = timer(s, 0.000001);
        break;
      case 'delay_loop':
        mine.delayLoopMs = timer(s, 0.000001);
        break;
      case 'virtualhost':
        mine.virtualhost = word(s);
        break;
      case 'TCP_CHECK':
      case 'HTTP_GET':
      case 'SSL_GET':
      case 'MISC_CHECK':
        checkStmts.push(s);
        break;
      case 'lvs_method':
        notApplied(s, 'every real server uses the virtual server lb_kind', warn);
        break;
      case 'uthreshold':
      case 'lthreshold':
        notApplied(s, 'connection thresholds are an IPVS feature the nftables backend lacks', warn);
        break;
      case 'smtp_alert':
      case 'snmp_name':
        warn(s, `'${s.keyword}' accepted and ignored`);
        break;
      default:
        if (UNRUN_CHECKERS.has(s.keyword)) warn(s, `${s.keyword} is not run by belay (TCP_CHECK, HTTP_GET, SSL_GET and MISC_CHECK are); this checker is ignored`);
        else unknown(s, where, warn);
    }
  }
  const inh: Inherit & { connectTimeoutMs: number; delayLoopMs: number; alpha: boolean } = {
    connectTimeoutMs: mine.connectTimeoutMs ?? up.connectTimeoutMs,
    delayLoopMs: mine.delayLoopMs ?? up.delayLoopMs,
    alpha: mine.alpha ?? up.alpha,
    ...pick('retry', mine.retry ?? up.retry),
    ...pick('delayBeforeRetryMs', mine.delayBeforeRetryMs ?? up.delayBeforeRetryMs),
    ...pick('warmupMs', mine.warmupMs ?? up.warmupMs),
    ...pick('virtualhost', mine.virtualhost ?? up.virtualhost),
  };
  for (const s of checkStmts) rs.checks.push(parseChecker(s, vs, inh, warn));
  return rs;
}

function pick<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

function parseChecker(st: Stmt, vs: VirtualServerConf, inh: Inherit & { connectTimeoutMs: number; delayLoopMs: number; alpha: boolean }, warn: Warn): CheckSpec {
  const kind = st.keyword as 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'MISC_CHECK';
  const http = kind === 'HTTP_GET' || kind === 'SSL_GET';
  const misc = kind === 'MISC_CHECK';
  const c: Inherit & { connectIp?: string; connectPort?: number; bindTo?: string; bindPort?: number } = {};
  const urls: HttpUrlSpec[] = [];
  let enableSni = false;
  let miscPath: string | undefined;
  let miscTimeoutMs: number | undefined;
  let dynamic = false;
  let user: string | undefined;
  let group: string | undefined;
  for (const s of st.block ?? []) {
    arity(s, warn);
    // Keywords of every checker (install_checker_common_keywords without the connection ones).
    switch (s.keyword) {
      case 'retry':
        c.retry = uint(s, 0, 0xffffffff);
        continue;
      case 'nb_get_retry':
        // keepalived 2.2.7 knows it only in HTTP_GET/SSL_GET; elsewhere it
        // is an unknown keyword and the checker keeps its default retry.
        // Doing the same keeps a migrated configuration's timing.
        if (http) {
          c.retry = uint(s, 0, 0xffffffff);
          warn(s, `nb_get_retry is deprecated - please use 'retry' (applied as retry)`);
        } else warn(s, `Unknown keyword 'nb_get_retry' in ${kind} (ignored, as keepalived 2.2.7 does: the retry stays ${c.retry}; write 'retry' to set it)`);
        continue;
      case 'delay_before_retry':
        c.delayBeforeRetryMs = timer(s);
        continue;
      case 'warmup':
        c.warmupMs = timer(s);
        continue;
      case 'delay_loop':
        c.delayLoopMs = timer(s, 0.000001);
        continue;
      case 'alpha':
        c.alpha = flag(s);
        continue;
      case 'log_all_failures':
        warn(s, `'log_all_failures' accepted and ignored`);
        continue;
    }
    if (!misc) {
      switch (s.keyword) {
        case 'connect_ip':
          c.connectIp = ipv(s);
          continue;
        case 'connect_port':
          c.connectPort = port(s, 0);
          continue;
        case 'bindto':
          c.bindTo = ipv(s);
          continue;
        case 'bind_port':
          c.bindPort = port(s, 0);
          continue;
        case 'connect_timeout':
          c.connectTimeoutMs = timer(s, 0.000001);
          continue;
        case 'bind_if':
        case 'fwmark':
          notApplied(s, 'checks connect from the default route', warn);
          continue;
      }
    }
    if (http) {
      switch (s.keyword) {
        case 'url':
          urls.push(parseUrl(s, warn));
          continue;
        case 'virtualhost':
          c.virtualhost = word(s);
          continue;
        case 'enable_sni':
          enableSni = flag(s);
          continue;
        case 'http_protocol':
        case 'fast_recovery':
          notApplied(s, 'not part of the checker contract', warn);
          continue;
      }
    }
    if (misc) {
      switch (s.keyword) {
        case 'misc_path':
          miscPath = script(s, warn);
          continue;
        case 'misc_timeout':
          miscTimeoutMs = uint(s, 0, 0xffffffff) * S;
          continue;
        case 'misc_dynamic':
          dynamic = true;
          continue;
        case 'user':
          user = word(s);
          group = s.args[1]?.text;
          continue;
      }
    }
    unknown(s, kind, warn);
  }
  const delayLoopMs = c.delayLoopMs ?? inh.delayLoopMs;
  const retry = c.retry ?? inh.retry ?? (misc ? 0 : 1);
  const delayBeforeRetryMs = c.delayBeforeRetryMs ?? inh.delayBeforeRetryMs ?? (http ? 3 * S : 1 * S);
  const warmupMs = c.warmupMs ?? inh.warmupMs ?? delayLoopMs;
  const alpha = c.alpha ?? inh.alpha;
  if (misc) {
    if (!miscPath) throw new ConfigError(st.file, st.line, `MISC_CHECK has no misc_path`);
    return {
      kind: 'MISC_CHECK',
      file: st.file,
      line: st.line,
      path: miscPath,
      // keepalived: misc_timeout 0 / unset = the virtual server's delay_loop.
      timeoutMs: miscTimeoutMs || vs.delayLoopMs,
      dynamic,
      ...pick('user', user),
      ...pick('group', group),
      retry,
      delayBeforeRetryMs,
      delayLoopMs,
      warmupMs,
      alpha,
    };
  }
  const common = {
    file: st.file,
    line: st.line,
    ...pick('connectIp', c.connectIp),
    ...pick('connectPort', c.connectPort),
    ...pick('bindTo', c.bindTo),
    ...pick('bindPort', c.bindPort),
    connectTimeoutMs: c.connectTimeoutMs ?? inh.connectTimeoutMs,
    retry,
    delayBeforeRetryMs,
    delayLoopMs,
    warmupMs,
    alpha,
  };
  if (!http) return { kind: 'TCP_CHECK', ...common };
  if (urls.length === 0) throw new ConfigError(st.file, st.line, `${kind} has no url block`);
  return { kind: kind as 'HTTP_GET' | 'SSL_GET', ...common, urls, ...pick('virtualhost', c.virtualhost ?? inh.virtualhost), enableSni };
}

function parseUrl(st: Stmt, warn: Warn): HttpUrlSpec {
  let path: string | undefined;
  const codes: number[] = [];
  const u: Partial<HttpUrlSpec> = {};
  for (const s of block(st)) {
    arity(s, warn);
    switch (s.keyword) {
      case 'path':
        path = word(s);
        break;
      case 'digest': {
        const d = word(s).toLowerCase();
        if (!/^[0-9a-f]{32}$/.test(d)) throw new ConfigError(s.file, s.line, `digest '${word(s)}' is not an MD5 hex string`);
        u.digest = d;
        break;
      }
      case 'status_code':
        for (const a of s.args) {
          const m = /^(\d{3})(?:-(\d{3}))?$/.exec(a.text);
          if (!m) throw new ConfigError(s.file, s.line, `status_code '${a.text}' is not a code or a range like 200-299`);
          const lo = Number(m[1]);
          const hi = Number(m[2] ?? m[1]);
          for (let n = lo; n <= hi; n++) codes.push(n);
        }
        break;
      case 'virtualhost':
        u.virtualhost = word(s);
        break;
      case 'regex':
      case 'regex_no_match':
      case 'regex_options':
      case 'regex_min_offset':
      case 'regex_max_offset':
      case 'regex_stack':
        notApplied(s, 'body regular expressions are not part of the checker contract', warn);
        break;
      default:
        unknown(s, 'url', warn);
    }
  }
  if (path === undefined) throw new ConfigError(st.file, st.line, `url block has no path`);
  return { path, statusCodes: codes, ...u };
}

/** `virtual_server_group NAME { IP PORT | IP-LAST PORT | fwmark N }`. */
export function parseVirtualServerGroup(st: Stmt, warn: Warn): VirtualServerGroupConf {
  const g: VirtualServerGroupConf = { name: word(st), entries: [], file: st.file, line: st.line };
  for (const s of block(st)) {
    if (s.keyword === 'fwmark') {
      g.entries.push({ kind: 'fwmark', fwmark: uint(s, 1, 0xffffffff) });
      continue;
    }
    const range = /^(.*?)-([0-9a-f]+)$/i.exec(s.keyword);
    const base = range ? range[1]! : s.keyword;
    const fam = familyOf(base);
    if (fam === null) {
      unknown(s, `virtual_server_group ${g.name}`, warn);
      continue;
    }
    const p = port({ ...s, keyword: `virtual_server_group ${g.name} entry` }, 0);
    const entries: VsgEntry[] = [];
    if (range && fam === 4) {
      const parts = base.split('.').map(Number);
      const last = Number(range[2]);
      if (last < parts[3]! || last > 255) throw new ConfigError(s.file, s.line, `address range '${s.keyword}' is not increasing within 0..255`);
      for (let n = parts[3]!; n <= last; n++) entries.push({ kind: 'addr', ip: `${parts[0]}.${parts[1]}.${parts[2]}.${n}`, port: p });
    } else if (range) {
      const head = base.slice(0, base.lastIndexOf(':') + 1);
      const from = parseInt(base.slice(base.lastIndexOf(':') + 1) || '0', 16);
      const to = parseInt(range[2]!, 16);
      for (let n = from; n <= to; n++) entries.push({ kind: 'addr', ip: `${head}${n.toString(16)}`, port: p });
    } else entries.push({ kind: 'addr', ip: base, port: p });
    g.entries.push(...entries);
  }
  if (g.entries.length === 0) warn(st, `virtual_server_group ${g.name} has no entries`);
  return g;
}

/** Checks across blocks: a `virtual_server group NAME` names a defined group. */
export function validateLvs(vss: VirtualServerConf[], groups: VirtualServerGroupConf[]): void {
  for (const vs of vss) {
    if (vs.match.kind === 'group' && !groups.some((g) => g.name === (vs.match as { name: string }).name)) {
      throw new ConfigError(vs.file, vs.line, `virtual_server group ${vs.match.name}: no virtual_server_group named '${vs.match.name}'`);
    }
  }
}
