// Atomic file replacement: the content lands whole, the mode is kept, no temp file is left behind.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atomicWriteFile, atomicWriteFileSync } from '../../src/lib/atomic-write.js';

const dir = mkdtempSync(join(tmpdir(), `belay-atomic-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atomicWriteFileSync', () => {
  it('creates, replaces, keeps the mode, leaves no temp files', () => {
    const f = join(dir, 'a.xml');
    atomicWriteFileSync(f, 'one');
    expect(readFileSync(f, 'utf8')).toBe('one');
    chmodSync(f, 0o600);
    atomicWriteFileSync(f, 'two');
    expect(readFileSync(f, 'utf8')).toBe('two');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['a.xml']);
  });
  it('replaces by rename: an open reader keeps the old inode', () => {
    const f = join(dir, 'b.xml');
    writeFileSync(f, 'old');
    const inode = statSync(f).ino;
    atomicWriteFileSync(f, 'new');
    expect(statSync(f).ino).not.toBe(inode);
  });
  it('fails cleanly when the directory does not exist', () => {
    expect(() => atomicWriteFileSync(join(dir, 'nope', 'c.xml'), 'x')).toThrow(/ENOENT/);
  });
});

describe('atomicWriteFile (async)', () => {
  it('writes large content whole', async () => {
    const f = join(dir, 'big.txt');
    const big = 'x'.repeat(5_000_000);
    await atomicWriteFile(f, big);
    expect(readFileSync(f, 'utf8').length).toBe(big.length);
    expect(readdirSync(dir).filter((n) => n.startsWith('.big'))).toEqual([]);
  });
});
