import type { Hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AbortError, DiskError } from './errors.js';

const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EMFILE', 'ENFILE']);

/** True for the errors that no retry can fix because the disk or folder refuses writes. */
export function isDiskError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && DISK_CODES.has(code);
}

export function toDiskError(error: NodeJS.ErrnoException, what: string): DiskError {
  const reason =
    error.code === 'ENOSPC' || error.code === 'EDQUOT'
      ? 'the disk is full'
      : error.code === 'EROFS'
        ? 'the file system is read-only'
        : error.code === 'EACCES' || error.code === 'EPERM'
          ? 'permission denied'
          : (error.code ?? 'I/O error');
  return new DiskError(`Cannot write ${what}: ${reason} (${error.code})`, { cause: error });
}

/** fsyncs a directory so that a rename inside it survives a power cut. Not supported everywhere; best effort. */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

/** Size of a regular file, or undefined when it does not exist or is not a regular file. */
export async function fileSize(file: string): Promise<number | undefined> {
  try {
    const stat = await fs.stat(file);
    return stat.isFile() ? stat.size : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A name beside `file` that does not exist yet: `stem.<tag>-<n>.ext`. */
export async function freeSibling(file: string, tag: string): Promise<string> {
  const ext = path.extname(file);
  const stem = file.slice(0, file.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = `${stem}.${tag}-${n}${ext}`;
    if ((await fileSize(candidate)) === undefined) {
      try {
        await fs.lstat(candidate);
      } catch {
        return candidate;
      }
    }
  }
}

/**
 * Moves a file the run must not overwrite (a damaged or conflicting copy) to a free `<stem>.<tag>-N.<ext>` beside
 * it. fs-extra's move refuses to overwrite, so even a name taken between the check and the move loses nothing.
 */
export async function setAside(file: string, tag: string): Promise<string> {
  for (;;) {
    const aside = await freeSibling(file, tag);
    try {
      // fs-extra is loaded on this rare path only: it costs ~8 MiB of memory at start-up.
      const { default: fse } = await import('fs-extra');
      await fse.move(file, aside, { overwrite: false });
      return aside;
    } catch (error) {
      if (!/already exists/.test((error as Error).message)) throw error;
    }
  }
}

/**
 * mkdir -p. Not `fs.mkdir(dir, { recursive: true })`: on Node 20 that loops forever where mkdir answers ENOENT
 * under a parent that exists (`/proc/x`, `/sys/x`), and `backup --out /proc/x` hung instead of saying why.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingFolder(dir, error);
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await ensureDir(parent);
  }
  // The parent exists now: one more try, whose error (ENOENT again on /proc) is the answer.
  try {
    await fs.mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return existingFolder(dir, error);
    throw error;
  }
}

/** `dir` exists: fine when it is a folder (made meanwhile by another run, say); its EEXIST when it is a file. */
async function existingFolder(dir: string, error: unknown): Promise<void> {
  if (!(await fs.stat(dir)).isDirectory()) throw error;
}

const HASH_READ_BYTES = 256 * 1024;

/**
 * Feeds bytes [start, end) of `file` into `hash` (`end` may be Infinity: to the end of the file), through one reused
 * buffer; `signal` stops it between reads with AbortError. A read stream allocated a new 1 MiB
 * buffer per read: re-hashing the segments of a 96 MiB split file at the end of a run left tens of MiB of them
 * waiting for a collection, and that was the run's peak memory (+20 MiB).
 */
export async function hashRange(
  file: string,
  hash: Hash,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<void> {
  if (end <= start) return;
  if (signal?.aborted) throw new AbortError();
  const handle = await fs.open(file, 'r');
  try {
    const last = Number.isFinite(end) ? end : (await handle.stat()).size;
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(HASH_READ_BYTES, last - start)));
    let position = start;
    while (position < last) {
      if (signal?.aborted) throw new AbortError();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, last - position), position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
