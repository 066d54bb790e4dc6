/**
 * keepalived.conf parser: the grammar of keepalived(8)'s configuration file
 * as users write it (the seeds' Nginx/LVS/HAProxy tutorials): keywords and
 * `{ }` blocks, `!` and `#` comments, quoted strings, `include` with globs.
 *
 * Parsing is pure over a `ConfigSource` (read a file, expand a glob), so
 * tests run on strings; `fsConfigSource` in conf-fs.ts reads the disk.
 * Errors carry file and line; unknown keywords become warnings with their
 * line; LVS `virtual_server` blocks are parsed by src/lvs/conf.ts.
 */
import { familyOf, type Family } from './addr.js';
import { VRRP_MCAST_GROUP4, VRRP_MCAST_GROUP6, type VrrpVersion } from './packet.js';
import type { InstanceSpec, RouterSpec, ScriptSpec, SyncGroupSpec, VipSpec } from './types.js';
import { parseVirtualServer, parseVirtualServerGroup, validateLvs } from '../lvs/conf.js';
import type { VirtualServerConf, VirtualServerGroupConf } from '../lvs/model.js';

export interface ConfigSource {
  /** File text, or throws. */
  read(path: string): string;
  /** Paths matching a glob pattern (absolute), sorted. */
  glob(pattern: string): string[];
  dirname(path: string): string;
  resolve(dir: string, path: string): string;
}

export interface Diagnostic {
  file: string;
  line: number;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = 'ConfigError';
  }
}

interface Token {
  text: string;
  quoted: boolean;
  file: string;
  line: number;
}

/** One statement: a keyword, its words, and its block if it has one. */
export interface Stmt {
  keyword: string;
  args: Token[];
  block: Stmt[] | null;
  file: string;
  line: number;
}

// ------------------------------------------------------------------ lexing

function lexLine(text: string, file: string, line: number, warnings: Diagnostic[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '!' || c === '#') break;
    if (c === '/' && text[i + 1] === '/') {
      // Not keepalived syntax, but blog posts annotate lines this way (seed 002).
      warnings.push({ file, line, message: `'//' is not a keepalived comment; the rest of the line is ignored` });
      break;
    }
    if (c === '{' || c === '}') {
      out.push({ text: c, quoted: false, file, line });
      i++;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new ConfigError(file, line, 'unterminated quoted string');
      out.push({ text: text.slice(i + 1, end), quoted: true, file, line });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/[\s{}"]/.test(text[j]!) && text[j] !== '!' && text[j] !== '#') j++;
    out.push({ text: text.slice(i, j), quoted: false, file, line });
    i = j;
  }
  return out;
}

/** What the preprocessor needs: keepalived's `-i ID` and the `$NAME=value` definitions seen so far. */
interface PreState {
  configIds: string[];
  defs: Map<string, string>;
}

/**
 * keepalived's line preprocessing: `@ID line` is kept only when ID is the
 * config id (`-i`, default the host name), `@^ID line` only when it is not;
 * `$NAME=value` defines a parameter (a trailing `\` continues it) and
 * `$NAME` / `${NAME}` is replaced by its value in later lines. Names never
 * defined are left as written (shell `$1` in a script line stays).
 */
function preprocess(lines: string[], n: number, pre: PreState): { text: string | null; consumed: number } {
  let text = lines[n]!;
  const trimmed = text.trimStart();
  const cond = /^@(\^?)(\S+)\s*(.*)$/.exec(trimmed);
  if (cond) {
    const match = pre.configIds.includes(cond[2]!);
    if (cond[1] === '^' ? match : !match) return { text: null, consumed: 1 };
    text = cond[3]!;
  }
  const def = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(text);
  if (def) {
    let value = def[2]!;
    let consumed = 1;
    while (value.endsWith('\\') && n + consumed < lines.length) {
      value = `${value.slice(0, -1)}\n${lines[n + consumed]!}`;
      consumed++;
    }
    pre.defs.set(def[1]!, substitute(value.trim(), pre.defs));
    return { text: null, consumed };
  }
  return { text: substitute(text, pre.defs), consumed: 1 };
}

function substitute(text: string, defs: Map<string, string>): string {
  if (!text.includes('$') || defs.size === 0) return text;
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a: string | undefined, b: string | undefined) => defs.get((a ?? b)!) ?? all);
}

function tokenize(path: string, src: ConfigSource, warnings: Diagnostic[], depth: number, seen: string[], pre: PreState): Token[] {
  if (depth > 8) throw new ConfigError(path, 0, `include nesting too deep (${seen.join(' -> ')})`);
  let text: string;
  try {
    text = src.read(path);
  } catch (err) {
    throw new ConfigError(path, 0, `cannot read: ${(err as Error).message}`);
  }
  const out: Token[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; ) {
    const lineNo = n + 1;
    const { text: line, consumed } = preprocess(lines, n, pre);
    n += consumed;
    if (line === null) continue;
    // A parameter's value may hold several lines: each keeps a line of its own.
    const toks = line.split('\n').flatMap((part, k) => lexLine(part, path, lineNo + k, warnings));
    if (toks[0]?.text === 'include' && !toks[0].quoted) {
      const pattern = toks[1];
      if (!pattern) throw new ConfigError(path, lineNo, 'include needs a file name or pattern');
      const abs = src.resolve(src.dirname(path), pattern.text);
      const files = /[*?[]/.test(abs) ? src.glob(abs) : [abs];
      if (files.length === 0) warnings.push({ file: path, line: lineNo, message: `include ${pattern.text}: no file matches` });
      for (const f of files) {
        if (seen.includes(f)) throw new ConfigError(path, lineNo, `include loop: ${f}`);
        out.push(...tokenize(f, src, warnings, depth + 1, [...seen, f], pre));
      }
      continue;
    }
    out.push(...toks);
  }
  return out;
}

/** Build statements: a keyword takes the words on its line; a `{` opens its block. */
function buildStatements(tokens: Token[], warnings: Diagnostic[]): Stmt[] {
  let pos = 0;
  const parseBlock = (opener: Token | null): Stmt[] => {
    const stmts: Stmt[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (t.text === '}' && !t.quoted) {
        pos++;
        if (opener === null) throw new ConfigError(t.file, t.line, "unexpected '}' with no open block");
        return stmts;
      }
      if (t.text === '{' && !t.quoted) {
        // A bare block (e.g. "virtual_ipaddress\n{"): attach it to the previous statement.
        pos++;
        const prev = stmts[stmts.length - 1];
        const inner = parseBlock(t);
        if (prev && prev.block === null) prev.block = inner;
        else warnings.push({ file: t.file, line: t.line, message: "block '{' without a keyword ignored" });
        continue;
      }
      pos++;
      const stmt: Stmt = { keyword: t.text, args: [], block: null, file: t.file, line: t.line };
      while (pos < tokens.length) {
        const a = tokens[pos]!;
        if (a.file !== t.file || a.line !== t.line) break;
        if (!a.quoted && a.text === '}') break;
        if (!a.quoted && a.text === '{') {
          pos++;
          stmt.block = parseBlock(a);
          break;
        }
        stmt.args.push(a);
        pos++;
      }
      stmts.push(stmt);
    }
    if (opener !== null) {
      // keepalived reads to the end of the file; blog configs often miss a brace.
      warnings.push({ file: opener.file, line: opener.line, message: "block opened here is not closed before the end of the file; closing it there" });
    }
    return stmts;
  };
  return parseBlock(null);
}

export interface ParseOptions {
  /** keepalived `-i, --config-id`: which `@ID` lines apply (default: the host name, short and full). */
  configIds?: string[];
}

export function parseStatements(path: string, src: ConfigSource, warnings: Diagnostic[], opts: ParseOptions = {}): Stmt[] {
  return buildStatements(tokenize(path, src, warnings, 0, [path], { configIds: opts.configIds ?? [], defs: new Map() }), warnings);
}

// ------------------------------------------------------------ the model

export interface GlobalDefs {
  routerId?: string;
  notificationEmail: string[];
  notificationEmailFrom?: string;
  smtpServer?: string;
  smtpConnectTimeout?: number;
  vrrpVersion?: VrrpVersion;
  vrrpMcastGroup4?: string;
  vrrpMcastGroup6?: string;
  vrrpStrict: boolean;
  scriptUser?: string;
  scriptGroup?: string;
  enableScriptSecurity: boolean;
  garpMasterDelay?: number;
  garpMasterRepeat?: number;
  garpMasterRefresh?: number;
  garpMasterRefreshRepeat?: number;
  garpLowerPrioDelay?: number;
  garpLowerPrioRepeat?: number;
  garpInterval?: number;
  /** notify_fifo PATH (and notify_fifo_script): state lines written to a FIFO. */
  notifyFifo?: { path: string; script?: string };
}

export interface VrrpScriptConf {
  name: string;
  /** The `script` string as written. */
  script: string;
  intervalS: number;
  timeoutS?: number;
  weight: number;
  fall: number;
  rise: number;
  initFail: boolean;
  file: string;
  line: number;
}

export interface VipConf {
  address: string;
  prefix: number;
  family: Family;
  dev?: string;
  label?: string;
  /** `preferred_lft`: seconds or "forever" (0: deprecated, never picked as a source address). */
  preferredLft?: string;
}

export interface InstanceConf {
  name: string;
  state: 'MASTER' | 'BACKUP';
  interface?: string;
  virtualRouterId?: number;
  priority: number;
  advertInt: number;
  preempt: boolean;
  preemptDelay: number;
  authType?: 'PASS' | 'AH';
  authPass?: string;
  vips: VipConf[];
  excludedVips: VipConf[];
  unicastSrcIp?: string;
  unicastPeers: string[];
  /** unicast_peer entries' `min_ttl` / `max_ttl`, by peer address. */
  unicastPeerTtl: Record<string, { min: number; max: number }>;
  mcastSrcIp?: string;
  trackScripts: { name: string; weight?: number }[];
  trackInterfaces: { name: string; weight: number }[];
  trackFiles: { name: string; weight?: number; reverse: boolean }[];
  trackProcesses: { name: string; weight?: number; reverse?: boolean }[];
  notifyMaster?: string[];
  notifyBackup?: string[];
  notifyFault?: string[];
  notifyStop?: string[];
  notify?: string[];
  garpMasterDelay?: number;
  garpMasterRepeat?: number;
  garpMasterRefresh?: number;
  version?: VrrpVersion;
  strict: boolean;
  v3ChecksumAsV2?: boolean;
  oldUnicastChecksum?: 'send' | 'never';
  unicastTtl?: number;
  garpMasterRefreshRepeat?: number;
  garpLowerPrioDelay?: number;
  garpLowerPrioRepeat?: number;
  /** use_vmac [NAME] [MAC]: default vrrp.VRID and 00:00:5e:00:01:VRID (02 for IPv6). */
  useVmac?: { name?: string; mac?: string };
  vmacXmitBase?: boolean;
  file: string;
  line: number;
}

export interface SyncGroupConf {
  name: string;
  members: string[];
  notifyMaster?: string[];
  notifyBackup?: string[];
  notifyFault?: string[];
  notifyStop?: string[];
  notify?: string[];
  file: string;
  line: number;
}

export interface TrackFileConf {
  name: string;
  file: string;
  weight: number;
  reverse: boolean;
  /** init_file [VALUE] [overwrite]: create the file with VALUE (default 0). */
  initFile?: { value: number; overwrite: boolean };
  line: number;
  source: string;
}

export interface TrackProcessConf {
  name: string;
  process: string;
  /** Parameters after the process name: the command line must match them too. */
  params?: string[];
  paramMatch?: 'exact' | 'initial' | 'partial';
  fullCommand?: boolean;
  weight: number;
  reverse?: boolean;
  quorum: number;
  quorumMax?: number;
  /** Seconds. */
  forkDelay?: number;
  terminateDelay?: number;
  line: number;
  source: string;
}

export interface KeepalivedConfig {
  file: string;
  globalDefs: GlobalDefs;
  scripts: VrrpScriptConf[];
  trackFiles: TrackFileConf[];
  trackProcesses: TrackProcessConf[];
  instances: InstanceConf[];
  syncGroups: SyncGroupConf[];
  /** LVS: `virtual_server` and `virtual_server_group` blocks (src/lvs). */
  virtualServers: VirtualServerConf[];
  virtualServerGroups: VirtualServerGroupConf[];
  warnings: Diagnostic[];
}

/** Split a script/notify string into argv, honouring quotes and backslashes. */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === q) q = null;
      else if (c === '\\' && q === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Shell syntax in a script line (e.g. `</dev/tcp/127.0.0.1/80`): run it with /bin/sh -c. */
export function needsShell(text: string): boolean {
  return /[<>|;&$`*?()]/.test(text);
}

export function parseKeepalivedConf(path: string, src: ConfigSource, opts: ParseOptions = {}): KeepalivedConfig {
  const warnings: Diagnostic[] = [];
  const stmts = parseStatements(path, src, warnings, opts);
  const cfg: KeepalivedConfig = {
    file: path,
    globalDefs: { notificationEmail: [], vrrpStrict: false, enableScriptSecurity: false },
    scripts: [],
    trackFiles: [],
    trackProcesses: [],
    instances: [],
    syncGroups: [],
    virtualServers: [],
    virtualServerGroups: [],
    warnings,
  };
  const warn = (s: { file: string; line: number }, message: string) => warnings.push({ file: s.file, line: s.line, message });
  for (const st of stmts) {
    switch (st.keyword) {
      case 'global_defs':
        parseGlobalDefs(st, cfg.globalDefs, warn);
        break;
      case 'vrrp_script':
        cfg.scripts.push(parseScript(st, warn));
        break;
      case 'vrrp_instance':
        cfg.instances.push(parseInstance(st, warn, cfg));
        break;
      case 'vrrp_sync_group':
        cfg.syncGroups.push(parseSyncGroup(st, warn));
        break;
      case 'track_file':
      case 'vrrp_track_file':
        cfg.trackFiles.push(parseTrackFile(st, warn));
        break;
      case 'track_process':
      case 'vrrp_track_process':
        cfg.trackProcesses.push(parseTrackProcess(st, warn));
        break;
      case 'virtual_server':
        cfg.virtualServers.push(parseVirtualServer(st, warn));
        break;
      case 'virtual_server_group':
        cfg.virtualServerGroups.push(parseVirtualServerGroup(st, warn));
        break;
      case 'static_ipaddress':
      case 'static_routes':
      case 'static_rules':
      case 'linkbeat_interfaces':
        warn(st, `${st.keyword} is not supported yet; block ignored`);
        break;
      default:
        warn(st, `unknown keyword '${st.keyword}'`);
    }
  }
  validate(cfg);
  validateLvs(cfg.virtualServers, cfg.virtualServerGroups);
  return cfg;
}

type Warn = (s: { file: string; line: number }, message: string) => void;

function arg(st: Stmt, i = 0): string {
  const a = st.args[i];
  if (!a) throw new ConfigError(st.file, st.line, `'${st.keyword}' needs a value`);
  return a.text;
}

function intArg(st: Stmt, min: number, max: number, i = 0): number {
  const t = arg(st, i);
  if (!/^-?\d+$/.test(t)) throw new ConfigError(st.file, st.line, `'${st.keyword}' wants an integer, got '${t}'`);
  const n = Number(t);
  if (n < min || n > max) throw new ConfigError(st.file, st.line, `'${st.keyword}' ${n} is out of range ${min}..${max}`);
  return n;
}

function numArg(st: Stmt, min: number, max: number, i = 0): number {
  const t = arg(st, i);
  if (!/^\d+(\.\d+)?$/.test(t)) throw new ConfigError(st.file, st.line, `'${st.keyword}' wants a number, got '${t}'`);
  const n = Number(t);
  if (n < min || n > max) throw new ConfigError(st.file, st.line, `'${st.keyword}' ${n} is out of range ${min}..${max}`);
  return n;
}

function extraArgs(st: Stmt, used: number, warn: Warn): void {
  if (st.args.length > used) warn(st, `'${st.keyword}': extra words ignored: ${st.args.slice(used).map((a) => a.text).join(' ')}`);
}

function blockOf(st: Stmt): Stmt[] {
  if (st.block === null) throw new ConfigError(st.file, st.line, `'${st.keyword}' needs a { } block`);
  return st.block;
}

/** Words of a list block, one entry per line ("{ a b }" on one line gives one entry per word). */
function listEntries(st: Stmt): Stmt[] {
  const block = blockOf(st);
  const out: Stmt[] = [];
  for (const s of block) {
    if (s.block !== null) {
      out.push(s);
      continue;
    }
    out.push(s);
  }
  return out;
}

function commandArg(st: Stmt, warn: Warn): string[] {
  const first = st.args[0];
  if (!first) throw new ConfigError(st.file, st.line, `'${st.keyword}' needs a script`);
  if (first.quoted) {
    if (st.args.length > 1) warn(st, `'${st.keyword}': user/group '${st.args.slice(1).map((a) => a.text).join(' ')}' ignored (scripts run as the global script_user)`);
    return [first.text];
  }
  if (st.args.length > 1) {
    warn(st, `'${st.keyword}': words after the script path are keepalived's user/group, ignored; quote the whole command to pass arguments`);
  }
  return [first.text];
}

function parseGlobalDefs(st: Stmt, g: GlobalDefs, warn: Warn): void {
  for (const s of blockOf(st)) {
    switch (s.keyword) {
      case 'router_id':
        g.routerId = arg(s);
        break;
      case 'notification_email':
        for (const e of blockOf(s)) g.notificationEmail.push(e.keyword, ...e.args.map((a) => a.text));
        break;
      case 'notification_email_from':
        g.notificationEmailFrom = arg(s);
        break;
      case 'smtp_server':
        g.smtpServer = arg(s);
        break;
      case 'smtp_connect_timeout':
        g.smtpConnectTimeout = intArg(s, 1, 3600);
        break;
      case 'vrrp_version':
        g.vrrpVersion = intArg(s, 2, 3) as VrrpVersion;
        break;
      case 'vrrp_mcast_group4':
        g.vrrpMcastGroup4 = arg(s);
        break;
      case 'vrrp_mcast_group6':
        g.vrrpMcastGroup6 = arg(s);
        break;
      case 'vrrp_strict':
        g.vrrpStrict = true;
        break;
      case 'script_user':
        g.scriptUser = arg(s);
        if (s.args[1]) g.scriptGroup = s.args[1].text;
        break;
      case 'enable_script_security':
        g.enableScriptSecurity = true;
        break;
      case 'vrrp_garp_master_delay':
        g.garpMasterDelay = intArg(s, 0, 1000);
        break;
      case 'vrrp_garp_master_repeat':
        g.garpMasterRepeat = intArg(s, 1, 100);
        break;
      case 'vrrp_garp_master_refresh':
        g.garpMasterRefresh = intArg(s, 0, 100000);
        break;
      case 'notify_fifo':
      case 'vrrp_notify_fifo':
        g.notifyFifo = { path: arg(s), ...(g.notifyFifo?.script ? { script: g.notifyFifo.script } : {}) };
        break;
      case 'notify_fifo_script':
      case 'vrrp_notify_fifo_script':
        if (!g.notifyFifo) throw new ConfigError(s.file, s.line, `${s.keyword} needs notify_fifo before it`);
        g.notifyFifo.script = arg(s);
        break;
      case 'vrrp_garp_master_refresh_repeat':
        g.garpMasterRefreshRepeat = intArg(s, 1, 100);
        break;
      case 'vrrp_garp_lower_prio_delay':
        g.garpLowerPrioDelay = intArg(s, 0, 1000);
        break;
      case 'vrrp_garp_lower_prio_repeat':
        g.garpLowerPrioRepeat = intArg(s, 0, 100);
        break;
      case 'vrrp_garp_interval':
      case 'vrrp_gna_interval':
        // seconds, microsecond resolution; one spacing for both (belay sends ARP and NA alike)
        g.garpInterval = numArg(s, 0, 1);
        break;
      case 'vrrp_check_unicast_src':
        // belay always drops unicast adverts from addresses that are not a unicast_peer.
        break;
      case 'vrrp_skip_check_adv_addr':
      case 'max_auto_priority':
      case 'lvs_id':
      case 'enable_traps':
      case 'script_security':
      case 'vrrp_iptables':
      case 'vrrp_no_swap':
      case 'checker_no_swap':
        warn(s, `global_defs ${s.keyword} accepted and ignored`);
        break;
      case 'lvs_sync_daemon':
        warn(s, 'lvs_sync_daemon is not applied: belay has no connection sync between directors (on a director failover, NAT connections through the failed one start again; for netfilter that is conntrackd\'s job)');
        break;
      case 'lvs_timeouts':
        warn(s, 'lvs_timeouts is not applied: the nftables data plane keeps connections by conntrack\'s timeouts (net.netfilter.nf_conntrack_tcp_timeout_established, ..._fin_wait, nf_conntrack_udp_timeout)');
        break;
      case 'lvs_flush':
      case 'lvs_flush_on_stop':
        warn(s, `${s.keyword}: belay always replaces its whole table at start and removes it on stop (its own tables only); nothing else to flush`);
        break;
      default:
        warn(s, `unknown keyword '${s.keyword}' in global_defs`);
    }
  }
}

function parseTrackFile(st: Stmt, warn: Warn): TrackFileConf {
  const t: TrackFileConf = { name: arg(st), file: '', weight: 1, reverse: false, line: st.line, source: st.file };
  for (const s of blockOf(st)) {
    switch (s.keyword) {
      case 'file':
        t.file = arg(s);
        break;
      case 'weight':
        t.weight = intArg(s, -254, 254);
        t.reverse = s.args[1]?.text === 'reverse';
        break;
      case 'init_file': {
        const v = s.args.find((a) => /^-?\d+$/.test(a.text));
        t.initFile = { value: v ? Number(v.text) : 0, overwrite: s.args.some((a) => a.text === 'overwrite') };
        break;
      }
      default:
        warn(s, `unknown keyword '${s.keyword}' in track_file ${t.name}`);
    }
  }
  if (!t.file) throw new ConfigError(st.file, st.line, `track_file ${t.name} has no 'file'`);
  return t;
}

function parseTrackProcess(st: Stmt, warn: Warn): TrackProcessConf {
  const t: TrackProcessConf = { name: arg(st), process: '', weight: 0, quorum: 1, line: st.line, source: st.file };
  for (const s of blockOf(st)) {
    switch (s.keyword) {
      case 'process':
        t.process = arg(s);
        if (s.args.length > 1) t.params = s.args.slice(1).map((a) => a.text);
        break;
      case 'param_match': {
        // keepalived: param_match without parameters means "no parameters at all".
        const m = s.args[0]?.text;
        if (m !== undefined && m !== 'initial' && m !== 'partial') throw new ConfigError(s.file, s.line, `track_process ${t.name}: param_match must be initial or partial, got '${m}'`);
        t.paramMatch = m === 'initial' || m === 'partial' ? m : 'exact';
        break;
      }
      case 'weight':
        t.weight = intArg(s, -254, 254);
        if (s.args[1]?.text === 'reverse') t.reverse = true;
        break;
      case 'quorum':
        t.quorum = intArg(s, 1, 65535);
        break;
      case 'quorum_max':
        t.quorumMax = intArg(s, 0, 65535);
        break;
      case 'fork_delay':
        t.forkDelay = numArg(s, 0, 3600);
        break;
      case 'terminate_delay':
        t.terminateDelay = numArg(s, 0, 3600);
        break;
      case 'delay':
        t.forkDelay = t.terminateDelay = numArg(s, 0, 3600);
        break;
      case 'full_command':
        t.fullCommand = true;
        break;
      default:
        warn(s, `unknown keyword '${s.keyword}' in track_process ${t.name}`);
    }
  }
  if (!t.process) throw new ConfigError(st.file, st.line, `track_process ${t.name} has no 'process'`);
  if (t.quorumMax !== undefined && t.quorumMax < t.quorum) throw new ConfigError(st.file, st.line, `track_process ${t.name}: quorum_max ${t.quorumMax} is below quorum ${t.quorum}`);
  return t;
}

function parseScript(st: Stmt, warn: Warn): VrrpScriptConf {
  const name = arg(st);
  const c: VrrpScriptConf = { name, script: '', intervalS: 1, weight: 0, fall: 1, rise: 1, initFail: false, file: st.file, line: st.line };
  for (const s of blockOf(st)) {
    switch (s.keyword) {
      case 'script':
        // Unquoted words all belong to the script (keepalived joins them).
        c.script = s.args.map((a) => a.text).join(' ');
        if (!c.script) throw new ConfigError(s.file, s.line, "'script' needs a command");
        break;
      case 'interval':
        c.intervalS = numArg(s, 0.01, 86400);
        break;
      case 'timeout':
        c.timeoutS = numArg(s, 0.01, 86400);
        break;
      case 'weight':
        c.weight = intArg(s, -253, 253);
        if (s.args[1]?.text === 'reverse') warn(s, "weight 'reverse' is not supported yet; ignored");
        break;
      case 'fall':
        c.fall = intArg(s, 1, 1000);
        break;
      case 'rise':
        c.rise = intArg(s, 1, 1000);
        break;
      case 'init_fail':
        c.initFail = true;
        break;
      case 'user':
        warn(s, 'vrrp_script user: ignored; scripts run as the global script_user');
        break;
      default:
        warn(s, `unknown keyword '${s.keyword}' in vrrp_script ${name}`);
    }
  }
  if (!c.script) throw new ConfigError(st.file, st.line, `vrrp_script ${name} has no 'script'`);
  return c;
}

function parseVip(s: Stmt, warn: Warn): VipConf {
  const text = s.keyword;
  const [addr, pfx] = text.split('/');
  const family = familyOf(addr ?? '');
  if (!addr || family === null) throw new ConfigError(s.file, s.line, `virtual_ipaddress: '${text}' is not an IP address`);
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (pfx !== undefined) {
    if (!/^\d+$/.test(pfx) || Number(pfx) > max) throw new ConfigError(s.file, s.line, `virtual_ipaddress: bad prefix length in '${text}'`);
    prefix = Number(pfx);
  }
  const v: VipConf = { address: addr, prefix, family };
  for (let i = 0; i < s.args.length; i++) {
    const k = s.args[i]!.text;
    const val = s.args[i + 1]?.text;
    switch (k) {
      case 'dev':
      case 'label':
      case 'brd':
      case 'scope':
      case 'broadcast':
        if (val === undefined) throw new ConfigError(s.file, s.line, `virtual_ipaddress: '${k}' needs a value`);
        if (k === 'dev') v.dev = val;
        else if (k === 'label') v.label = val;
        else warn(s, `virtual_ipaddress: '${k} ${val}' ignored`);
        i++;
        break;
      case 'preferred_lft':
        if (val === undefined || !/^(\d+|forever)$/.test(val)) throw new ConfigError(s.file, s.line, `virtual_ipaddress: preferred_lft needs seconds or 'forever' (got '${val ?? ''}')`);
        v.preferredLft = val;
        i++;
        break;
      default:
        warn(s, `virtual_ipaddress: unknown option '${k}'`);
    }
  }
  return v;
}

function parseInstance(st: Stmt, warn: Warn, cfg: KeepalivedConfig): InstanceConf {
  const name = arg(st);
  const c: InstanceConf = {
    name,
    state: 'BACKUP',
    priority: 100,
    advertInt: 1,
    preempt: true,
    preemptDelay: 0,
    vips: [],
    excludedVips: [],
    unicastPeers: [],
    unicastPeerTtl: {},
    trackScripts: [],
    trackInterfaces: [],
    trackFiles: [],
    trackProcesses: [],
    strict: false,
    file: st.file,
    line: st.line,
  };
  for (const s of blockOf(st)) {
    switch (s.keyword) {
      case 'state': {
        const v = arg(s).toUpperCase();
        if (v !== 'MASTER' && v !== 'BACKUP') throw new ConfigError(s.file, s.line, `state must be MASTER or BACKUP, got '${arg(s)}'`);
        c.state = v;
        extraArgs(s, 1, warn);
        break;
      }
      case 'interface':
        c.interface = arg(s);
        extraArgs(s, 1, warn);
        break;
      case 'virtual_router_id':
        c.virtualRouterId = intArg(s, 1, 255);
        extraArgs(s, 1, warn);
        break;
      case 'priority':
        c.priority = intArg(s, 1, 255);
        extraArgs(s, 1, warn);
        break;
      case 'advert_int':
        c.advertInt = numArg(s, 0.01, 255);
        extraArgs(s, 1, warn);
        break;
      case 'nopreempt':
        c.preempt = false;
        break;
      case 'preempt':
        c.preempt = true;
        break;
      case 'preempt_delay':
        c.preemptDelay = numArg(s, 0, 1000);
        break;
      case 'authentication':
        for (const a of blockOf(s)) {
          if (a.keyword === 'auth_type') {
            const t = arg(a).toUpperCase();
            if (t !== 'PASS' && t !== 'AH') throw new ConfigError(a.file, a.line, `auth_type must be PASS or AH, got '${arg(a)}'`);
            c.authType = t;
          } else if (a.keyword === 'auth_pass') {
            c.authPass = arg(a);
            if (c.authPass.length > 8) warn(a, 'auth_pass longer than 8 characters: only the first 8 are used (as keepalived does)');
          } else warn(a, `unknown keyword '${a.keyword}' in authentication`);
        }
        break;
      case 'virtual_ipaddress':
        for (const e of listEntries(s)) c.vips.push(parseVip(e, warn));
        break;
      case 'virtual_ipaddress_excluded':
        for (const e of listEntries(s)) c.excludedVips.push(parseVip(e, warn));
        break;
      case 'unicast_src_ip':
        c.unicastSrcIp = arg(s);
        break;
      case 'unicast_peer':
        for (const e of listEntries(s)) {
          if (familyOf(e.keyword) === null) throw new ConfigError(e.file, e.line, `unicast_peer: '${e.keyword}' is not an IP address`);
          c.unicastPeers.push(e.keyword);
          // keepalived: ADDR [min_ttl {0..255}] [max_ttl {0..255}].
          const range = { min: 0, max: 255 };
          let ranged = false;
          for (let k = 0; k < e.args.length; k++) {
            const a = e.args[k]!;
            if (a.text === 'min_ttl' || a.text === 'max_ttl') {
              const v = e.args[k + 1]?.text;
              if (v === undefined || !/^\d+$/.test(v) || Number(v) > 255) throw new ConfigError(e.file, e.line, `unicast_peer ${e.keyword}: ${a.text} needs a value 0..255, got '${v ?? ''}'`);
              range[a.text === 'min_ttl' ? 'min' : 'max'] = Number(v);
              ranged = true;
              k++;
            } else if (familyOf(a.text) !== null) c.unicastPeers.push(a.text);
            else warn(e, `unicast_peer: '${a.text}' ignored`);
          }
          if (ranged) {
            if (range.min > range.max) throw new ConfigError(e.file, e.line, `unicast_peer ${e.keyword}: min_ttl ${range.min} is above max_ttl ${range.max}`);
            c.unicastPeerTtl[e.keyword] = range;
          }
        }
        break;
      case 'mcast_src_ip':
        c.mcastSrcIp = arg(s);
        break;
      case 'track_script':
        for (const e of listEntries(s)) {
          const w = e.args[0]?.text === 'weight' ? e.args[1]?.text : undefined;
          if (w !== undefined && !/^-?\d+$/.test(w)) throw new ConfigError(e.file, e.line, `track_script ${e.keyword}: bad weight '${w}'`);
          c.trackScripts.push(w === undefined ? { name: e.keyword } : { name: e.keyword, weight: Number(w) });
        }
        break;
      case 'track_interface':
        for (const e of listEntries(s)) {
          const w = e.args[0]?.text === 'weight' ? e.args[1]?.text : undefined;
          if (w !== undefined && !/^-?\d+$/.test(w)) throw new ConfigError(e.file, e.line, `track_interface ${e.keyword}: bad weight '${w}'`);
          c.trackInterfaces.push({ name: e.keyword, weight: w === undefined ? 0 : Number(w) });
        }
        break;
      case 'notify_master':
        c.notifyMaster = commandArg(s, warn);
        break;
      case 'notify_backup':
        c.notifyBackup = commandArg(s, warn);
        break;
      case 'notify_fault':
        c.notifyFault = commandArg(s, warn);
        break;
      case 'notify_stop':
        c.notifyStop = commandArg(s, warn);
        break;
      case 'notify':
        c.notify = commandArg(s, warn);
        break;
      case 'garp_master_delay':
        c.garpMasterDelay = intArg(s, 0, 1000);
        break;
      case 'garp_master_repeat':
        c.garpMasterRepeat = intArg(s, 1, 100);
        break;
      case 'garp_master_refresh':
        c.garpMasterRefresh = intArg(s, 0, 100000);
        break;
      case 'garp_master_refresh_repeat':
        c.garpMasterRefreshRepeat = intArg(s, 1, 100);
        break;
      case 'garp_lower_prio_delay':
        c.garpLowerPrioDelay = intArg(s, 0, 1000);
        break;
      case 'garp_lower_prio_repeat':
        c.garpLowerPrioRepeat = intArg(s, 0, 100);
        break;
      case 'use_vmac': {
        c.useVmac = { name: s.args[0] && !/^[0-9a-f]{2}(:[0-9a-f]{2}){4,5}$/i.test(s.args[0].text) ? s.args[0].text : undefined };
        const mac = s.args.find((a) => /^[0-9a-f]{2}(:[0-9a-f]{2}){4,5}$/i.test(a.text));
        if (mac) c.useVmac.mac = mac.text;
        break;
      }
      case 'vmac_xmit_base':
        c.vmacXmitBase = true;
        break;
      case 'version':
        c.version = intArg(s, 2, 3) as VrrpVersion;
        break;
      case 'strict_mode':
        c.strict = s.args.length === 0 || /^(on|true|yes)$/i.test(arg(s));
        break;
      case 'v3_checksum_as_v2':
        c.v3ChecksumAsV2 = true;
        break;
      case 'old_unicast_checksum':
        c.oldUnicastChecksum = s.args[0]?.text === 'never' ? 'never' : 'send';
        break;
      case 'unicast_ttl':
        c.unicastTtl = intArg(s, 0, 255);
        break;
      case 'check_unicast_src':
        // belay always drops unicast adverts from addresses that are not a unicast_peer.
        break;
      // Seen inside vrrp_instance when a blog post lost a closing brace (seed 000).
      case 'virtual_server':
        cfg.virtualServers.push(parseVirtualServer(s, warn));
        break;
      case 'virtual_server_group':
        cfg.virtualServerGroups.push(parseVirtualServerGroup(s, warn));
        break;
      case 'smtp_alert':
      case 'dont_track_primary':
      case 'debug':
      case 'native_ipv6':
      case 'accept':
      case 'no_accept':
        warn(s, `${s.keyword} accepted and ignored`);
        break;
      case 'track_file':
        for (const e of listEntries(s)) {
          const w = e.args[0]?.text === 'weight' ? e.args[1]?.text : undefined;
          if (w !== undefined && !/^-?\d+$/.test(w)) throw new ConfigError(e.file, e.line, `track_file ${e.keyword}: bad weight '${w}'`);
          c.trackFiles.push({ name: e.keyword, ...(w !== undefined ? { weight: Number(w) } : {}), reverse: e.args[2]?.text === 'reverse' });
        }
        break;
      case 'track_process':
        for (const e of listEntries(s)) {
          const w = e.args[0]?.text === 'weight' ? e.args[1]?.text : undefined;
          if (w !== undefined && !/^-?\d+$/.test(w)) throw new ConfigError(e.file, e.line, `track_process ${e.keyword}: bad weight '${w}'`);
          const rev = e.args[2]?.text;
          c.trackProcesses.push({ name: e.keyword, ...(w !== undefined ? { weight: Number(w) } : {}), ...(rev === 'reverse' || rev === 'noreverse' ? { reverse: rev === 'reverse' } : {}) });
        }
        break;
      case 'virtual_routes':
      case 'virtual_rules':
      case 'track_bfd':
        warn(s, `${s.keyword} is not supported yet; ignored`);
        break;
      default:
        warn(s, `unknown keyword '${s.keyword}' in vrrp_instance ${name}`);
    }
  }
  return c;
}

function parseSyncGroup(st: Stmt, warn: Warn): SyncGroupConf {
  const name = arg(st);
  const g: SyncGroupConf = { name, members: [], file: st.file, line: st.line };
  for (const s of blockOf(st)) {
    switch (s.keyword) {
      case 'group':
        for (const e of blockOf(s)) g.members.push(e.keyword, ...e.args.map((a) => a.text));
        break;
      case 'notify_master':
        g.notifyMaster = commandArg(s, warn);
        break;
      case 'notify_backup':
        g.notifyBackup = commandArg(s, warn);
        break;
      case 'notify_fault':
        g.notifyFault = commandArg(s, warn);
        break;
      case 'notify_stop':
        g.notifyStop = commandArg(s, warn);
        break;
      case 'notify':
        g.notify = commandArg(s, warn);
        break;
      case 'smtp_alert':
      case 'global_tracking':
        warn(s, `${s.keyword} accepted and ignored`);
        break;
      default:
        warn(s, `unknown keyword '${s.keyword}' in vrrp_sync_group ${name}`);
    }
  }
  return g;
}

function validate(cfg: KeepalivedConfig): void {
  const names = new Set<string>();
  for (const i of cfg.instances) {
    if (names.has(i.name)) throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name} defined twice`);
    names.add(i.name);
    if (!i.interface) throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name} has no 'interface'`);
    if (i.virtualRouterId === undefined) throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name} has no 'virtual_router_id'`);
    if (i.vips.length === 0) cfg.warnings.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name} has no virtual_ipaddress` });
    for (const t of i.trackScripts) {
      if (!cfg.scripts.some((s) => s.name === t.name)) throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name} tracks unknown vrrp_script '${t.name}'`);
    }
    for (const t of i.trackFiles) {
      if (!cfg.trackFiles.some((f) => f.name === t.name)) throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name} tracks unknown track_file '${t.name}'`);
    }
    for (const t of i.trackProcesses) {
      if (!cfg.trackProcesses.some((f) => f.name === t.name)) throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name} tracks unknown track_process '${t.name}'`);
    }
  }
  for (const g of cfg.syncGroups) {
    for (const m of g.members) {
      if (!names.has(m)) throw new ConfigError(g.file, g.line, `vrrp_sync_group ${g.name}: no vrrp_instance named '${m}'`);
    }
  }
}

// --------------------------------------------------------- to the engine

export interface HostInfo {
  /** First address of the family on an interface, or undefined when none / no such interface. */
  interfaceAddress(ifname: string, family: Family): string | undefined;
  /** Every address of this host (to tell whether mcast_src_ip / unicast_src_ip is ours); omitted: not checked. */
  localAddresses?(): string[];
}

export interface NotifyConf {
  master?: string[];
  backup?: string[];
  fault?: string[];
  stop?: string[];
  generic?: string[];
}

export interface ResolvedConfig {
  spec: RouterSpec;
  /** Commands by instance name and by sync group name. */
  instanceNotify: Map<string, NotifyConf>;
  groupNotify: Map<string, NotifyConf>;
  scriptLines: Map<string, string>;
}

/** Turn the parsed file into the engine's RouterSpec, resolving interface addresses. */
export function toRouterSpec(cfg: KeepalivedConfig, host: HostInfo, hostname = 'localhost'): ResolvedConfig {
  const g = cfg.globalDefs;
  const scripts: ScriptSpec[] = cfg.scripts.map((s) => ({
    name: s.name,
    argv: needsShell(s.script) ? ['/bin/sh', '-c', s.script] : splitCommand(s.script),
    intervalMs: Math.round(s.intervalS * 1000),
    // keepalived's default timeout is the interval.
    timeoutMs: Math.round((s.timeoutS ?? s.intervalS) * 1000),
    weight: s.weight,
    fall: s.fall,
    rise: s.rise,
    initFail: s.initFail,
  }));
  const instanceNotify = new Map<string, NotifyConf>();
  const instances: InstanceSpec[] = cfg.instances.map((i) => {
    const ifname = i.interface!;
    const firstVip = i.vips[0];
    const family: Family = firstVip?.family ?? (i.unicastPeers[0] ? familyOf(i.unicastPeers[0]) ?? 4 : 4);
    let version: VrrpVersion = i.version ?? g.vrrpVersion ?? 2;
    if (family === 6 && version === 2) {
      cfg.warnings.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name}: IPv6 needs VRRPv3; using version 3` });
      version = 3;
    }
    let advertIntCs = Math.round(i.advertInt * 100);
    if (version === 2 && advertIntCs % 100 !== 0) {
      cfg.warnings.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name}: VRRPv2 advert_int must be whole seconds; rounding ${i.advertInt} up` });
      advertIntCs = Math.ceil(i.advertInt) * 100;
    }
    if (version === 3 && i.authType) {
      cfg.warnings.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name}: authentication is not part of VRRPv3; ignored` });
    }
    const strict = i.strict || g.vrrpStrict;
    const note = (message: string) => cfg.warnings.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name}: ${message}` });
    let authType = i.authType;
    if (strict && authType) {
      // keepalived: "(VI_1) Strict mode does not support authentication. Ignoring."
      note('strict mode does not support authentication; ignoring it (as keepalived does)');
      authType = undefined;
    }
    if (authType === 'AH') {
      throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name}: auth_type AH (IPsec Authentication Header) is not supported by belay; use auth_type PASS, or VRRPv3 without authentication`);
    }
    let initialState = i.state;
    if (strict && i.state === 'MASTER' && i.priority !== 255) {
      note('strict mode: state MASTER must match being address owner (priority 255); starting as BACKUP (as keepalived does)');
      initialState = 'BACKUP';
    }
    if (strict) {
      note(
        'strict mode differs from keepalived: belay installs no firewall rules (keepalived adds nftables/iptables rules dropping traffic to the VIPs unless priority 255, i.e. no_accept); adverts whose address list differs from ours are dropped, as in keepalived',
      );
    }
    const srcKeyword = i.unicastSrcIp ? 'unicast_src_ip' : i.mcastSrcIp ? 'mcast_src_ip' : null;
    const configuredSrc = i.unicastSrcIp ?? i.mcastSrcIp;
    if (configuredSrc && host.localAddresses && !host.localAddresses().includes(configuredSrc)) {
      // keepalived 2.2.7 accepts this silently and sends with that source; say so, the same in -t and at start-up.
      note(`${srcKeyword} ${configuredSrc} is not an address of this host: adverts will carry a source address that is not ours (keepalived accepts this silently)`);
    }
    const primary = configuredSrc ?? host.interfaceAddress(ifname, family);
    let vmac: InstanceSpec['vmac'];
    if (i.useVmac) {
      const vrid = i.virtualRouterId!;
      const tail = vrid.toString(16).padStart(2, '0');
      const mac = i.useVmac.mac ? (i.useVmac.mac.split(':').length === 5 ? `${i.useVmac.mac}:${tail}` : i.useVmac.mac) : `00:00:5e:00:0${family === 4 ? 1 : 2}:${tail}`;
      vmac = { name: i.useVmac.name ?? `vrrp${family === 6 ? '6' : ''}.${vrid}`, mac: mac.toLowerCase(), base: ifname };
      if (i.unicastPeers.length && !i.vmacXmitBase) note('use_vmac with unicast_peer needs vmac_xmit_base (as keepalived says); sending on the base interface');
      if (strict && i.vmacXmitBase) note('strict mode cannot use vmac_xmit_base (keepalived refuses it); used anyway');
    }
    if (!primary) throw new ConfigError(i.file, i.line, `vrrp_instance ${i.name}: interface ${ifname} has no IPv${family} address (or does not exist)`);
    const vips: VipSpec[] = [...i.vips, ...i.excludedVips].map((v) => ({
      address: v.address,
      prefix: v.prefix,
      family: v.family,
      // With use_vmac the VIPs of the instance's interface live on the VMAC.
      dev: vmac && (v.dev === undefined || v.dev === ifname) ? vmac.name : v.dev ?? ifname,
      ...(v.label !== undefined ? { label: v.label } : {}),
      ...(v.preferredLft !== undefined ? { preferredLft: v.preferredLft } : {}),
    }));
    instanceNotify.set(i.name, { master: i.notifyMaster, backup: i.notifyBackup, fault: i.notifyFault, stop: i.notifyStop, generic: i.notify });
    const spec: InstanceSpec = {
      name: i.name,
      interface: ifname,
      vrid: i.virtualRouterId!,
      version,
      family,
      priority: i.priority,
      advertIntCs,
      initialState,
      preempt: i.preempt,
      preemptDelayMs: Math.round(i.preemptDelay * 1000),
      vips,
      primaryAddress: primary,
      peers: i.unicastPeers,
      mcastGroup: family === 4 ? g.vrrpMcastGroup4 ?? VRRP_MCAST_GROUP4 : g.vrrpMcastGroup6 ?? VRRP_MCAST_GROUP6,
      trackScripts: i.trackScripts.map((t) => ({ script: t.name, weight: t.weight ?? cfg.scripts.find((s) => s.name === t.name)!.weight })),
      trackInterfaces: i.trackInterfaces,
      ...(i.trackFiles.length
        ? {
            trackFiles: i.trackFiles.map((t) => {
              const f = cfg.trackFiles.find((x) => x.name === t.name)!;
              return { name: t.name, weight: t.weight ?? f.weight, reverse: t.weight !== undefined ? t.reverse : f.reverse };
            }),
          }
        : {}),
      ...(i.trackProcesses.length
        ? {
            trackProcesses: i.trackProcesses.map((t) => {
              const p = cfg.trackProcesses.find((x) => x.name === t.name)!;
              const reverse = t.weight !== undefined ? (t.reverse ?? false) : (t.reverse ?? p.reverse ?? false);
              return { name: t.name, weight: t.weight ?? p.weight, quorum: p.quorum, ...(p.quorumMax !== undefined ? { quorumMax: p.quorumMax } : {}), ...(reverse ? { reverse } : {}) };
            }),
          }
        : {}),
      garpMasterDelayMs: (i.garpMasterDelay ?? g.garpMasterDelay ?? 5) * 1000,
      garpMasterRepeat: i.garpMasterRepeat ?? g.garpMasterRepeat ?? 5,
      garpMasterRefreshMs: (i.garpMasterRefresh ?? g.garpMasterRefresh ?? 0) * 1000,
      ...optional('garpMasterRefreshRepeat', i.garpMasterRefreshRepeat ?? g.garpMasterRefreshRepeat),
      ...optional('garpLowerPrioRepeat', i.garpLowerPrioRepeat ?? g.garpLowerPrioRepeat),
      ...optional('garpLowerPrioDelayMs', secondsToMs(i.garpLowerPrioDelay ?? g.garpLowerPrioDelay)),
      ...optional('garpIntervalMs', secondsToMs(g.garpInterval)),
      ...(vmac ? { vmac } : {}),
      ...(vmac ? { xmitInterface: i.vmacXmitBase || i.unicastPeers.length ? ifname : vmac.name } : {}),
      strict,
      ...(i.v3ChecksumAsV2 ? { v3ChecksumAsV2: true } : {}),
      ...(i.oldUnicastChecksum ? { oldUnicastChecksum: i.oldUnicastChecksum } : {}),
    };
    if (i.unicastTtl !== undefined) {
      // keepalived: "(VI_1): Cannot use unicast_ttl without unicast peers - resetting".
      if (i.unicastPeers.length) spec.unicastTtl = i.unicastTtl;
      else note('cannot use unicast_ttl without unicast peers; ignored (as keepalived does): multicast adverts go with TTL 255');
    }
    if (Object.keys(i.unicastPeerTtl).length) spec.peerTtl = i.unicastPeerTtl;
    if (version === 2 && authType === 'PASS') spec.authPass = (i.authPass ?? '').slice(0, 8);
    if (i.priority === 255 && spec.trackScripts.some((t) => t.weight !== 0)) {
      cfg.warnings.push({ file: i.file, line: i.line, message: `vrrp_instance ${i.name}: priority 255 (address owner) ignores track_script weights` });
    }
    return spec;
  });
  const syncGroups: SyncGroupSpec[] = cfg.syncGroups.map((s) => ({ name: s.name, members: s.members }));
  const groupNotify = new Map<string, NotifyConf>();
  for (const s of cfg.syncGroups) {
    groupNotify.set(s.name, { master: s.notifyMaster, backup: s.notifyBackup, fault: s.notifyFault, stop: s.notifyStop, generic: s.notify });
  }
  return {
    spec: {
      routerId: g.routerId ?? hostname,
      instances,
      scripts,
      syncGroups,
      ...(cfg.trackFiles.length ? { trackFiles: cfg.trackFiles.map((f) => ({ name: f.name, path: f.file, ...(f.initFile ? { init: f.initFile } : {}) })) } : {}),
      ...(cfg.trackProcesses.length
        ? {
            trackProcesses: cfg.trackProcesses.map((p) => ({
              name: p.name,
              process: p.process,
              quorum: p.quorum,
              ...optional('params', p.params),
              ...optional('paramMatch', p.paramMatch),
              ...(p.fullCommand ? { fullCommand: true } : {}),
              ...optional('quorumMax', p.quorumMax),
              ...optional('forkDelayMs', secondsToMs(p.forkDelay)),
              ...optional('terminateDelayMs', secondsToMs(p.terminateDelay)),
            })),
          }
        : {}),
      ...(g.notifyFifo ? { notifyFifo: g.notifyFifo } : {}),
    },
    instanceNotify,
    groupNotify,
    scriptLines: new Map(cfg.scripts.map((s) => [s.name, s.script])),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function secondsToMs(s: number | undefined): number | undefined {
  return s === undefined ? undefined : Math.round(s * 1000);
}
