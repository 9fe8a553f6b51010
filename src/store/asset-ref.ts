// `FILE|ASSET_ID` on the command line (`forget`): which asset of the backup a user means. A path names the asset
// whose recorded file (or sidecar) it is; an id is an assetId, the asset's uuid `id`, or a prefix of either that
// only one recorded asset has (the 8 characters in every file name).
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Manifest, ManifestAsset } from './manifest.js';

export interface AssetRef {
  /** The manifest's key of the asset (the reference itself for an asset the backup has not recorded). */
  assetId: string;
  /** Its record, when the backup holds it. */
  entry: ManifestAsset | undefined;
}

/** The recorded paths of the backup (files and sidecars), by POSIX path relative to `out`. */
function pathIndex(manifest: Manifest): Map<string, ManifestAsset> {
  const index = new Map<string, ManifestAsset>();
  for (const entry of Object.values(manifest.data.assets)) {
    for (const file of entry.files) index.set(file.path, entry);
    if (entry.sidecar) index.set(entry.sidecar, entry);
  }
  return index;
}

/** `ref` relative to `out`, POSIX, when it lies inside `out`; undefined otherwise. */
function insideOut(out: string, file: string): string | undefined {
  const rel = path.relative(path.resolve(out), path.resolve(file));
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

/**
 * The asset `ref` means. A path (absolute, or relative to `out` or to `cwd`) must be a file the manifest records;
 * anything else with a slash in it is a usage error, as is a prefix two recorded assets share. An id the backup
 * has not recorded is taken as it is (an asset may be forgotten before a run fetched it).
 */
export function resolveAssetRef(manifest: Manifest, out: string, ref: string, cwd: string): AssetRef {
  const text = ref.trim();
  if (text === '') throw new UsageError('Expected a file of the backup or an asset id, got an empty value');
  const direct = manifest.get(text);
  if (direct) return { assetId: text, entry: direct };
  const index = pathIndex(manifest);
  const candidates = path.isAbsolute(text) ? [text] : [path.join(out, text), path.join(cwd, text)];
  for (const candidate of candidates) {
    const rel = insideOut(out, candidate);
    const entry = rel === undefined ? undefined : index.get(rel);
    if (entry) return { assetId: entry.assetId, entry };
  }
  const shown = JSON.stringify(text.slice(0, 200));
  if (path.isAbsolute(text) && insideOut(out, text) === undefined) {
    throw new UsageError(`${shown} is not inside the backup folder ${out}`);
  }
  if (text.includes('/') || text.includes(path.sep)) {
    throw new UsageError(
      `${shown} is not a file of the backup in ${out} (the manifest records no such path)`,
    );
  }
  const lower = text.toLowerCase();
  const matches = Object.values(manifest.data.assets).filter(
    (entry) =>
      entry.id?.toLowerCase() === lower ||
      (lower.length >= 8 &&
        (entry.id?.toLowerCase().startsWith(lower) || entry.assetId.toLowerCase().startsWith(lower))),
  );
  if (matches.length > 1) {
    throw new UsageError(
      `${shown} is the start of ${matches.length} assets' ids; give more of it, or a file`,
    );
  }
  const [match] = matches;
  return match ? { assetId: match.assetId, entry: match } : { assetId: text, entry: undefined };
}
