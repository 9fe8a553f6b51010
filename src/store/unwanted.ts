// Which recorded assets the backup no longer wants: those `forget` made unwanted, and those the filter of the last
// run (recorded in the manifest) leaves out. `verify` does not report their files missing, `status` does not count
// them incomplete: the runs never asked for them.
import type { Manifest, ManifestAsset } from './manifest.js';
import { type LeftOutBy, selector } from './wanted.js';

/** Why the backup does not want a recorded asset (`forgotten`, or what the last run's filter says); else undefined. */
export function unwantedRecords(
  manifest: Manifest,
): (entry: ManifestAsset) => 'forgotten' | LeftOutBy | undefined {
  const select = selector(manifest.data.filter);
  const forgotten = (entry: ManifestAsset) =>
    manifest.forgotten(entry.assetId) ?? (entry.id ? manifest.forgotten(entry.id) : undefined);
  return (entry) => (forgotten(entry) ? 'forgotten' : select(entry));
}
