import type { AssetsClient } from '../api/client.js';
import { AbortError, ApiError, DownloadError, RunwayBackupError } from '../errors.js';
import type { Asset } from '../types.js';
import { iterateAssets, type ListingEvent } from './paginate.js';
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

/** One result for every worker that asks within a minute of it being started, then a fresh one. */
function sharedForAMinute<T>(make: () => Promise<T>): () => Promise<T> {
  let last: { at: number; result: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at > 60_000) {
      const result = make();
      // A result nobody awaits yet (all its askers gone) must not surface as an unhandled rejection.
      result.catch(() => {});
      last = { at: Date.now(), result };
    }
    return last.result;
  };
}

/** What a re-listing found, and whether it proves anything by what it did not find. */
interface Relisting {
  assets: Map<string, Asset>;
  /** Every window was walked to its end, none capped: an asset missing from it is not on Runway any more. */
  complete: boolean;
}

const proves = (event: ListingEvent): boolean =>
  !(
    event.type === 'incomplete' ||
    event.type === 'request-limit' ||
    (event.type === 'capped' && !event.splitting)
  );

/**
 * Fresh URLs for expired ones. Each re-listing fallback is shared by all workers and reused for a minute.
 *
 * An asset is called gone (`ERR_ASSET_GONE`, counted as deleted, not failed) only on proof: the single-asset
 * endpoint answers 404, its task lists it as deleted, or a complete listing (no window capped, none cut short)
 * does not hold it. Anything else (the lookup failed for another reason, the fallback listing stopped at its
 * request budget or at a capped window) is a failure the next run retries: a file is never reported gone while
 * its asset may still be on Runway.
 */
export function createRelister(
  client: AssetsClient,
  account: string | undefined,
  signal: AbortSignal,
): Relister {
  const relist = sharedForAMinute(async (): Promise<Relisting> => {
    const assets = new Map<string, Asset>();
    let complete = true;
    const onEvent = (event: ListingEvent) => {
      if (!proves(event)) complete = false;
    };
    for await (const asset of iterateAssets(client, { email: account, signal, onEvent }))
      assets.set(asset.assetId, asset);
    return { assets, complete };
  });
  // The task history's fallback, like the assets one. It never proves an absence (the history holds the newest
  // 2,000 tasks only, and uploads have none).
  const rewalk = sharedForAMinute(async (): Promise<Map<string, Asset>> => {
    const map = new Map<string, Asset>();
    for await (const asset of iterateTasks(client, { email: account, signal })) map.set(asset.assetId, asset);
    return map;
  });
  /** The single-asset lookup: the asset, `gone()` on a 404, or the error that proves nothing. */
  const byId = async (assetId: string): Promise<Asset | { unproven: unknown }> => {
    try {
      return await client.getAsset(assetId, { email: account, signal });
    } catch (error) {
      if (signal.aborted) throw new AbortError();
      if (error instanceof ApiError && error.status === 404) throw gone();
      if (error instanceof ApiError && error.status === 401) throw error;
      return { unproven: error };
    }
  };
  const unproven = (assetId: string, cause: unknown): DownloadError =>
    new DownloadError(
      'ERR_REFRESH_FAILED',
      `no fresh URL for ${assetId}: ${cause instanceof Error ? cause.message : 'the asset was not listed'}; the next run tries again`,
      { retryable: false, cause },
    );
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
    if (found) return found;
    const asset = await byId(assetId);
    if ('unproven' in asset) throw unproven(assetId, asset.unproven);
    return asset;
  };
  return {
    async fresh(assetId, taskId) {
      if (taskId !== undefined) return fromTask(assetId, taskId);
      const asset = await byId(assetId);
      if (!('unproven' in asset)) return asset;
      const { assets, complete } = await relist();
      const found = assets.get(assetId);
      if (found) return found;
      if (complete) throw gone();
      throw unproven(assetId, asset.unproven);
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
