/**
 * A CIB stored in a file (the CIB_file=PATH mode of Pacemaker's tools):
 * read it (a missing or empty file is an empty CIB, as Pacemaker's tools
 * treat it), write it atomically.
 */
import { readFileSync } from 'node:fs';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { emptyCib, type Cib } from './model.js';
import { cibToXml, parseCibXml } from './xml.js';

export interface LoadedCib {
  cib: Cib;
  /** False when the file did not exist (it will be created on write). */
  existed: boolean;
}

export function readCibFile(path: string): LoadedCib {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { cib: emptyCib(), existed: false };
    throw e;
  }
  if (text.trim() === '') return { cib: emptyCib(), existed: true };
  return { cib: parseCibXml(text, path), existed: true };
}

export function writeCibFile(path: string, cib: Cib): void {
  atomicWriteFileSync(path, cibToXml(cib));
}
