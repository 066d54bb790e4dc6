/**
 * keepalived's notification mail from `belay keepalived`: the settings and
 * message texts as pure functions, and a failover in network namespaces
 * delivering mail to a real SMTP server (smtp-server) on a lab host. The
 * same run scrapes `--metrics-listen` and checks it with promtool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/netns.js';
import { BELAY_BIN, hasVip, makeWorkDir, requireKeepalivedLab, sleep, waitFor } from '../../src/lab/keepalived-demo.js';
import { mailSettings, vrrpMessage } from '../../src/notify/keepalived-mail.js';
import type { ConfigSource } from '../../src/vrrp/keepalived-conf.js';
import { promtool } from '../metrics/promtool.js';

const SINK = fileURLToPath(new URL('./smtp-sink.mjs', import.meta.url));

const memSource = (files: Record<string, string>): ConfigSource => ({
  read: (p: string) => {
    const t = files[p];
    if (t === undefined) throw new Error(`no file ${p}`);
    return t;
  },
  glob: (pattern: string) => Object.keys(files).filter((f) => f === pattern),
  dirname: (p: string) => path.dirname(p),
  resolve: (dir: string, p: string) => path.resolve(dir, p),
});

describe('mail settings and messages', () => {
  it('reads smtp_server host and port, defaults, and smtp_alert precedence as keepalived', () => {
    const conf = `global_defs {
  notification_email {
    a@example.com
    b@example.com
  }
  notification_email_from ka@lb1
  smtp_server 198.18.0.9 2525
  smtp_connect_timeout 7
  router_id LVS_DEVEL
  smtp_alert
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  smtp_alert false
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
}
`;
    const { settings, notes } = mailSettings('/k.conf', memSource({ '/k.conf': conf }), 'host1');
    expect(settings.to).toEqual(['a@example.com', 'b@example.com']);
    expect(settings.from).toBe('ka@lb1');
    expect(settings.server).toEqual({ host: '198.18.0.9', port: 2525 });
    expect(settings.connectTimeoutMs).toBe(7000);
    expect(settings.routerId).toBe('LVS_DEVEL');
    expect([...settings.instances]).toEqual(['VI_1']);
    expect([...settings.groups]).toEqual(['G1']);
    expect(settings.groupMembers.get('G1')).toEqual(['VI_1', 'VI_2']);
    expect(notes.join('\n')).toMatch(/mail on state changes of VI_1, G1 to a@example.com, b@example.com via 198.18.0.9:2525/);

    // The seeds' form: mail configured, no smtp_alert anywhere: keepalived sends none, and says so.
    const seed = `global_defs {
  notification_email {
    zhouxiao@example.com
  }
  smtp_server mail.example.com
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
}
`;
    const s2 = mailSettings('/s.conf', memSource({ '/s.conf': seed }), 'host1');
    expect(s2.settings.server).toEqual({ host: 'mail.example.com', port: 25 });
    expect(s2.settings.from).toBe('keepalived@host1');
    expect(s2.settings.instances.size).toBe(0);
    expect(s2.notes.join('\n')).toMatch(/no vrrp_instance has smtp_alert/);
  });

  it("uses keepalived's subjects and bodies", () => {
    expect(vrrpMessage('LVS_DEVEL', 'instance', 'VI_1', 'MASTER')).toEqual({
      subject: '[LVS_DEVEL] VRRP Instance VI_1 - Entering MASTER state',
      body: '=> VRRP Instance is now owning VRRP VIPs <=',
    });
    expect(vrrpMessage('r', 'instance', 'VI_1', 'BACKUP')?.body).toBe('=> VRRP Instance is no longer owning VRRP VIPs <=');
    expect(vrrpMessage('r', 'group', 'G', 'FAULT')?.subject).toBe('[r] VRRP Group G - Entering FAULT state');
    expect(vrrpMessage('r', 'instance', 'VI_1', 'INIT')).toBeUndefined();
    // The texts keepalived 2.2.7 carries (strings /usr/sbin/keepalived).
    expect(vrrpMessage('r', 'group', 'G', 'STOP')?.body).toBe('=> All VRRP group instances are now stopping <=');
    expect(vrrpMessage('r', 'instance', 'VI_1', 'STOP')).toEqual({ subject: '[r] VRRP Instance VI_1 - Stopping', body: '=> VRRP Instance stopping <=' });
  });
});

interface Mail {
  helo: string;
  from: string;
  to: string[];
  data: string;
}

describe('belay keepalived: a failover mails the SMTP server', () => {
  let lab: Lab | undefined;
  let work = '';
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.pid) {
        c.kill('SIGTERM');
        await Promise.race([new Promise((r) => c.once('exit', r)), sleep(3000)]);
        if (c.exitCode === null) c.kill('SIGKILL');
      }
    }
    await lab?.destroy();
    lab = undefined;
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('mails MASTER from the first master, then from the backup after the master crashes; metrics pass promtool', async () => {
    requireKeepalivedLab('the belay keepalived mail test');
    if (!existsSync(path.resolve(BELAY_BIN, '..', '..', 'dist', 'cli', 'belay.js'))) throw new Error('run `npm run build` first');
    lab = await Lab.create({ tag: `km${process.pid % 10000}` });
    work = makeWorkDir('belay-mail-');
    for (const h of ['lb1', 'lb2', 'mail']) await lab.addHost(h);
    const l = lab;
    const vip = `${l.subnet}.77`;
    const mailbox = path.join(work, 'mailbox.jsonl');
    const sink = l.spawn('mail', [process.execPath, SINK, '0.0.0.0', '2525', mailbox], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(sink);
    await new Promise<void>((resolve, reject) => {
      sink.stdout!.once('data', () => resolve());
      sink.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code})`)));
    });

    const conf = (name: string, prio: number, alert: 'global' | 'instance') => `global_defs {
  router_id ${name}
  notification_email {
    ops@example.com
    oncall@example.com
  }
  notification_email_from keepalived@${name}
  smtp_server ${l.host('mail').address} 2525
  smtp_connect_timeout 5
${alert === 'global' ? '  smtp_alert\n' : ''}}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 77
  priority ${prio}
  advert_int 1
${alert === 'instance' ? '  smtp_alert\n' : ''}  virtual_ipaddress {
    ${vip}/24 dev eth0
  }
}
`;
    const start = (host: string, text: string, extra: string[] = []) => {
      const file = path.join(work, `${host}.conf`);
      writeFileSync(file, text);
      const log = path.join(work, `${host}.log`);
      const child = l.spawn(host, [process.execPath, BELAY_BIN, 'keepalived', '-f', file, '--status-file', path.join(work, `${host}.status.json`), ...extra], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text2 = '';
      child.stdout!.on('data', (c: Buffer) => {
        text2 += c.toString();
        writeFileSync(log, text2);
      });
      child.stderr!.on('data', (c: Buffer) => {
        text2 += c.toString();
        writeFileSync(log, text2);
      });
      children.push(child);
      return { child, log: () => text2 };
    };
    const mails = (): Mail[] =>
      existsSync(mailbox) ? readFileSync(mailbox, 'utf8').trim().split('\n').filter(Boolean).map((x) => JSON.parse(x) as Mail) : [];
    const subjects = () => mails().map((m) => /^Subject: (.*)$/m.exec(m.data)?.[1] ?? '');

    const a = start('lb1', conf('lb1', 150, 'instance'), ['--metrics-listen', '0.0.0.0:9650']);
    start('lb2', conf('lb2', 100, 'global'));
    await waitFor(() => hasVip(l, 'lb1', vip), 15000, 'lb1 to take the VIP');
    await waitFor(() => subjects().includes('[lb1] VRRP Instance VI_1 - Entering MASTER state'), 15000, "lb1's MASTER mail");
    const m = mails().find((x) => x.data.includes('[lb1] VRRP Instance VI_1 - Entering MASTER state'))!;
    expect(m.from).toBe('keepalived@lb1');
    expect(m.to).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(m.data).toMatch(/^X-Mailer: Keepalived$/m);
    expect(m.data).toContain('=> VRRP Instance is now owning VRRP VIPs <=');
    expect(a.log()).toMatch(/SMTP alert successfully sent/);

    // Metrics of the running daemon, scraped over the lab network.
    const scrape = await l.exec('lb2', ['curl', '-sf', `http://${l.host('lb1').address}:9650/metrics`], { reject: false, stripFinalNewline: false });
    expect(scrape.exitCode, String(scrape.stderr)).toBe(0);
    const text = String(scrape.stdout);
    expect(text).toContain(`keepalived_vrrp_state{iname="VI_1",intf="eth0",vrid="77",ip_address="${vip}"} 2`);
    expect(text).toMatch(/keepalived_become_master_total\{iname="VI_1",intf="eth0",vrid="77",state="MASTER"\} 1/);
    const check = promtool(text);
    expect(check.ok, check.out).toBe(true);
    expect(spawnSync('promtool', ['--version']).status).toBe(0);

    // The master crashes: lb2 takes over and mails it.
    await l.crash('lb1');
    await waitFor(() => hasVip(l, 'lb2', vip), 15000, 'lb2 to take the VIP');
    await waitFor(() => subjects().includes('[lb2] VRRP Instance VI_1 - Entering MASTER state'), 15000, "lb2's MASTER mail");
    const m2 = mails().find((x) => x.data.includes('[lb2] VRRP Instance VI_1 - Entering MASTER state'))!;
    expect(m2.from).toBe('keepalived@lb2');
    expect(m2.helo).toBe(spawnSync('hostname', { encoding: 'utf8' }).stdout.trim());

    // Stock keepalived, same relay, its own VRID: the same subject, body and X-Mailer.
    await l.addHost('ka');
    const kaConf = path.join(work, 'ka.conf');
    writeFileSync(kaConf, conf('ka', 100, 'instance').replace('virtual_router_id 77', 'virtual_router_id 78').replace(`${vip}/24`, `${l.subnet}.78/24`));
    children.push(
      l.spawn('ka', ['/usr/sbin/keepalived', '--dont-fork', '--log-console', '--no-syslog', '-f', kaConf, '-p', path.join(work, 'ka.pid'), '-r', path.join(work, 'ka-vrrp.pid'), '-c', path.join(work, 'ka-chk.pid')]),
    );
    await waitFor(() => subjects().includes('[ka] VRRP Instance VI_1 - Entering MASTER state'), 20000, "stock keepalived's MASTER mail");
    const stock = mails().find((x) => x.data.includes('[ka] VRRP Instance VI_1 - Entering MASTER state'))!;
    const ours = vrrpMessage('ka', 'instance', 'VI_1', 'MASTER')!;
    expect(stock.data).toMatch(/^X-Mailer: Keepalived\r$/m);
    expect(stock.data).toContain(`Subject: ${ours.subject}\r\n`);
    expect(stock.data).toContain(`\r\n\r\n${ours.body}\r\n`);
    expect(stock.from).toBe('keepalived@ka');
  }, 90_000);
});

describe('KeepalivedMailer against a real SMTP server on loopback', () => {
  it('mails an instance change, a sync group once all members agree, never the same state twice; reports a dead relay', async () => {
    const { SMTPServer } = await import('smtp-server');
    const got: Array<{ to: string[]; data: string }> = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onData(stream, session, cb) {
        let d = '';
        stream.on('data', (c: Buffer) => (d += c.toString()));
        stream.on('end', () => {
          got.push({ to: session.envelope.rcptTo.map((r) => r.address), data: d });
          cb();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as { port: number }).port;
    try {
      const { KeepalivedMailer } = await import('../../src/notify/keepalived-mail.js');
      const settings = {
        to: ['ops@example.com'],
        from: 'ka@lb1',
        server: { host: '127.0.0.1', port },
        connectTimeoutMs: 5000,
        heloName: 'lb1',
        routerId: 'LB1',
        instances: new Set(['VI_1']),
        groups: new Set(['G1']),
        groupMembers: new Map([['G1', ['VI_1', 'VI_2']]]),
      };
      const log: string[] = [];
      const m = new KeepalivedMailer(settings, (l) => log.push(l));
      m.onInstanceState('VI_1', 'MASTER');
      m.onInstanceState('VI_1', 'MASTER');
      m.onInstanceState('VI_2', 'MASTER'); // VI_2 has no smtp_alert, but completes G1
      await m.flush();
      const subjects = got.map((g) => /^Subject: (.*)$/m.exec(g.data)?.[1]);
      expect(subjects).toEqual(['[LB1] VRRP Instance VI_1 - Entering MASTER state', '[LB1] VRRP Group G1 - Entering MASTER state']);
      expect(got[1]!.data).toContain('=> All VRRP group instances are now in MASTER state <=');
      expect(m.counts).toEqual({ sent: 2, failed: 0 });

      // A relay that is not there: logged and counted, nothing thrown.
      const dead = new KeepalivedMailer({ ...settings, server: { host: '127.0.0.1', port: 1 } }, (l) => log.push(l));
      dead.onInstanceState('VI_1', 'BACKUP');
      await dead.flush();
      expect(dead.counts.failed).toBe(1);
      expect(log.join('\n')).toMatch(/Error sending SMTP alert to 127\.0\.0\.1:1/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 30_000);
});
