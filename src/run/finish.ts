/**
 * The end of a backup run, whatever ended it: every transfer settles before the manifest is written and the lock
 * released, so nothing touches the folder once backup() has returned.
 */
import { chunkReleaser } from '../engine/chunk-release.js';
import type { Scheduler } from '../engine/scheduler.js';
import { isDiskError, toDiskError } from '../fsutil.js';
import { writeChecksumsFile } from '../store/checksums.js';
import type { Manifest } from '../store/manifest.js';
import type { BackupSummary } from './accounting.js';

/**
 * Waits for every asset in `assets` (each removes itself once settled) and for the scheduler's last job, then
 * closes the scheduler and lets go of the chunks its transfers held.
 */
export async function settleWork(
  assets: ReadonlySet<Promise<void>>,
  scheduler: Pick<Scheduler, 'idle' | 'close'>,
): Promise<void> {
  while (assets.size > 0) await Promise.allSettled([...assets]);
  await scheduler.idle();
  scheduler.close();
  chunkReleaser.drain();
}

/**
 * Writes the manifest (when `write`; a dry run only closes it), closes it and releases the lock, even when the
 * write fails. Returns what writing threw, a full or read-only disk as a DiskError; undefined when it was written.
 */
export async function saveAndUnlock<M extends Pick<Manifest, 'flush' | 'close'>>(
  manifest: M | undefined,
  write: boolean,
  release: () => Promise<void>,
  afterFlush?: (manifest: M) => Promise<void>,
): Promise<unknown> {
  try {
    if (manifest && write) {
      await manifest.flush();
      // Still under the lock: nothing else writes the folder meanwhile.
      await afterFlush?.(manifest);
    }
    return undefined;
  } catch (error) {
    return isDiskError(error) ? toDiskError(error, 'the manifest') : error;
  } finally {
    await manifest?.close().catch(() => {});
    await release();
  }
}

/**
 * `SHA256SUMS` from the manifest just written (a killed run's file is rewritten by the next one). The summary says
 * whether it changed; a file that cannot be written is a disk error like the manifest's.
 */
export async function writeChecksums(
  out: string,
  manifest: Pick<Manifest, 'data'>,
  summary: BackupSummary,
): Promise<void> {
  summary.checksumsWritten = await writeChecksumsFile(out, manifest.data);
}
