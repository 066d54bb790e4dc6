/**
 * Cluster messages bigger than one totem packet (a whole configuration in a
 * cib-offer, say) travel as fragments. Totem keeps each sender's messages in
 * order, so a receiver only has to join consecutive fragments per sender;
 * the message takes its place in the agreed order at its last fragment.
 * Pure: bytes in, bytes out.
 */

/** Header: flags (1 byte: bit 0 = more fragments follow). */
const HEADER = 1;

export function fragment(payload: Uint8Array, maxFragment: number): Uint8Array[] {
  if (maxFragment <= HEADER) throw new Error(`fragment size ${maxFragment} is too small`);
  const room = maxFragment - HEADER;
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length || out.length === 0; off += room) {
    const part = payload.subarray(off, Math.min(payload.length, off + room));
    const more = off + room < payload.length;
    const frag = new Uint8Array(HEADER + part.length);
    frag[0] = more ? 1 : 0;
    frag.set(part, HEADER);
    out.push(frag);
  }
  return out;
}

export class Reassembler {
  private readonly partial = new Map<number, Uint8Array[]>();
  private readonly partialBytes = new Map<number, number>();

  constructor(private readonly maxMessageBytes: number) {}

  /**
   * A fragment from `from`. Returns the whole message at its last fragment,
   * undefined before; throws when a message outgrows the limit (the partial
   * message is dropped, later ones are unaffected).
   */
  push(from: number, frag: Uint8Array): Uint8Array | undefined {
    if (frag.length < HEADER) throw new Error(`empty fragment from node ${from}`);
    const more = (frag[0]! & 1) === 1;
    const parts = this.partial.get(from) ?? [];
    const size = (this.partialBytes.get(from) ?? 0) + frag.length - HEADER;
    if (size > this.maxMessageBytes) {
      this.drop(from);
      throw new Error(`message from node ${from} exceeds ${this.maxMessageBytes} bytes`);
    }
    parts.push(frag.subarray(HEADER));
    if (more) {
      this.partial.set(from, parts);
      this.partialBytes.set(from, size);
      return undefined;
    }
    this.drop(from);
    if (parts.length === 1) return parts[0]!;
    const whole = new Uint8Array(size);
    let off = 0;
    for (const p of parts) {
      whole.set(p, off);
      off += p.length;
    }
    return whole;
  }

  /** A configuration change: half-sent messages of the old ring are void. */
  reset(): void {
    this.partial.clear();
    this.partialBytes.clear();
  }

  private drop(from: number): void {
    this.partial.delete(from);
    this.partialBytes.delete(from);
  }
}
