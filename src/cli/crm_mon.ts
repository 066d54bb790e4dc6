/**
 * `crm_mon`: the cluster status in Pacemaker's layout (src/status/mon.ts).
 *
 * - With CIB_file=PATH: that file, once (as Pacemaker's crm_mon does).
 * - `-1`: one status from the local belayd (admin `status`).
 * - Otherwise the live view: subscribed to belayd's `watch` stream, redrawn
 *   in place (home cursor + clear screen) on every change belayd pushes, not
 *   on a timer. `q` or Ctrl-C quits. If belayd goes away the view says so and
 *   reconnects.
 */
import { fencingConfigErrors } from '../fencing/fencer.js';
import type { FenceEvent } from '../fencing/history.js';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Cib } from '../cib/model.js';
import { CibError } from '../cib/errors.js';
import { readCibFile } from '../cib/file.js';
import { monJson, monSimple, monText, monXml, type MonInput, type MonOptions } from '../status/mon.js';
import { adminSocketPath } from './crm-cibfile.js';

const USAGE = `usage: crm_mon [OPTIONS]
  -1, --one-shot              show the status once and exit
  -r, --inactive              show inactive resources too ("Full List of Resources")
  -f, --failcounts            show resource fail counts ("Migration Summary")
  -A, --show-node-attributes  show node attributes
  -o, --operations            show the operation history of every node
  -L, --neg-locations         show negative location constraints (bans)
  -m, --fence-history[=LEVEL] fencing history: 0 off, 1 failed and pending,
                              2 (the default with -m) also successful, 3 all
  -s, --simple-status         one line (CLUSTER OK / WARN / CRIT) with a Nagios exit code
  --output-as=text|xml|json   output format (xml/json imply --one-shot)
  -X, --as-xml                same as --output-as=xml
  -i, --interval=SECONDS      also redraw the live view this often (the clock);
                              changes are shown as they happen either way
  -h, --help                  this help
The live view reads belayd's admin socket (BELAY_ADMIN_SOCKET or
/run/belay/admin.sock). With CIB_file=PATH set it shows that file once.
`;

/** ESC [H ESC [2J: home the cursor, clear the screen (what crm_mon's curses view amounts to). */
export const CLEAR = '\x1b[H\x1b[2J';

interface Args extends MonOptions {
  oneShot: boolean;
  format: 'text' | 'xml' | 'json';
  simple: boolean;
  intervalMs?: number;
  help: boolean;
}

/** --fence-history / -m LEVEL: 0 off, 1 failures and pending, 2 (no value) with successes, 3 the full history. */
function fenceLevel(v: string | undefined): number {
  if (v === undefined || v === '') return 2;
  const n = Number.parseInt(v, 10);
  if (!/^\d+$/.test(v) || n > 3) throw new CibError(`crm_mon: bad fence history level '${v}' (0-3)`);
  return n;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { oneShot: false, format: 'text', simple: false, help: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined) throw new CibError(`crm_mon: ${flag} needs a value`);
    return v;
  };
  const setFormat = (f: string) => {
    if (f !== 'text' && f !== 'xml' && f !== 'json') throw new CibError(`crm_mon: unknown output format '${f}' (text, xml or json)`);
    a.format = f;
  };
  const setInterval = (v: string) => {
    const s = Number.parseFloat(v.replace(/s$/, ''));
    if (!Number.isFinite(s) || s <= 0) throw new CibError(`crm_mon: bad interval '${v}' (seconds, e.g. 5)`);
    a.intervalMs = s * 1000;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
      switch (name) {
        case '--one-shot': a.oneShot = true; break;
        case '--inactive': a.inactive = true; break;
        case '--failcounts': a.failcounts = true; break;
        case '--show-node-attributes': a.attributes = true; break;
        case '--operations': a.operations = true; break;
        case '--neg-locations': a.bans = true; break;
        case '--simple-status': a.simple = true; break;
        case '--as-xml': a.format = 'xml'; break;
        case '--help': a.help = true; break;
        case '--output-as': setFormat(inline ?? value(++i, name)); break;
        case '--interval': setInterval(inline ?? value(++i, name)); break;
        case '--fence-history': a.fenceHistory = fenceLevel(inline); break;
        case '--quiet': case '--verbose': break;
        default: throw new CibError(`crm_mon: unknown option '${arg}' (see crm_mon --help)`);
      }
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') throw new CibError(`crm_mon: unexpected argument '${arg}'`);
    // Bundled short flags: -1rfA, -i5
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j]!;
      switch (c) {
        case '1': a.oneShot = true; break;
        case 'r': a.inactive = true; break;
        case 'f': a.failcounts = true; break;
        case 'A': a.attributes = true; break;
        case 'o': a.operations = true; break;
        case 'L': a.bans = true; break;
        case 's': a.simple = true; break;
        case 'X': a.format = 'xml'; break;
        case 'h': case '?': a.help = true; break;
        case 'V': case 'q': break;
        case 'm': {
          // -m[LEVEL]: the level is glued to the flag, as with glib's optional arguments.
          const rest = arg.slice(j + 1);
          a.fenceHistory = fenceLevel(rest === '' ? undefined : rest);
          j = arg.length;
          break;
        }
        case 'i': {
          const rest = arg.slice(j + 1);
          setInterval(rest !== '' ? rest : value(++i, '-i'));
          j = arg.length;
          break;
        }
        default: throw new CibError(`crm_mon: unknown option '-${c}' (see crm_mon --help)`);
      }
    }
  }
  return a;
}

let cachedVersion: string | undefined;
/** belay's version, shown where Pacemaker shows the DC's version. */
export function belayVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version?: string };
      cachedVersion = `belay-${pkg.version ?? 'unknown'}`;
    } catch {
      cachedVersion = 'belay';
    }
  }
  return cachedVersion;
}

/** belayd's `status` / `watch` snapshot (the part crm_mon reads). */
export interface StatusSnapshot {
  node: { id: number; name: string };
  dc: { id: number; name: string } | null;
  quorate: boolean;
  lastChange?: { at: number; user?: string; client?: string; origin?: string };
  cib: Cib;
  fencing?: FenceEvent[];
}

export function inputFromSnapshot(s: StatusSnapshot, now: number): MonInput {
  const input: MonInput = {
    cib: s.cib,
    now,
    dc: s.dc ? { id: String(s.dc.id), name: s.dc.name } : null,
    quorate: s.quorate,
    daemon: { name: 'belayd', state: 'running', text: 'belayd is running', lastUpdated: now },
    version: belayVersion(),
    stack: 'belay',
  };
  if (s.lastChange && s.lastChange.at > 0) input.lastChange = { ...s.lastChange };
  if (s.fencing) input.fencing = s.fencing;
  return input;
}

function inputFromFile(path: string, now: number): MonInput {
  if (!existsSync(path)) throw new CibError(`crm_mon: CIB_file ${path} does not exist`);
  // As Pacemaker's crm_mon on a file: the stack and version only from the CIB's own properties.
  return { cib: readCibFile(path).cib, now, version: 'unknown', stack: 'unknown', fromFile: true };
}

function render(input: MonInput, a: Args, request: string): string {
  const opts: MonOptions = { ...a, request };
  // Pacemaker's scheduler errors go to stderr, as crm_mon's log does.
  for (const e of fencingConfigErrors(input.cib.configuration)) process.stderr.write(`error: ${e}\n`);
  if (a.format === 'xml') return monXml(input, opts);
  if (a.format === 'json') return monJson(input, opts);
  return monText(input, opts);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function main(argv: string[]): Promise<number> {
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 64;
  }
  if (a.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const request = ['crm_mon', ...argv].join(' ');
  const file = process.env.CIB_file;
  try {
    if (file !== undefined && file !== '') {
      const r = crmMonFile(a, file, request, nowSeconds());
      process.stdout.write(r.stdout);
      return r.code;
    }
    const { adminCall } = await import('../admin/socket.js');
    if (a.oneShot || a.simple || a.format !== 'text') {
      let snap: StatusSnapshot;
      try {
        snap = (await adminCall(adminSocketPath(), 'status', {}, { timeoutMs: 10_000 })) as StatusSnapshot;
      } catch (err) {
        return notAvailable(err as Error);
      }
      const input = inputFromSnapshot(snap, nowSeconds());
      if (a.simple) return simple(input);
      process.stdout.write(render(input, a, request));
      return 0;
    }
    return await live(a, request);
  } catch (e) {
    if (e instanceof CibError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** One status of a CIB file (CIB_file=PATH), as `crm_mon` prints it: what the tests compare with Pacemaker's. */
export function crmMonFile(a: Args, file: string, request: string, now: number): { stdout: string; code: number } {
  const input = inputFromFile(file, now);
  if (a.simple) {
    const r = monSimple(input);
    return { stdout: `${r.line}\n`, code: r.code };
  }
  return { stdout: render(input, a, request), code: 0 };
}

/** crm_mon on a CIB file with the given arguments, in-process (errors as Pacemaker's exit codes). */
export function crmMonFileArgs(argv: string[], file: string, now: number): { stdout: string; stderr: string; code: number } {
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    return { stdout: '', stderr: `${(e as Error).message}\n`, code: 64 };
  }
  try {
    return { ...crmMonFile(a, file, ['crm_mon', ...argv].join(' '), now), stderr: '' };
  } catch (e) {
    if (e instanceof CibError) return { stdout: '', stderr: `${e.message}\n`, code: 1 };
    throw e;
  }
}

function simple(input: MonInput): number {
  const r = monSimple(input);
  process.stdout.write(`${r.line}\n`);
  return r.code;
}

function notAvailable(err: Error): number {
  process.stderr.write(`crm_mon: Error: cluster is not available on this node: ${err.message}\n`);
  // CRM_EX_UNAVAILABLE, as Pacemaker's crm_mon when it cannot connect.
  return 69;
}

/**
 * The live view. Every `status` event belayd pushes is drawn (several in
 * the same tick are drawn once); nothing is fetched on a timer. With -i the
 * last snapshot is also redrawn that often, so the clock moves.
 */
async function live(a: Args, request: string): Promise<number> {
  const { adminWatch } = await import('../admin/socket.js');
  const out = process.stdout;
  let last: StatusSnapshot | undefined;
  let drawQueued = false;
  let stopWatch: (() => void) | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let connectedOnce = false;
  let quitting = false;

  const draw = (extra = '') => {
    if (!last) return;
    out.write(CLEAR + render(inputFromSnapshot(last, nowSeconds()), a, request) + extra);
  };
  const queueDraw = () => {
    if (drawQueued) return;
    drawQueued = true;
    setImmediate(() => {
      drawQueued = false;
      if (!quitting) draw();
    });
  };
  const connect = async (): Promise<void> => {
    let ended = false;
    try {
      stopWatch = await adminWatch(
        adminSocketPath(),
        'watch',
        {},
        (event, data) => {
          if (event !== 'status') return;
          last = data as StatusSnapshot;
          queueDraw();
        },
        (reason) => {
          if (ended || quitting) return;
          ended = true;
          stopWatch?.();
          stopWatch = undefined;
          out.write(`${CLEAR}Connection to belayd lost (${reason}); reconnecting...\n`);
          reconnect = setTimeout(() => void connect(), 1000);
        },
      );
      connectedOnce = true;
    } catch (err) {
      if (!connectedOnce) {
        quit(notAvailable(err as Error));
        return;
      }
      out.write(`${CLEAR}Connection to belayd lost (${(err as Error).message}); reconnecting...\n`);
      reconnect = setTimeout(() => void connect(), 1000);
    }
  };

  const quit = (code: number) => {
    if (quitting) return;
    quitting = true;
    stopWatch?.();
    clearTimeout(reconnect);
    clearInterval(ticker);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    // A paused pipe still holds the event loop: let go of stdin altogether.
    process.stdin.destroy();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    finish(code);
  };
  const onSignal = () => quit(0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // q quits (Ctrl-C arrives as a byte in raw mode).
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.on('data', (chunk: Buffer) => {
    if (chunk.includes(0x71 /* q */) || chunk.includes(0x51 /* Q */) || chunk.includes(0x03 /* ^C */)) quit(0);
  });
  process.stdin.on('error', () => undefined);
  process.stdin.resume();
  if (a.intervalMs !== undefined) ticker = setInterval(() => draw(), a.intervalMs);

  await connect();
  const code = await done;
  if (code === 0 && out.isTTY) out.write('\n');
  return code;
}
