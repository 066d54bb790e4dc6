/**
 * Pacemaker's alert objects, read from the CIB's <alerts> section:
 *
 *   <alerts>
 *     <alert id="file" path="/var/lib/pacemaker/alert_file.sh">
 *       <meta_attributes><nvpair name="timeout" value="15s"/>
 *                        <nvpair name="timestamp-format" value="%H:%M:%S"/></meta_attributes>
 *       <instance_attributes><nvpair name="debug_exec_order" value="true"/></instance_attributes>
 *       <select><select_nodes/><select_resources/>
 *               <select_attributes><attribute name="standby"/></select_attributes></select>
 *       <recipient id="file-r" value="/var/log/alerts.log">(meta/instance attributes)</recipient>
 *     </alert>
 *   </alerts>
 *
 * The model keeps this section as a raw element (src/cib/model.ts); this
 * module types it. Pure.
 */
import type { Cib, RawElement } from '../cib/model.js';
import { parseDurationMs } from '../cib/duration.js';

export type AlertKind = 'node' | 'fencing' | 'resource' | 'attribute';

export interface AlertSelect {
  kinds: Set<AlertKind>;
  /** With select_attributes: only these attribute names (empty: all). */
  attributes: string[];
}

export interface AlertRecipient {
  id: string;
  value: string;
  timeoutMs: number;
  timestampFormat: string;
  /** instance_attributes: extra environment variables for the agent. */
  env: Record<string, string>;
}

export interface AlertDef {
  id: string;
  path: string;
  select: AlertSelect;
  /** One per recipient; an alert without recipients runs once with an empty one. */
  recipients: AlertRecipient[];
}

/** Pacemaker's defaults (pe_alert defaults in lib/common/alerts.c). */
export const DEFAULT_ALERT_TIMEOUT_MS = 30_000;
export const DEFAULT_TIMESTAMP_FORMAT = '%H:%M:%S.%06N';

/** Without <select>, every kind but attributes is sent (as Pacemaker). */
const DEFAULT_KINDS: AlertKind[] = ['node', 'fencing', 'resource'];

function nvpairs(el: RawElement | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of el?.children ?? []) {
    if (c.tag === 'nvpair' && c.attrs['name'] !== undefined && c.attrs['value'] !== undefined) out[c.attrs['name']] = c.attrs['value'];
  }
  return out;
}

function setsOf(el: RawElement, tag: string): Record<string, string> {
  return Object.assign({}, ...el.children.filter((c) => c.tag === tag).map((c) => nvpairs(c))) as Record<string, string>;
}

export interface AlertConfigResult {
  alerts: AlertDef[];
  /** Problems that made an alert or a setting be skipped, to log. */
  warnings: string[];
}

/** The alert definitions of a CIB (none when it has no <alerts>). */
export function alertsFromCib(cib: Cib): AlertConfigResult {
  const section = cib.configuration.otherSections.find((s) => s.tag === 'alerts');
  const alerts: AlertDef[] = [];
  const warnings: string[] = [];
  for (const a of section?.children ?? []) {
    if (a.tag !== 'alert') continue;
    const id = a.attrs['id'] ?? '(no id)';
    const path = a.attrs['path'];
    if (!path || !path.startsWith('/')) {
      warnings.push(`alert ${id}: path '${path ?? ''}' is not an absolute path; alert ignored`);
      continue;
    }
    const meta = setsOf(a, 'meta_attributes');
    const inst = setsOf(a, 'instance_attributes');
    if (meta['enabled'] !== undefined && /^(false|no|off|0)$/i.test(meta['enabled'])) continue;
    const timeout = (m: Record<string, string>, fallback: number, where: string): number => {
      if (m['timeout'] === undefined) return fallback;
      const ms = parseDurationMs(m['timeout'], NaN);
      if (!Number.isFinite(ms) || ms <= 0) {
        warnings.push(`${where}: bad timeout '${m['timeout']}'; using ${fallback / 1000}s`);
        return fallback;
      }
      return ms;
    };
    const alertTimeout = timeout(meta, DEFAULT_ALERT_TIMEOUT_MS, `alert ${id}`);
    const alertFormat = meta['timestamp-format'] ?? DEFAULT_TIMESTAMP_FORMAT;

    const select = a.children.find((c) => c.tag === 'select');
    const kinds = new Set<AlertKind>(select ? [] : DEFAULT_KINDS);
    const attributes: string[] = [];
    for (const s of select?.children ?? []) {
      if (s.tag === 'select_nodes') kinds.add('node');
      else if (s.tag === 'select_fencing') kinds.add('fencing');
      else if (s.tag === 'select_resources') kinds.add('resource');
      else if (s.tag === 'select_attributes') {
        kinds.add('attribute');
        for (const at of s.children) if (at.tag === 'attribute' && at.attrs['name']) attributes.push(at.attrs['name']);
      }
    }

    const recipients: AlertRecipient[] = [];
    for (const r of a.children.filter((c) => c.tag === 'recipient')) {
      const rid = r.attrs['id'] ?? `${id}-recipient`;
      const rmeta = setsOf(r, 'meta_attributes');
      recipients.push({
        id: rid,
        value: r.attrs['value'] ?? '',
        timeoutMs: timeout(rmeta, alertTimeout, `recipient ${rid}`),
        timestampFormat: rmeta['timestamp-format'] ?? alertFormat,
        env: { ...inst, ...setsOf(r, 'instance_attributes') },
      });
    }
    if (recipients.length === 0) recipients.push({ id: `${id}-no-recipient`, value: '', timeoutMs: alertTimeout, timestampFormat: alertFormat, env: inst });
    alerts.push({ id, path, select: { kinds, attributes }, recipients });
  }
  return { alerts, warnings };
}
