/**
 * `belay keepalived -f keepalived.conf`: the VRRP side of keepalived, in the
 * foreground with console logging (like `keepalived --dont-fork
 * --log-console`). SIGHUP reloads, SIGTERM/SIGINT release the VIPs with a
 * priority-0 advert. `belay keepalived --status` reads the status file the
 * running daemon keeps up to date. `virtual_server` blocks run beside the
 * VRRP instances (src/lvs): checkers, pool, nftables or IPVS table.
 */
import type { Command } from 'commander';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { ConfigError, parseKeepalivedConf, toRouterSpec, type KeepalivedConfig, type ResolvedConfig } from '../vrrp/keepalived-conf.js';
import { fsConfigSource } from '../vrrp/conf-fs.js';
import { VrrpEngine } from '../vrrp/engine.js';
import { IpNetOps } from '../vrrp/netops.js';
import { UdpTransport } from '../vrrp/transport.js';
import { RawTransport } from '../vrrp/raw-transport.js';
import { applyScriptSecurity, type SecurityResult } from '../vrrp/script-security.js';
import type { RouterStatus } from '../vrrp/core.js';
import { KeepalivedMailer, mailSettings, type MailPlan } from '../notify/keepalived-mail.js';
import { MetricsServer } from '../metrics/server.js';
import { keepalivedMetricsText } from '../metrics/keepalived.js';
import { backendNotes, LvsManager, type LvsStatus } from '../lvs/manager.js';
import { startRealServerChecks } from '../lvs/check/index.js';
import { chooseBackend, conntrackCounts, connKey, makeDataPlane, type DataPlane } from '../lvs/dataplane.js';

const VERSION = '0.1.0';

export function defaultStatusFile(): string {
  const dir = process.env.BELAY_RUN_DIR ?? (process.getuid?.() === 0 ? '/run/belay' : path.join(process.env.TMPDIR ?? '/tmp', `belay-${process.getuid?.() ?? 'user'}`));
  return path.join(dir, 'keepalived.status.json');
}

/** keepalived's console timestamp: "Sun Nov 22 02:21:02 2026: ". */
export function consoleStamp(d = new Date(), ms = false): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  const sec = ms ? `${p(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}` : p(d.getSeconds());
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${sec} ${d.getFullYear()}`;
}

interface StatusFile {
  pid: number;
  configFile: string;
  updatedAt: string;
  startedAt: string;
  warnings: string[];
  status: RouterStatus;
  /** The virtual servers (LVS), when the configuration has any. */
  lvs?: LvsStatus;
}

function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** keepalived's default config id: the node name (we accept it with and without its domain). */
function defaultConfigIds(): string[] {
  const h = hostname();
  return [...new Set([h, h.split('.')[0]!])];
}

/** Parser warnings about the mail keywords src/notify handles. */
const MAIL_WARNING = /^(smtp_alert accepted and ignored|unknown keyword '(smtp_alert|smtp_alert_vrrp|smtp_helo_name)' in global_defs)$/;

interface Loaded {
  cfg: KeepalivedConfig;
  resolved: ResolvedConfig;
  security: SecurityResult;
  mail: MailPlan;
}

/** Parse and resolve: the same checks and warnings for `-t`, start-up and reload. */
function load(file: string, log: (l: string) => void, configId?: string): Loaded {
  const cfg = parseKeepalivedConf(path.resolve(file), fsConfigSource, { configIds: configId ? [configId] : defaultConfigIds() });
  const mail = mailSettings(path.resolve(file), fsConfigSource);
  cfg.warnings = cfg.warnings.filter((w) => !MAIL_WARNING.test(w.message)); // src/notify reads these
  const netops = new IpNetOps();
  const resolved = toRouterSpec(cfg, { interfaceAddress: (i, f) => netops.interfaceAddress(i, f), localAddresses: () => netops.localAddresses() }, hostname());
  const security = applyScriptSecurity(resolved, cfg.globalDefs);
  for (const w of cfg.warnings) log(`WARNING - ${w.file}:${w.line}: ${w.message}`);
  for (const w of security.warnings) log(`WARNING - ${w}`);
  for (const n of mail.notes) log(n);
  if (cfg.virtualServers.length) for (const n of backendNotes(cfg.virtualServers, chooseBackend())) log(`LVS: ${n}`);
  return { cfg, resolved, security, mail };
}

export async function runKeepalived(opts: { file: string; statusFile: string; udpPort?: number; configTest: boolean; logDetail?: boolean; configId?: string; metricsListen?: string }): Promise<number> {
  const log = (line: string) => process.stdout.write(`${consoleStamp(new Date(), opts.logDetail)}: ${line}\n`);
  log(`Starting belay keepalived v${VERSION} (VRRP engine, keepalived.conf compatible)`);
  log(`Command line: ${process.argv.slice(1).map((a) => `'${a}'`).join(' ')}`);
  log(`Opening file '${opts.file}'.`);
  let loaded: Loaded;
  try {
    loaded = load(opts.file, log, opts.configId);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`belay keepalived: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (opts.configTest) {
    log(`Configuration file ${opts.file} is valid: ${loaded.resolved.spec.instances.length} vrrp_instance, ${loaded.resolved.spec.scripts.length} vrrp_script, ${loaded.cfg.virtualServers.length} virtual_server`);
    return 0;
  }
  if (loaded.resolved.spec.instances.length === 0) log('No vrrp_instance configured: nothing to do but wait for a reload');

  const startedAt = new Date().toISOString();
  let warnings = loaded.cfg.warnings.map((w) => `${w.file}:${w.line}: ${w.message}`);
  const engine = new VrrpEngine({
    spec: loaded.resolved.spec,
    // VRRP itself (IP protocol 112) unless the UDP encapsulation is asked for.
    transport: opts.udpPort ? new UdpTransport(opts.udpPort) : new RawTransport({ log }),
    scriptCredentials: loaded.security.credentials,
    netops: new IpNetOps(log),
    log: (l) => log(l),
    instanceNotify: loaded.resolved.instanceNotify,
    groupNotify: loaded.resolved.groupNotify,
  });

  const mailer = new KeepalivedMailer(loaded.mail.settings, log);
  engine.onStateChange((c) => mailer.onInstanceState(c.instance, c.state));
  const metrics = opts.metricsListen ? new MetricsServer(() => keepalivedMetricsText(engine.status()), 'belay keepalived') : undefined;

  let statusTimer: NodeJS.Timeout | null = null;
  let statusDirty = false;
  const flushStatus = () => {
    statusTimer = null;
    if (!statusDirty) return;
    statusDirty = false;
    const s: StatusFile = { pid: process.pid, configFile: path.resolve(opts.file), updatedAt: new Date().toISOString(), startedAt, warnings, status: engine.status(), ...(lvs ? { lvs: lvs.status() } : {}) };
    try {
      writeAtomic(opts.statusFile, `${JSON.stringify(s, null, 2)}\n`);
    } catch (err) {
      log(`cannot write status file ${opts.statusFile}: ${(err as Error).message}`);
    }
  };
  const markDirty = () => {
    statusDirty = true;
    statusTimer ??= setTimeout(flushStatus, 100);
  };
  engine.onStatus(markDirty);

  // LVS: the virtual servers run beside the VRRP instances, on one data plane for the process.
  let dataPlane: DataPlane | undefined;
  let lvs: LvsManager | undefined;
  const startLvs = async (cfg: KeepalivedConfig, why = 'start-up'): Promise<LvsManager | undefined> => {
    if (cfg.virtualServers.length === 0) return undefined;
    dataPlane ??= makeDataPlane(chooseBackend(), log);
    if (cfg.virtualServers.some((v) => v.lbKind === 'NAT') && readIpForward() === '0') {
      log('LVS: WARNING - net.ipv4.ip_forward is 0: NAT virtual servers need it (sysctl -w net.ipv4.ip_forward=1)');
    }
    const m = new LvsManager({ virtualServers: cfg.virtualServers, groups: cfg.virtualServerGroups, startChecks: startRealServerChecks, dataPlane, log, onStatus: markDirty });
    m.setMasterAddresses(masterAddresses(engine.status()));
    await m.start(why);
    return m;
  };
  engine.onStateChange(() => lvs?.setMasterAddresses(masterAddresses(engine.status())));

  try {
    await engine.start();
  } catch (err) {
    process.stderr.write(`belay keepalived: cannot start: ${(err as Error).message}\n`);
    await engine.stop().catch(() => {});
    return 1;
  }
  try {
    lvs = await startLvs(loaded.cfg);
  } catch (err) {
    process.stderr.write(`belay keepalived: cannot start the virtual servers: ${(err as Error).message}\n`);
    await engine.stop().catch(() => {});
    return 1;
  }
  if (metrics && opts.metricsListen) {
    try {
      const at = await metrics.listen(opts.metricsListen);
      log(`metrics on http://${at.host}:${at.port}/metrics`);
    } catch (err) {
      process.stderr.write(`belay keepalived: --metrics-listen ${opts.metricsListen}: ${(err as Error).message}\n`);
      await engine.stop().catch(() => {});
      return 1;
    }
  }
  log('Startup complete');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) return;
      stopping = true;
      log(`Stopping (${sig})`);
      await lvs?.stop();
      await engine.stop();
      await metrics?.close();
      await mailer.flush();
      statusDirty = true;
      flushStatus();
      if (statusTimer) clearTimeout(statusTimer);
      log(`Stopped belay keepalived v${VERSION}`);
      process.off('SIGHUP', onHup);
      resolve(0);
    };
    const onHup = () => {
      log(`Reloading configuration file '${opts.file}'`);
      let next: Loaded;
      try {
        next = load(opts.file, log, opts.configId);
      } catch (err) {
        log(`Reload failed, keeping the running configuration: ${(err as Error).message}`);
        return;
      }
      warnings = next.cfg.warnings.map((w) => `${w.file}:${w.line}: ${w.message}`);
      // Asynchronous: use_vmac interfaces are made before the sockets move to them.
      engine.reload(next.resolved.spec, next.resolved.instanceNotify, next.resolved.groupNotify).then(
        () => {
          mailer.reload(next.mail.settings);
          log('Reload finished');
        },
        (err: Error) => log(`Reload failed, keeping the running configuration: ${err.message}`),
      );
      // Virtual servers: checkers restart with the new configuration; the table is replaced in one transaction.
      const old = lvs;
      void (async () => {
        await old?.stop({ keepTable: next.cfg.virtualServers.length > 0 });
        lvs = await startLvs(next.cfg, 'reload');
        markDirty();
      })().catch((err: Error) => log(`LVS: reload failed: ${err.message}`));
    };
    // A bug must not leave VIPs behind: release, then exit non-zero.
    process.once('uncaughtException', (err) => {
      log(`internal error: ${err.stack ?? err.message}`);
      void stop('internal error').finally(() => process.exit(1));
    });
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', onHup);
  });
}

export function formatStatus(s: StatusFile, alive: boolean): string {
  const lines: string[] = [];
  lines.push(`belay keepalived pid ${s.pid} (${alive ? 'running' : 'NOT running'}), config ${s.configFile}, router_id ${s.status.routerId}`);
  lines.push(`updated ${s.updatedAt}`);
  lines.push('');
  const rows = [['INSTANCE', 'VRID', 'IFACE', 'STATE', 'PRIO', 'EFFECTIVE', 'MASTER', 'VIPS']];
  for (const i of s.status.instances) {
    rows.push([
      i.name,
      String(i.vrid),
      i.interface,
      i.state + (i.faultReasons.length ? ` (${i.faultReasons.join('; ')})` : ''),
      String(i.basePriority),
      String(i.effectivePriority),
      i.masterAddress ?? '-',
      i.vips.join(' '),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) lines.push(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
  if (s.status.scripts.length) {
    lines.push('');
    lines.push('VRRP_Script');
    for (const sc of s.status.scripts) {
      lines.push(`  ${sc.name}: ${sc.ok ? 'OK' : 'KO'} (runs ${sc.runs}, consecutive ok ${sc.consecutiveOk}, fail ${sc.consecutiveFail}${sc.lastDetail ? `, last: ${sc.lastDetail}` : ''})`);
    }
  }
  for (const i of s.status.instances) {
    const d = i.stats.dropped;
    const dropped = Object.entries(d).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    lines.push(`${i.name}: adverts rcvd ${i.stats.advertRcvd}, sent ${i.stats.advertSent}, became master ${i.stats.becomeMaster}, released ${i.stats.releaseMaster}${dropped ? `, dropped: ${dropped}` : ''}`);
  }
  if (s.lvs) lines.push(...formatLvsStatus(s.lvs, s.lvs.backend === 'nftables' && alive ? readConntrackNow() : undefined));
  if (s.warnings.length) {
    lines.push('');
    lines.push(`${s.warnings.length} configuration warning(s):`);
    for (const w of s.warnings) lines.push(`  ${w}`);
  }
  return `${lines.join('\n')}\n`;
}

function readIpForward(): string {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The addresses of the instances this node is MASTER of (ha_suspend). */
function masterAddresses(s: RouterStatus): Set<string> {
  return new Set(s.instances.filter((i) => i.state === 'MASTER').flatMap((i) => i.vips.map((v) => v.split('/')[0]!)));
}

/** Virtual servers for --status: each real server's health, weight and connections (conntrack, read now). */
export function formatLvsStatus(l: LvsStatus, conntrack?: string): string[] {
  const lines: string[] = ['', `Virtual servers (${l.backend} backend)${l.lastApplyError ? ` - LAST APPLY FAILED: ${l.lastApplyError}` : ''}`];
  const table = l.services.map((s) => ({ ...s, destinations: s.destinations }));
  const conns = conntrack !== undefined ? conntrackCounts(table, conntrack) : undefined;
  for (const s of l.services) {
    lines.push(`  ${s.name} ${s.lbAlgo} ${s.lbKind}${s.persistenceTimeoutS ? ` persistent ${s.persistenceTimeoutS}` : ''}${s.quorumUp ? '' : ' QUORUM LOST'}${s.checking ? '' : ' (checks suspended: not MASTER)'}  (${s.file}:${s.line})`);
    const rows = [['REAL SERVER', 'HEALTH', 'WEIGHT', 'IN POOL', 'ACTIVE', 'INACTIVE', 'LAST CHECK']];
    for (const r of s.realServers) {
      const c = conns?.get(connKey(s.id, r)) ?? { active: r.active, inactive: r.inactive };
      rows.push([`${r.ip}:${r.port}`, r.up ? 'UP' : 'DOWN', `${r.weight}/${r.configuredWeight}`, r.inPool ? 'yes' : 'no', String(c.active), String(c.inactive), r.reason]);
    }
    for (const d of s.destinations.filter((x) => x.sorry)) rows.push([`${d.ip}:${d.port}`, 'SORRY', String(d.weight), d.weight > 0 ? 'yes' : 'no', '-', '-', d.reason]);
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) lines.push(`    ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}`);
  }
  return lines;
}

function readConntrackNow(): string | undefined {
  try {
    return readFileSync('/proc/net/nf_conntrack', 'utf8');
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function registerKeepalivedCommands(program: Command): void {
  program
    .command('keepalived')
    .description("VRRP daemon for keepalived.conf (the Keepalived way), in the foreground")
    .option('-f, --use-file <file>', 'configuration file', '/etc/keepalived/keepalived.conf')
    .option('--status', 'print the running daemon status (instances, state, effective priority, scripts) and exit')
    .option('--status-file <path>', 'status file written by the daemon and read by --status', defaultStatusFile())
    .option('--json', 'with --status: print the status file as JSON')
    .option('-t, --config-test', 'check the configuration file and exit')
    .option('--udp-port <n>', 'carry VRRP in UDP on this port instead of IP protocol 112 (belay-only; not wire-compatible with keepalived)')
    .option('-n, --dont-fork', 'accepted for keepalived compatibility (belay always runs in the foreground)')
    .option('-l, --log-console', 'accepted for keepalived compatibility (belay always logs to the console)')
    .option('-D, --log-detail', 'timestamps with milliseconds')
    .option('-i, --config-id <id>', "use the configuration lines marked '@ID' (default: the host name)")
    .option('-P, --vrrp', 'accepted for keepalived compatibility')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics (keepalived exporter names) on /metrics, e.g. 127.0.0.1:9650')
    .action(async (o: { useFile: string; status?: boolean; statusFile: string; json?: boolean; configTest?: boolean; udpPort?: string; logDetail?: boolean; configId?: string; metricsListen?: string }) => {
      if (o.status) {
        let s: StatusFile;
        try {
          s = JSON.parse(readFileSync(o.statusFile, 'utf8')) as StatusFile;
        } catch (err) {
          process.stderr.write(`belay keepalived --status: cannot read ${o.statusFile}: ${(err as Error).message} (is belay keepalived running? see --status-file)\n`);
          process.exitCode = 1;
          return;
        }
        const alive = pidAlive(s.pid);
        process.stdout.write(o.json ? `${JSON.stringify({ ...s, running: alive }, null, 2)}\n` : formatStatus(s, alive));
        process.exitCode = alive ? 0 : 3;
        return;
      }
      const port = o.udpPort === undefined ? undefined : Number(o.udpPort);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
        process.stderr.write(`belay keepalived: --udp-port ${o.udpPort} is not a port number\n`);
        process.exitCode = 1;
        return;
      }
      process.exitCode = await runKeepalived({
        file: o.useFile,
        statusFile: o.statusFile,
        ...(port !== undefined ? { udpPort: port } : {}),
        configTest: !!o.configTest,
        logDetail: !!o.logDetail,
        ...(o.configId ? { configId: o.configId } : {}),
        ...(o.metricsListen ? { metricsListen: o.metricsListen } : {}),
      });
    });
}
