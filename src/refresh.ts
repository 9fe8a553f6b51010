import type { AssetsClient } from './api/client.js';
import { AbortError, ApiError, DownloadError, RunwayBackupError } from './errors.js';
import { iterateAssets } from './paginate.js';
import type { Asset } from './types.js';

export interface Relister {
  /** The asset with fresh URLs: from the single-asset endpoint, else from a new listing. */
  fresh(assetId: string): Promise<Asset>;
}

/** Fresh URLs for expired ones. The re-listing fallback is shared by all workers and reused for a minute. */
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
  return {
    async fresh(assetId) {
      try {
        return await client.getAsset(assetId, { email: account, signal });
      } catch (error) {
        if (signal.aborted) throw new AbortError();
        if (error instanceof ApiError && error.status === 401) throw error;
      }
      const found = (await relist()).get(assetId);
      if (!found) {
        throw new DownloadError('ERR_ASSET_GONE', 'the asset was deleted on Runway', {
          retryable: false,
          status: 404,
        });
      }
      return found;
    },
  };
}

/** True when a download failed because the asset no longer exists (asked again, to tell it from a CDN glitch). */
export async function isGone(error: unknown, assetId: string, relisted: Relister): Promise<boolean> {
  const code = error instanceof RunwayBackupError ? error.code : undefined;
  if (code === 'ERR_ASSET_GONE') return true;
  if (code !== 'ERR_DOWNLOAD_GONE') return false;
  try {
    await relisted.fresh(assetId);
    return false;
  } catch (again) {
    return again instanceof RunwayBackupError && again.code === 'ERR_ASSET_GONE';
  }
}
