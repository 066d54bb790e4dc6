import { describe, expect, it } from 'vitest';
import { ConfigError, localNode, parseClusterConfig, renderClusterConfig } from '../../src/daemon/config.js';

const good = `cluster_name: lb
nodes:
  - name: lb1
    id: 1
    address: 198.18.0.11
  - name: lb2
    id: 2
    address: 198.18.0.12
totem:
  token: 300
quorum:
  two_node: true
`;

describe('cluster.yaml', () => {
  it('reads a two-node cluster with defaults filled in', () => {
    const c = parseClusterConfig(good, 'cluster.yaml');
    expect(c.nodes.map((n) => [n.name, n.id, n.address, n.votes])).toEqual([
      ['lb1', 1, '198.18.0.11', 1],
      ['lb2', 2, '198.18.0.12', 1],
    ]);
    expect(c.totem).toMatchObject({ port: 5405, token: 300, transport: 'udpu', crypto_cipher: 'none' });
    // votequorum: two_node implies wait_for_all.
    expect(c.quorum).toEqual({ two_node: true, wait_for_all: true, last_man_standing: false });
    expect(c.admin_socket).toBe('/run/belay/admin.sock');
  });

  it('lets wait_for_all be turned off explicitly with two_node', () => {
    const c = parseClusterConfig(good.replace('two_node: true', 'two_node: true\n  wait_for_all: false'));
    expect(c.quorum.wait_for_all).toBe(false);
  });

  it('round-trips what belay init writes', () => {
    const text = renderClusterConfig({ clusterName: 'c1', nodes: [{ name: 'a', address: '198.18.0.1' }, { name: 'b', address: '198.18.0.2' }, { name: 'c', address: '198.18.0.3' }] });
    const c = parseClusterConfig(text);
    expect(c.nodes.map((n) => n.id)).toEqual([1, 2, 3]);
    expect(c.totem.crypto_cipher).toBe('aes256');
    expect(c.quorum.two_node).toBe(false);
  });

  it.each([
    ['a YAML syntax error', 'cluster_name: [x\n', /cluster\.yaml:\d+: /],
    ['an unknown key', good.replace('  token: 300', '  tokn: 300'), /cluster\.yaml:10: unknown key 'tokn' in totem/],
    ['a duplicate node id', good.replace('id: 2', 'id: 1'), /cluster\.yaml:6: node id 1 is used by lb1 and lb2/],
    ['a bad address', good.replace('198.18.0.12', '198.18.0.300'), /cluster\.yaml:8: node lb2: '198\.18\.0\.300' is not an IP address/],
    ['a negative timing', good.replace('token: 300', 'token: -5'), /cluster\.yaml:10: 'token' must be a whole number/],
    ['two_node with three nodes', good.replace('quorum:', 'quorum:').replace('nodes:\n', 'nodes:\n  - name: lb0\n    id: 9\n    address: 198.18.0.9\n'), /two_node needs exactly 2 nodes \(3 are listed\)/],
    ['no nodes', 'cluster_name: x\nnodes: []\n', /'nodes' must list at least one node/],
    ['a missing name', 'nodes:\n  - name: a\n    id: 1\n    address: 198.18.0.1\n', /missing 'cluster_name'/],
  ])('names the problem for %s', (_what, text, message) => {
    expect(() => parseClusterConfig(text, 'cluster.yaml')).toThrow(ConfigError);
    expect(() => parseClusterConfig(text, 'cluster.yaml')).toThrow(message);
  });

  it('finds the local node by name or says which exist', () => {
    const c = parseClusterConfig(good);
    expect(localNode(c, undefined, 'lb2').id).toBe(2);
    expect(() => localNode(c, undefined, 'web9')).toThrow(/this host \(web9\) is not among the nodes \(lb1, lb2\)/);
  });
});
