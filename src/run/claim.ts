/**
 * Claiming the output folder for one backup run, before anything is written to it: the folder must be writable
 * (it is created when absent), then it is locked and cleared of the temp files a killed run left behind.
 */
import { promises as fs } from 'node:fs';
import { UsageError } from '../errors.js';
import { ensureDir } from '../fsutil.js';
import { removeDeadAtomicTemps } from '../store/atomic-write.js';
import { acquireLock, type StaleLock } from '../store/lock.js';
import { checkOutFolder } from '../store/out-folder.js';
import { ATOMIC_OWN_FILES } from '../store/own-files.js';

/**
 * Makes `out` this run's and returns the lock's release. `onLocked` runs once the lock is held. When the folder
 * cannot be claimed, `abandon` runs (and any lock taken is released) before the error is thrown: a folder that
 * cannot be written is a UsageError naming it.
 */
export async function claimOutFolder(
  out: string,
  onLocked: (() => Promise<void> | void) | undefined,
  abandon: () => void,
  onTakeover?: (stale: StaleLock) => void,
): Promise<() => Promise<void>> {
  try {
    await checkOutFolder(out);
    await ensureDir(out);
    await fs.access(out, fs.constants.W_OK);
  } catch (error) {
    abandon();
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`Cannot write to the output folder ${out}: ${code}`, { cause: error });
  }
  let release: () => Promise<void> = async () => {};
  try {
    release = await acquireLock(out, { onTakeover });
    // A run killed while it rewrote the manifest, the run record or the gallery left that write's temp file:
    // ours to clear, now that the folder is ours.
    await removeDeadAtomicTemps(out, ATOMIC_OWN_FILES);
    await onLocked?.();
  } catch (error) {
    abandon();
    await release();
    throw error;
  }
  return release;
}
