/** Per-test configuration files for real haproxy and nginx (all paths under a temp dir). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An nginx.conf whose pid, logs and temp dirs live under dir/name/, listening on addr:port. */
export function nginxConf(dir: string, name: string, addr: string, port: number, withPid = true): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const conf = join(d, 'nginx.conf');
  writeFileSync(
    conf,
    `${withPid ? `pid ${d}/nginx.pid;\n` : ''}error_log ${d}/error.log;
worker_processes 2;
events { worker_connections 64; }
http {
    access_log ${d}/access.log;
    client_body_temp_path ${d}/body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fastcgi;
    uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;
    server {
        listen ${addr}:${port};
        location / { return 200 "${name}\\n"; }
        location /nginx_status { stub_status; }
    }
}
`,
  );
  return conf;
}

/** A haproxy.cfg: frontend on addr:port with a monitor-uri, and a stats socket. */
export function haproxyCfg(dir: string, name: string, addr: string, port: number, backend?: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const cfg = join(d, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
    maxconn 256
    stats socket ${d}/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind ${addr}:${port}
    monitor-uri /health
    ${backend ? 'default_backend be' : 'http-request return status 200 content-type text/plain string ' + name}
${backend ? `backend be\n    server s1 ${backend} check inter 1s\n` : ''}`,
  );
  return cfg;
}
