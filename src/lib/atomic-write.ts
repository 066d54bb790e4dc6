/**
 * Write a file so that a reader (or a crash) sees either the old content or
 * the new, never a mix: write a temp file in the same directory, fsync it,
 * rename it over the target, fsync the directory so the rename is durable.
 * The one helper for every stored file in the project.
 */
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode for a new file; an existing file keeps its mode. Default 0o644. */
  mode?: number;
}

export function atomicWriteFileSync(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  let mode = opts.mode ?? 0o644;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    // a new file: use the requested mode
  }
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(tmp, 'wx', mode);
  try {
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
  fsyncDir(dir);
}

/** Async flavour for daemons: same steps, does not block the event loop on large files. */
export async function atomicWriteFile(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const fs = await import('node:fs/promises');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
  let mode = opts.mode ?? 0o644;
  try {
    mode = (await fs.stat(path)).mode & 0o7777;
  } catch {
    // a new file
  }
  const fh = await fs.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
