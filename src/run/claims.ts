/**
 * Which asset owns which path. A path belongs to one asset forever: every path the manifest records (a file done
 * or found missing, a sidecar, an unfinished download's `.part`) is its asset's before the run plans anything, so
 * a new asset whose id shares a prefix with a backed-up one can never be given that one's path.
 */
import { createHash } from 'node:crypto';
import type { AssetPaths } from '../store/layout.js';
import type { FileRole, Manifest, ManifestAsset } from '../store/manifest.js';
import { type LayoutPathOptions, layoutPaths } from '../store/render-layout.js';
import type { Asset } from '../types.js';

/** Paths (relative, POSIX) to the assetId that owns them. */
export type PathClaims = Map<string, string>;

/** Every path the manifest records, each to its asset; the first record wins should two ever share one. */
export function claimsFromManifest(manifest: Manifest): PathClaims {
  const claims: PathClaims = new Map();
  const claim = (p: string | undefined, assetId: string): void => {
    if (p !== undefined && !claims.has(p)) claims.set(p, assetId);
  };
  for (const entry of Object.values(manifest.data.assets)) {
    for (const file of entry.files) claim(file.path, entry.assetId);
    claim(entry.sidecar, entry.assetId);
    for (const state of Object.values(entry.partials ?? {})) claim(state.path, entry.assetId);
  }
  return claims;
}

/** The path the manifest already gives this asset's file (done, missing or unfinished), when it still owns it. */
export function recordedPath(
  entry: ManifestAsset | undefined,
  role: FileRole,
  index: number,
  claims: PathClaims,
): string | undefined {
  if (entry === undefined) return undefined;
  const partials = entry.partials;
  const key = `${role}-${index}`;
  const candidate =
    entry.files.find((f) => f.role === role && f.index === index)?.path ??
    (partials && Object.hasOwn(partials, key) ? partials[key]?.path : undefined);
  return candidate !== undefined && claims.get(candidate) === entry.assetId ? candidate : undefined;
}

/**
 * The asset's layout at paths no other asset owns: the id lengthened (12, 16, 36 characters) while a path is
 * taken, then tagged with a hash of the assetId, which tells apart even two assets with the same `id` and name.
 * Undefined when nothing is free (two assetIds with one sha256: never in practice).
 */
export function freePaths(
  asset: Asset,
  account: string | undefined,
  claims: PathClaims,
  layout: Omit<LayoutPathOptions, 'account' | 'idLength' | 'idTag'> = {},
): AssetPaths | undefined {
  const hash = createHash('sha256').update(asset.assetId, 'utf8').digest('hex');
  const tries: { idLength: number; idTag?: string }[] = [
    { idLength: 8 },
    { idLength: 12 },
    { idLength: 16 },
    { idLength: 36 },
    { idLength: 8, idTag: hash.slice(0, 8) },
    { idLength: 8, idTag: hash },
  ];
  for (const t of tries) {
    const paths = layoutPaths(asset, { ...layout, account, ...t });
    const taken = [paths.main, ...paths.previews, paths.sidecar].some((p) => {
      const owner = claims.get(p);
      return owner !== undefined && owner !== asset.assetId;
    });
    if (!taken) return paths;
  }
  return undefined;
}
