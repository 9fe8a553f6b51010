/** The generation records' share of a run: the asset's own fields kept in the manifest, and the run's end. */
import { finiteNumber } from '../api/parse.js';
import type { AssetDetails } from '../store/generation.js';
import type { Asset, AssetMetadata } from '../types.js';
import type { BackupSummary } from './accounting.js';
import { fateCounts, type GenerationKeeper } from './records.js';
import { addRecordsToSidecars } from './sidecars.js';

/** The asset's fields worth keeping: its task, favourite, folder, whether it was uploaded, its format. */
export function detailsOf(asset: Asset): AssetDetails {
  const raw = asset.raw;
  const metadata = (raw.metadata && typeof raw.metadata === 'object' ? raw.metadata : {}) as AssetMetadata;
  const taskId =
    asset.taskId ?? (typeof raw.taskId === 'string' && raw.taskId !== '' ? raw.taskId : undefined);
  const details: AssetDetails = {
    taskId,
    favorite: typeof raw.favorite === 'boolean' ? raw.favorite : undefined,
    parentAssetGroupId: typeof raw.parentAssetGroupId === 'string' ? raw.parentAssetGroupId : undefined,
    isUserUpload: typeof raw.isUserUpload === 'boolean' ? raw.isUserUpload : undefined,
    width: asset.width,
    height: asset.height,
    duration: asset.duration,
    frameRate: finiteNumber(metadata.frameRate),
  };
  // Absent fields stay absent, so an unchanged asset compares equal and writes no journal line.
  return Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined)) as AssetDetails;
}

/**
 * Once every asset settled: the records read after their sidecars were written go into those sidecars, and the
 * summary says what was kept and how many assets the backup holds that Runway no longer has.
 */
export async function finishRecords(
  keeper: GenerationKeeper,
  out: string,
  metadata: boolean,
  summary: BackupSummary,
  signal: AbortSignal,
): Promise<void> {
  if (metadata && keeper.kept.size > 0) {
    summary.sidecarsUpdated = await addRecordsToSidecars(out, keeper.manifest, keeper.kept, signal);
  }
  Object.assign(summary, keeper.counts, fateCounts(keeper.manifest));
}
