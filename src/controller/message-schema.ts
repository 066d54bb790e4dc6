/**
 * The schema of every message taken from totem's agreed stream (replica.ts
 * ReplicaMessage, core.ts ExecMessage) and of the configuration an admin
 * client proposes. A decoded message is checked here before it touches the
 * replica: a wrong type, a missing field, an unknown key (`__proto__`,
 * `constructor` included), a non-finite number or an oversized array is
 * refused with the path of the first fault. Every node sees the same bytes in
 * the same order and this check is a pure function of them, so an invalid
 * message is dropped by every node alike and the replicas stay equal.
 *
 * Hand-written on purpose: the shapes are small, and the check must be
 * strict (no coercion, no extra keys) and deterministic.
 */
import type { Configuration } from '../cib/model.js';
import type { ClusterMessage } from './core.js';

/** Bounds well above anything a real cluster sends, far below what would hurt. */
export const SCHEMA_LIMITS = {
  /** Longest string (a description, an XML text node). */
  string: 1 << 20,
  /** Longest array (resources, operations, history entries...). */
  array: 100_000,
  /** Deepest rule / raw-element nesting. */
  depth: 64,
  /** Most keys in a free-form map (extra attributes, transient attributes). */
  keys: 10_000,
};

class SchemaError extends Error {}

/**
 * Where a value sits in the message, spelt out only when a check fails: a
 * node-state of a thousand resources has tens of thousands of fields, and
 * building each one's path string up front was most of the check's time.
 */
type Path = string | { up: Path; key: string | number };

type Check = (v: unknown, path: Path, depth: number) => void;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const at = (up: Path, key: string | number): Path => ({ up, key });

function pathText(path: Path): string {
  if (typeof path === 'string') return path;
  const up = pathText(path.up);
  return typeof path.key === 'number' ? `${up}[${path.key}]` : `${up}.${path.key}`;
}

function fail(path: Path, what: string): never {
  throw new SchemaError(`${pathText(path) || 'message'}: ${what}`);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

const str: Check = (v, path) => {
  if (typeof v !== 'string') fail(path, `expected a string, got ${typeName(v)}`);
  if (v.length > SCHEMA_LIMITS.string) fail(path, `string of ${v.length} characters is too long`);
};

function int(min: number, max: number): Check {
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `expected an integer, got ${typeName(v)} ${typeof v === 'number' ? v : ''}`.trimEnd());
    if (v < min || v > max) fail(path, `${v} is outside ${min}..${max}`);
  };
}

const u32 = int(0, 0xffffffff);
const nodeId = int(1, 0xffffffff);
const count = int(0, Number.MAX_SAFE_INTEGER);

const bool: Check = (v, path) => {
  if (typeof v !== 'boolean') fail(path, `expected a boolean, got ${typeName(v)}`);
};

/** A finite number (seconds since the epoch may carry a fraction). */
const finite: Check = (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `expected a finite number, got ${typeName(v)}`);
};

const unitInterval: Check = (v, path, depth) => {
  finite(v, path, depth);
  if ((v as number) < 0 || (v as number) >= 1) fail(path, `${v as number} is outside [0, 1)`);
};

function oneOf(...values: string[]): Check {
  return (v, path) => {
    if (typeof v !== 'string' || !values.includes(v)) fail(path, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)?.slice(0, 40)}`);
  };
}

function arr(item: Check, exact?: number): Check {
  return (v, path, depth) => {
    if (!Array.isArray(v)) fail(path, `expected an array, got ${typeName(v)}`);
    if (exact !== undefined && v.length !== exact) fail(path, `expected ${exact} entries, got ${v.length}`);
    if (v.length > SCHEMA_LIMITS.array) fail(path, `array of ${v.length} entries is too long`);
    for (let i = 0; i < v.length; i++) item(v[i], at(path, i), depth);
  };
}

function plainObject(v: unknown, path: Path): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `expected an object, got ${typeName(v)}`);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) fail(path, 'expected a plain object');
  return v as Record<string, unknown>;
}

/**
 * An object with exactly these keys: `required` must be there, `optional`
 * may be; any other key is refused.
 */
function obj(required: Record<string, Check>, optional: Record<string, Check> = {}): Check {
  const requiredEntries = Object.entries(required);
  const optionalEntries = Object.entries(optional);
  const known = new Set([...Object.keys(required), ...Object.keys(optional)]);
  return (v, path, depth) => {
    const o = plainObject(v, path);
    for (const key in o) {
      if (!known.has(key)) fail(at(path, key), FORBIDDEN_KEYS.has(key) ? 'forbidden key' : 'unknown key');
    }
    for (const [key, check] of requiredEntries) {
      if (!Object.hasOwn(o, key)) fail(at(path, key), 'missing');
      check(o[key], at(path, key), depth);
    }
    for (const [key, check] of optionalEntries) {
      if (Object.hasOwn(o, key)) check(o[key], at(path, key), depth);
    }
  };
}

/** A map of string to string (XML attributes, transient attributes). */
const strMap: Check = (v, path) => {
  const o = plainObject(v, path);
  const keys = Object.keys(o);
  if (keys.length > SCHEMA_LIMITS.keys) fail(path, `${keys.length} keys are too many`);
  for (const key of keys) {
    if (FORBIDDEN_KEYS.has(key)) fail(at(path, key), 'forbidden key');
    str(o[key], at(path, key), 0);
  }
};

/** A recursive check, bounded in depth. */
function nested(make: () => Check): Check {
  let check: Check | undefined;
  return (v, path, depth) => {
    if (depth >= SCHEMA_LIMITS.depth) fail(path, `nested deeper than ${SCHEMA_LIMITS.depth}`);
    check ??= make();
    check(v, path, depth + 1);
  };
}

/** Picks the check by the value of `tag`. */
function byTag(cases: Record<string, Check>, otherwise?: Check): Check {
  return (v, path, depth) => {
    const o = plainObject(v, path);
    const tag = o['tag'];
    if (typeof tag !== 'string') fail(at(path, 'tag'), `expected a string, got ${typeName(tag)}`);
    const check = Object.hasOwn(cases, tag) ? cases[tag]! : otherwise;
    if (!check) fail(at(path, 'tag'), `unknown tag ${JSON.stringify(tag).slice(0, 40)}`);
    check(v, path, depth);
  };
}

// --------------------------------------------------------------- the CIB model

const rawElement: Check = nested(() => obj({ tag: str, attrs: strMap, children: arr(rawElement) }, { text: str }));
const ruleNode: Check = nested(() => obj({ tag: str, attrs: strMap, children: arr(ruleNode) }));
const nvPair = obj({ name: str }, { id: str, value: str, idRef: str });
const nvSet = obj({ rules: arr(ruleNode), nvpairs: arr(nvPair) }, { id: str, idRef: str, score: str, extra: strMap });
const nvSets = arr(nvSet);

const operation = obj(
  { id: str, name: str, interval: str, instanceAttributes: nvSets, metaAttributes: nvSets },
  { timeout: str, role: str, onFail: str, enabled: str, startDelay: str, intervalOrigin: str, recordPending: str, description: str, extra: strMap },
);
const primitive = obj(
  {
    tag: oneOf('primitive'),
    id: str,
    class: str,
    type: str,
    instanceAttributes: nvSets,
    metaAttributes: nvSets,
    utilization: nvSets,
    operations: arr(operation),
  },
  { provider: str, description: str, operationsId: str, extra: strMap },
);
const group = obj(
  { tag: oneOf('group'), id: str, instanceAttributes: nvSets, metaAttributes: nvSets, children: arr(primitive) },
  { description: str, extra: strMap },
);
const clone = obj(
  { tag: oneOf('clone', 'master'), id: str, instanceAttributes: nvSets, metaAttributes: nvSets, child: byTag({ primitive, group }) },
  { description: str, extra: strMap },
);
const rawResource = obj({ tag: str, id: str, raw: rawElement });
const topResource = byTag({ primitive, group, clone, master: clone }, rawResource);

const resourceSet = obj(
  { resources: arr(str) },
  { id: str, idRef: str, sequential: str, requireAll: str, ordering: str, action: str, role: str, score: str, kind: str, extra: strMap },
);
const sets = arr(resourceSet);
const location = obj(
  { tag: oneOf('rsc_location'), id: str, rules: arr(ruleNode), sets },
  { rsc: str, rscPattern: str, node: str, score: str, role: str, resourceDiscovery: str, extra: strMap },
);
const colocation = obj(
  { tag: oneOf('rsc_colocation'), id: str, sets },
  { rsc: str, withRsc: str, score: str, rscRole: str, withRscRole: str, nodeAttribute: str, influence: str, extra: strMap },
);
const order = obj(
  { tag: oneOf('rsc_order'), id: str, sets },
  { first: str, then: str, firstAction: str, thenAction: str, kind: str, score: str, symmetrical: str, requireAll: str, extra: strMap },
);
const constraint = byTag({ rsc_location: location, rsc_colocation: colocation, rsc_order: order }, obj({ tag: str, id: str, raw: rawElement }));
const cfgNode = obj({ id: str, uname: str, instanceAttributes: nvSets, utilization: nvSets }, { type: str, description: str, extra: strMap });

const configuration = obj({
  crmConfig: nvSets,
  nodes: arr(cfgNode),
  resources: arr(topResource),
  constraints: arr(constraint),
  rscDefaults: nvSets,
  opDefaults: nvSets,
  otherSections: arr(rawElement),
});

const version = arr(count, 3);

const lrmOp = obj(
  { id: str, operation: str, interval: str },
  {
    callId: str,
    rcCode: str,
    opStatus: str,
    transitionKey: str,
    transitionMagic: str,
    lastRcChange: str,
    lastRun: str,
    execTime: str,
    queueTime: str,
    opDigest: str,
    onNode: str,
    extra: strMap,
  },
);
const lrmResource = obj({ id: str, ops: arr(lrmOp) }, { class: str, provider: str, type: str, extra: strMap });

const fenceEvent = obj(
  { id: str, target: str, action: oneOf('reboot', 'off', 'on'), state: oneOf('pending', 'done', 'failed'), origin: str, client: str, requestedAt: finite },
  { executioner: str, devices: arr(str), completedAt: finite, exitReason: str },
);

// ------------------------------------------------------------------ messages

const messages: Record<ClusterMessage['kind'], Check> = {
  'cib-update': obj(
    { kind: str, from: nodeId, requestId: str, base: version, configuration },
    { adminEpoch: count, origin: obj({ node: str, client: str, user: str, at: str }) },
  ),
  'cib-offer': obj({ kind: str, from: nodeId, version, configuration }, { committed: bool, epochRing: count, ring: str }),
  'node-state': obj(
    { kind: str, from: nodeId, lrm: arr(lrmResource), transient: strMap },
    { unclean: arr(obj({ node: str, lrm: arr(lrmResource) }, { seen: count })), fencing: arr(fenceEvent), ring: str, cores: int(1, 65536) },
  ),
  'op-result': obj({
    kind: str,
    from: nodeId,
    resource: obj({ id: str, class: str, type: str }, { provider: str }),
    op: lrmOp,
    targetRc: int(0, 255),
  }, { node: nodeId }),
  // JSON drops an undefined field: "every resource / every node" arrives as a missing key.
  cleanup: obj({ kind: str, from: nodeId }, { rsc: str, node: str }),
  'attr-update': obj({ kind: str, from: nodeId, node: str, name: str, lifetime: oneOf('reboot', 'forever') }, { value: str }),
  exec: obj({
    kind: str,
    from: nodeId,
    node: nodeId,
    transition: u32,
    action: u32,
    rsc: str,
    task: str,
    intervalMs: count,
    targetRc: int(0, 255),
  }, { ring: str, dc: str }),
  leave: obj({ kind: str, from: nodeId }),
  'cib-stored': obj({ kind: str, from: nodeId, version, ring: str }),
  'fence-request': obj({
    kind: str,
    from: nodeId,
    id: str,
    target: str,
    action: oneOf('reboot', 'off', 'on'),
    executor: nodeId,
    client: str,
    at: finite,
    random: unitInterval,
    priorityDelayMs: count,
  }),
  'fence-result': obj({ kind: str, from: nodeId, id: str, ok: bool, devices: arr(str), at: finite }, { exitReason: str, target: str, action: oneOf('reboot', 'off', 'on'), ring: str }),
  'fence-confirm': obj({ kind: str, from: nodeId, id: str, target: str, client: str, at: finite }),
  'clear-failcount': obj({ kind: str, from: nodeId, rsc: str, node: str }),
};

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Check one decoded cluster message (JSON.parse output). */
export function checkClusterMessage(value: unknown): Checked<ClusterMessage> {
  try {
    const o = plainObject(value, '');
    const kind = o['kind'];
    if (typeof kind !== 'string' || !Object.hasOwn(messages, kind)) {
      fail('kind', `unknown message kind ${JSON.stringify(kind)?.slice(0, 40) ?? typeName(kind)}`);
    }
    messages[kind as ClusterMessage['kind']](o, kind, 0);
    return { ok: true, value: o as unknown as ClusterMessage };
  } catch (err) {
    if (err instanceof SchemaError) return { ok: false, error: err.message };
    // A value so odd that checking it threw (e.g. a getter): refused all the same.
    return { ok: false, error: `unreadable message: ${(err as Error).message}` };
  }
}

/** As checkClusterMessage, throwing an Error naming the fault. */
export function validateClusterMessage(value: unknown): ClusterMessage {
  const r = checkClusterMessage(value);
  if (!r.ok) throw new Error(`invalid message: ${r.error}`);
  return r.value;
}

/** Check a configuration an admin client proposes (cib-replace). */
export function checkConfiguration(value: unknown): Checked<Configuration> {
  try {
    configuration(value, 'configuration', 0);
    return { ok: true, value: value as Configuration };
  } catch (err) {
    if (err instanceof SchemaError) return { ok: false, error: err.message };
    return { ok: false, error: `unreadable configuration: ${(err as Error).message}` };
  }
}
