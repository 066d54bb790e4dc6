/**
 * belayd's cluster file, /etc/belay/cluster.yaml: who the nodes are, how
 * totem is timed, the quorum rules, where the key and state live. Every error
 * names the file, line and key, because a cluster that will not start needs
 * to say why.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import { parseListen } from '../metrics/server.js';
import { MIN_KEY_BYTES } from '../totem/auth.js';
import type { ClusterFileLike } from '../totem/udp.js';

export const DEFAULT_CLUSTER_FILE = '/etc/belay/cluster.yaml';

export interface ClusterNode {
  name: string;
  id: number;
  address: string;
  votes: number;
}

/** The totem and quorum parts of the cluster file, as the totem shell takes them. */
export type TotemTimings = ClusterFileLike['totem'];
export type QuorumOptions = ClusterFileLike['quorum'];

export interface ClusterConfig {
  file: string;
  cluster_name: string;
  nodes: ClusterNode[];
  totem: TotemTimings;
  quorum: QuorumOptions;
  key_file: string;
  state_dir: string;
  admin_socket: string;
  /** A group (name or gid) whose members may use the admin socket. */
  admin_group?: string;
  /** HOST:PORT of the Prometheus endpoint (off when unset). */
  metrics_listen?: string;
  /** HOST:PORT of the web console (off when unset). */
  web_listen?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${detail}`);
    this.name = 'ConfigError';
  }
}

const TOP_KEYS = ['cluster_name', 'nodes', 'totem', 'quorum', 'key_file', 'state_dir', 'admin_socket', 'admin_group', 'metrics_listen', 'web_listen'];
const NODE_KEYS = ['name', 'id', 'address', 'votes'];
const TOTEM_NUMBER_KEYS = ['port', 'token', 'token_retransmits_before_loss_const', 'join', 'consensus', 'merge', 'max_messages'] as const;
const TOTEM_KEYS = [...TOTEM_NUMBER_KEYS, 'transport', 'mcast_addr', 'crypto_cipher'];
const QUORUM_KEYS = ['expected_votes', 'two_node', 'wait_for_all', 'last_man_standing'];

/** Parse and check a cluster file's text. */
export function parseClusterConfig(text: string, file = DEFAULT_CLUSTER_FILE): ClusterConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (node: YamlNode | null | undefined): number | undefined =>
    node?.range ? lines.linePos(node.range[0]).line : undefined;
  const fail = (node: YamlNode | null | undefined, detail: string): never => {
    throw new ConfigError(file, lineOf(node), detail);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ConfigError(file, e.linePos?.[0]?.line, e.message.split('\n')[0]!);
  }
  const root = doc.contents;
  if (!isMap(root)) return fail(root, 'the cluster file must be a mapping (cluster_name, nodes, ...)');

  const entries = (map: YamlNode, allowed: string[], where: string): Map<string, YamlNode> => {
    if (!isMap(map)) return fail(map, `${where} must be a mapping`);
    const out = new Map<string, YamlNode>();
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.includes(key)) fail(pair.key as YamlNode, `unknown key '${key}' in ${where} (known: ${allowed.join(', ')})`);
      out.set(key, pair.value as YamlNode);
    }
    return out;
  };
  const str = (node: YamlNode | undefined, key: string): string => {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') return fail(node, `'${key}' must be a string`);
    return String(node.value);
  };
  const int = (node: YamlNode | undefined, key: string, min: number, max: number): number => {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      return fail(node, `'${key}' must be a whole number from ${min} to ${max}`);
    }
    return v;
  };
  const bool = (node: YamlNode | undefined, key: string): boolean => {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'boolean') return fail(node, `'${key}' must be true or false`);
    return v;
  };

  const top = entries(root, TOP_KEYS, 'the cluster file');
  const clusterName = top.has('cluster_name') ? str(top.get('cluster_name'), 'cluster_name') : fail(root, "missing 'cluster_name'");
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(clusterName)) fail(top.get('cluster_name'), `bad cluster_name '${clusterName}' (letters, digits, _ . -)`);

  const nodesNode = top.get('nodes');
  if (!isSeq(nodesNode) || nodesNode.items.length === 0) return fail(nodesNode ?? root, "'nodes' must list at least one node");
  const nodes: ClusterNode[] = [];
  for (const item of nodesNode.items as YamlNode[]) {
    const n = entries(item, NODE_KEYS, 'a node');
    const name = n.has('name') ? str(n.get('name'), 'name') : fail(item, "a node needs a 'name'");
    const id = n.has('id') ? int(n.get('id'), 'id', 1, 2 ** 31 - 1) : fail(item, `node ${name} needs an 'id'`);
    const address = n.has('address') ? str(n.get('address'), 'address') : fail(item, `node ${name} needs an 'address'`);
    if (!isIPv4(address) && !isIPv6(address)) fail(n.get('address'), `node ${name}: '${address}' is not an IP address`);
    const votes = n.has('votes') ? int(n.get('votes'), 'votes', 0, 255) : 1;
    for (const other of nodes) {
      if (other.name === name) fail(item, `node name '${name}' is listed twice`);
      if (other.id === id) fail(item, `node id ${id} is used by ${other.name} and ${name}`);
      if (other.address === address) fail(item, `address ${address} is used by ${other.name} and ${name}`);
    }
    nodes.push({ name, id, address, votes });
  }

  const totem: TotemTimings = { port: 5405, transport: 'udpu', crypto_cipher: 'none' };
  if (top.has('totem')) {
    const t = entries(top.get('totem')!, TOTEM_KEYS, 'totem');
    for (const key of TOTEM_NUMBER_KEYS) {
      if (t.has(key)) totem[key] = int(t.get(key), key, 1, key === 'port' ? 65535 : 3_600_000);
    }
    if (t.has('transport')) {
      const v = str(t.get('transport'), 'transport');
      if (v !== 'udpu' && v !== 'udp') fail(t.get('transport'), `transport must be udpu or udp, not '${v}'`);
      totem.transport = v as 'udpu' | 'udp';
    }
    if (t.has('mcast_addr')) totem.mcast_addr = str(t.get('mcast_addr'), 'mcast_addr');
    if (t.has('crypto_cipher')) {
      const v = str(t.get('crypto_cipher'), 'crypto_cipher');
      if (v !== 'none' && v !== 'aes256') fail(t.get('crypto_cipher'), `crypto_cipher must be none or aes256, not '${v}'`);
      totem.crypto_cipher = v as 'none' | 'aes256';
    }
  }
  if (totem.transport === 'udp' && !totem.mcast_addr) fail(top.get('totem'), "transport udp (multicast) needs 'mcast_addr'");

  const quorum: QuorumOptions = { two_node: false, wait_for_all: false, last_man_standing: false };
  let waitForAllGiven = false;
  if (top.has('quorum')) {
    const q = entries(top.get('quorum')!, QUORUM_KEYS, 'quorum');
    if (q.has('expected_votes')) quorum.expected_votes = int(q.get('expected_votes'), 'expected_votes', 1, 65535);
    if (q.has('two_node')) quorum.two_node = bool(q.get('two_node'), 'two_node');
    if (q.has('wait_for_all')) {
      quorum.wait_for_all = bool(q.get('wait_for_all'), 'wait_for_all');
      waitForAllGiven = true;
    }
    if (q.has('last_man_standing')) quorum.last_man_standing = bool(q.get('last_man_standing'), 'last_man_standing');
    if (quorum.two_node && nodes.length !== 2) fail(q.get('two_node'), `two_node needs exactly 2 nodes (${nodes.length} are listed)`);
  }
  // votequorum: two_node implies wait_for_all unless the file says otherwise.
  if (quorum.two_node && !waitForAllGiven) quorum.wait_for_all = true;

  const config: ClusterConfig = {
    file,
    cluster_name: clusterName,
    nodes,
    totem,
    quorum,
    key_file: top.has('key_file') ? str(top.get('key_file'), 'key_file') : '/etc/belay/authkey',
    state_dir: top.has('state_dir') ? str(top.get('state_dir'), 'state_dir') : '/var/lib/belay',
    admin_socket: top.has('admin_socket') ? str(top.get('admin_socket'), 'admin_socket') : '/run/belay/admin.sock',
  };
  if (top.has('admin_group')) config.admin_group = str(top.get('admin_group'), 'admin_group');
  for (const key of ['metrics_listen', 'web_listen'] as const) {
    if (!top.has(key)) continue;
    const v = str(top.get(key), key);
    try {
      parseListen(v);
    } catch (err) {
      fail(top.get(key), `${key}: ${(err as Error).message}`);
    }
    config[key] = v;
  }
  return config;
}

/** Which configured node this host is: by explicit name, else by hostname. */
export function localNode(config: ClusterConfig, nameOrUndefined: string | undefined, hostname: string): ClusterNode {
  const wanted = nameOrUndefined ?? hostname;
  const node = config.nodes.find((n) => n.name === wanted);
  if (!node) {
    throw new ConfigError(
      config.file,
      undefined,
      `this host (${wanted}) is not among the nodes (${config.nodes.map((n) => n.name).join(', ')}); pass --node NAME`,
    );
  }
  return node;
}

/** The text `belay init` writes for a new cluster. */
export function renderClusterConfig(input: {
  clusterName: string;
  nodes: Array<{ name: string; address: string }>;
  keyFile?: string;
  stateDir?: string;
}): string {
  const two = input.nodes.length === 2;
  const lines = [
    '# belay cluster file: the same on every node. See README.md (belayd).',
    `cluster_name: ${input.clusterName}`,
    'nodes:',
    ...input.nodes.flatMap((n, i) => [`  - name: ${n.name}`, `    id: ${i + 1}`, `    address: ${n.address}`]),
    'totem:',
    '  port: 5405',
    '  transport: udpu',
    '  crypto_cipher: aes256',
    'quorum:',
    `  two_node: ${two}`,
    `key_file: ${input.keyFile ?? '/etc/belay/authkey'}`,
    `state_dir: ${input.stateDir ?? '/var/lib/belay'}`,
    'admin_socket: /run/belay/admin.sock',
    '',
  ];
  return lines.join('\n');
}

/** The cluster key, checked: present, long enough, not readable by others. */
export function readClusterKey(path: string): Buffer {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the cluster key ${path}: ${(err as Error).message} (create it with: belay keygen -o ${path})`);
  }
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(`${path} holds ${key.length} bytes; a cluster key needs at least ${MIN_KEY_BYTES} (belay keygen)`);
  }
  return key;
}
