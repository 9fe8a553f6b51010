import type { AssetsClient } from '../api/client.js';
import { AbortError, ApiError, DownloadError, RunwayBackupError } from '../errors.js';
import type { Asset } from '../types.js';
import { iterateAssets } from './paginate.js';
import { iterateTasks } from './tasks.js';

export interface Relister {
  /**
   * The asset with fresh URLs. One found through the task history (`taskId` given) is asked of the single-task
   * endpoint, else of a new walk of the task history; any other of the single-asset endpoint, else of a new
   * listing.
   */
  fresh(assetId: string, taskId?: string | undefined): Promise<Asset>;
}

/** Not retried, and counted as gone (not failed) by `backup`: there is nothing left to fetch. */
export function gone(message = 'the asset was deleted on Runway'): DownloadError {
  return new DownloadError('ERR_ASSET_GONE', message, { retryable: false, status: 404 });
}

/** Fresh URLs for expired ones. Each re-listing fallback is shared by all workers and reused for a minute. */
export function createRelister(
  client: AssetsClient,
  account: string | undefined,
  signal: AbortSignal,
): Relister {
  let listing: { at: number; assets: Promise<Map<string, Asset>> } | undefined;
  const relist = (): Promise<Map<string, Asset>> => {
    if (!listing || Date.now() - listing.at > 60_000) {
      const assets = (async () => {
        const map = new Map<string, Asset>();
        for await (const asset of iterateAssets(client, { email: account, signal }))
          map.set(asset.assetId, asset);
        return map;
      })();
      assets.catch(() => {});
      listing = { at: Date.now(), assets };
    }
    return listing.assets;
  };
  // The task history's fallback, like the assets one: one walk for every worker, kept for a minute.
  let history: { at: number; assets: Promise<Map<string, Asset>> } | undefined;
  const rewalk = (): Promise<Map<string, Asset>> => {
    if (!history || Date.now() - history.at > 60_000) {
      const assets = (async () => {
        const map = new Map<string, Asset>();
        for await (const asset of iterateTasks(client, { email: account, signal }))
          map.set(asset.assetId, asset);
        return map;
      })();
      assets.catch(() => {});
      history = { at: Date.now(), assets };
    }
    return history.assets;
  };
  const fromTask = async (assetId: string, taskId: string): Promise<Asset> => {
    if (client.getTask) {
      try {
        const task = await client.getTask(taskId, { email: account, signal });
        const artifact = task.artifacts.find(
          (a) => (a.kind === 'asset' ? a.asset.assetId : a.assetId) === assetId,
        );
        if (artifact?.kind === 'asset') return artifact.asset;
        // Deleted since the walk: the task says so itself.
        if (artifact?.kind === 'deleted' || artifact?.kind === 'directory') throw gone();
      } catch (error) {
        if (signal.aborted) throw new AbortError();
        if (error instanceof RunwayBackupError && error.code === 'ERR_ASSET_GONE') throw error;
        if (error instanceof ApiError && error.status === 401) throw error;
      }
    }
    const found = (await rewalk()).get(assetId);
    if (!found) throw gone();
    return found;
  };
  return {
    async fresh(assetId, taskId) {
      if (taskId !== undefined) return fromTask(assetId, taskId);
      try {
        return await client.getAsset(assetId, { email: account, signal });
      } catch (error) {
        if (signal.aborted) throw new AbortError();
        if (error instanceof ApiError && error.status === 401) throw error;
      }
      const found = (await relist()).get(assetId);
      if (!found) throw gone();
      return found;
    },
  };
}

/** True when a download failed because the asset no longer exists (asked again, to tell it from a CDN glitch). */
export async function isGone(
  error: unknown,
  assetId: string,
  relisted: Relister,
  taskId?: string | undefined,
): Promise<boolean> {
  const code = error instanceof RunwayBackupError ? error.code : undefined;
  if (code === 'ERR_ASSET_GONE') return true;
  if (code !== 'ERR_DOWNLOAD_GONE') return false;
  try {
    await relisted.fresh(assetId, taskId);
    return false;
  } catch (again) {
    return again instanceof RunwayBackupError && again.code === 'ERR_ASSET_GONE';
  }
}
