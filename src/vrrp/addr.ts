/** IPv4 / IPv6 address text <-> bytes, and comparison (pure, no node:net needed). */
export type Family = 4 | 6;

export function familyOf(address: string): Family | null {
  if (parseAddress(address, 4)) return 4;
  if (parseAddress(address, 6)) return 6;
  return null;
}

export function parseAddress(text: string, family: Family): Uint8Array | null {
  return family === 4 ? parseIPv4(text) : parseIPv6(text);
}

function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | null {
  let t = text;
  const pct = t.indexOf('%');
  if (pct >= 0) t = t.slice(0, pct);
  if (!/^[0-9a-fA-F:.]+$/.test(t) || !t.includes(':')) return null;
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const words = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  if (!head || !tail) return null;
  let all: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return null;
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Longest run of zeros (length >= 2) becomes "::" (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** One spelling per address (RFC 5952 for IPv6: conntrack writes every group in full); text that is no address is kept. */
export function canonicalAddress(text: string): string {
  const fam = familyOf(text);
  const bytes = fam ? parseAddress(text, fam) : null;
  return bytes ? formatAddress(bytes) : text;
}

/** Compare two addresses of one family as unsigned integers: <0, 0, >0. */
export function compareAddresses(a: string, b: string): number {
  const fam = familyOf(a) ?? 4;
  const x = parseAddress(a, fam);
  const y = parseAddress(b, fam);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return 0;
}
