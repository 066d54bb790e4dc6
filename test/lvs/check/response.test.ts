import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { httpRequest, parseResponse } from '../../../src/lvs/check/probe.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe("reading a response as keepalived's html.c does", () => {
  it('status code between the version and the reason; body digest', () => {
    expect(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nServer: x\r\n\r\nhello'))).toEqual({ status: 200, md5: md5('hello') });
    expect(parseResponse(Buffer.from('HTTP/1.0 503 Service Unavailable\r\n\r\n'))?.status).toBe(503);
  });
  it('a malformed status line gives status 0 (never in status_code)', () => {
    expect(parseResponse(Buffer.from('HTTP/1.0 20 OK\r\n\r\n'))?.status).toBe(0);
    expect(parseResponse(Buffer.from('HTTP/1.0 2000 OK\r\n\r\n'))?.status).toBe(0);
    expect(parseResponse(Buffer.from('garbage\r\n\r\n'))?.status).toBe(0);
  });
  it('the digest covers the body up to Content-Length', () => {
    expect(parseResponse(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef'))?.md5).toBe(md5('abc'));
  });
  it('no end of headers: no data (keepalived: "Read, no data received from")', () => {
    expect(parseResponse(Buffer.from('HTTP/1.0 200 OK\r\nServer: x\r\n'))).toBeNull();
  });
  it("the request is keepalived's HTTP/1.0 template", () => {
    expect(httpRequest('/a?b', 'www.example.test')).toBe('GET /a?b HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www.example.test\r\n\r\n');
  });
});
