// Which listed assets a run takes: its filter (README, "Filters"), the assets `forget` made unwanted and the
// config's `exclude`. Everything left out is counted and said (events), never planned.
import { promises as fs } from 'node:fs';
import type { Manifest, ManifestAsset } from '../store/manifest.js';
import { type LayoutPathOptions, layoutPaths } from '../store/render-layout.js';
import { type AssetFilter, type FilterSubject, type LeftOutBy, selector } from '../store/wanted.js';
import type { Asset } from '../types.js';
import type { Accounting } from './accounting.js';
import { detailsOf } from './record-run.js';

/** The manifest's descriptive fields of a listed asset (what `upsertAsset` records), its details included. */
export function entryOf(
  asset: Asset,
  account: string | undefined,
): Omit<ManifestAsset, 'files' | 'updatedAt' | 'status'> {
  return {
    assetId: asset.assetId,
    id: asset.id,
    name: asset.name,
    mediaType: asset.mediaType,
    createdAt: asset.createdAt,
    fileSize: asset.fileSize,
    account,
    favorite: asset.favorite,
    prompt: asset.prompt,
    ...detailsOf(asset),
  };
}

export class Selection {
  readonly #select: (subject: FilterSubject) => LeftOutBy | undefined;

  constructor(
    readonly manifest: Manifest,
    filter: AssetFilter,
    readonly acct: Accounting,
    readonly dryRun: boolean,
    readonly perAccountFolders: boolean,
    /** The run's layout, for the path an unwanted asset would have had (when it has none recorded). */
    readonly layout: Omit<LayoutPathOptions, 'account' | 'idLength' | 'idTag'> = {},
  ) {
    this.#select = selector(filter);
  }

  /** True when the run takes the asset; otherwise it is counted (filtered) or named (forgotten, excluded). */
  async wants(asset: Asset, account: string | undefined): Promise<boolean> {
    // `forget` of an asset not fetched yet may have been given its uuid `id` rather than its assetId.
    const forgotten =
      this.manifest.forgotten(asset.assetId) ?? (asset.id ? this.manifest.forgotten(asset.id) : undefined);
    const reason = forgotten ? 'forgotten' : this.#select(asset);
    if (reason === undefined) return true;
    if (reason === 'forgotten' || reason === 'excluded') {
      const recorded = this.manifest.doneFile(asset.assetId, 'main', 0)?.path;
      const folder = this.perAccountFolders ? account : undefined;
      this.acct.unwanted({
        assetId: asset.assetId,
        name: asset.name,
        path: recorded ?? layoutPaths(asset, { ...this.layout, account: folder }).main,
        reason,
        since: forgotten?.at,
      });
      return false;
    }
    this.acct.filtered(asset, account, reason);
    // A recorded asset keeps today's fields (its `favorite` flag above all), so that `verify` judges it by the
    // same facts as the next run's filter. Only what changed is written.
    if (!this.dryRun && this.manifest.get(asset.assetId)) {
      await this.manifest.upsertAsset(entryOf(asset, account));
    }
    return false;
  }
}

/**
 * Gives a downloaded file its asset's creation time as modification (and access) time, as gallery-dl's `--mtime`
 * does, so a file manager sorts the backup by date. Cosmetic: a file system that refuses (some network mounts
 * allow only the owner) leaves the download time, and the file is recorded all the same.
 */
export async function setFileTime(file: string, createdAt: string | undefined): Promise<void> {
  const time = createdAt === undefined ? Number.NaN : Date.parse(createdAt);
  if (Number.isNaN(time)) return;
  const date = new Date(time);
  await fs.utimes(file, date, date).catch(() => {});
}
