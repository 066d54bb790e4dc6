/**
 * The /metrics endpoint: a plain node:http server that renders the text on
 * every scrape (the text is cheap to build; no cache to go stale). GET only,
 * no request body, nothing else served but a one-line index.
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** "HOST:PORT", "[v6]:PORT" or ":PORT" (all addresses); throws with the reason. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not HOST:PORT (e.g. 127.0.0.1:9664, [::1]:9664 or :9664)`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new Error(`'${text}': port ${port} is not from 1 to 65535`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new Error(`'${text}': '${host}' is not an IPv6 address`);
  if (m[1] === undefined && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`'${text}': '${host}' is not an address or host name`);
  return { host, port };
}

export class MetricsServer {
  private server: Server | undefined;

  constructor(
    private readonly render: () => string,
    private readonly title = 'belay',
  ) {}

  async listen(address: string): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(address);
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        let body: string;
        try {
          body = this.render();
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot render metrics: ${(err as Error).message}\n`);
          return;
        }
        res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<html><body><a href="/metrics">${this.title} metrics</a></body></html>\n`);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const a = server.address();
    return typeof a === 'object' && a ? { host: a.address, port: a.port } : { host, port };
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
