/**
 * The environment an alert agent gets, as Pacemaker builds it: every
 * CRM_alert_* variable (and its CRM_notify_* twin, for agents written for
 * ClusterMon's external scripts), the recipient, a per-node sequence number
 * and a timestamp in the alert's timestamp-format, plus the alert's and the
 * recipient's instance attributes. Pure.
 */
import type { AlertRecipient } from './config.js';
import type { AlertEvent } from './events.js';
import { DEFAULT_AGENT_PATH } from '../executor/env.js';

/** The Pacemaker release whose alert interface this follows (agents check it is set). */
export const ALERT_VERSION = '2.1.5';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * strftime(3) in local time, with Pacemaker's %N extension: %N is
 * nanoseconds, %3N milliseconds, %6N (or %06N) microseconds.
 */
export function formatTimestamp(format: string, epochMs: number, micros = 0): string {
  const d = new Date(epochMs);
  const usec = (epochMs % 1000) * 1000 + micros;
  const off = -d.getTimezoneOffset();
  return format.replace(/%(0?)(\d?)([a-zA-Z%])/g, (all, _zero: string, width: string, c: string) => {
    switch (c) {
      case 'N': {
        const digits = width ? Math.min(9, Number(width)) : 9;
        return pad(usec * 1000, 9).slice(0, digits);
      }
      case 'Y': return String(d.getFullYear());
      case 'y': return pad(d.getFullYear() % 100);
      case 'm': return pad(d.getMonth() + 1);
      case 'd': return pad(d.getDate());
      case 'e': return String(d.getDate()).padStart(2, ' ');
      case 'H': return pad(d.getHours());
      case 'I': return pad(d.getHours() % 12 || 12);
      case 'M': return pad(d.getMinutes());
      case 'S': return pad(d.getSeconds());
      case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
      case 'a': return DAYS[d.getDay()]!;
      case 'b': case 'h': return MONTHS[d.getMonth()]!;
      case 'j': {
        const start = new Date(d.getFullYear(), 0, 1);
        return pad(Math.floor((d.getTime() - start.getTime()) / 86_400_000) + 1, 3);
      }
      case 's': return String(Math.floor(epochMs / 1000));
      case 'z': return `${off >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
      case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
      case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      case 'D': return `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`;
      case 'c': return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getFullYear()}`;
      case 'n': return '\n';
      case 't': return '\t';
      case '%': return '%';
      default: return all;
    }
  });
}

export interface AlertContext {
  /** CRM_alert_node_sequence: increases with every alert this node sends. */
  sequence: number;
  /** When the event was seen (ms since the epoch). */
  nowMs: number;
}

/** The agent's whole environment (nothing inherited from the daemon but PATH). */
export function alertEnv(recipient: AlertRecipient, ev: AlertEvent, ctx: AlertContext): Record<string, string> {
  const v: Record<string, string> = {
    kind: ev.kind,
    version: ALERT_VERSION,
    recipient: recipient.value,
    node_sequence: String(ctx.sequence),
    timestamp: formatTimestamp(recipient.timestampFormat, ctx.nowMs),
    timestamp_epoch: String(Math.floor(ctx.nowMs / 1000)),
    timestamp_usec: String((ctx.nowMs % 1000) * 1000),
    node: ev.node,
  };
  switch (ev.kind) {
    case 'node':
      v['nodeid'] = ev.nodeId;
      v['desc'] = ev.desc;
      break;
    case 'fencing':
      v['task'] = ev.task;
      v['rc'] = String(ev.rc);
      v['desc'] = ev.desc;
      break;
    case 'resource':
      v['rsc'] = ev.rsc;
      v['task'] = ev.task;
      v['interval'] = String(ev.intervalMs);
      v['rc'] = String(ev.rc);
      v['target_rc'] = String(ev.targetRc);
      v['status'] = String(ev.status);
      v['desc'] = ev.desc;
      if (ev.execTimeMs !== undefined) v['exec_time'] = String(ev.execTimeMs);
      break;
    case 'attribute':
      v['attribute_name'] = ev.name;
      v['attribute_value'] = ev.value;
      break;
  }
  const env: Record<string, string> = { PATH: DEFAULT_AGENT_PATH };
  // Instance attributes first: they cannot override what Pacemaker sets.
  for (const [k, val] of Object.entries(recipient.env)) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) env[k] = val;
  for (const [k, val] of Object.entries(v)) {
    env[`CRM_alert_${k}`] = val;
    env[`CRM_notify_${k}`] = val;
  }
  return env;
}
