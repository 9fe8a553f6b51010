/**
 * The end of a backup run: what the manifest and the folder hold that this run did not want. A `missing` file no
 * backup will fetch (its asset deleted on Runway, its media type or previews no longer backed up) is marked with
 * the reason, so that `verify` stops calling for a backup; an unfinished `.part` of ours that no wanted file needs
 * is removed. Only after a listing that saw everything: a walk cut short, a capped window or a refused account
 * proves nothing about what is gone.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveInside } from '../store/layout.js';
import type { Manifest, ManifestAsset, ManifestFile } from '../store/manifest.js';
import { isMediaType, type MediaType } from '../types.js';
import type { PathClaims } from './claims.js';

/** What one run wanted and saw. */
export interface RunReach {
  /** Every account listed to the end: no window capped or cut short, none refused, not interrupted. */
  complete: boolean;
  mediaTypes: readonly MediaType[];
  previews: boolean;
  /** assetIds listed this run. */
  seen: ReadonlySet<string>;
  /** `<assetId> <role>-<index>` of every file planned this run. */
  planned: ReadonlySet<string>;
  /** Paths (relative) of every file planned this run. */
  plannedPaths: ReadonlySet<string>;
  claims: PathClaims;
}

export const fileKey = (assetId: string, role: string, index: number): string =>
  `${assetId} ${role}-${index}`;

/** Why no backup like this one fetches the file again; undefined when one might. */
function whyUnfetchable(reach: RunReach, entry: ManifestAsset, file: ManifestFile): string | undefined {
  if (isMediaType(entry.mediaType) && !reach.mediaTypes.includes(entry.mediaType)) {
    return `its media type (${entry.mediaType}) is not backed up (--media-type)`;
  }
  if (file.role === 'preview' && !reach.previews) return 'previews are not backed up (--no-previews)';
  if (!reach.complete) return undefined;
  if (!reach.seen.has(entry.assetId)) return 'deleted on Runway (a complete listing no longer has the asset)';
  return 'the asset no longer lists this file';
}

/** Marks (or clears) the reason of every missing file; returns the files newly marked. */
async function markMissing(manifest: Manifest, reach: RunReach): Promise<void> {
  for (const entry of Object.values(manifest.data.assets)) {
    for (const file of entry.files) {
      if (file.status !== 'missing') continue;
      const wanted = reach.planned.has(fileKey(entry.assetId, file.role, file.index));
      const reason = wanted ? undefined : whyUnfetchable(reach, entry, file);
      // A reason an earlier run found stays until a run wants the file again.
      if (reason !== undefined || wanted)
        await manifest.markUnfetchable(entry.assetId, file.role, file.index, reason);
    }
  }
}

// Our layout's names: `…_<id>[.preview-N].<ext>.part` below a folder (never a user's top-level file).
const OUR_PART = /_[0-9a-z-]{8,}(?:\.preview-\d+)?\.[a-z0-9]{1,8}\.part$/;

/** Removes the `.part` files of ours that no wanted file needs, with their resume state; returns their paths. */
async function removeOrphanParts(manifest: Manifest, out: string, reach: RunReach): Promise<string[]> {
  const entries = await fs.readdir(out, { recursive: true, withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.isFile() || !e.name.endsWith('.part')) continue;
    const relative = path.relative(out, path.join(e.parentPath, e.name)).split(path.sep).join('/');
    const final = relative.slice(0, -'.part'.length);
    if (!final.includes('/') || reach.plannedPaths.has(final)) continue;
    const owner = reach.claims.get(final);
    if (owner === undefined && !OUR_PART.test(relative)) continue;
    await fs.rm(resolveInside(out, relative), { force: true });
    removed.push(relative);
    const partials = owner === undefined ? undefined : manifest.get(owner)?.partials;
    for (const [key, state] of Object.entries(partials ?? {})) {
      if (state.path === final && owner !== undefined) await manifest.setPartial(owner, key, undefined);
    }
  }
  return removed.sort();
}

/** Resolves what the run left unwanted (see the top of this file); returns the `.part` files removed. */
export async function resolveLeftovers(manifest: Manifest, out: string, reach: RunReach): Promise<string[]> {
  await markMissing(manifest, reach);
  return reach.complete ? removeOrphanParts(manifest, out, reach) : [];
}
