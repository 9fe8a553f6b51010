// Atomic writes of our own files (manifest, run record, gallery, SHA256SUMS): a crash at any instant leaves the old
// or the new content, and a writer killed mid-write leaves a temp file the next run can recognise and remove.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { syncDir } from '../fsutil.js';
import { alive } from './lock.js';

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

/**
 * writeFileAtomic, skipped when the file already holds exactly `data` (a nightly re-run rewrites nothing). True
 * when it wrote.
 */
export async function writeIfChanged(file: string, data: string): Promise<boolean> {
  const current = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (current === data) return false;
  await writeFileAtomic(file, data);
  return true;
}
