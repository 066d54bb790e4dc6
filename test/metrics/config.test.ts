/** metrics_listen and web_listen in cluster.yaml: off unless set, clear errors for bad values. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseClusterConfig } from '../../src/daemon/config.js';
import { parseListen } from '../../src/metrics/server.js';

const base = 'cluster_name: c\nnodes:\n  - name: n1\n    id: 1\n    address: 198.18.0.11\n';

describe('metrics_listen / web_listen', () => {
  it('are off unless set, and kept as written', () => {
    const c = parseClusterConfig(base, 'cluster.yaml');
    expect(c.metrics_listen).toBeUndefined();
    expect(c.web_listen).toBeUndefined();
    const d = parseClusterConfig(`${base}metrics_listen: 127.0.0.1:9664\nweb_listen: "[::1]:7630"\n`, 'cluster.yaml');
    expect(d.metrics_listen).toBe('127.0.0.1:9664');
    expect(d.web_listen).toBe('[::1]:7630');
  });

  it('name the file, line and key of a bad value', () => {
    const bad = (v: string) => () => parseClusterConfig(`${base}metrics_listen: ${v}\n`, 'cluster.yaml');
    expect(bad('9664')).toThrow(ConfigError);
    expect(bad('9664')).toThrow(/^cluster\.yaml:6: metrics_listen: '9664' is not HOST:PORT/);
    expect(bad('"127.0.0.1:99999"')).toThrow(/cluster\.yaml:6: metrics_listen: .*port 99999 is not from 1 to 65535/);
    expect(() => parseClusterConfig(`${base}web_listen: "[nothex]:80"\n`, 'cluster.yaml')).toThrow(/cluster\.yaml:6: web_listen: /);
  });

  it('parses the forms Prometheus exporters use', () => {
    expect(parseListen(':9664')).toEqual({ host: '0.0.0.0', port: 9664 });
    expect(parseListen('[::]:9664')).toEqual({ host: '::', port: 9664 });
    expect(parseListen('localhost:1')).toEqual({ host: 'localhost', port: 1 });
  });
});
