/**
 * Raw IP sockets (protocol 112) from Node, through libc with koffi (FFI).
 *
 * Why koffi: Node's dgram cannot open SOCK_RAW. koffi ships its prebuilt
 * N-API binary for linux-x64 as an npm optional dependency, so it installs
 * from the registry alone (no node-gyp, no header download, no compiler) and
 * keeps working across Node versions (N-API). The raw-socket addons are
 * built against one Node ABI each (nan) and only wrap sendto/recvfrom: no
 * recvmsg, so no IPv6 hop limit or destination address, both of which VRRP
 * must check.
 *
 * Reception: every socket is non-blocking; one `poll()` runs on a libuv pool
 * thread (koffi's async call) over all sockets plus an eventfd used to wake
 * it when sockets are added or closed. When poll returns, the ready sockets
 * are drained on the main thread with recvmsg(MSG_DONTWAIT). One pool thread
 * is held while the transport is open.
 */
import { createRequire } from 'node:module';

// koffi is CommonJS; load it lazily so importing the VRRP piece never fails
// on a machine without it (the UDP transport and the pure core still work).
type Koffi = typeof import('koffi');
let koffiMod: Koffi | null = null;
function koffi(): Koffi {
  if (!koffiMod) koffiMod = createRequire(import.meta.url)('koffi') as Koffi;
  return koffiMod;
}

export const AF_INET = 2;
export const AF_PACKET = 17;
export const SOCK_DGRAM = 2;
export const IPPROTO_ICMPV6 = 58;
export const AF_INET6 = 10;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_BINDTODEVICE = 25;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
export const IP_MULTICAST_ALL = 49;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_DROP_MEMBERSHIP = 21;
export const IPV6_MULTICAST_ALL = 29;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EINTR = 4;
const POLLIN = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

interface Libc {
  socket: (d: number, t: number, p: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Buffer, len: number) => number;
  sendmsg: (fd: number, msg: unknown, flags: number) => number;
  recvmsg: (fd: number, msg: unknown, flags: number) => number;
  close: (fd: number) => number;
  eventfd: (init: number, flags: number) => number;
  write: (fd: number, buf: Buffer, n: number) => number;
  read: (fd: number, buf: Buffer, n: number) => number;
  poll: ((fds: Buffer, n: number, timeout: number) => number) & {
    async: (fds: Buffer, n: number, timeout: number, cb: (err: unknown, res: number) => void) => void;
  };
  if_nametoindex: (name: string) => number;
  strerror: (e: number) => string;
}

let libcMod: Libc | null = null;

/** Bind libc once; throws a clear error when koffi cannot load. */
export function libc(): Libc {
  if (libcMod) return libcMod;
  let k: Koffi;
  try {
    k = koffi();
  } catch (err) {
    throw new Error(`raw VRRP sockets need the 'koffi' package (npm install): ${(err as Error).message}`);
  }
  const lib = k.load('libc.so.6');
  libcMod = {
    socket: lib.func('int socket(int, int, int)'),
    setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32_t)'),
    sendmsg: lib.func('intptr_t sendmsg(int, void *, int)'),
    recvmsg: lib.func('intptr_t recvmsg(int, void *, int)'),
    close: lib.func('int close(int)'),
    eventfd: lib.func('int eventfd(unsigned int, int)'),
    write: lib.func('intptr_t write(int, void *, size_t)'),
    read: lib.func('intptr_t read(int, void *, size_t)'),
    poll: lib.func('int poll(void *, unsigned long, int)'),
    if_nametoindex: lib.func('unsigned int if_nametoindex(const char *)'),
    strerror: lib.func('const char *strerror(int)'),
  } as unknown as Libc;
  return libcMod;
}

export function errnoError(what: string): Error {
  const e = koffi().errno();
  const err = new Error(`${what}: ${libc().strerror(e)} (errno ${e})`) as Error & { errno: number };
  err.errno = e;
  return err;
}

export function ifIndex(name: string): number {
  const i = libc().if_nametoindex(name);
  if (!i) throw new Error(`no interface '${name}'`);
  return i;
}

/** Native memory that stays put (pointers to it go into msghdr). */
class NativeBuf {
  readonly ptr: unknown;
  readonly addr: bigint;
  readonly buf: Buffer;
  constructor(readonly size: number) {
    const k = koffi();
    this.ptr = k.alloc('uint8_t', size);
    this.addr = k.address(this.ptr);
    this.buf = Buffer.from(k.view(this.ptr, size));
  }
  free(): void {
    koffi().free(this.ptr);
  }
}

export interface RecvResult {
  data: Buffer;
  /** Source address bytes (4 or 16) from msg_name. */
  src: Buffer;
  /** IPv6 only (IPv4 raw sockets deliver the IP header): from ancillary data. */
  hopLimit?: number;
  dst?: Buffer;
  ifindex?: number;
}

/** One raw socket: setsockopt, sendmsg with optional IPv6 pktinfo, recvmsg with ancillary data. */
export class RawSocket {
  readonly fd: number;
  private closed = false;
  // One msghdr area per socket: main-thread only, so reuse is safe.
  private static io: { msg: NativeBuf; name: NativeBuf; iov: NativeBuf; ctrl: NativeBuf; data: NativeBuf } | null = null;

  constructor(
    readonly family: 4 | 6,
    protocol: number,
    /** AF_PACKET sockets (gratuitous ARP) pass their own domain and type. */
    domain?: { domain: number; type: number },
  ) {
    const d = domain?.domain ?? (family === 4 ? AF_INET : AF_INET6);
    const fd = libc().socket(d, (domain?.type ?? SOCK_RAW) | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw errnoError(`socket(${d}, ${domain?.type ?? SOCK_RAW}, ${protocol})`);
    this.fd = fd;
  }

  setInt(level: number, name: number, value: number, what: string): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.setRaw(level, name, b, what);
  }

  setRaw(level: number, name: number, value: Buffer, what: string): void {
    if (libc().setsockopt(this.fd, level, name, value, value.length) < 0) throw errnoError(`setsockopt ${what}`);
  }

  bindToDevice(ifname: string): void {
    this.setRaw(SOL_SOCKET, SO_BINDTODEVICE, Buffer.from(ifname + '\0'), `SO_BINDTODEVICE ${ifname}`);
  }

  private static buffers() {
    if (!RawSocket.io) {
      RawSocket.io = { msg: new NativeBuf(56), name: new NativeBuf(128), iov: new NativeBuf(16), ctrl: new NativeBuf(256), data: new NativeBuf(65536) };
    }
    return RawSocket.io;
  }

  /**
   * sendmsg: `name` is a sockaddr; `ctrl` optional ancillary data (IPv6
   * pktinfo picks the source address and interface).
   */
  send(data: Uint8Array, name: Buffer, ctrl?: Buffer): void {
    const io = RawSocket.buffers();
    if (data.length > io.data.size) throw new Error('packet too large');
    io.data.buf.set(data, 0);
    name.copy(io.name.buf, 0);
    io.iov.buf.writeBigUInt64LE(io.data.addr, 0);
    io.iov.buf.writeBigUInt64LE(BigInt(data.length), 8);
    const m = io.msg.buf;
    m.fill(0);
    m.writeBigUInt64LE(io.name.addr, 0);
    m.writeUInt32LE(name.length, 8);
    m.writeBigUInt64LE(io.iov.addr, 16);
    m.writeBigUInt64LE(1n, 24);
    if (ctrl && ctrl.length) {
      ctrl.copy(io.ctrl.buf, 0);
      m.writeBigUInt64LE(io.ctrl.addr, 32);
      m.writeBigUInt64LE(BigInt(ctrl.length), 40);
    }
    const n = libc().sendmsg(this.fd, io.msg.ptr, MSG_DONTWAIT);
    if (n < 0) throw errnoError('sendmsg');
  }

  /** One datagram, or null when none is waiting. */
  recv(): RecvResult | null {
    const io = RawSocket.buffers();
    io.iov.buf.writeBigUInt64LE(io.data.addr, 0);
    io.iov.buf.writeBigUInt64LE(BigInt(io.data.size), 8);
    const m = io.msg.buf;
    m.fill(0);
    m.writeBigUInt64LE(io.name.addr, 0);
    m.writeUInt32LE(io.name.size, 8);
    m.writeBigUInt64LE(io.iov.addr, 16);
    m.writeBigUInt64LE(1n, 24);
    m.writeBigUInt64LE(io.ctrl.addr, 32);
    m.writeBigUInt64LE(BigInt(io.ctrl.size), 40);
    for (;;) {
      const n = libc().recvmsg(this.fd, io.msg.ptr, MSG_DONTWAIT);
      if (n < 0) {
        const e = koffi().errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) return null;
        throw errnoError('recvmsg');
      }
      const data = Buffer.from(io.data.buf.subarray(0, n));
      const nb = io.name.buf;
      const src = this.family === 4 ? Buffer.from(nb.subarray(4, 8)) : Buffer.from(nb.subarray(8, 24));
      const out: RecvResult = { data, src };
      // cmsghdr: size_t len; int level; int type; data (8-byte aligned).
      const clen = Number(m.readBigUInt64LE(40));
      const cb = io.ctrl.buf;
      let off = 0;
      while (off + 16 <= clen) {
        const len = Number(cb.readBigUInt64LE(off));
        const level = cb.readInt32LE(off + 8);
        const type = cb.readInt32LE(off + 12);
        if (len < 16) break;
        if (level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT) out.hopLimit = cb.readInt32LE(off + 16);
        if (level === IPPROTO_IPV6 && type === IPV6_PKTINFO) {
          out.dst = Buffer.from(cb.subarray(off + 16, off + 32));
          out.ifindex = cb.readUInt32LE(off + 32);
        }
        off += (len + 7) & ~7;
      }
      return out;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libc().close(this.fd);
  }
}

/** sockaddr_in / sockaddr_in6 for sendmsg. */
export function sockaddr(family: 4 | 6, addr: Uint8Array, scopeId = 0): Buffer {
  if (family === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.set(addr, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.set(addr, 8);
  b.writeUInt32LE(scopeId, 24);
  return b;
}

/** A cmsg carrying IPV6_PKTINFO (source address, outgoing interface). */
export function ipv6PktinfoCmsg(src: Uint8Array, ifindex: number): Buffer {
  const b = Buffer.alloc(16 + 24); // header + in6_pktinfo (20) padded to 8
  b.writeBigUInt64LE(BigInt(16 + 20), 0);
  b.writeInt32LE(IPPROTO_IPV6, 8);
  b.writeInt32LE(IPV6_PKTINFO, 12);
  b.set(src, 16);
  b.writeUInt32LE(ifindex, 32);
  return b;
}

/** A cmsg carrying IPV6_HOPLIMIT (the hop limit of this one packet). */
export function ipv6HopLimitCmsg(hops: number): Buffer {
  const b = Buffer.alloc(16 + 8); // header + int padded to 8
  b.writeBigUInt64LE(BigInt(16 + 4), 0);
  b.writeInt32LE(IPPROTO_IPV6, 8);
  b.writeInt32LE(IPV6_HOPLIMIT, 12);
  b.writeInt32LE(hops, 16);
  return b;
}

/**
 * Waits for readable sockets on one pool thread and calls `onReadable(fd)`
 * on the main thread. `set()` changes the watched sockets; `close()` stops.
 */
export class Poller {
  private readonly efd: number;
  private fds: number[] = [];
  private running = false;
  private stopping = false;
  private onStopped: (() => void) | null = null;
  private pollBuf: Buffer = Buffer.alloc(0);

  constructor(private readonly onReadable: (fd: number) => void) {
    this.efd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.efd < 0) throw errnoError('eventfd');
  }

  set(fds: number[]): void {
    this.fds = [...fds];
    if (this.running) this.wake();
    else this.loop();
  }

  private wake(): void {
    const one = Buffer.alloc(8);
    one.writeBigUInt64LE(1n);
    libc().write(this.efd, one, 8);
  }

  private loop(): void {
    if (this.stopping) return;
    const all = [this.efd, ...this.fds];
    const b = Buffer.alloc(8 * all.length);
    all.forEach((fd, i) => {
      b.writeInt32LE(fd, i * 8);
      b.writeInt16LE(POLLIN, i * 8 + 4);
    });
    this.pollBuf = b; // kept alive while the pool thread uses it
    this.running = true;
    libc().poll.async(b, all.length, -1, (err, res) => {
      this.running = false;
      if (this.stopping) {
        this.onStopped?.();
        return;
      }
      if (!err && res > 0) {
        for (let i = 0; i < all.length; i++) {
          if (b.readInt16LE(i * 8 + 6) === 0) continue;
          if (all[i] === this.efd) {
            const sink = Buffer.alloc(8);
            libc().read(this.efd, sink, 8);
          } else this.onReadable(all[i]!);
        }
      }
      this.loop();
    });
  }

  /** Resolves once the pool thread has left poll(): sockets may then be closed. */
  close(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.stopping = true;
    const done = this.running ? new Promise<void>((r) => (this.onStopped = r)) : Promise.resolve();
    if (this.running) this.wake();
    return done.then(() => {
      libc().close(this.efd);
      this.pollBuf = Buffer.alloc(0);
    });
  }
}
