// A minimal TCP-connect checker for the LVS lab test only, written against
// src/lvs/check/spec.ts's StartRealServerChecks while src/lvs/check is not
// built. Every checker kind is run as a TCP connect to its target; retry,
// delay_before_retry, connect_timeout and delay_loop are honoured, warmup is
// not. The daemon loads it through BELAY_LVS_CHECKER_MODULE.
import net from 'node:net';

function connect(ip, port, timeoutMs) {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function startRealServerChecks(rs, checks, hooks) {
  let stopped = false;
  const timers = new Set();
  const sleep = (ms) => new Promise((r) => { const t = setTimeout(() => { timers.delete(t); r(); }, ms); timers.add(t); });
  const up = checks.map((c) => !c.alpha);
  let health = { up: up.every(Boolean), reason: 'not checked yet' };
  const publish = (reason) => {
    const now = up.every(Boolean);
    if (now !== health.up) {
      health = { up: now, reason };
      hooks.log(`${now ? 'TCP connection to' : 'TCP connection failed to'} [${rs.ip}]:tcp:${rs.port}${now ? ' success' : ''}`);
      hooks.onChange(health);
    } else health = { up: now, reason };
  };
  checks.forEach(async (c, k) => {
    const ip = c.connectIp ?? rs.ip;
    const port = c.connectPort ?? rs.port;
    const timeout = c.connectTimeoutMs ?? 5000;
    while (!stopped) {
      let ok = false;
      for (let attempt = 0; attempt <= c.retry && !stopped; attempt++) {
        ok = await connect(ip, port, timeout);
        if (ok || attempt === c.retry) break;
        await sleep(c.delayBeforeRetryMs);
      }
      if (stopped) return;
      up[k] = ok;
      publish(ok ? `${c.kind} [${ip}]:${port} ok` : `${c.kind} [${ip}]:${port} failed after ${c.retry} retries`);
      await sleep(c.delayLoopMs);
    }
  });
  return {
    health: () => health,
    stop: () => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
    },
  };
}
