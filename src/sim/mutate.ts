/**
 * Mutations of real encoded cluster messages, for fuzzing the decode and
 * schema path (belayd's decodeMessage) inside the cluster simulator: fields
 * flipped, removed or of the wrong type, huge arrays, prototype-pollution
 * keys, another kind or sender, and raw byte damage. Seeded: the same Rng
 * state gives the same mutation.
 */
import { inflateRawSync } from 'node:zlib';
import { encodeMessage } from '../daemon/belayd.js';
import type { ClusterMessage } from '../controller/core.js';
import type { Rng } from './rng.js';

const KINDS = ['cib-update', 'cib-offer', 'node-state', 'op-result', 'attr-update', 'cleanup', 'exec', 'nonsense'];

function decodeJson(bytes: Uint8Array): unknown {
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.length - 1);
  return JSON.parse(bytes[0] === 1 ? inflateRawSync(body).toString('utf8') : body.toString('utf8'));
}

/** Every (container, key) pair in a JSON value. */
function slots(value: unknown, out: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = []): typeof out {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i });
      slots(v, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push({ parent: value as Record<string, unknown>, key: k });
      slots(v, out);
    }
  }
  return out;
}

function wrongValue(rng: Rng, old: unknown): unknown {
  switch (rng.int(12)) {
    case 0:
      return null;
    case 1:
      return typeof old === 'number' ? String(old) : 42;
    case 2:
      return typeof old === 'string' ? Number(old.length) : 'x';
    case 3:
      return [];
    case 4:
      return {};
    case 5:
      return -1;
    case 6:
      return 1.5;
    case 7:
      return 1e308;
    case 8:
      return true;
    case 9:
      return 'x'.repeat(rng.chance(0.1) ? 1_100_000 : 10);
    case 10:
      return Number.MAX_SAFE_INTEGER + 2;
    default:
      return typeof old === 'string' ? `${old}${rng.int(10)}` : old;
  }
}

/** One mutation of an encoded message (belayd's framing: 0 JSON, 1 deflated JSON). */
export function mutateMessage(encoded: Uint8Array, rng: Rng): Uint8Array {
  const mode = rng.int(10);
  if (mode === 0) {
    // Raw damage: framing byte, truncation, a flipped byte.
    const b = Uint8Array.from(encoded);
    const r = rng.int(3);
    if (r === 0) b[0] = rng.int(256);
    else if (r === 1) return b.subarray(0, rng.int(b.length));
    else {
      const i = rng.int(b.length);
      b[i] = b[i]! ^ (1 << rng.int(8));
    }
    return b;
  }
  let msg: Record<string, unknown>;
  try {
    msg = decodeJson(encoded) as Record<string, unknown>;
  } catch {
    return encoded;
  }
  const all = slots(msg);
  const pick = all.length > 0 ? rng.pick(all) : undefined;
  switch (mode) {
    case 1:
    case 2: {
      // A field of the wrong type or value.
      if (pick) (pick.parent as Record<string | number, unknown>)[pick.key] = wrongValue(rng, (pick.parent as Record<string | number, unknown>)[pick.key]);
      break;
    }
    case 3: {
      // A missing field.
      if (pick) {
        if (Array.isArray(pick.parent)) pick.parent.splice(Number(pick.key), 1);
        else delete pick.parent[pick.key as string];
      }
      break;
    }
    case 4: {
      // A huge array somewhere.
      const arrays = all.filter((s) => Array.isArray((s.parent as Record<string | number, unknown>)[s.key]));
      const size = rng.chance(0.5) ? 100_001 : 2_000;
      const filler = rng.chance(0.5) ? 0 : { id: 'x', ops: [] };
      const huge = new Array<unknown>(size).fill(filler);
      if (arrays.length > 0) {
        const s = rng.pick(arrays);
        (s.parent as Record<string | number, unknown>)[s.key] = huge;
      } else msg['lrm'] = huge;
      break;
    }
    case 5: {
      // Prototype pollution keys, spliced into the JSON text itself so they
      // arrive as own properties, as an attacker's bytes would.
      const key = rng.pick(['__proto__', 'constructor', 'prototype']);
      const json = JSON.stringify(msg);
      const at = [...json.matchAll(/\{/g)].map((m) => m.index!);
      const pos = rng.pick(at);
      const text = `${json.slice(0, pos + 1)}"${key}":{"polluted":"yes","isAdmin":true}${json[pos + 1] === '}' ? '' : ','}${json.slice(pos + 1)}`;
      return Buffer.concat([Buffer.of(0), Buffer.from(text, 'utf8')]);
    }
    case 6:
      msg['kind'] = rng.pick(KINDS);
      break;
    case 7:
      msg['from'] = rng.pick([0, -1, 99, 1.5, '1', null, 2 ** 33]);
      break;
    case 8: {
      // An extra, unknown field.
      if (pick && !Array.isArray(pick.parent) && typeof pick.parent === 'object') (pick.parent as Record<string, unknown>)[`x${rng.int(100)}`] = 1;
      else msg['extra-field'] = 1;
      break;
    }
    default: {
      // Several mutations at once.
      for (let i = 0; i < 3; i++) {
        const s = all.length > 0 ? rng.pick(all) : undefined;
        if (s) (s.parent as Record<string | number, unknown>)[s.key] = wrongValue(rng, (s.parent as Record<string | number, unknown>)[s.key]);
      }
    }
  }
  try {
    return encodeMessage(msg as unknown as ClusterMessage);
  } catch {
    return encoded;
  }
}
