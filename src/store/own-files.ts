/**
 * The names of the files this tool writes for itself in the root of the output folder. Every other module takes
 * them from here (the store, the report, the gallery), so that this module imports nothing and no two lists of
 * "our files" can disagree.
 */

/** The manifest: what is done, keyed by assetId. */
export const MANIFEST_NAME = 'manifest.json';
/** The manifest's journal: the changes since the last snapshot, one JSON line each. */
export const JOURNAL_NAME = 'manifest.journal';
/** The lock a writing run holds. */
export const LOCK_NAME = '.runway-backup.lock';
/** The record of the last run, read by `status`. */
export const RUN_RECORD_NAME = '.runway-backup-status.json';
/** The last run refused because another held the lock (beside the lock: the run holding it owns the record). */
export const LOCK_REFUSAL_NAME = `${LOCK_NAME}.refused.json`;
/** The offline gallery. */
export const GALLERY_NAME = 'index.html';
/** Marks an index.html as ours: only a file carrying it is ever overwritten. */
export const GALLERY_MARKER = '<meta name="generator" content="runway-backup gallery">';

/** `sha256sum -c SHA256SUMS` checks the whole backup. */
export const CHECKSUMS_NAME = 'SHA256SUMS';

/**
 * Our files in the root of the output folder that are written through `writeFileAtomic`. A run killed mid-write
 * leaves the temp file of one of them: `verify` does not report those as strangers, and a backup, once it holds the
 * folder's lock, removes those whose process is gone. One list, so the two cannot disagree.
 */
export const ATOMIC_OWN_FILES: readonly string[] = [
  MANIFEST_NAME,
  RUN_RECORD_NAME,
  GALLERY_NAME,
  CHECKSUMS_NAME,
  LOCK_REFUSAL_NAME,
];
