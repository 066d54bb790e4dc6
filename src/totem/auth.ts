/**
 * Packet protection for totem traffic: every datagram ends with an
 * HMAC-SHA256 over everything before it, keyed by the cluster key; optionally
 * the packet is encrypted with AES-256-GCM first (encrypt-then-MAC). Separate
 * keys for the two are derived from the key file with HKDF-SHA256.
 *
 * Frame: 'B' 'T' | frame version u8 | cipher u8 (0 none, 1 aes256) |
 *        body (plain packet, or nonce 12 + ciphertext + tag 16) | hmac 32
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export type CipherName = 'none' | 'aes256';
export type OpenError = 'truncated' | 'bad-frame' | 'bad-auth' | 'bad-cipher' | 'bad-decrypt';

const MAGIC0 = 0x42; // 'B'
const MAGIC1 = 0x54; // 'T'
const FRAME_VERSION = 1;
const HDR = 4;
const MAC = 32;
const NONCE = 12;
const TAG = 16;
export const FRAME_OVERHEAD = HDR + MAC + NONCE + TAG;

/** Smallest acceptable key file: 32 bytes of randomness. */
export const MIN_KEY_BYTES = 32;

export class PacketAuth {
  private readonly macKey: Buffer;
  private readonly encKey: Buffer;
  readonly cipher: CipherName;
  /**
   * GCM nonces as NIST SP 800-38D §8.2.1 builds them: a random fixed field
   * (8 bytes, drawn per process and again whenever the counter wraps) and a
   * 32-bit invocation counter; cheaper than 12 fresh random bytes per packet.
   */
  private nonceFixed = randomBytes(8);
  private nonceCounter = 0;

  constructor(key: Uint8Array, cipher: CipherName) {
    if (key.length < MIN_KEY_BYTES) throw new Error(`totem: the cluster key has ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed (belay keygen)`);
    this.macKey = Buffer.from(hkdfSync('sha256', key, 'belay-totem', 'hmac-sha256', 32));
    this.encKey = Buffer.from(hkdfSync('sha256', key, 'belay-totem', 'aes-256-gcm', 32));
    this.cipher = cipher;
  }

  seal(plain: Uint8Array): Buffer {
    let body: Buffer;
    if (this.cipher === 'aes256') {
      const nonce = Buffer.allocUnsafe(NONCE);
      this.nonceFixed.copy(nonce, 0);
      nonce.writeUInt32BE(this.nonceCounter, 8);
      this.nonceCounter = (this.nonceCounter + 1) >>> 0;
      if (this.nonceCounter === 0) this.nonceFixed = randomBytes(8);
      const c = createCipheriv('aes-256-gcm', this.encKey, nonce);
      const ct = Buffer.concat([c.update(plain), c.final()]);
      body = Buffer.concat([nonce, ct, c.getAuthTag()]);
    } else {
      body = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
    }
    const head = Buffer.from([MAGIC0, MAGIC1, FRAME_VERSION, this.cipher === 'aes256' ? 1 : 0]);
    const mac = createHmac('sha256', this.macKey).update(head).update(body).digest();
    return Buffer.concat([head, body, mac]);
  }

  /** Check and unwrap a frame; never throws. */
  open(frame: Uint8Array): { ok: true; plain: Uint8Array } | { ok: false; error: OpenError } {
    if (frame.length < HDR + MAC) return { ok: false, error: 'truncated' };
    if (frame[0] !== MAGIC0 || frame[1] !== MAGIC1 || frame[2] !== FRAME_VERSION) return { ok: false, error: 'bad-frame' };
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const macAt = buf.length - MAC;
    const want = createHmac('sha256', this.macKey).update(buf.subarray(0, macAt)).digest();
    if (!timingSafeEqual(want, buf.subarray(macAt))) return { ok: false, error: 'bad-auth' };
    const cipher = buf[3] === 1 ? 'aes256' : buf[3] === 0 ? 'none' : null;
    if (cipher !== this.cipher) return { ok: false, error: 'bad-cipher' };
    const body = buf.subarray(HDR, macAt);
    if (cipher === 'none') return { ok: true, plain: body };
    if (body.length < NONCE + TAG) return { ok: false, error: 'truncated' };
    try {
      const d = createDecipheriv('aes-256-gcm', this.encKey, body.subarray(0, NONCE));
      d.setAuthTag(body.subarray(body.length - TAG));
      const plain = Buffer.concat([d.update(body.subarray(NONCE, body.length - TAG)), d.final()]);
      return { ok: true, plain };
    } catch {
      return { ok: false, error: 'bad-decrypt' };
    }
  }
}
