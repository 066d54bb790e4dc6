/**
 * The agent's side of the fence-agents protocol (options from argv or
 * stdin, metadata), and the lab switch's wire protocol over a real unix
 * socket: challenge-response, replay, wrong keys, serialized actions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FenceUsageError, parseFenceInput, renderFenceMetadata } from '../../src/fencing/agent-protocol.js';
import { parseFenceMetadata } from '../../src/fencing/agent.js';
import { DESCRIPTION } from '../../src/cli/fence-belay-lab.js';
import { callPowerSwitch, hostKey, requestMac, startPowerSwitchServer, type PowerControl } from '../../src/lab/power-switch.js';

describe('fence agent options', () => {
  it('reads the command line as fence-agents do', () => {
    const { options } = parseFenceInput(DESCRIPTION, ['-o', 'off', '-n', 'n2', '--power-wait=1.5', '-v'], undefined);
    expect(options).toMatchObject({ action: 'off', plug: 'n2', power_wait: '1.5', verbose: '1', power_timeout: '20' });
    expect(parseFenceInput(DESCRIPTION, ['--plug', 'n3', '-ostatus'], undefined).options).toMatchObject({ action: 'status', plug: 'n3' });
    expect(() => parseFenceInput(DESCRIPTION, ['--bogus'], undefined)).toThrow(FenceUsageError);
    expect(() => parseFenceInput(DESCRIPTION, ['-n'], undefined)).toThrow(/needs a value/);
    expect(() => parseFenceInput(DESCRIPTION, ['--power-wait=soon'], undefined)).toThrow(/number of seconds/);
  });

  it('reads stdin as Pacemaker writes it: port for plug, its own keys warned about, not fatal', () => {
    const { options, warnings } = parseFenceInput(DESCRIPTION, [], 'action=reboot\nport=n1\nnodename=n1\npcmk_host_list=n1 n2\n# comment\nverbose=yes\n');
    expect(options).toMatchObject({ action: 'reboot', plug: 'n1', nodename: 'n1', verbose: '1' });
    expect(warnings).toEqual(["Parse error: Ignoring unknown option 'pcmk_host_list=n1 n2'"]);
    expect(parseFenceInput(DESCRIPTION, [], 'option=off\nplug=n2\n').options.action).toBe('off');
  });

  it('renders metadata that the metadata parser (and Pacemaker) read back', () => {
    const meta = parseFenceMetadata(renderFenceMetadata(DESCRIPTION));
    expect(meta.name).toBe('fence_belay_lab');
    expect(meta.parameters.find((p) => p.name === 'port')?.deprecated).toBe(true);
    expect(meta.parameters.find((p) => p.name === 'power_wait')).toMatchObject({ type: 'second', default: '0' });
    expect(meta.parameters.find((p) => p.name === 'verbose')?.type).toBe('boolean');
    expect(meta.actions.map((a) => a.name)).toContain('list-status');
  });
});

describe("the lab switch's wire protocol", () => {
  let dir: string;
  let socket: string;
  let server: { close: () => Promise<void> };
  const labKey = randomBytes(32);
  const power = new Map<string, 'on' | 'off'>([['n1', 'on'], ['n2', 'on']]);
  const log: string[] = [];
  let busy = 0;
  let maxBusy = 0;
  // Plugs switched in memory: what is under test is who may switch and how requests are framed.
  const control: PowerControl = {
    plugs: () => [...power.keys()],
    status: (p) => power.get(p)!,
    off: async (p) => {
      maxBusy = Math.max(maxBusy, ++busy);
      await new Promise((r) => setTimeout(r, 50));
      power.set(p, 'off');
      busy--;
    },
    on: async (p) => {
      maxBusy = Math.max(maxBusy, ++busy);
      await new Promise((r) => setTimeout(r, 50));
      power.set(p, 'on');
      busy--;
    },
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switch-'));
    socket = join(dir, 'switch.sock');
    server = await startPowerSwitchServer({ socketPath: socket, labKey, power: control, log: (l) => log.push(l) });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One raw exchange: read the challenge, send what `make` builds from it, return the reply. */
  const raw = (make: (challenge: string) => string) =>
    new Promise<{ challenge: string; reply: { ok: boolean; error?: string } }>((resolve, reject) => {
      const sock = createConnection(socket);
      let buf = '';
      let challenge = '';
      sock.setEncoding('utf8');
      sock.on('error', reject);
      sock.on('data', (d: string) => {
        buf += d;
        const lines = buf.split('\n');
        if (!challenge && lines.length > 1) {
          challenge = (JSON.parse(lines[0]!) as { challenge: string }).challenge;
          sock.write(make(challenge));
          buf = lines.slice(1).join('\n');
        }
        if (challenge && buf.includes('\n')) {
          resolve({ challenge, reply: JSON.parse(buf.slice(0, buf.indexOf('\n'))) as { ok: boolean; error?: string } });
          sock.destroy();
        }
      });
    });

  it('switches for a host holding its key, and refuses a replayed request', async () => {
    const key = hostKey(labKey, 'n1');
    const req = { host: 'n1', action: 'off' as const, plug: 'n2', powerWaitMs: 0 };
    let captured = '';
    const first = await raw((c) => (captured = `${JSON.stringify({ ...req, mac: requestMac(key, c, req) })}\n`));
    expect(first.reply.ok).toBe(true);
    expect(power.get('n2')).toBe('off');
    // The same bytes again: the switch's new challenge makes the MAC wrong.
    const replay = await raw(() => captured);
    expect(replay.reply).toMatchObject({ ok: false });
    expect(replay.reply.error).toContain('authentication failed');
    expect((await callPowerSwitch(socket, key, { host: 'n1', action: 'on', plug: 'n2' }, 5000)).ok).toBe(true);
    expect(power.get('n2')).toBe('on');
  });

  it("refuses another lab's key and another host's name", async () => {
    const foreign = await callPowerSwitch(socket, hostKey(randomBytes(32), 'n1'), { host: 'n1', action: 'off', plug: 'n2' }, 5000);
    expect(foreign).toMatchObject({ ok: false });
    const spoof = await callPowerSwitch(socket, hostKey(labKey, 'n1'), { host: 'n2', action: 'off', plug: 'n1' }, 5000);
    expect(spoof).toMatchObject({ ok: false });
    expect(power.get('n1')).toBe('on');
    expect((await raw(() => 'not json\n')).reply).toMatchObject({ ok: false, error: 'request is not JSON' });
  });

  it('switches one plug at a time when asked at once', async () => {
    const key = hostKey(labKey, 'n1');
    const rs = await Promise.all([
      callPowerSwitch(socket, key, { host: 'n1', action: 'reboot', plug: 'n2' }, 5000),
      callPowerSwitch(socket, key, { host: 'n1', action: 'reboot', plug: 'n1' }, 5000),
      callPowerSwitch(socket, key, { host: 'n1', action: 'list' }, 5000),
    ]);
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(maxBusy).toBe(1);
    expect(rs[2]).toMatchObject({ plugs: [{ plug: 'n1', status: 'on' }, { plug: 'n2', status: 'on' }] });
    expect(log.some((l) => l.includes('n1 reboot n2: Rebooted'))).toBe(true);
  });
});
