import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DiskError } from './errors.js';
import { alive } from './lock.js';

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

/** The temp name `writeFileAtomic` writes `name` through: `.<name>.<pid>.<8 hex>.tmp`. */
function atomicTempName(name: string): string {
  return `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * What `temp` is the temp file of, and the pid that wrote it, when it is one `writeFileAtomic` left behind (a run
 * stopped mid-write); undefined for any other name.
 */
export function atomicTempOf(temp: string): { name: string; pid: number } | undefined {
  const match = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(temp);
  return match ? { name: match[1] as string, pid: Number(match[2]) } : undefined;
}

/**
 * Removes the temp files `writeFileAtomic` left in `folder` for any of `names` when the process that wrote them is
 * gone (killed mid-write: a second Ctrl-C, kill -9, a power cut). Those of live processes stay: they are writing.
 */
export async function removeDeadAtomicTemps(folder: string, names: readonly string[]): Promise<void> {
  const entries = await fs.readdir(folder).catch(() => [] as string[]);
  for (const entry of entries) {
    const temp = atomicTempOf(entry);
    // Best effort: a leftover that cannot be removed is untidy, not a reason to stop a backup.
    if (temp && names.includes(temp.name) && !alive(temp.pid)) {
      await fs.rm(path.join(folder, entry), { force: true }).catch(() => {});
    }
  }
}

/**
 * Writes `data` to `file` so that a crash at any instant leaves either the old or the new content: a temp file in
 * the same folder, fsync, rename over, fsync the folder.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array | Iterable<string>,
): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, atomicTempName(path.basename(file)));
  const handle = await fs.open(temp, 'w');
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else await writePieces(handle, data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncDir(dir);
}

/** Bytes gathered from the pieces before one write. */
const PIECES_PER_WRITE = 256 * 1024;

/**
 * Writes the pieces in order, a few hundred KiB at a time: a large document (the manifest of thousands of assets)
 * never exists as one string, its UTF-8 copy and the copies in between. (`FileHandle.writeFile` on an open handle
 * writes at the current position, and all of it.)
 */
async function writePieces(handle: fs.FileHandle, pieces: Iterable<string>): Promise<void> {
  let batch: string[] = [];
  let size = 0;
  for (const piece of pieces) {
    batch.push(piece);
    size += piece.length;
    if (size >= PIECES_PER_WRITE) {
      await handle.writeFile(batch.join(''));
      batch = [];
      size = 0;
    }
  }
  if (size > 0) await handle.writeFile(batch.join(''));
}

/** writeFileAtomic, skipped when the file already holds exactly `data` (a nightly re-run rewrites nothing). */
export async function writeIfChanged(file: string, data: string): Promise<void> {
  const current = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (current !== data) await writeFileAtomic(file, data);
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
