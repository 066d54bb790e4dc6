/**
 * keepalived's notification mail: `notification_email`,
 * `notification_email_from`, `smtp_server HOST [PORT]`,
 * `smtp_connect_timeout`, `smtp_helo_name`, and `smtp_alert` (global, the
 * VRRP-only `smtp_alert_vrrp`, per vrrp_instance and per vrrp_sync_group),
 * with keepalived's own subjects and bodies on state changes
 * ("[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state").
 *
 * As in keepalived (vrrp_complete_instance), an instance mails only when
 * smtp_alert is on for it: its own setting, else smtp_alert_vrrp, else the
 * global smtp_alert, else off. The settings are read from the statements
 * of keepalived.conf (src/vrrp/keepalived-conf.ts parses the rest).
 *
 * Sending uses nodemailer's SMTP transport: a maintained SMTP client
 * (EHLO/HELO, dot-stuffing, multi-recipient RCPT, timeouts) rather than a
 * hand-rolled one. Like keepalived, it speaks plain SMTP to the configured
 * relay (no STARTTLS, no AUTH): keepalived users point it at a local MTA.
 */
import { hostname as osHostname } from 'node:os';
import nodemailer from 'nodemailer';
import { parseStatements, type ConfigSource, type Diagnostic, type Stmt } from '../vrrp/keepalived-conf.js';
import type { VrrpState } from '../vrrp/types.js';

export interface MailSettings {
  to: string[];
  from: string;
  server?: { host: string; port: number };
  connectTimeoutMs: number;
  heloName: string;
  routerId: string;
  /** Instances and sync groups that mail on state changes. */
  instances: Set<string>;
  groups: Set<string>;
  /** Every sync group's member instances. */
  groupMembers: Map<string, string[]>;
}

/** What a reader of the config should know about mail (to log at start). */
export interface MailPlan {
  settings: MailSettings;
  notes: string[];
}

const boolArg = (s: Stmt): boolean => {
  const v = s.args[0]?.text.toLowerCase();
  return v === undefined || ['true', 'on', 'yes', '1'].includes(v);
};

/** keepalived's mail settings from keepalived.conf (includes followed, as the main parser does). */
export function mailSettings(file: string, src: ConfigSource, host = osHostname()): MailPlan {
  const stmts = parseStatements(file, src, [] as Diagnostic[]);
  const notes: string[] = [];
  const settings: MailSettings = {
    to: [],
    from: `keepalived@${host}`,
    connectTimeoutMs: 30_000,
    heloName: host,
    routerId: host,
    instances: new Set(),
    groups: new Set(),
    groupMembers: new Map(),
  };
  let globalAlert: boolean | undefined;
  let vrrpAlert: boolean | undefined;
  const perInstance = new Map<string, boolean | undefined>();
  const perGroup = new Map<string, boolean | undefined>();
  for (const st of stmts) {
    if (st.keyword === 'global_defs') {
      for (const s of st.block ?? []) {
        const a0 = s.args[0]?.text;
        switch (s.keyword) {
          case 'notification_email':
            for (const e of s.block ?? []) settings.to.push(e.keyword, ...e.args.map((x) => x.text));
            break;
          case 'notification_email_from':
            if (a0) settings.from = a0;
            break;
          case 'smtp_server': {
            if (!a0) break;
            const port = s.args[1] ? Number(s.args[1].text) : 25;
            if (!Number.isInteger(port) || port < 1 || port > 65535) {
              notes.push(`${s.file}:${s.line}: smtp_server port '${s.args[1]?.text}' is not a port number; no mail will be sent`);
              break;
            }
            settings.server = { host: a0, port };
            break;
          }
          case 'smtp_connect_timeout': {
            const n = Number(a0);
            if (Number.isFinite(n) && n > 0) settings.connectTimeoutMs = n * 1000;
            break;
          }
          case 'smtp_helo_name':
            if (a0) settings.heloName = a0;
            break;
          case 'router_id':
            if (a0) settings.routerId = a0;
            break;
          case 'smtp_alert':
            globalAlert = boolArg(s);
            break;
          case 'smtp_alert_vrrp':
            vrrpAlert = boolArg(s);
            break;
        }
      }
    }
    if (st.keyword === 'vrrp_instance' || st.keyword === 'vrrp_sync_group') {
      const name = st.args[0]?.text ?? '';
      const own = (st.block ?? []).find((s) => s.keyword === 'smtp_alert');
      (st.keyword === 'vrrp_instance' ? perInstance : perGroup).set(name, own ? boolArg(own) : undefined);
      if (st.keyword === 'vrrp_sync_group') {
        const group = (st.block ?? []).find((s) => s.keyword === 'group');
        settings.groupMembers.set(name, (group?.block ?? []).flatMap((e) => [e.keyword, ...e.args.map((a) => a.text)]));
      }
    }
  }
  const dflt = vrrpAlert ?? globalAlert ?? false;
  for (const [name, v] of perInstance) if (v ?? dflt) settings.instances.add(name);
  for (const [name, v] of perGroup) if (v ?? dflt) settings.groups.add(name);
  const wants = settings.instances.size + settings.groups.size > 0;
  if (wants && !settings.server) notes.push('smtp_alert is on but there is no smtp_server: no mail will be sent');
  if (wants && settings.to.length === 0) notes.push('smtp_alert is on but notification_email lists nobody: no mail will be sent');
  if (!wants && settings.server && settings.to.length) {
    notes.push('notification_email and smtp_server are set but no vrrp_instance has smtp_alert (keepalived mails only with smtp_alert): no mail on state changes');
  }
  if (wants && settings.server && settings.to.length) {
    notes.push(`mail on state changes of ${[...settings.instances, ...settings.groups].join(', ')} to ${settings.to.join(', ')} via ${settings.server.host}:${settings.server.port}`);
  }
  return { settings, notes };
}

export interface MailMessage {
  subject: string;
  body: string;
}

const STATE_TEXT: Partial<Record<VrrpState, { subject: string; instance: string; group: string }>> = {
  MASTER: { subject: 'Entering MASTER state', instance: '=> VRRP Instance is now owning VRRP VIPs <=', group: '=> All VRRP group instances are now in MASTER state <=' },
  BACKUP: { subject: 'Entering BACKUP state', instance: '=> VRRP Instance is no longer owning VRRP VIPs <=', group: '=> All VRRP group instances are now in BACKUP state <=' },
  FAULT: { subject: 'Entering FAULT state', instance: '=> VRRP Instance is no longer owning VRRP VIPs <=', group: '=> All VRRP group instances are now in FAULT state <=' },
  STOP: { subject: 'Stopping', instance: '=> VRRP Instance stopping <=', group: '=> All VRRP group instances are now stopping <=' },
};

/** keepalived's message for a state change (vrrp_smtp_notifier); none for INIT. */
export function vrrpMessage(routerId: string, kind: 'instance' | 'group', name: string, state: VrrpState): MailMessage | undefined {
  const t = STATE_TEXT[state];
  if (!t) return undefined;
  return {
    subject: `[${routerId}] VRRP ${kind === 'instance' ? 'Instance' : 'Group'} ${name} - ${t.subject}`,
    body: kind === 'instance' ? t.instance : t.group,
  };
}

/**
 * Sends the mails one after another (a slow relay delays mail, never the
 * VRRP engine), and mails a state only when it differs from the last one
 * mailed for that instance (keepalived's last_email_state).
 */
export class KeepalivedMailer {
  private queue: Promise<void> = Promise.resolve();
  private readonly lastMailed = new Map<string, VrrpState>();
  private readonly instanceState = new Map<string, VrrpState>();
  /** Mails handed to the relay / refused, for status and tests. */
  readonly counts = { sent: 0, failed: 0 };

  constructor(
    private settings: MailSettings,
    private readonly log: (line: string) => void,
  ) {}

  reload(settings: MailSettings): void {
    this.settings = settings;
  }

  /**
   * An instance changed state. A sync group's mail goes out when all its
   * members have reached the same state (keepalived's group transition).
   */
  onInstanceState(name: string, state: VrrpState): void {
    this.instanceState.set(name, state);
    this.onState('instance', name, state);
    for (const [group, members] of this.settings.groupMembers) {
      if (!members.includes(name)) continue;
      if (members.every((m) => this.instanceState.get(m) === state)) this.onState('group', group, state);
    }
  }

  onState(kind: 'instance' | 'group', name: string, state: VrrpState): void {
    const s = this.settings;
    if (!(kind === 'instance' ? s.instances : s.groups).has(name)) return;
    if (!s.server || s.to.length === 0) return;
    const key = `${kind}:${name}`;
    if (this.lastMailed.get(key) === state) return;
    const msg = vrrpMessage(s.routerId, kind, name, state);
    if (!msg) return;
    this.lastMailed.set(key, state);
    const server = s.server;
    this.queue = this.queue.then(() => this.send(s, server, msg));
  }

  private async send(s: MailSettings, server: { host: string; port: number }, msg: MailMessage): Promise<void> {
    const transport = nodemailer.createTransport({
      host: server.host,
      port: server.port,
      secure: false,
      ignoreTLS: true,
      name: s.heloName,
      connectionTimeout: s.connectTimeoutMs,
      greetingTimeout: s.connectTimeoutMs,
      socketTimeout: s.connectTimeoutMs,
    });
    try {
      await transport.sendMail({
        from: s.from,
        to: s.to,
        subject: msg.subject,
        text: `${msg.body}\r\n`,
        headers: { 'X-Mailer': 'Keepalived' },
      });
      this.counts.sent++;
      this.log(`SMTP alert successfully sent: ${msg.subject}`);
    } catch (err) {
      this.counts.failed++;
      this.log(`Error sending SMTP alert to ${server.host}:${server.port}: ${(err as Error).message}`);
    } finally {
      transport.close();
    }
  }

  /** Wait for queued mail (bounded by the connect timeout per mail). */
  async flush(): Promise<void> {
    await this.queue;
  }
}
