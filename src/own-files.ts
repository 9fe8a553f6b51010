/**
 * Our files in the root of the output folder that are written through `writeFileAtomic`. A run killed mid-write
 * leaves the temp file of one of them: `verify` does not report those as strangers, and a backup, once it holds the
 * folder's lock, removes those whose process is gone. One list, so the two cannot disagree.
 */
import { GALLERY_NAME } from './gallery/write.js';
import { MANIFEST_NAME } from './manifest.js';
import { RUN_RECORD_NAME } from './run-record.js';

export const ATOMIC_OWN_FILES: readonly string[] = [MANIFEST_NAME, RUN_RECORD_NAME, GALLERY_NAME];
