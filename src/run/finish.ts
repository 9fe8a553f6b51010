/**
 * The end of a backup run, whatever ended it: every transfer settles before the manifest is written and the lock
 * released, so nothing touches the folder once backup() has returned.
 */
import { chunkReleaser } from '../engine/chunk-release.js';
import type { Scheduler } from '../engine/scheduler.js';
import { isDiskError, toDiskError } from '../fsutil.js';
import type { Manifest } from '../store/manifest.js';

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
export async function saveAndUnlock(
  manifest: Pick<Manifest, 'flush' | 'close'> | undefined,
  write: boolean,
  release: () => Promise<void>,
): Promise<unknown> {
  try {
    if (manifest && write) await manifest.flush();
    return undefined;
  } catch (error) {
    return isDiskError(error) ? toDiskError(error, 'the manifest') : error;
  } finally {
    await manifest?.close().catch(() => {});
    await release();
  }
}
