// When is an asset gone? (issue 17, item 9.) Only on proof: the single-asset endpoint's 404, or a complete listing
// without it. A lookup that failed for another reason, followed by a fallback listing that stopped at its request
// budget, proves nothing: the file is a failure the next run retries, never "deleted on Runway".
import { describe, expect, it } from 'vitest';
import type { AssetsClient, ListPage, ListPageParams } from '../src/api/client.js';
import { ApiError, type RunwayBackupError } from '../src/errors.js';
import { RateGate } from '../src/retry.js';
import { createRelister } from '../src/source/refresh.js';
import type { Asset } from '../src/types.js';

function asset(n: number): Asset {
  return {
    assetId: `asset-${n}`,
    id: undefined,
    name: `clip ${n}`,
    mediaType: 'video',
    createdAt: '2026-11-01T00:00:00Z',
    fileSize: 10,
    fileExt: 'mp4',
    url: `https://cdn.example/${n}.mp4`,
    previewUrls: [],
    width: undefined,
    height: undefined,
    duration: undefined,
    raw: {},
  };
}

/** A client whose single-asset lookup answers `lookup`, and whose listing holds `total` assets (50 a page). */
function client(lookup: () => Promise<Asset>, total: number): AssetsClient {
  return {
    gate: new RateGate(),
    requestCount: 0,
    close() {},
    getAsset: lookup,
    async listPage(params: ListPageParams): Promise<ListPage> {
      const assets: Asset[] = [];
      for (let i = params.offset; i < Math.min(total, params.offset + params.limit); i++)
        assets.push(asset(i));
      return { assets, rawCount: assets.length, rawIds: assets.map((a) => a.assetId), skipped: [] };
    },
  };
}

const failing = (status: number) => async (): Promise<Asset> => {
  throw new ApiError(status, `the API answered ${status}`);
};

async function outcome(c: AssetsClient, assetId: string): Promise<string> {
  try {
    const found = await createRelister(c, undefined, new AbortController().signal).fresh(assetId);
    return `found ${found.assetId}`;
  } catch (error) {
    return (error as RunwayBackupError).code;
  }
}

describe('createRelister: gone only on proof', () => {
  it('a 404 from the single-asset endpoint is gone', async () => {
    expect(await outcome(client(failing(404), 10), 'asset-999')).toBe('ERR_ASSET_GONE');
  });

  it('a failed lookup and a complete listing without the asset is gone', async () => {
    expect(await outcome(client(failing(500), 10), 'asset-999')).toBe('ERR_ASSET_GONE');
  });

  it('a failed lookup and a listing that holds it finds it', async () => {
    expect(await outcome(client(failing(500), 10), 'asset-3')).toBe('found asset-3');
  });

  it('a failed lookup and a capped listing proves nothing: a failure, not gone', async () => {
    // 5,000 assets: every window is capped at 1,050, so "not listed" is no proof.
    expect(await outcome(client(failing(500), 5000), 'asset-4999')).toBe('ERR_REFRESH_FAILED');
  });

  it('a failed lookup and a listing that failed itself is a failure, not gone', async () => {
    const c = client(failing(503), 10);
    c.listPage = async () => {
      throw new ApiError(503, 'the API answered 503');
    };
    expect(await outcome(c, 'asset-999')).not.toBe('ERR_ASSET_GONE');
  });
});
