/**
 * keepalived's script security, on the disk: which user scripts and notify
 * commands run as (`script_user USER [GROUP]`, default `keepalived_script`
 * when that user exists, else root with a warning), and with
 * `enable_script_security` a script or notify command whose file, or any
 * directory above it, can be written by another user than root (or the
 * script user) is disabled with keepalived's warning; without it, such a
 * script runs and the warning says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { GlobalDefs, NotifyConf, ResolvedConfig } from './keepalived-conf.js';

export interface ScriptCredentials {
  uid: number;
  gid: number;
  user: string;
}

export function lookupUser(user: string, group?: string): ScriptCredentials | null {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    let gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (group) {
      const line = execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      gid = Number(line.split(':')[2]);
    }
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid, user } : null;
  } catch {
    return null;
  }
}

function resolveExecutable(cmd: string): string | null {
  if (cmd.includes('/')) return path.resolve(cmd);
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Why a script path is unsafe, or null: writable by someone other than root or `uid`. */
export function unsafeReason(file: string, uid: number): string | null {
  let p = file;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return p === file ? null : null; // a missing script fails when run, as in keepalived
    }
    const sticky = (st.mode & 0o1000) !== 0 && p !== file;
    if (!sticky && (st.mode & 0o002) !== 0) return `${p} is writable by everyone`;
    if (!sticky && (st.mode & 0o020) !== 0 && st.gid !== 0) return `${p} is writable by group ${st.gid}`;
    if (st.uid !== 0 && st.uid !== uid) return `${p} is owned by uid ${st.uid}`;
    const up = path.dirname(p);
    if (up === p) return null;
    p = up;
  }
}

export interface SecurityResult {
  credentials: ScriptCredentials | null;
  warnings: string[];
}

/**
 * Apply script_user / enable_script_security to a resolved configuration
 * (disabled scripts are removed from the spec and from the instances that
 * track them; disabled notify commands are dropped).
 */
export function applyScriptSecurity(resolved: ResolvedConfig, g: GlobalDefs, runningUid = process.getuid?.() ?? 0): SecurityResult {
  const warnings: string[] = [];
  let credentials: ScriptCredentials | null = null;
  if (g.scriptUser) {
    credentials = lookupUser(g.scriptUser, g.scriptGroup);
    if (!credentials) warnings.push(`script_user ${g.scriptUser}${g.scriptGroup ? ` ${g.scriptGroup}` : ''}: no such user or group; scripts run as uid ${runningUid}`);
  } else if (runningUid === 0) {
    credentials = lookupUser('keepalived_script');
    if (!credentials) warnings.push("default user 'keepalived_script' for script execution does not exist - please create (scripts run as root)");
  }
  if (credentials && runningUid !== 0) {
    warnings.push(`script_user ${credentials.user}: not running as root, scripts run as uid ${runningUid}`);
    credentials = null;
  }
  const uid = credentials?.uid ?? runningUid;
  const verdicts = new Map<string, string | null>();
  const check = (argv0: string | undefined): string | null => {
    if (!argv0) return null;
    const file = resolveExecutable(argv0);
    if (!file) return null;
    if (!verdicts.has(file)) verdicts.set(file, unsafeReason(file, uid));
    return verdicts.get(file) ?? null;
  };
  let violation = false;
  const disabled = new Set<string>();
  for (const s of resolved.spec.scripts) {
    const why = check(s.argv[0] === '/bin/sh' && s.argv[1] === '-c' ? undefined : s.argv[0]);
    if (!why) continue;
    if (g.enableScriptSecurity) {
      warnings.push(`Unsafe permissions found for script '${s.argv.join(' ')}' (${why}) - disabling.`);
      disabled.add(s.name);
    } else violation = true;
  }
  if (disabled.size) {
    resolved.spec.scripts = resolved.spec.scripts.filter((s) => !disabled.has(s.name));
    for (const i of resolved.spec.instances) {
      const before = i.trackScripts.length;
      i.trackScripts = i.trackScripts.filter((t) => !disabled.has(t.script));
      if (i.trackScripts.length !== before) warnings.push(`(${i.name}) track_script disabled for insecure script(s): ${[...disabled].join(', ')}`);
    }
  }
  const checkNotify = (owner: string, n: NotifyConf) => {
    for (const key of ['master', 'backup', 'fault', 'stop', 'generic'] as const) {
      const cmd = n[key];
      if (!cmd?.[0]) continue;
      const why = check(cmd[0].trim().split(/\s+/)[0]);
      if (!why) continue;
      if (g.enableScriptSecurity) {
        warnings.push(`Unsafe permissions found for notify script '${cmd[0]}' of ${owner} (${why}) - disabling.`);
        delete n[key];
      } else violation = true;
    }
  };
  for (const [name, n] of resolved.instanceNotify) checkNotify(name, n);
  for (const [name, n] of resolved.groupNotify) checkNotify(name, n);
  if (violation) warnings.push('SECURITY VIOLATION - scripts are being executed but script_security not enabled.');
  return { credentials, warnings };
}
